import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { databaseUrl, holdTemplateDatabase, type TemplateDatabaseSpec } from "./template-database.ts";
import { testInfra } from "./test-infra.ts";

async function query<R extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** Databases whose name starts with `prefix`. */
async function databases(prefix: string): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    testInfra().postgresUrl,
    "SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname",
    [prefix],
  );
  return rows.map((r) => r.datname);
}

/** A spec of a fresh key (this test's own), whose build writes one row and counts its calls. */
function aSpec(owner: string, overrides: Partial<TemplateDatabaseSpec> = {}) {
  const key = `kit${randomBytes(5).toString("hex")}`;
  let builds = 0;
  const spec: TemplateDatabaseSpec = {
    key,
    owner,
    async build(url) {
      builds++;
      await new Promise((resolve) => setTimeout(resolve, 200)); // others must wait, not build too
      await query(url, `CREATE TABLE built (key text); INSERT INTO built VALUES ('${key}')`);
    },
    ...overrides,
  };
  return { spec, name: `ghtpl_${key}`, builds: () => builds };
}

const owner = `testkit-test-${randomBytes(4).toString("hex")}`;
const made: string[] = [];

afterAll(async () => {
  // Whatever the tests left: holding another key of this test's owner drops the rest, then itself.
  const admin = testInfra().postgresUrl;
  const sweep = aSpec(owner);
  await (await holdTemplateDatabase(admin, sweep.spec)).release();
  await query(admin, `ALTER DATABASE ${sweep.name} WITH IS_TEMPLATE false`);
  await query(admin, `DROP DATABASE ${sweep.name}`);
  for (const name of made) expect(await databases(name)).toEqual([]);
});

describe("template databases (real Postgres)", () => {
  it("concurrent holders of a new key: one builds, all get the same complete template, clones copy it", async () => {
    const { spec, name, builds } = aSpec(owner);
    made.push(name);
    const admin = testInfra().postgresUrl;
    const held = await Promise.all([1, 2, 3].map(() => holdTemplateDatabase(admin, spec)));
    try {
      expect(builds()).toBe(1);
      expect(held.map((h) => h.name)).toEqual([name, name, name]);
      expect(held.filter((h) => h.built)).toHaveLength(1);
      // Published under its name only, as a template nobody connects to; no build database left.
      expect(await databases(name)).toEqual([name]);
      const [flags] = await query<{ datistemplate: boolean; datallowconn: boolean }>(
        admin,
        "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1",
        [name],
      );
      expect(flags).toEqual({ datistemplate: true, datallowconn: false });
      const clone = `${name}_clone`;
      await query(admin, `CREATE DATABASE ${clone} TEMPLATE ${name}`);
      try {
        expect(await query(databaseUrl(admin, clone), "SELECT key FROM built")).toEqual([{ key: spec.key }]);
      } finally {
        await query(admin, `DROP DATABASE ${clone}`);
      }
      // Held again later: found, not built.
      const again = await holdTemplateDatabase(admin, spec);
      expect(again.built).toBe(false);
      await again.release();
    } finally {
      await Promise.all(held.map((h) => h.release()));
    }
  });

  it("an unused template of the same owner goes when another key is held; a held one stays until released", async () => {
    const admin = testInfra().postgresUrl;
    const old = aSpec(owner);
    const inUse = aSpec(owner);
    const next = aSpec(owner);
    made.push(old.name, inUse.name, next.name);
    const holding = await holdTemplateDatabase(admin, inUse.spec);
    const oldHeld = await holdTemplateDatabase(admin, old.spec);
    expect(oldHeld.removed).not.toContain(inUse.name);
    await oldHeld.release();
    const current = await holdTemplateDatabase(admin, next.spec);
    try {
      expect(current.removed).toContain(old.name);
      expect(current.removed).not.toContain(inUse.name);
      expect(await databases(old.name)).toEqual([]);
      expect(await databases(inUse.name)).toEqual([inUse.name]);
      await holding.release();
      const later = await holdTemplateDatabase(admin, next.spec);
      expect(later.removed).toContain(inUse.name);
      await later.release();
    } finally {
      await holding.release();
      await current.release();
    }
  });

  it("another owner's unused template is kept for keepOthersMs after it was last held, then dropped", async () => {
    const admin = testInfra().postgresUrl;
    const theirs = aSpec(`${owner}-other`);
    const ours = aSpec(owner);
    made.push(theirs.name, ours.name);
    await (await holdTemplateDatabase(admin, theirs.spec)).release();
    const kept = await holdTemplateDatabase(admin, { ...ours.spec, keepOthersMs: 3600_000 });
    await kept.release();
    expect(kept.removed).not.toContain(theirs.name);
    expect(await databases(theirs.name)).toEqual([theirs.name]);
    // Last held two hours ago (as its comment says), by a worktree that has not run since.
    const stale = JSON.stringify({ owner: `${owner}-other`, heldAt: new Date(Date.now() - 7200_000).toISOString() });
    await query(admin, `COMMENT ON DATABASE ${theirs.name} IS '${stale}'`);
    const swept = await holdTemplateDatabase(admin, { ...ours.spec, keepOthersMs: 3600_000 });
    await swept.release();
    expect(swept.removed).toContain(theirs.name);
  });

  it("a failed build publishes nothing and leaves no database; the next holder builds", async () => {
    const admin = testInfra().postgresUrl;
    const failing = aSpec(owner, {
      async build(url) {
        await query(url, "CREATE TABLE half (x int)");
        throw new Error("build failed on purpose");
      },
    });
    made.push(failing.name);
    await expect(holdTemplateDatabase(admin, failing.spec)).rejects.toThrow("build failed on purpose");
    expect(await databases(failing.name)).toEqual([]);
    const retry = await holdTemplateDatabase(admin, { ...failing.spec, build: aSpec(owner).spec.build });
    expect(retry.built).toBe(true);
    await retry.release();
  });
});
