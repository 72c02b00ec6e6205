import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createTestSchema } from "@gatehouse/testkit";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrate } from "../migrate.ts";

const FUNCTIONS_DIR = join(import.meta.dirname, "functions");

/** `sql/functions/<name>.sql`, without its leading comment lines. */
function functionFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const file of readdirSync(FUNCTIONS_DIR).filter((f) => f.endsWith(".sql"))) {
    const text = readFileSync(join(FUNCTIONS_DIR, file), "utf8");
    const sql = text
      .split("\n")
      .filter((line, i, all) => !(line.startsWith("--") && all.slice(0, i).every((l) => l.startsWith("--"))))
      .join("\n");
    files.set(file.slice(0, -".sql".length), sql);
  }
  return files;
}

/** Every function of `schema` as `name(identity args)` → its definition, unqualified. */
async function liveFunctions(pool: pg.Pool, schema: string): Promise<Map<string, { name: string; def: string }>> {
  const r = await pool.query<{ name: string; args: string; def: string }>(
    `SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args, pg_get_functiondef(p.oid) AS def
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1`,
    [schema],
  );
  return new Map(
    r.rows.map((x) => [
      `${x.name}(${x.args})`,
      { name: x.name, def: x.def.replace(`FUNCTION ${schema}.`, "FUNCTION ") },
    ]),
  );
}

describe("sql/functions", () => {
  it("hold the live definition of every function the migrations leave, and nothing else", async () => {
    await using fresh = await createTestSchema({ prefix: "sqlfn" });
    const pool = new pg.Pool({ connectionString: fresh.databaseUrl, max: 2 });
    try {
      await migrate(pool, { schema: fresh.name });
      const migrated = await liveFunctions(pool, fresh.name);
      const files = functionFiles();

      // One file per function (no overloads), named after it.
      expect([...migrated.values()].map((f) => f.name).sort()).toEqual([...files.keys()].sort());
      // The file reads exactly as Postgres prints the definition the migrations left.
      for (const { name, def } of migrated.values()) {
        expect(files.get(name)?.trimEnd(), `sql/functions/${name}.sql`).toBe(`${def.trimEnd()};`);
      }

      // Applying the files over the migrated schema changes nothing: no stale body, no option
      // (STABLE, SET …) that a CREATE OR REPLACE would drop, no signature a migration changed.
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        await client.query(`SET LOCAL search_path TO ${fresh.name}`);
        for (const sql of files.values()) await client.query(sql);
        await client.query("COMMIT");
      } finally {
        client.release();
      }
      expect(await liveFunctions(pool, fresh.name)).toEqual(migrated);
    } finally {
      await pool.end();
    }
  });
});
