/**
 * vitest globalSetup of the `integration` project, after the testkit's (see vitest.config.ts):
 * makes sure a template database holding a migrated and seeded schema exists for this tree's
 * migrations and catalogue, holds it for the run, and provides it to
 * `createTestSchema({ migrated: true })`, which clones it per suite.
 *
 * Why: every suite that needs a control plane or a store used to migrate a fresh schema and seed
 * AWS's managed-policy catalogue (1,594 policies, 6,194 versions): 5 s each on the 2-core CI host
 * at load average 4 (1.4 s of migrations, 1.6 s reading and validating the catalogue, 1.3 s
 * inserting it, 0.6 s putting it on the system stream), 9-24 s at load average 20+, and a suite
 * run makes about a hundred. The seeding is already set-based (a handful of statements over
 * arrays) and runs once per control-plane start in production, so making it faster would barely
 * help production; what the tests need is a copy of its result. `CREATE DATABASE … TEMPLATE`
 * copies it in 60 ms at load average 6 (up to 0.8 s at 20+); a schema-level copy (CREATE TABLE …
 * LIKE, INSERT … SELECT) would copy the same bytes and have to recreate functions, triggers,
 * sequences and foreign keys by hand. The clone is byte for byte a schema migrated and seeded from
 * empty (tables, functions, sequences, the seeding's outbox rows), so tests exercise what they
 * did. The production path still runs: here, whenever the template is rebuilt, and in the tests of
 * migrating and seeding, which keep empty schemas (`store.int.test.ts`,
 * `builtin-policy-catalogue.int.test.ts`, the control plane's `health.int.test.ts`, …).
 *
 * The template's key is a hash of everything that shapes its content: the migrations, the
 * catalogue package's fingerprint, and the sources of this package and of the workspace packages
 * it depends on (the seeding's outbox rows are encoded by that code). Any change builds a new
 * template; unused old ones are dropped (see `holdTemplateDatabase` for the locks that make this
 * safe with several workers and worktrees).
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { join, relative } from "node:path";
import { holdTemplateDatabase, MIGRATED_TEMPLATE_KEY, TEST_INFRA_KEY } from "@gatehouse/testkit";
import type { TestProject } from "vitest/node";
import { awsManagedPolicyFingerprint } from "./families/policies/builtin-policies.ts";
import { createPostgresStore } from "./store.ts";

/** The schema's name inside the template; each clone renames it to its own. */
export const TEMPLATE_SCHEMA = "gh_template";

const PACKAGE_DIR = join(import.meta.dirname, "..");
const REPO_ROOT = join(PACKAGE_DIR, "..", "..");

/** This package's directory and those of the workspace packages it depends on, transitively. */
function workspacePackages(dir: string, seen = new Set<string>()): Set<string> {
  const real = realpathSync(dir);
  if (seen.has(real)) return seen;
  seen.add(real);
  const manifest = JSON.parse(readFileSync(join(real, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
  };
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    // Workspaces are linked at the root's node_modules (their `exports` hide package.json).
    if (name.startsWith("@gatehouse/")) workspacePackages(join(REPO_ROOT, "node_modules", name), seen);
  }
  return seen;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out.push(...sourceFiles(path));
    } else if (/\.(ts|sql|json|proto)$/.test(entry.name) && !/\.(test|int-helper)\.ts$/.test(entry.name)) {
      out.push(path);
    }
  }
  return out;
}

/**
 * The files the template's content depends on: every source file (not tests) of this package
 * (its migrations among them) and of the workspace packages it depends on, transitively.
 */
export function migratedTemplateInputs(): string[] {
  const files: string[] = [];
  for (const pkg of [...workspacePackages(PACKAGE_DIR)].sort()) files.push(...sourceFiles(join(pkg, "src")).sort());
  return files;
}

/**
 * The template's key: `iam_` and 24 hex digits of a SHA-256 over the catalogue package's
 * fingerprint and the paths and contents of {@link migratedTemplateInputs}.
 */
export function migratedTemplateKey(inputs: readonly string[] = migratedTemplateInputs()): string {
  const hash = createHash("sha256").update(awsManagedPolicyFingerprint()).update(TEMPLATE_SCHEMA);
  for (const file of inputs)
    hash.update(relative(REPO_ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  return `iam_${hash.digest("hex").slice(0, 24)}`;
}

/** Migrates and seeds `TEMPLATE_SCHEMA` in the database at `url` the way a control plane does. */
async function migrateAndSeed(url: string): Promise<void> {
  const store = createPostgresStore({ connectionString: url, schema: TEMPLATE_SCHEMA, secretKey: randomBytes(32) });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const infra = project.getProvidedContext()[TEST_INFRA_KEY];
  if (infra === undefined) throw new Error("migrated-template: run after packages/testkit/src/global-setup.ts");
  const started = performance.now();
  const held = await holdTemplateDatabase(infra.postgresUrl, {
    key: migratedTemplateKey(),
    build: migrateAndSeed,
    owner: realpathSync(REPO_ROOT),
  });
  const ms = Math.round(performance.now() - started);
  process.stderr.write(
    `testkit: migrated-schema template ${held.name} (${held.built ? `built in ${ms} ms` : "reused"}` +
      `${held.removed.length > 0 ? `; dropped unused ${held.removed.join(", ")}` : ""})\n`,
  );
  project.provide(MIGRATED_TEMPLATE_KEY, { database: held.name, schema: TEMPLATE_SCHEMA });
  return () => held.release();
}
