// A container health check: `node packages/lifecycle/src/health-probe.ts <host:port> [service]`
// asks grpc.health.v1.Health/Check for `service` (default "", liveness) and exits 0 when it answers
// SERVING, 1 otherwise (NOT_SERVING, an unknown name, nothing listening, no answer in time).
// Docker's HEALTHCHECK runs it inside the image, so it needs nothing beyond what the services
// already ship (grpc-js and the health proto); Kubernetes uses its own gRPC probes instead.
import { createHealthClient } from "./health-client.ts";

const USAGE = "usage: node packages/lifecycle/src/health-probe.ts <host:port> [service] [--timeout-ms N]";

/** What one probe found: the exit code and the line printed. */
export interface ProbeOutcome {
  readonly code: 0 | 1;
  readonly line: string;
}

/**
 * Checks `service` at `address` once. Never throws: an error becomes exit code 1 with its message.
 * @example
 * const { code } = await probeHealth("127.0.0.1:50051", "gatehouse.v1.ControlService", 3000);
 */
export async function probeHealth(address: string, service: string, timeoutMs: number): Promise<ProbeOutcome> {
  const client = createHealthClient(address);
  const label = `${address} ${service === "" ? '"" (liveness)' : service}`;
  try {
    const status = await client.check(service, timeoutMs);
    return { code: status === "SERVING" ? 0 : 1, line: `${label}: ${status}` };
  } catch (e) {
    return { code: 1, line: `${label}: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    client.close();
  }
}

function parse(argv: readonly string[]): { address: string; service: string; timeoutMs: number } {
  const args = [...argv];
  let timeoutMs = 3000;
  const at = args.indexOf("--timeout-ms");
  if (at !== -1) {
    timeoutMs = Number(args[at + 1]);
    args.splice(at, 2);
  }
  const [address, service = ""] = args;
  if (address === undefined || !/^[^\s:]+:\d{1,5}$/.test(address) || !(timeoutMs > 0) || args.length > 2) {
    throw new Error(USAGE);
  }
  // A server listening on every interface is probed on the loopback.
  return { address: address.replace(/^(0\.0\.0\.0|\[::\]|::):/, "127.0.0.1:"), service, timeoutMs };
}

if (import.meta.main) {
  let options: ReturnType<typeof parse>;
  try {
    options = parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  const outcome = await probeHealth(options.address, options.service, options.timeoutMs);
  process.stdout.write(`${outcome.line}\n`);
  process.exit(outcome.code);
}
