// The README's examples run as tests: every ```bash block after a `<!-- readme-test: NAME -->`
// marker is run from the repository root, and its standard output must equal the next fenced block.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "..");
const readme = readFileSync(resolve(root, "README.md"), "utf8");

interface Example {
  name: string;
  script: string;
  expected: string;
}

function examples(text: string): Example[] {
  const out: Example[] = [];
  const marker = /<!-- readme-test: ([\w-]+) -->\n```bash\n([\s\S]*?)\n```\n+```\w*\n([\s\S]*?)\n```/g;
  for (const m of text.matchAll(marker)) {
    const [, name = "", script = "", expected = ""] = m;
    out.push({ name, script, expected });
  }
  return out;
}

describe("README examples", () => {
  const found = examples(readme);

  it("has the examples it promises", () => {
    expect(found.map((e) => e.name)).toEqual(["policy-evaluate", "policy-validate"]);
  });

  for (const example of found) {
    it(`runs ${example.name} and prints what the README shows`, () => {
      const run = spawnSync("bash", ["-c", example.script], { cwd: root, encoding: "utf8", timeout: 60_000 });
      expect(run.error).toBeUndefined();
      expect(run.stdout.trim()).toBe(example.expected.trim());
      // Each example starts Node and the CLI (a few hundred ms quiet, seconds on a loaded host):
      // vitest's 5 s default failed under load; the spawn's own 60 s timeout is the real bound.
    }, 65_000);
  }
});
