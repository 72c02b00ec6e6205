// The console image's HEALTHCHECK: `node services/console/src/health-probe.ts [url] [--timeout-ms N]`
// fetches the gateway's `/healthz` (default http://127.0.0.1:50080/healthz) and exits 0 on a 200,
// 1 otherwise (503: the control plane is not ready; nothing listening; no answer in time). Node's
// own fetch: the slim image has no curl. A gateway serving HTTPS (GATEHOUSE_CONSOLE_TLS_*) with a
// certificate not trusted inside the image needs its check overridden (see deploy/README.md).

const USAGE = "usage: node services/console/src/health-probe.ts [http(s)://host:port/healthz] [--timeout-ms N]";
const DEFAULT_URL = "http://127.0.0.1:50080/healthz";

/** What one probe found: the exit code and the line printed. */
export interface ConsoleProbeOutcome {
  readonly code: 0 | 1;
  readonly line: string;
}

/**
 * Asks `url` once; never throws (an error becomes exit code 1 with its message).
 * @example
 * const { code } = await probeConsoleHealth("http://127.0.0.1:50080/healthz", 3000);
 */
export async function probeConsoleHealth(url: string, timeoutMs: number): Promise<ConsoleProbeOutcome> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await res.text()).slice(0, 200);
    return { code: res.status === 200 ? 0 : 1, line: `${url}: ${res.status} ${body}` };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return { code: 1, line: `${url}: ${cause ?? (e instanceof Error ? e.message : String(e))}` };
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  let timeoutMs = 3000;
  const at = args.indexOf("--timeout-ms");
  if (at !== -1) {
    timeoutMs = Number(args[at + 1]);
    args.splice(at, 2);
  }
  const [url = DEFAULT_URL] = args;
  if (!/^https?:\/\/[^\s/]+\/\S*$/.test(url) || !(timeoutMs > 0) || args.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(2);
  }
  const outcome = await probeConsoleHealth(url, timeoutMs);
  process.stdout.write(`${outcome.line}\n`);
  process.exit(outcome.code);
}
