/**
 * Rewrites `sql/functions/*.sql` from a schema freshly migrated with every migration: run it after
 * adding a migration that changes a SQL function, and review the diff.
 *
 * @example
 * ./gw exec -- node packages/store-postgres/src/sql/dump-functions.ts postgres://postgres@127.0.0.1:5432/gatehouse_test
 */
import { randomBytes } from "node:crypto";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { loadMigrations, migrate } from "../migrate.ts";

const FUNCTIONS_DIR = join(import.meta.dirname, "functions");

const url = process.argv[2];
if (url === undefined) {
  console.error("usage: dump-functions.ts <postgres url of a scratch database>");
  process.exit(2);
}
const schema = `gh_dump_${randomBytes(5).toString("hex")}`;
const pool = new pg.Pool({ connectionString: url, max: 1 });
try {
  await migrate(pool, { schema });
  const r = await pool.query<{ name: string; def: string }>(
    `SELECT p.proname AS name, pg_get_functiondef(p.oid) AS def
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 ORDER BY p.proname`,
    [schema],
  );
  const migrations = [...loadMigrations()].reverse();
  for (const f of readdirSync(FUNCTIONS_DIR).filter((x) => x.endsWith(".sql"))) rmSync(join(FUNCTIONS_DIR, f));
  for (const { name, def } of r.rows) {
    const last = migrations.find((m) => new RegExp(`FUNCTION\\s+${name}\\b`).test(m.sql));
    const changedBy = last === undefined ? "?" : `${String(last.version).padStart(4, "0")}_${last.name}`;
    const header = [
      `-- ${name}: its live definition, as pg_get_functiondef prints it once every migration has run`,
      `-- (last changed by migration ${changedBy}). Change it with a new migration and update this file to`,
      "-- match: sql-functions.int.test.ts fails while the two differ.",
    ];
    const body = `${def.replace(`FUNCTION ${schema}.`, "FUNCTION ").trimEnd()};`;
    writeFileSync(join(FUNCTIONS_DIR, `${name}.sql`), `${header.join("\n")}\n${body}\n`);
  }
  console.log(`wrote ${r.rows.length} files to ${FUNCTIONS_DIR}`);
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await pool.end();
}
