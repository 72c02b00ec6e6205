import { randomUUID } from "node:crypto";
import { IamError } from "@gatehouse/core";
import { decodeEntity, type TypedEntity } from "@gatehouse/events";
import type { Redis } from "ioredis";
import { indexRecordOf } from "./index-record.ts";
import { APPLY_REVISION_LUA, READ_PRINCIPAL_LUA } from "./view-scripts.ts";

/** Options of {@link createRegionView}. */
export interface RegionViewOptions {
  /** A connected client for commands (not used for subscriptions). */
  readonly redis: Redis;
  /** Every key and the notification channel start with it (e.g. `gatehouse:us-east-1:`). */
  readonly keyPrefix: string;
}

/**
 * What applying one revision did:
 * - `applied`: the revision is now the account's applied revision; `invalidated` names whose
 *   decisions may have changed (`all` = every principal of the account).
 * - `duplicate`: at or below the applied revision of the same history; nothing changed.
 * - `epoch-mismatch`: at or below the applied revision but from another history (a failover
 *   rewound it): nothing changed, the account needs a resynchronization.
 * - `gap`: above `applied + 1`: nothing changed, the account is marked gapped until healed.
 * - `gapped`: the account was already marked gapped; nothing changed.
 * - `view-lost`: the view's generation is gone (Redis was flushed or lost its data): nothing
 *   changed; the applier must restart and rebuild under a new generation.
 */
export type ApplyOutcome =
  | { readonly kind: "applied"; readonly revision: number; readonly invalidated: Invalidation }
  | {
      readonly kind: "duplicate" | "epoch-mismatch" | "gap" | "gapped" | "view-lost";
      readonly appliedRevision: number;
    };

/** The principals whose decisions may differ after a revision. */
export interface Invalidation {
  readonly all: boolean;
  /** User and role ARNs (both the old and the new ARN of a renamed principal). */
  readonly principals: readonly string[];
}

/** A message on the view's notification channel. */
export type ViewNotification =
  | {
      readonly type: "applied";
      readonly accountId: string;
      readonly revision: number;
      readonly all: boolean;
      readonly principals: readonly string[];
      /** Resource ARNs whose stored resource policy the revision wrote or deleted. */
      readonly resources: readonly string[];
      /** Access key ids the revision created, changed (status) or deleted. */
      readonly accessKeys: readonly string[];
    }
  | { readonly type: "watermark"; readonly partition: number; readonly committedBeforeMs: number };

/** An account's applied revision and the history it belongs to. */
export interface AppliedRevision {
  readonly revision: number;
  readonly epoch: string;
  /** Set once a gap was met: `"expected>seen"` revisions; nothing more is applied until healed. */
  readonly gap?: string;
}

/** Everything a decider compiles a principal from, read at one revision. */
export interface PrincipalSnapshot {
  readonly applied: AppliedRevision;
  /** The user or role, or undefined when the account has no principal with that ARN. */
  readonly principal?: Extract<TypedEntity, { kind: "user" | "role" }>;
  readonly account?: Extract<TypedEntity, { kind: "account" }>;
  readonly groups: readonly Extract<TypedEntity, { kind: "group" }>[];
  /** Managed policies attached to the principal or its groups, and its boundary, by ARN. */
  readonly policies: ReadonlyMap<string, Extract<TypedEntity, { kind: "policy" }>>;
}

/** The region's view in Redis. */
export interface RegionView {
  /** The pub/sub channel carrying {@link ViewNotification}s. */
  readonly channel: string;
  /**
   * Applies every event of one account revision in one Lua script: states, reverse indexes and
   * the applied revision change together, and the invalidation is published in the same step.
   */
  applyRevision(
    accountId: string,
    revision: number,
    epoch: string,
    entities: readonly TypedEntity[],
  ): Promise<ApplyOutcome>;
  /**
   * The id of this copy of the view, created on first use. A Redis that lost its data has none,
   * so a new one is made: an applier consuming under a group named after it reads the topic from
   * its start and rebuilds the view (as far as the topic's retention reaches).
   */
  ensureGeneration(): Promise<string>;
  /** The account's applied revision (0 when the region has nothing of it). */
  appliedRevision(accountId: string): Promise<AppliedRevision>;
  /** A principal's inputs at one revision (one script, so never half a revision). */
  readPrincipal(accountId: string, arn: string): Promise<PrincipalSnapshot>;
  /** An access key's state by its id (any account), or undefined when the region has no such key. */
  readAccessKey(
    accessKeyId: string,
  ): Promise<NonNullable<Extract<TypedEntity, { kind: "access-key" }>["state"]> | undefined>;
  /**
   * The resource-based policy document stored for `resourceArn` in `accountId` (undefined: none),
   * with the account's applied revision read in the same step.
   */
  readResourcePolicy(accountId: string, resourceArn: string): Promise<{ document?: string; revision: number }>;
  /**
   * One entity's state as applied (any kind; undefined when the region has none), with the
   * account's applied revision read in the same step.
   */
  readEntity(accountId: string, kind: string, id: string): Promise<{ entity?: TypedEntity; revision: number }>;
  /** The user, role, group or managed policy with this ARN in the account, as applied. */
  readByArn(accountId: string, arn: string): Promise<TypedEntity | undefined>;
  /**
   * Records `key` as used for `ttlMs` (in this region's Redis, shared by its deciders): true the
   * first time, false while it is recorded (an MFA code's replay).
   */
  useOnce(key: string, ttlMs: number): Promise<boolean>;
  /** Applied revisions of up to `limit` accounts whose id sorts after `after` (paging by account id). */
  listApplied(after: string, limit: number): Promise<{ accountId: string; applied: AppliedRevision }[]>;
  /** Records a partition's watermark and notifies the deciders. */
  setWatermark(partition: number, committedBeforeMs: number): Promise<void>;
  /** Every partition's latest watermark. */
  watermarks(): Promise<ReadonlyMap<number, number>>;
  /** Parses a message of {@link channel}; throws on anything else. */
  parseNotification(message: string): ViewNotification;
}

