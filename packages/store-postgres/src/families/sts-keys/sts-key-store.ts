import { randomBytes } from "node:crypto";
import { secretKeyId } from "@gatehouse/auth";
import { IamError } from "@gatehouse/core";
import { EntityKind, STS_KEY_SET_ID, SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import type { Mutation } from "../../records.ts";
import type { StateEvent } from "../../state.ts";
import type { Queryable, StoreContext } from "../../tx.ts";
import { mutate } from "../../write-path.ts";

/**
 * The longest a session may live (GetSessionToken of an IAM user: 36 h, AWS's bound) plus five
 * minutes of clock skew: a key rotated out keeps opening tokens this long, then leaves the set.
 */
export const STS_KEY_RETENTION_MS = 36 * 3_600_000 + 5 * 60_000;

/** One key of the set as the operator sees it (never the key). */
export interface StsKeyRecord {
  readonly keyId: string;
  readonly createdAtMs: number;
  readonly activatesAtMs: number;
  readonly retiredAtMs: number | null;
}

/** Input of {@link StsKeyStore.rotateStsKeys}. */
export interface RotateStsKeysInput {
  /** Milliseconds before the new key seals (every region learns it first); 0 = at once. */
  readonly activationDelayMs: number;
}

/** The regions' STS key set: created, rotated and published (sealed) by the control plane only. */
export interface StsKeyStore {
  /**
   * Adds a new key, which seals once its activation delay has passed; the keys it replaces are
   * retired (they still open tokens) and keys retired longer than {@link STS_KEY_RETENTION_MS}
   * ago leave the set. Publishes the whole set, sealed, on the system account's stream.
   */
  rotateStsKeys(input: RotateStsKeysInput): Promise<Mutation<StsKeyRecord[]>>;
  /** Creates the first key when the set is empty (at start-up); otherwise changes nothing. */
  ensureStsKey(): Promise<Mutation<StsKeyRecord[]>>;
}

interface StsKeyRow {
  key_id: string;
  sealed_key: Buffer;
  created_at: Date;
  activates_at: Date;
  retired_at: Date | null;
}

function toRecord(r: StsKeyRow): StsKeyRecord {
  return {
    keyId: r.key_id,
    createdAtMs: r.created_at.getTime(),
    activatesAtMs: r.activates_at.getTime(),
    retiredAtMs: r.retired_at?.getTime() ?? null,
  };
}

/** The AAD an STS key is sealed under. */
export function stsKeyAad(keyId: string): string {
  return `sts-key:${keyId}`;
}

/** The set as it travels (`sts-key-set`, id `sts`, under the system account): every key sealed. */
export async function stsKeySetState(q: Queryable): Promise<StateEvent<"sts-key-set">> {
  const r = await q.query<StsKeyRow>("SELECT * FROM sts_keys ORDER BY created_at, key_id");
  return {
    kind: EntityKind.stsKeySet,
    id: STS_KEY_SET_ID,
    payload: {
      keys: r.rows.map((row) => ({
        ...toRecord(row),
        sealedKey: row.sealed_key.toString("base64"),
      })),
    },
  };
}

/** The {@link StsKeyStore} part of the store. */
export function createStsKeyStore(ctx: StoreContext): StsKeyStore {
  const now = () => ctx.options.clock.now();
  const list = async (q: Queryable) =>
    (await q.query<StsKeyRow>("SELECT * FROM sts_keys ORDER BY created_at, key_id")).rows.map(toRecord);

  const addKey = async (q: Queryable, activationDelayMs: number) => {
    const key = randomBytes(32);
    const keyId = secretKeyId(key);
    const at = now();
    await q.query("UPDATE sts_keys SET retired_at = to_timestamp($1 / 1000.0) WHERE retired_at IS NULL", [
      at + activationDelayMs,
    ]);
    await q.query("DELETE FROM sts_keys WHERE retired_at < to_timestamp($1 / 1000.0)", [at - STS_KEY_RETENTION_MS]);
    await q.query(
      `INSERT INTO sts_keys (key_id, sealed_key, created_at, activates_at)
       VALUES ($1, $2, to_timestamp($3 / 1000.0), to_timestamp($4 / 1000.0))`,
      [keyId, ctx.box.seal(key.toString("base64"), stsKeyAad(keyId)), at, at + activationDelayMs],
    );
    key.fill(0);
  };

  return {
    rotateStsKeys: (input) => {
      if (
        !Number.isSafeInteger(input.activationDelayMs) ||
        input.activationDelayMs < 0 ||
        input.activationDelayMs > 86_400_000
      ) {
        throw new IamError(
          "InvalidInput",
          `activationDelaySeconds must be 0..86400, got ${input.activationDelayMs / 1000}`,
          {
            field: "activationDelaySeconds",
          },
        );
      }
      return mutate(ctx, SYSTEM_ACCOUNT_ID, { operation: "RotateStsKeys", request: input }, async (q) => {
        await addKey(q, input.activationDelayMs);
        return { value: await list(q), events: [await stsKeySetState(q)] };
      });
    },
    ensureStsKey: () =>
      mutate(ctx, SYSTEM_ACCOUNT_ID, { operation: "EnsureStsKey", request: {} }, async (q) => {
        // The system account's row lock (taken by mutate) serializes concurrent starters.
        const existing = await list(q);
        if (existing.length > 0) return { value: existing, events: [] };
        await addKey(q, 0);
        return { value: await list(q), events: [await stsKeySetState(q)] };
      }),
  };
}
