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

/** A table that may still reference an entity, and how a DeleteConflict names what it holds. */
export interface Dependent {
  /** Plural noun for the message, e.g. `"attached policies"`. */
  readonly label: string;
  /** Table and column referencing the entity's id (constants from code, never request data). */
  readonly table: string;
  readonly column: string;
  /** Narrows the rows that count (SQL over `table`'s columns, a constant from code): `NOT is_default`. */
  readonly where?: string;
}

/**
 * Fails with `DeleteConflict`, naming every kind of dependent still there and how many, when any of
 * `dependents` references the entity: as AWS, an entity is deleted only once it is emptied.
 */
export async function assertNoDependents(
  q: Queryable,
  entity: { readonly kind: string; readonly name: string; readonly id: string; readonly field: string },
  dependents: readonly Dependent[],
): Promise<void> {
  const sql = dependents
    .map(
      (d, i) =>
        `SELECT ${i} AS i, count(*)::int AS n FROM ${d.table} WHERE ${d.column} = $1${d.where === undefined ? "" : ` AND (${d.where})`}`,
    )
    .join(" UNION ALL ");
  const uses = await q.query<{ i: number; n: number }>(`${sql} ORDER BY i`, [entity.id]);
  const blocking = uses.rows.filter((r) => r.n > 0).map((r) => `${r.n} ${dependents[r.i]?.label}`);
  if (blocking.length > 0) {
    throw new IamError(
      "DeleteConflict",
      `${entity.kind} ${JSON.stringify(entity.name)} still has ${blocking.join(", ")}`,
      {
        field: entity.field,
      },
    );
  }
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
