import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { translatePgError } from "./pg-error.ts";

/** One versioned SQL migration; `version` comes from the file name (`0001_initial.sql` → 1). */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const MIGRATIONS_DIR = join(import.meta.dirname, "migrations");

/** The migrations shipped with this package, in version order. */
export function loadMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => ({
      version: Number.parseInt(file.slice(0, 4), 10),
      name: file.slice(5, -4),
      sql: readFileSync(join(dir, file), "utf8"),
    }));
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `schema` is a plain lower-case identifier (it is interpolated into SQL). */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`schema ${JSON.stringify(schema)} must match ${SCHEMA_NAME}`);
  }
}

/** What {@link migrate} did. */
export interface MigrationResult {
  /** Versions applied by this call, in order (empty when already up to date). */
  readonly applied: number[];
  /** The schema's version afterwards. */
  readonly version: number;
}

/**
 * Brings `schema` up to date. The definition each SQL function has once every migration has run
 * is kept, as Postgres prints it, in `sql/functions/<name>.sql` (the place to read a `gh_*`
 * function); a migration that changes a function updates that file too, and
 * `sql/sql-functions.int.test.ts` fails until it does. Each pending migration runs in its own
 * transaction together with its `schema_migrations` row, under an advisory lock so concurrent
 * starters do not race.
 *
 * @example
 * await migrate(pool, { schema: "gatehouse" });
 */
export async function migrate(
  pool: pg.Pool,
  options: { schema: string; migrations?: readonly Migration[] },
): Promise<MigrationResult> {
  const { schema } = options;
  assertSchemaName(schema);
  const migrations = options.migrations ?? loadMigrations();
  const applied: number[] = [];
  let version = 0;
  const client = await pool.connect();
  try {
    for (const m of migrations) {
      await client.query("BEGIN");
      try {
        await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`gatehouse-migrate:${schema}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
        await client.query(`SET LOCAL search_path TO ${schema}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS schema_migrations (
             version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const done = await client.query("SELECT 1 FROM schema_migrations WHERE version = $1", [m.version]);
        if (done.rowCount === 0) {
          await client.query(m.sql);
          await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [m.version, m.name]);
          applied.push(m.version);
        }
        await client.query("COMMIT");
        version = m.version;
      } catch (e) {
        await client.query("ROLLBACK").catch(() => {});
        throw translatePgError(e, `migration ${m.version}_${m.name}`);
      }
    }
  } finally {
    client.release();
  }
  return { applied, version };
}
