import { IamError } from "@gatehouse/core";
import type { TagRecord } from "./records.ts";
import type { Queryable } from "./tx.ts";

// Checks that several families make before they write: dependents before a delete, quotas.

/** A NoSuchEntity naming the missing entity and the field that named it. */
export function noSuch(what: string, name: string, field: string): IamError {
  return new IamError("NoSuchEntity", `${what} ${JSON.stringify(name)} does not exist`, { field });
}

/** A LimitExceeded for a quota of `limit`, on the field whose value would exceed it. */
export function limitExceeded(what: string, limit: number, field: string): IamError {
  return new IamError("LimitExceeded", `${what} (quota ${limit})`, { field });
}

/** The `n` of a `SELECT count(*)::int AS n …` query. */
export async function count(q: Queryable, sql: string, params: unknown[]): Promise<number> {
  const r = await q.query<{ n: number }>(sql, params);
  return r.rows[0]?.n ?? 0;
}

/**
 * One kind of the rows a {@link Dependent} counts, as a DeleteConflict names them: "2 users
 * (alice, bob)". SQL fragments are constants from code, over the dependent's table aliased `d`.
 */
export interface NamedDependents {
  /** Words before the count ("attached to", "member of"); consecutive kinds with the same phrase share it. */
  readonly phrase?: string;
  /** Singular noun of one row ("user", "access key"); the plural adds "s" ("policy" → "policies"). */
  readonly noun: string;
  /** SQL: the row's name as the message shows it (`d.access_key_id`, a subquery for a user's name). */
  readonly name: string;
  /** SQL: which of the table's rows are of this kind (`d.user_id IS NOT NULL`); all when absent. */
  readonly when?: string;
}

/** A table that may still reference an entity, and how a DeleteConflict names what it holds. */
export interface Dependent {
  /** Plural noun for the message, e.g. `"attached policies"`. */
  readonly label: string;
  /** Table and column referencing the entity's id (constants from code, never request data). */
  readonly table: string;
  readonly column: string;
  /** Narrows the rows that count (SQL over `table`'s columns, a constant from code): `NOT is_default`. */
  readonly where?: string;
  /** How the message says where they are: its rows by kind, a few names each. */
  readonly named?: readonly NamedDependents[];
}

/**
 * SQL naming the user, group, role or managed policy a dependent row (aliased `d`) references by
 * its `user_id`, `group_id`, `role_id` or `policy_id`: for {@link NamedDependents.name}.
 */
export const NAME_OF = Object.freeze({
  user: "(SELECT x.user_name FROM users x WHERE x.user_id = d.user_id)",
  group: "(SELECT x.group_name FROM groups x WHERE x.group_id = d.group_id)",
  role: "(SELECT x.role_name FROM roles x WHERE x.role_id = d.role_id)",
  policy: "(SELECT x.policy_name FROM managed_policies x WHERE x.policy_id = d.policy_id)",
});

/** Names a DeleteConflict shows per kind of dependent; the rest are counted ("and 4 more"). */
const NAMES_SHOWN = 3;

/** `noun` for one, its plural otherwise. */
function counted(n: number, noun: string): string {
  if (n === 1) return `1 ${noun}`;
  return `${n} ${noun.endsWith("y") ? `${noun.slice(0, -1)}ies` : `${noun}s`}`;
}

/**
 * Fails with `DeleteConflict`, naming every kind of dependent still there and how many, then where
 * they are ("attached to 2 users (alice, bob), 1 role (deploy); boundary of 1 user (carol)"), when
 * any of `dependents` references the entity: as AWS, an entity is deleted only once it is emptied,
 * and the message says what to empty.
 */
export async function assertNoDependents(
  q: Queryable,
  entity: { readonly kind: string; readonly name: string; readonly id: string; readonly field: string },
  dependents: readonly Dependent[],
): Promise<void> {
  const rowsOf = (d: Dependent, when?: string) =>
    `FROM ${d.table} d WHERE d.${d.column} = $1${d.where === undefined ? "" : ` AND (${d.where})`}${when === undefined ? "" : ` AND (${when})`}`;
  const sql = dependents.map((d, i) => `SELECT ${i} AS i, count(*)::int AS n ${rowsOf(d)}`).join(" UNION ALL ");
  const uses = await q.query<{ i: number; n: number }>(`${sql} ORDER BY i`, [entity.id]);
  const blocking = uses.rows.filter((r) => r.n > 0).map((r) => `${r.n} ${dependents[r.i]?.label}`);
  if (blocking.length === 0) return;
  // Only on the way to an error: a delete that goes through never reads the names.
  const named = dependents.flatMap((d) => (d.named ?? []).map((k) => ({ d, k })));
  let where = "";
  if (named.length > 0) {
    const r = await q.query<{ i: number; n: number; names: string[] }>(
      `${named
        .map(
          ({ d, k }, i) =>
            `SELECT ${i} AS i, count(*)::int AS n, (array_agg(x.name ORDER BY lower(x.name), x.name))[1:${NAMES_SHOWN}] AS names
               FROM (SELECT (${k.name})::text AS name ${rowsOf(d, k.when)}) x`,
        )
        .join(" UNION ALL ")} ORDER BY i`,
      [entity.id],
    );
    const parts: { phrase: string; text: string }[] = [];
    for (const row of r.rows) {
      const k = named[row.i]?.k;
      if (k === undefined || row.n === 0) continue;
      const more = row.n > row.names.length ? `, and ${row.n - row.names.length} more` : "";
      parts.push({ phrase: k.phrase ?? "", text: `${counted(row.n, k.noun)} (${row.names.join(", ")}${more})` });
    }
    const clauses: string[] = [];
    for (const [i, p] of parts.entries()) {
      if (p.phrase !== "" && parts[i - 1]?.phrase === p.phrase) clauses[clauses.length - 1] += `, ${p.text}`;
      else clauses.push(p.phrase === "" ? p.text : `${p.phrase} ${p.text}`);
    }
    if (clauses.length > 0) where = `: ${clauses.join("; ")}`;
  }
  throw new IamError(
    "DeleteConflict",
    `${entity.kind} ${JSON.stringify(entity.name)} still has ${blocking.join(", ")}${where}`,
    { field: entity.field },
  );
}

/** Tags as stored in an entity's `tags` jsonb column: `[{key, value}]`, nothing else kept. */
export function tagsJson(input: readonly TagRecord[] | undefined): string {
  return JSON.stringify((input ?? []).map((t) => ({ key: t.key, value: t.value })));
}

/** Fails with `LimitExceeded` (field `tags`) when an entity would carry more tags than `quota`. */
export function checkTagQuota(input: readonly unknown[] | undefined, quota: number): void {
  const n = input?.length ?? 0;
  if (n > quota) throw new IamError("LimitExceeded", `tags has ${n} entries (quota ${quota})`, { field: "tags" });
}
