import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createTestSchema } from "@gatehouse/testkit";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createPostgresStore, loadMigrations, seedBuiltinPolicies } from "./index.ts";
import { migratedTemplateInputs, migratedTemplateKey } from "./migrated-template.int-helper.ts";

/** What a migrated and seeded schema holds, without what depends on when or under which name. */
async function contents(url: string, schema: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const one = async (sql: string) => (await client.query(sql, [schema])).rows;
    const tables = await one(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
    );
    const counts: Record<string, number> = {};
    for (const { table_name } of tables) {
      counts[table_name] = (await client.query(`SELECT count(*)::int AS n FROM ${schema}.${table_name}`)).rows[0].n;
    }
    return {
      counts,
      functions: await one(
        `SELECT p.proname, md5(p.prosrc) AS src FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = $1 ORDER BY 1, 2`,
      ),
      indexes: await one("SELECT indexname, tablename FROM pg_indexes WHERE schemaname = $1 ORDER BY 1"),
      migrations: await one(`SELECT version, name FROM ${schema}.schema_migrations WHERE $1 <> '' ORDER BY version`),
      policies: await one(
        `SELECT md5(string_agg(concat_ws('|', p.policy_id, p.policy_name, p.path, p.default_version_id,
           p.builtin_revision, p.system_carried_revision, v.version_id, md5(v.document), v.is_default), ','
           ORDER BY p.policy_id, v.version_id)) AS digest
         FROM ${schema}.managed_policies p JOIN ${schema}.policy_versions v USING (policy_id) WHERE $1 <> ''`,
      ),
      outbox: await one(
        `SELECT account_id, revision, published_at IS NULL AS unpublished,
           md5(string_agg(entity_kind || ':' || entity_id, ',' ORDER BY id)) AS entities
         FROM ${schema}.outbox WHERE $1 <> '' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      ),
    };
  } finally {
    await client.end();
  }
}

describe("the migrated-schema template (real Postgres)", () => {
  it("a clone holds what migrating and seeding an empty schema gives, and migrating it again does nothing", async () => {
    await using empty = await createTestSchema({ prefix: "tplfresh" });
    await using clone = await createTestSchema({ prefix: "tplclone", migrated: true });
    expect(clone.databaseUrl).not.toBe(empty.databaseUrl); // a database of its own
    const fresh = createPostgresStore({
      connectionString: empty.databaseUrl,
      schema: empty.name,
      secretKey: randomBytes(32),
    });
    const cloned = createPostgresStore({
      connectionString: clone.databaseUrl,
      schema: clone.name,
      secretKey: randomBytes(32),
    });
    try {
      expect(await fresh.migrate()).toEqual(loadMigrations().map((m) => m.version));
      expect(await cloned.migrate()).toEqual([]);
      const again = await seedBuiltinPolicies(cloned);
      expect(again).toMatchObject({ added: [], changed: [], carriedOnSystemStream: 0, catalogueRead: false });
      const want = await contents(empty.databaseUrl, empty.name);
      expect(want.counts.managed_policies).toBeGreaterThan(1000);
      expect(await contents(clone.databaseUrl, clone.name)).toEqual(want);
    } finally {
      await Promise.all([fresh.close(), cloned.close()]);
    }
  });

  it("its key covers the migrations, the seeding and the code the outbox rows are encoded with, not tests", () => {
    const inputs = migratedTemplateInputs();
    const src = import.meta.dirname;
    for (const m of loadMigrations()) {
      expect(inputs).toContain(join(src, "migrations", `${String(m.version).padStart(4, "0")}_${m.name}.sql`));
    }
    expect(inputs).toContain(join(src, "families", "policies", "seed-builtin-policies.ts"));
    expect(inputs).toContain(join(src, "migrate.ts"));
    expect(inputs.some((f) => f.includes(join("packages", "events", "src")))).toBe(true);
    expect(inputs.some((f) => /\.(test|int-helper)\.ts$/.test(f))).toBe(false);
    const key = migratedTemplateKey(inputs);
    expect(key).toMatch(/^iam_[0-9a-f]{24}$/);
    expect(migratedTemplateKey(inputs.filter((f) => !f.endsWith(".sql")))).not.toBe(key);
  });
});
