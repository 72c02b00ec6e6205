import pg from "pg";
import { inject } from "vitest";
import { MIGRATED_TEMPLATE_KEY, type TestInfra } from "./infra-settings.ts";
import { quoteIdent, databaseUrl as urlOfDatabase } from "./template-database.ts";
import { testInfra } from "./test-infra.ts";
import { uniqueName } from "./unique-name.ts";

/** Options of {@link createTestDatabase} and {@link createTestSchema}. */
export interface TestPostgresOptions {
  /** Name prefix, see {@link uniqueName}; `"t"` by default. */
  readonly prefix?: string;
  /** The services to use; {@link testInfra} by default (only valid inside an integration test). */
  readonly infra?: TestInfra;
}

/** Options of {@link createTestSchema}. */
export interface TestSchemaOptions extends TestPostgresOptions {
  /**
   * `true`: the schema starts migrated and seeded (the AWS managed policies and what seeding wrote
   * to the outbox), a copy of the run's template (see {@link MigratedSchemaTemplate}), in a
   * database of its own; `store.migrate()` on it then finds nothing to do, in a few ms. `false`
   * (default): empty, for tests of migrating and seeding themselves.
   */
  readonly migrated?: boolean;
}

/**
 * Where the run's migrated and seeded schema lives: a template database (never connected to)
 * holding `schema`. Built once per content hash of the migrations, the catalogue and the code
 * that writes them, by the integration project's global setup
 * (`packages/store-postgres/src/migrated-template.int-helper.ts`), which provides it under
 * {@link MIGRATED_TEMPLATE_KEY}.
 */
export interface MigratedSchemaTemplate {
  /** The template database. */
  readonly database: string;
  /** The schema inside it that migrations and seeding filled. */
  readonly schema: string;
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

/** Drops database `name` once, whoever asks again. */
function dropperOfDatabase(adminUrl: string, name: string): () => Promise<void> {
  return once(() =>
    withAdminClient(adminUrl, async (c) => {
      // FORCE: a pool a failed test forgot to close must not keep the database alive.
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    }),
  );
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
  const drop = dropperOfDatabase(adminUrl, name);
  return { name, url: urlOfDatabase(adminUrl, name), drop, [Symbol.asyncDispose]: drop };
}

/**
 * Creates a fresh schema named {@link uniqueName}(prefix): empty, in the shared test database, or
 * with `migrated: true` already migrated and seeded, in a database of its own cloned from the
 * run's template. Pass {@link TestSchema.name} to code that takes a schema option (and
 * {@link TestSchema.databaseUrl} as its connection string), or connect with {@link TestSchema.url},
 * whose `search_path` is that schema.
 *
 * Why a clone: migrating a fresh schema and seeding AWS's 1,594 managed policies (6,194 versions)
 * costs 5-24 s on this project's 2-core host (load average 4 to 25), for each of the suite's
 * fresh schemas; cloning a template database 0.06-0.8 s. The production path still runs: the template is built
 * with it, and the tests of migrating and seeding (`store.int.test.ts`, the catalogue tests) use
 * empty schemas.
 *
 * @example
 * await using schema = await createTestSchema({ prefix: "outbox", migrated: true });
 * const store = createPostgresStore({ connectionString: schema.databaseUrl, schema: schema.name });
 * await store.migrate(); // nothing left to do
 */
export async function createTestSchema(options: TestSchemaOptions = {}): Promise<TestSchema> {
  if (options.migrated === true) return cloneMigratedSchema(options);
  const databaseUrl = (options.infra ?? testInfra()).postgresUrl;
  const name = uniqueName(options.prefix);
  await withAdminClient(databaseUrl, (c) => c.query(`CREATE SCHEMA ${quoteIdent(name)}`));
  const drop = once(() =>
    withAdminClient(databaseUrl, async (c) => {
      await c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(name)} CASCADE`);
    }),
  );
  return testSchema(name, databaseUrl, drop);
}

/** Schema `name` in the database at `databaseUrl`, with its search_path URL. */
function testSchema(name: string, databaseUrl: string, drop: () => Promise<void>): TestSchema {
  const url = new URL(databaseUrl);
  url.searchParams.set("options", `-c search_path=${name}`);
  return { name, databaseUrl, url: url.toString(), drop, [Symbol.asyncDispose]: drop };
}

/** The run's migrated template, as the global setup provided it. */
function migratedTemplate(): MigratedSchemaTemplate {
  const template = inject(MIGRATED_TEMPLATE_KEY);
  if (template === undefined) {
    throw new Error(
      `createTestSchema({ migrated: true }): nothing was provided under '${MIGRATED_TEMPLATE_KEY}'; the ` +
        "integration project's globalSetup must include packages/store-postgres/src/migrated-template.int-helper.ts",
    );
  }
  return template;
}

async function cloneMigratedSchema(options: TestSchemaOptions): Promise<TestSchema> {
  const template = migratedTemplate();
  const adminUrl = (options.infra ?? testInfra()).postgresUrl;
  const name = uniqueName(options.prefix);
  await withAdminClient(adminUrl, (c) =>
    c.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template.database)}`),
  );
  const drop = dropperOfDatabase(adminUrl, name);
  const databaseUrl = urlOfDatabase(adminUrl, name);
  try {
    // Nothing in the schema names itself (functions resolve tables through search_path, the
    // NOTIFY channel is a parameter), so a rename is all it takes to be the suite's own.
    await withAdminClient(databaseUrl, (c) =>
      c.query(`ALTER SCHEMA ${quoteIdent(template.schema)} RENAME TO ${quoteIdent(name)}`),
    );
  } catch (e) {
    await drop();
    throw e;
  }
  return testSchema(name, databaseUrl, drop);
}
