// Every workspace package must load under plain `node`, as `./gw run stack`, the benches and the
// CLI run it, not only under vitest: vitest's transform accepts imports that Node's ESM loader
// refuses (a named import of a CommonJS export that Node's lexer does not detect, such as
// kafkajs's ConfigResourceTypes, crashed the control plane at start-up while every test passed).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const root = new URL("../", import.meta.url);

/** Names of the workspaces that export an entry point, from the root package.json's globs. */
function workspacePackages(): string[] {
  const rootPackage = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { workspaces: string[] };
  const dirs = rootPackage.workspaces.flatMap((glob) =>
    glob.endsWith("/*")
      ? readdirSync(new URL(`${glob.slice(0, -1)}`, root), { withFileTypes: true })
          .filter((d) => d.isDirectory())
          .map((d) => `${glob.slice(0, -1)}${d.name}`)
      : [glob],
  );
  return dirs.flatMap((dir) => {
    let pkg: { name: string; exports?: unknown };
    try {
      pkg = JSON.parse(readFileSync(new URL(`${dir}/package.json`, root), "utf8"));
    } catch {
      return [];
    }
    return pkg.exports === undefined ? [] : [pkg.name];
  });
}

describe("entry points", () => {
  it("every workspace package's entry loads under plain node", () => {
    const names = workspacePackages();
    expect(names.length).toBeGreaterThan(8);
    // One child process imports them all and reports each failure, so one run names every culprit.
    const script = `
      const failures = [];
      for (const name of ${JSON.stringify(names)}) {
        try { await import(name); } catch (e) { failures.push(name + ": " + String(e?.message ?? e).split("\\n")[0]); }
      }
      console.log(JSON.stringify(failures));
      process.exit(0);
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: new URL(".", root),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(JSON.parse(out.trim().split("\n").at(-1) ?? "null")).toEqual([]);
  }, 90_000);
});
