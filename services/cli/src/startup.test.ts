import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// What a start loads, counted rather than timed, so the check holds on a loaded machine too:
// the SDK's index alone (gRPC, the generated proto code, OpenTelemetry) costs ~0.5 s of CPU
// without the compile cache, several times what `--help` needs.
const main = fileURLToPath(new URL("./main.ts", import.meta.url));

/** Modules that only commands talking to a server need. */
const SERVER_SIDE = /\/packages\/(sdk|proto|auth)\/|\/node_modules\/(@grpc|protobufjs|@bufbuild|@opentelemetry)\//;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-startup-"));
  // Records every module the process loads (Node's synchronous module hooks), written at exit.
  await writeFile(
    join(dir, "record-loads.mjs"),
    `import { registerHooks } from "node:module";
import { writeFileSync } from "node:fs";
const urls = [];
registerHooks({ load(url, context, next) { urls.push(url); return next(url, context); } });
process.on("exit", () => writeFileSync(process.env.RECORD_LOADS, JSON.stringify(urls)));
`,
  );
  await writeFile(
    join(dir, "p.json"),
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}',
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The modules `gatehouse <args>` loads (file URLs), and its exit status. */
async function loadsOf(args: string[]): Promise<{ code: number | null; urls: string[] }> {
  const out = join(dir, `loads-${args.join("-").replace(/\W+/g, "_")}.json`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", join(dir, "record-loads.mjs"), main, ...args], {
      env: { ...process.env, RECORD_LOADS: out },
      stdio: ["ignore", "ignore", "inherit"],
    });
    child.on("error", reject);
    child.on("close", resolve);
  });
  const urls = (JSON.parse(await readFile(out, "utf8")) as string[]).filter((u) => u.startsWith("file:"));
  return { code, urls };
}

// Each case starts one process (~0.2-0.4 s of CPU); 20 s leaves room for a machine at load 16 on 2 cores.
describe("gatehouse start-up", { timeout: 20_000 }, () => {
  it("--help loads no command module", async () => {
    const { code, urls } = await loadsOf(["--help"]);
    expect(code).toBe(0);
    expect(urls.filter((u) => /\/services\/cli\/src\/commands\//.test(u) && !/configure|completion/.test(u))).toEqual(
      [],
    );
    expect(urls.filter((u) => SERVER_SIDE.test(u))).toEqual([]);
    expect(urls.filter((u) => /\/packages\/policy\//.test(u))).toEqual([]);
  });

  it("policy validate loads the engine, not the SDK, gRPC or the generated proto code", async () => {
    const { code, urls } = await loadsOf(["policy", "validate", join(dir, "p.json")]);
    expect(code).toBe(0);
    expect(urls.some((u) => /\/packages\/policy\/src\/index\.ts$/.test(u))).toBe(true);
    expect(urls.filter((u) => SERVER_SIDE.test(u))).toEqual([]);
    // `policy evaluate`'s input schema (zod) is loaded by that command alone.
    expect(urls.filter((u) => /\/node_modules\/zod\//.test(u))).toEqual([]);
  });

  it("iam loads its group (the SDK's operation table) when used", async () => {
    const { code, urls } = await loadsOf(["iam", "list-users", "--help"]);
    expect(code).toBe(0);
    expect(urls.some((u) => /\/packages\/sdk\/src\/iam-operations\.ts$/.test(u))).toBe(true);
  });
});
