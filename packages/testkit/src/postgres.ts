import pg from "pg";
import type { TestInfra } from "./infra-settings.ts";
import { testInfra } from "./test-infra.ts";
import { uniqueName } from "./unique-name.ts";

/** Options of {@link createTestDatabase} and {@link createTestSchema}. */
export interface TestPostgresOptions {
  /** Name prefix, see {@link uniqueName}; `"t"` by default. */
  readonly prefix?: string;
  /** The services to use; {@link testInfra} by default (only valid inside an integration test). */
  readonly infra?: TestInfra;
}

/** A database of its own for one suite; {@link TestDatabase.drop} (or `await using`) removes it. */
export interface TestDatabase extends AsyncDisposable {
  /** The database name, e.g. `store_5f0c2a9e41`. */
  readonly name: string;
  /** A connection URL for that database. */
  readonly url: string;
  /** Drops the database, closing any connection still open to it; idempotent. */
  drop(): Promise<void>;
}

/** A schema of its own for one suite, in the shared test database. */
export interface TestSchema extends AsyncDisposable {
  /** The schema name, e.g. `store_5f0c2a9e41`. */
  readonly name: string;
  /** A connection URL for the database that holds the schema (search_path untouched). */
  readonly databaseUrl: string;
  /** The same URL with `search_path` set to the schema, for code that takes no schema option. */
  readonly url: string;
  /** Drops the schema and everything in it; idempotent. */
  drop(): Promise<void>;
}

async function withAdminClient<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function once(action: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    running ??= action();
    return running;
  };
}

/**
 * Creates a fresh, empty database named {@link uniqueName}(prefix) on the test Postgres server.
 * Use it when a suite needs database-level isolation (extensions, `LISTEN`/`NOTIFY` channels,
 * database settings); otherwise {@link createTestSchema} is cheaper.
 *
 * @example
 * let db: TestDatabase;
 * beforeAll(async () => { db = await createTestDatabase({ prefix: "store" }); });
 * afterAll(() => db.drop());
 */
export async function createTestDatabase(options: TestPostgresOptions = {}): Promise<TestDatabase> {
  const adminUrl = (options.infra ?? testInfra()).postgresUrl;
  const name = uniqueName(options.prefix);
  await withAdminClient(adminUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const drop = once(() =>
    withAdminClient(adminUrl, async (c) => {
      // FORCE: a pool a failed test forgot to close must not keep the database alive.
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    }),
  );
  return { name, url: url.toString(), drop, [Symbol.asyncDispose]: drop };
}

/**
 * Creates a fresh, empty schema named {@link uniqueName}(prefix) in the shared test database;
 * pass {@link TestSchema.name} to code that takes a schema option, or connect with
 * {@link TestSchema.url}, whose `search_path` is that schema.
 *
 * @example
 * await using schema = await createTestSchema({ prefix: "outbox" });
 * const store = createPostgresStore({ connectionString: schema.databaseUrl, schema: schema.name });
 */
export async function createTestSchema(options: TestPostgresOptions = {}): Promise<TestSchema> {
  const databaseUrl = (options.infra ?? testInfra()).postgresUrl;
  const name = uniqueName(options.prefix);
  await withAdminClient(databaseUrl, (c) => c.query(`CREATE SCHEMA ${quoteIdent(name)}`));
  const url = new URL(databaseUrl);
  url.searchParams.set("options", `-c search_path=${name}`);
  const drop = once(() =>
    withAdminClient(databaseUrl, async (c) => {
      await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
    }),
  );
  return { name, databaseUrl, url: url.toString(), drop, [Symbol.asyncDispose]: drop };
}
