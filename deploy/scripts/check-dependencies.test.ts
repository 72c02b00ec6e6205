import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkRepository, importsOf, packageOf } from "./check-dependencies.ts";

describe("importsOf", () => {
  it("finds static, type-only, side-effect, re-exported and dynamic imports, not those in comments", () => {
    const text = [
      'import { a } from "pg";',
      'import type {\n  B,\n  C,\n} from "@gatehouse/core";',
      'import "reflect-metadata";',
      'export { d } from "./d.ts";',
      'export * from "@scope/pkg/sub";',
      'const e = await import("kafkajs");',
      '/** @example import { f } from "@gatehouse/sdk"; */',
      '// import { g } from "ioredis";',
      'const s = "http://example.com"; import { h } from "pino";',
      "const snippet = 'import { i } from \"ioredis\"';",
    ].join("\n");
    expect(importsOf(text).sort()).toEqual(
      ["./d.ts", "@gatehouse/core", "@scope/pkg/sub", "kafkajs", "pg", "pino", "reflect-metadata"].sort(),
    );
  });

  it("names the package of a specifier, nothing for relative paths and builtins", () => {
    expect(packageOf("@scope/pkg/sub/x.js")).toBe("@scope/pkg");
    expect(packageOf("pg/lib/x")).toBe("pg");
    expect(packageOf("./x.ts")).toBeUndefined();
    expect(packageOf("node:fs")).toBeUndefined();
    expect(packageOf("fs")).toBeUndefined();
  });
});

describe("checkRepository", () => {
  let root: string | undefined;
  afterEach(() => {
    if (root !== undefined) rmSync(root, { recursive: true, force: true });
  });

  function repo(files: Record<string, string>): string {
    root = mkdtempSync(join(tmpdir(), "gatehouse-deps-"));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, path, ".."), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    return root;
  }

  const manifests = {
    "package.json": JSON.stringify({ workspaces: ["packages/*"], devDependencies: { vitest: "1" } }),
    "packages/store/package.json": JSON.stringify({
      name: "@x/store",
      dependencies: { pg: "1" },
      devDependencies: { "@x/testkit": "1" },
    }),
  };

  it("passes a package that declares what it imports", () => {
    const dir = repo({
      ...manifests,
      "packages/store/src/store.ts": 'import pg from "pg";\nimport { s } from "@x/store";',
      "packages/store/src/store.test.ts": 'import { it } from "vitest";\nimport { t } from "@x/testkit";',
      "deploy/run.ts": 'import { it } from "vitest";',
    });
    expect(checkRepository(dir)).toEqual([]);
  });

  it("fails a source importing a package it does not declare, or only as a devDependency", () => {
    const dir = repo({
      ...manifests,
      "packages/store/src/store.ts": 'import { c } from "@x/core";\nimport { t } from "@x/testkit";',
      "packages/store/src/store.test.ts": 'import Redis from "ioredis";',
      "deploy/run.ts": 'import { k } from "kafkajs";',
    });
    expect(checkRepository(dir).map((p) => `${p.file} ${p.packageName} ${p.manifest}`)).toEqual([
      "packages/store/src/store.test.ts ioredis packages/store/package.json",
      "packages/store/src/store.ts @x/core packages/store/package.json",
      "packages/store/src/store.ts @x/testkit packages/store/package.json",
      "deploy/run.ts kafkajs package.json",
    ]);
  });
});
