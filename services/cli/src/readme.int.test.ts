// The README's "Use it" block, run by bash with `gatehouse` on PATH, against a live control plane
// and region, with a `demo` profile written by `gatehouse configure` as the README says.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { Gatehouse } from "@gatehouse/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/gatehouse", import.meta.url));
const readme = fileURLToPath(new URL("../../../README.md", import.meta.url));

/** The fenced bash block that follows `<!-- readme-test:<name> -->` in the README. */
async function readmeBlock(name: string): Promise<string> {
  const text = await readFile(readme, "utf8");
  const marker = `<!-- readme-test:${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`the README has no ${marker}`);
  const match = /```bash\n([\s\S]*?)\n```/.exec(text.slice(at));
  if (match?.[1] === undefined) throw new Error(`no bash block after ${marker}`);
  return match[1];
}

function bash(
  script: string,
  cwd: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-euo", "pipefail", "-c", script], { cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("README: Use it", () => {
  let stack: LiveStack;
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    stack = await startLiveStack("readme");
    dir = await mkdtemp(join(tmpdir(), "gatehouse-readme-"));
    await mkdir(join(dir, "bin"));
    await symlink(bin, join(dir, "bin", "gatehouse"));
    const operator = new Gatehouse({
      credentials: stack.operator,
      endpoints: { controlPlane: stack.controlPlane },
      env: {},
    });
    const account = await operator.iam.createAccount({ accountAlias: "" });
    operator.close();
    env = {
      PATH: `${join(dir, "bin")}:${process.env.PATH ?? ""}`,
      HOME: dir,
      GATEHOUSE_CONFIG_DIR: join(dir, "config"),
    };
    const configure = await bash(
      `gatehouse --profile demo --region us-east-1 configure --access-key-id ${account.rootAccessKeyId} --secret-access-key '${account.rootSecretAccessKey}' --endpoint-control-plane ${stack.controlPlane} --endpoint us-east-1=${stack.decider}`,
      dir,
      env,
    );
    expect(configure.code, configure.stderr).toBe(0);
  });
  afterAll(async () => {
    await stack?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("runs as written", async () => {
    const run = await bash(await readmeBlock("use-it"), dir, env);
    expect(run.code, run.stderr).toBe(0);
    const out = run.stdout;
    if (process.env.GATEHOUSE_SHOW_README_OUTPUT === "1") console.log(out, run.stderr);
    expect(out).toContain('"UserName": "alice"');
    expect(out).toMatch(/^alice$/m);
    expect(out).toContain('"Decision": "Allow"');
    expect(out).toMatch(/^allowed\timplicitDeny$/m);
    expect(out).toContain("| us-east-1");
    expect(out).toMatch(/^exit status 254$/m);
    expect(run.stderr).toContain("An error occurred (NoSuchEntity) when calling the GetUser operation");
  });
});
