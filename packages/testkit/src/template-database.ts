import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * Template databases: a database built once (e.g. migrated and seeded) and cloned per suite with
 * `CREATE DATABASE … TEMPLATE`, which copies its files (60 ms at load average 6, up to 0.8 s at 20+,
 * for Gatehouse's 27 MB migrated and seeded schema, against 5-24 s to migrate and seed one on this
 * project's 2-core CI host).
 *
 * Names: `ghtpl_<key>` for a finished template, `ghtpl_<key>__b<hex>` while one is being built.
 * The key names what the template holds (a hash of it), so a change builds a new one.
 *
 * Locks (session advisory locks in the admin URL's database, which every run shares):
 * - use, shared, held by every process that may clone the template for as long as it may: a
 *   template is only ever dropped by someone holding it exclusively, i.e. while nobody uses it;
 * - build, exclusive: one builder per key; the others wait, then find it built.
 * A template appears under its final name only when complete (built under another name, then
 * renamed), so nobody clones a half-built one. Its comment records its owner and when it was last
 * held, which decides when an unused one goes (see {@link TemplateDatabaseSpec.owner}).
 */

/** What {@link holdTemplateDatabase} is asked to provide. */
export interface TemplateDatabaseSpec {
  /**
   * What the template holds, as a name part: lower-case letters, digits and `_`, at most 40
   * characters (e.g. `iam_` and a hash of the migrations). Another key is another template.
   */
  readonly key: string;
  /** Fills the fresh, empty database at `url` (runs once per key, on whichever process gets there first). */
  build(url: string): Promise<void>;
  /**
   * Who uses it, e.g. the repository's path: an unused template of the same owner and another key
   * is superseded and dropped at once; another owner's (another worktree's) only once it has not
   * been held for {@link TemplateDatabaseSpec.keepOthersMs}, so worktrees on different migrations
   * do not rebuild each other's templates run after run.
   */
  readonly owner: string;
  /** How long another owner's unused template is kept; 6 hours by default. */
  readonly keepOthersMs?: number;
}

/** A template database this process may clone until {@link HeldTemplateDatabase.release}. */
export interface HeldTemplateDatabase {
  /** The template's database name, for `CREATE DATABASE … TEMPLATE`. */
  readonly name: string;
  /** Whether this call built it (else it was there already). */
  readonly built: boolean;
  /** Unused templates of other keys (and abandoned builds) this call dropped. */
  readonly removed: readonly string[];
  /** Lets others drop it once nobody else uses it (the next holder of another key will). */
  release(): Promise<void>;
}

const PREFIX = "ghtpl_";
const KEY = /^[a-z0-9_]{1,40}$/;
const BUILD_SUFFIX = /__b[0-9a-f]{8}$/;

/** A Postgres identifier, quoted. */
export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteLiteral = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** A template's comment. */
interface TemplateNote {
  readonly owner: string;
  readonly heldAt: string;
}

function readNote(comment: string | null): TemplateNote | undefined {
  try {
    const note = JSON.parse(comment ?? "") as Partial<TemplateNote>;
    return typeof note.owner === "string" && typeof note.heldAt === "string"
      ? { owner: note.owner, heldAt: note.heldAt }
      : undefined;
  } catch {
    return undefined;
  }
}
const useLock = (name: string) => `gatehouse-test-template-use:${name}`;
const buildLock = (name: string) => `gatehouse-test-template-build:${name}`;

/** The URL of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Makes sure the template of `spec.key` exists (building it if not) and holds it for this
 * process: nobody drops it until {@link HeldTemplateDatabase.release} or until this process's
 * session ends. On the way, drops every other template (and abandoned build) nobody holds, so
 * templates of old migrations do not pile up, while another worktree's run on other migrations
 * keeps its own.
 *
 * @example
 * const held = await holdTemplateDatabase(adminUrl, { key: "iam_3f9c…", build: (url) => migrateAt(url) });
 * // CREATE DATABASE x TEMPLATE held.name … ; at the end of the run:
 * await held.release();
 */
export async function holdTemplateDatabase(
  adminUrl: string,
  spec: TemplateDatabaseSpec,
): Promise<HeldTemplateDatabase> {
  if (!KEY.test(spec.key)) throw new Error(`template key ${JSON.stringify(spec.key)} must match ${KEY}`);
  const name = `${PREFIX}${spec.key}`;
  const session = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  // A lost connection must not crash the run; the locks go with it, which is the worst case.
  session.on("error", () => {});
  await session.connect();
  try {
    await session.query("SELECT pg_advisory_lock_shared(hashtext($1))", [useLock(name)]);
    const exists = async (db: string) =>
      ((await session.query("SELECT 1 FROM pg_database WHERE datname = $1", [db])).rowCount ?? 0) > 0;
    let built = false;
    if (!(await exists(name))) {
      await session.query("SELECT pg_advisory_lock(hashtext($1))", [buildLock(name)]);
      try {
        if (!(await exists(name))) {
          await build(session, adminUrl, name, spec);
          built = true;
        }
      } finally {
        await session.query("SELECT pg_advisory_unlock(hashtext($1))", [buildLock(name)]);
      }
    }
    const note: TemplateNote = { owner: spec.owner, heldAt: new Date().toISOString() };
    // Two holders commenting at once may collide ("tuple concurrently updated"): either note will do.
    await session
      .query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(JSON.stringify(note))}`)
      .catch(() => {});
    const removed = await removeUnused(session, name, spec.owner, spec.keepOthersMs ?? 6 * 3600_000);
    let released: Promise<void> | undefined;
    return {
      name,
      built,
      removed,
      release() {
        released ??= session.end().catch(() => {});
        return released;
      },
    };
  } catch (e) {
    await session.end().catch(() => {});
    throw e;
  }
}

async function build(session: pg.Client, adminUrl: string, name: string, spec: TemplateDatabaseSpec): Promise<void> {
  // Under the build lock: any build of this key left over is a crashed builder's.
  const leftovers = await session.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
    [`${name}__b`],
  );
  for (const { datname } of leftovers.rows) await dropDatabase(session, datname);
  const building = `${name}__b${randomBytes(4).toString("hex")}`;
  await session.query(`CREATE DATABASE ${quoteIdent(building)}`);
  try {
    await spec.build(databaseUrl(adminUrl, building));
    // A template: DROP DATABASE refuses it, and nobody connects to it by mistake (clones are not
    // templates and allow connections: CREATE DATABASE does not copy these flags).
    await session.query(`ALTER DATABASE ${quoteIdent(building)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    // Published complete, in one step.
    await session.query(`ALTER DATABASE ${quoteIdent(building)} RENAME TO ${quoteIdent(name)}`);
  } catch (e) {
    await dropDatabase(session, building).catch(() => {});
    throw e;
  }
}

async function dropDatabase(session: pg.Client, name: string): Promise<void> {
  await session.query(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE false`);
  await session.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

/**
 * Drops the templates other than `keep` nobody holds (another owner's only when last held over
 * `keepOthersMs` ago), and builds nobody is running.
 */
async function removeUnused(session: pg.Client, keep: string, owner: string, keepOthersMs: number): Promise<string[]> {
  const found = await session.query<{ datname: string; comment: string | null }>(
    `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database
     WHERE starts_with(datname, $1) AND datname <> $2 ORDER BY datname`,
    [PREFIX, keep],
  );
  const removed: string[] = [];
  for (const { datname, comment } of found.rows) {
    const note = readNote(comment);
    if (note !== undefined && note.owner !== owner && Date.now() - Date.parse(note.heldAt) < keepOthersMs) continue;
    const template = datname.replace(BUILD_SUFFIX, "");
    // Every builder holds its template's use lock while building, so one lock covers both cases;
    // for a leftover build of our own template (use lock held by us, shared), the build lock.
    const lock = template === keep ? buildLock(template) : useLock(template);
    const got = await session.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext($1)) AS ok", [lock]);
    if (got.rows[0]?.ok !== true) continue;
    try {
      await dropDatabase(session, datname);
      removed.push(datname);
    } finally {
      await session.query("SELECT pg_advisory_unlock(hashtext($1))", [lock]);
    }
  }
  return removed;
}