/**
 * Creates the view over a Redis client.
 * @example
 * const view = createRegionView({ redis, keyPrefix: "gatehouse:us-east-1:" });
 * await view.applyRevision("123456789012", 7, epoch, [entity]);
 */
export function createRegionView(options: RegionViewOptions): RegionView {
  const { redis, keyPrefix: p } = options;
  if (!/^[\w.:-]{1,100}$/.test(p)) {
    throw new IamError("ValidationError", `keyPrefix ${JSON.stringify(p)} must be 1-100 of [A-Za-z0-9_.:-]`, {
      field: "keyPrefix",
    });
  }
  const channel = `${p}notify`;
  return {
    channel,
    async applyRevision(accountId, revision, epoch, entities) {
      const args: string[] = [p, accountId, String(revision), epoch, String(entities.length)];
      for (const e of entities) {
        const ix = indexRecordOf(e);
        args.push(
          e.kind,
          e.id,
          e.state === null ? "" : JSON.stringify(e.state),
          ix === undefined ? "" : JSON.stringify(ix),
        );
      }
      const reply = (await redis.eval(APPLY_REVISION_LUA, 0, ...args)) as [string, number, number, ...string[]];
      const [outcome, rev, all, ...principals] = reply;
      if (outcome === "applied")
        return { kind: "applied", revision: Number(rev), invalidated: { all: all === 1, principals } };
      if (
        outcome === "duplicate" ||
        outcome === "epoch-mismatch" ||
        outcome === "gap" ||
        outcome === "gapped" ||
        outcome === "view-lost"
      ) {
        return { kind: outcome, appliedRevision: Number(rev) };
      }
      throw new IamError("ServiceFailure", `apply script answered ${JSON.stringify(outcome)}`);
    },
    async ensureGeneration() {
      await redis.set(`${p}generation`, randomUUID().slice(0, 8), "NX");
      return (await redis.get(`${p}generation`)) ?? "";
    },
    async appliedRevision(accountId) {
      const [revision, epoch, gap] = await redis.hmget(`${p}a:${accountId}:rev`, "revision", "epoch", "gap");
      return { revision: Number(revision ?? 0), epoch: epoch ?? "", ...(gap === null ? {} : { gap }) };
    },
    async readPrincipal(accountId, arn) {
      const reply = (await redis.eval(READ_PRINCIPAL_LUA, 0, p, accountId, arn)) as (string | number | null)[];
      const [revision, epoch, gap, ref, state, account] = reply;
      const applied: AppliedRevision = {
        revision: Number(revision),
        epoch: String(epoch ?? ""),
        ...(gap === "" || gap === null || gap === undefined ? {} : { gap: String(gap) }),
      };
      const accountEntity =
        typeof account === "string" ? decodeEntity("account", accountId, JSON.parse(account)) : undefined;
      const base = {
        applied,
        ...(accountEntity?.kind === "account" ? { account: accountEntity } : {}),
      };
      if (typeof ref !== "string" || typeof state !== "string") return { ...base, groups: [], policies: new Map() };
      const colon = ref.indexOf(":");
      const principal = decodeEntity(ref.slice(0, colon), ref.slice(colon + 1), JSON.parse(state));
      if (principal.kind !== "user" && principal.kind !== "role") return { ...base, groups: [], policies: new Map() };
      const groupCount = Number(reply[6]);
      const groups: Extract<TypedEntity, { kind: "group" }>[] = [];
      for (let i = 0; i < groupCount; i++) {
        const g = decodeEntity("group", "", JSON.parse(String(reply[7 + i])));
        if (g.kind === "group" && g.state !== null) groups.push({ kind: "group", id: g.state.groupId, state: g.state });
      }
      const policies = new Map<string, Extract<TypedEntity, { kind: "policy" }>>();
      for (let i = 7 + groupCount; i + 1 < reply.length; i += 2) {
        const policyArn = String(reply[i]);
        const doc = reply[i + 1];
        if (typeof doc !== "string") continue;
        const pol = decodeEntity("policy", "", JSON.parse(doc));
        if (pol.kind === "policy" && pol.state !== null) {
          policies.set(policyArn, { kind: "policy", id: pol.state.policyId, state: pol.state });
        }
      }
      return { ...base, principal, groups, policies };
    },
    async readAccessKey(accessKeyId) {
      const accountId = await redis.get(`${p}ak:${accessKeyId}`);
      if (accountId === null) return undefined;
      const state = await redis.get(`${p}a:${accountId}:e:access-key:${accessKeyId}`);
      if (state === null) return undefined;
      const entity = decodeEntity("access-key", accessKeyId, JSON.parse(state));
      return entity.kind === "access-key" && entity.state !== null ? entity.state : undefined;
    },
    async readResourcePolicy(accountId, resourceArn) {
      const replies = await redis
        .multi()
        .hget(`${p}a:${accountId}:rev`, "revision")
        .get(`${p}a:${accountId}:e:resource-policy:${resourceArn}`)
        .exec();
      const [rev, state] = (replies ?? []).map(([err, value]) => {
        if (err !== null) throw err;
        return value as string | null;
      });
      const revision = Number(rev ?? 0);
      if (state === null || state === undefined) return { revision };
      const entity = decodeEntity("resource-policy", resourceArn, JSON.parse(state));
      const document = entity.kind === "resource-policy" ? entity.state?.policyDocument : undefined;
      return document === undefined ? { revision } : { document, revision };
    },
    async readEntity(accountId, kind, id) {
      const replies = await redis
        .multi()
        .hget(`${p}a:${accountId}:rev`, "revision")
        .get(`${p}a:${accountId}:e:${kind}:${id}`)
        .exec();
      const [rev, state] = (replies ?? []).map(([err, value]) => {
        if (err !== null) throw err;
        return value as string | null;
      });
      const revision = Number(rev ?? 0);
      if (state === null || state === undefined) return { revision };
      return { entity: decodeEntity(kind, id, JSON.parse(state)), revision };
    },
    async readByArn(accountId, arn) {
      const ref = await redis.get(`${p}a:${accountId}:arn:${arn}`);
      if (ref === null) return undefined;
      const colon = ref.indexOf(":");
      const state = await redis.get(`${p}a:${accountId}:e:${ref}`);
      return state === null ? undefined : decodeEntity(ref.slice(0, colon), ref.slice(colon + 1), JSON.parse(state));
    },
    async useOnce(key, ttlMs) {
      return (await redis.set(`${p}once:${key}`, "1", "PX", ttlMs, "NX")) === "OK";
    },
    async listApplied(after, limit) {
      const ids = await redis.zrangebylex(`${p}accounts`, after === "" ? "-" : `(${after}`, "+", "LIMIT", 0, limit);
      const out: { accountId: string; applied: AppliedRevision }[] = [];
      for (const accountId of ids) {
        const [revision, epoch, gap] = await redis.hmget(`${p}a:${accountId}:rev`, "revision", "epoch", "gap");
        out.push({
          accountId,
          applied: { revision: Number(revision ?? 0), epoch: epoch ?? "", ...(gap === null ? {} : { gap }) },
        });
      }
      return out;
    },
    async setWatermark(partition, committedBeforeMs) {
      const message: ViewNotification = { type: "watermark", partition, committedBeforeMs };
      await redis
        .multi()
        .hset(`${p}wm`, String(partition), String(committedBeforeMs))
        .publish(channel, JSON.stringify(message))
        .exec();
    },
    async watermarks() {
      const all = await redis.hgetall(`${p}wm`);
      return new Map(Object.entries(all).map(([k, v]) => [Number(k), Number(v)]));
    },
    parseNotification(message) {
      const m = JSON.parse(message) as Record<string, unknown>;
      if (m.type === "applied" && typeof m.accountId === "string" && typeof m.revision === "number") {
        // Lua's cjson encodes an empty table as `{}`, not `[]`.
        const principals = Array.isArray(m.principals) ? m.principals.map(String) : [];
        const resources = Array.isArray(m.resources) ? m.resources.map(String) : [];
        const accessKeys = Array.isArray(m.accessKeys) ? m.accessKeys.map(String) : [];
        return {
          type: "applied",
          accountId: m.accountId,
          revision: m.revision,
          all: m.all === true,
          principals,
          resources,
          accessKeys,
        };
      }
      if (m.type === "watermark" && typeof m.partition === "number" && typeof m.committedBeforeMs === "number") {
        return { type: "watermark", partition: m.partition, committedBeforeMs: m.committedBeforeMs };
      }
      throw new IamError("ValidationError", `not a view notification: ${message.slice(0, 200)}`, { field: "message" });
    },
  };
}
