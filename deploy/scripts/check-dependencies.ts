/**
 * Every package declares what it imports (run by `deploy/scripts/test-all.sh` as a lint step):
 *
 *   node deploy/scripts/check-dependencies.ts
 *
 * For each npm workspace (and the repository root, which holds `deploy/` and the tool configs),
 * the bare imports of its source files must be in its package.json's `dependencies` or
 * `peerDependencies`; those of its test files (`*.test.ts`, `*.int.test.ts`, `*.int-helper.ts`)
 * may also come from its `devDependencies` or the root's (the test runner and property-testing
 * tools are declared once, at the root). npm hoisting makes an undeclared import work here and
 * break in any install that does not hoist the same way. Exits 1 listing each undeclared import.
 */

import { readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The package.json fields this check reads. */
export interface PackageManifest {
  readonly name?: string;
  readonly workspaces?: readonly string[];
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
}

/** One import a package.json does not declare. */
export interface Undeclared {
  /** The file, relative to the repository root. */
  readonly file: string;
  /** The package the import names (`pg`, `@gatehouse/core`). */
  readonly packageName: string;
  /** The package.json that should declare it, relative to the repository root. */
  readonly manifest: string;
  /** The fields that would do: `dependencies` for sources, also `devDependencies` for tests. */
  readonly fields: string;
}

const SOURCE = /\.(?:ts|tsx|mts|cts|js|mjs|cjs)$/;
const TEST = /\.(?:test|int-helper)\.[cm]?[jt]sx?$/;
const SKIPPED_DIRS = new Set(["node_modules", ".git", ".cache", ".gatehouse", "results"]);
const BUILTINS = new Set(builtinModules);

/** What precedes a string that is a module specifier. */
const SPECIFIER_BEFORE = /(?:\bfrom|\bimport|\bimport\s*\(|\brequire\s*\()\s*$/;

/**
 * The text of a module without its comments, and with every string but module specifiers
 * emptied, so that an `import` in a TSDoc example or in a quoted snippet is not taken for one.
 */
export function withoutComments(text: string): string {
  let out = "";
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end === -1 ? text.length : end + 2;
      out += " ";
    } else if (c === '"' || c === "'" || c === "`") {
      const start = i;
      i++;
      while (i < text.length && text[i] !== c) i += text[i] === "\\" ? 2 : 1;
      i++;
      // Only a module specifier keeps its text: code quoted in other strings is not an import.
      out += SPECIFIER_BEFORE.test(out.slice(-32)) ? text.slice(start, i) : `${c}${c}`;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The module specifiers a file imports or re-exports, statically or dynamically. */
export function importsOf(text: string): string[] {
  const code = withoutComments(text);
  const found: string[] = [];
  const patterns = [
    /(?:^|[;}\s])(?:import|export)\s[^;'"`]*?\sfrom\s*["']([^"']+)["']/g,
    /(?:^|[;}\s])import\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*[,)]/g,
    /\brequire\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const m of code.matchAll(pattern)) if (m[1] !== undefined) found.push(m[1]);
  }
  return found;
}

/** The package a bare specifier names (`@scope/name` or `name`), or undefined for relative paths and builtins. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith(".") || specifier.startsWith("/") || specifier.startsWith("node:")) return undefined;
  const parts = specifier.split("/");
  const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
  return BUILTINS.has(name) ? undefined : name;
}

function sourceFiles(dir: string, skip: ReadonlySet<string>): string[] {
  const files: string[] = [];
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name) && !skip.has(path)) files.push(...sourceFiles(path, skip));
    } else if (SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      files.push(path);
    }
  }
  return files;
}

function readManifest(dir: string): PackageManifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageManifest;
}

/** The workspace directories the root package.json names (`packages/*`, `services/*`, `loadtest`). */
function workspaceDirs(root: string, manifest: PackageManifest): string[] {
  const dirs: string[] = [];
  for (const pattern of manifest.workspaces ?? []) {
    if (pattern.endsWith("/*")) {
      const parent = join(root, pattern.slice(0, -2));
      for (const name of readdirSync(parent)) {
        const dir = join(parent, name);
        if (statSync(join(dir, "package.json"), { throwIfNoEntry: false })?.isFile()) dirs.push(dir);
      }
    } else {
      dirs.push(join(root, pattern));
    }
  }
  return dirs.sort();
}

/**
 * The undeclared imports of one package: the files under `dir` (without `skip`), checked against
 * `manifest`, with `rootDev` (the root's devDependencies) allowed in test files.
 */
export function checkPackage(
  root: string,
  dir: string,
  manifest: PackageManifest,
  rootDev: Readonly<Record<string, string>>,
  skip: ReadonlySet<string> = new Set(),
): Undeclared[] {
  const runtime = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const forTests = new Set([...runtime, ...Object.keys(manifest.devDependencies ?? {}), ...Object.keys(rootDev)]);
  const problems: Undeclared[] = [];
  for (const file of sourceFiles(dir, skip)) {
    const test = TEST.test(file);
    const allowed = test ? forTests : runtime;
    const seen = new Set<string>();
    for (const specifier of importsOf(readFileSync(file, "utf8"))) {
      const name = packageOf(specifier);
      if (name === undefined || name === manifest.name || allowed.has(name) || seen.has(name)) continue;
      seen.add(name);
      problems.push({
        file: relative(root, file),
        packageName: name,
        manifest: relative(root, join(dir, "package.json")) || "package.json",
        fields: test ? "dependencies, peerDependencies or devDependencies" : "dependencies or peerDependencies",
      });
    }
  }
  return problems;
}

/** The undeclared imports of every workspace and of the root's own files (deploy/, configs). */
export function checkRepository(root: string): Undeclared[] {
  const rootManifest = readManifest(root);
  const rootDev = rootManifest.devDependencies ?? {};
  const workspaces = workspaceDirs(root, rootManifest);
  // A workspace nested in another (services/console/web in services/console) is its own package:
  // the outer one's check skips it.
  const problems = workspaces.flatMap((dir) =>
    checkPackage(root, dir, readManifest(dir), rootDev, new Set(workspaces.filter((w) => w.startsWith(`${dir}/`)))),
  );
  // The root's files: everything outside the workspaces. Its devDependencies are the tools of the
  // whole repository, so they count as declared for its scripts too; a script that needs a
  // runtime package (kafkajs, pg) must still list it.
  const rootScripts: PackageManifest = {
    ...rootManifest,
    dependencies: { ...rootManifest.dependencies, ...rootDev },
  };
  problems.push(...checkPackage(root, root, rootScripts, rootDev, new Set(workspaces)));
  return problems;
}

// Run as a script (not when a test imports it); `import.meta.main` is newer than the Node 22.12 we support.
if (resolve(process.argv[1] ?? "") === fileURLToPath(import.meta.url)) {
  const root = resolve(import.meta.dirname, "../..");
  const problems = checkRepository(root);
  for (const p of problems) {
    console.error(`${p.file}: imports "${p.packageName}", which ${p.manifest} does not declare (${p.fields})`);
  }
  if (problems.length > 0) {
    console.error(`\n${problems.length} undeclared import(s); add each package to the package.json named`);
    process.exitCode = 1;
  } else {
    console.log("every package declares what it imports");
  }
}
