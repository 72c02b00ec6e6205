import { randomUUID } from "node:crypto";
import { IamError } from "@gatehouse/core";
import { decodeEntity, type TypedEntity } from "@gatehouse/events";
import type { Redis } from "ioredis";
import { indexRecordOf } from "./index-record.ts";
import {
  APPLY_REVISION_LUA,
  READ_PRINCIPAL_LUA,
  REPLACE_ACCOUNT_LUA,
  SET_CONSUMER_LAG_LUA,
  SET_WATERMARK_LUA,
} from "./view-scripts.ts";

/** Options of {@link createRegionView}. */
export interface RegionViewOptions {
  /** A connected client for commands (not used for subscriptions). */
  readonly redis: Redis;
  /** Every key and the notification channel start with it (e.g. `gatehouse:us-east-1:`). */
  readonly keyPrefix: string;
  /**
   * The fencing token of the applier writing through this view (see `@gatehouse/region`'s
   * lease): once any applier holds the region's lease, writes carrying another token are refused
   * (`fenced`). Empty (the default) for a view that only reads, or an applier without a lease.
   */
  readonly fencingToken?: string;
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
 * - `fenced`: another applier took the region's lease (its fencing token is not this view's):
 *   nothing changed; this applier is deposed and must stop writing.
 */
export type ApplyOutcome =
  | { readonly kind: "applied"; readonly revision: number; readonly invalidated: Invalidation }
  | {
      readonly kind: "duplicate" | "epoch-mismatch" | "gap" | "gapped" | "view-lost" | "fenced";
      readonly appliedRevision: number;
    };

/**
 * What replacing an account from an export did: `replaced` (the account is now exactly the export,
 * at `revision`), `duplicate` (the view already had that revision or a later one of the same
 * history: nothing changed), `view-lost` or `fenced` as for {@link ApplyOutcome}.
 */
export type ReplaceOutcome =
  | { readonly kind: "replaced"; readonly revision: number }
  | { readonly kind: "duplicate" | "view-lost" | "fenced"; readonly appliedRevision: number };

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
      /** The history the revision belongs to, as applied (empty from a view that predates it). */
      readonly epoch: string;
      /** As {@link AppliedRevision.continues}: the history `epoch` continued, and up to where. */
      readonly continues?: HistoryPoint;
      readonly all: boolean;
      readonly principals: readonly string[];
      /** Resource ARNs whose stored resource policy the revision wrote or deleted. */
      readonly resources: readonly string[];
      /** Access key ids the revision created, changed (status) or deleted. */
      readonly accessKeys: readonly string[];
      /**
       * The account's whole view was replaced (healed from an export, possibly of another
       * history: a failover's rewound epoch reuses revision numbers): everything derived from the
       * account is stale, whatever revision it was read at.
       */
      readonly replaced: boolean;
    }
  | { readonly type: "watermark"; readonly partition: number; readonly committedBeforeMs: number };

/**
 * How a view was filled: `topic` (read from the topic's start), `export` (every account from the
 * control plane's export, then the topic from the offsets it ended at). `pending` until done.
 */
export interface ViewBootstrap {
  readonly mode: "topic" | "export";
  readonly state: "pending" | "done";
  /** Accounts exported (export mode). */
  readonly accounts: number;
  /** Epoch ms of the last change. */
  readonly atMs: number;
}

/** One partition's consumer lag, as the applier recorded it (see GetRegionStatus). */
export interface PartitionLag {
  readonly partition: number;
  readonly endOffset: number;
  readonly appliedOffset: number;
  readonly committedOffset: number;
  readonly lag: number;
  readonly recordedAtMs: number;
}

/** The view's size in Redis (L2). */
export interface ViewSize {
  readonly entities: number;
  readonly accounts: number;
  /** The Redis server's `used_memory` (the whole server: other prefixes count too). */
  readonly usedMemoryBytes: number;
}

/** An account's applied revision and the history it belongs to. */
export interface AppliedRevision {
  readonly revision: number;
  readonly epoch: string;
  /** Set once a gap was met: `"expected>seen"` revisions; nothing more is applied until healed. */
  readonly gap?: string;
  /**
   * Set when `epoch` continued another history right after its `revision` (a failover whose
   * promoted standby had all of it): the two histories agree up to that revision.
   */
  readonly continues?: HistoryPoint;
}

/** A revision of one history. */
export interface HistoryPoint {
  readonly epoch: string;
  readonly revision: number;
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
   * Replaces the account's whole view with an export at `revision` in one Lua script (entity
   * states, reverse indexes, applied revision and epoch, gap mark cleared, one invalidation of the
   * whole account), when that moves the account forward: above its applied revision, equal to it
   * while gapped, or from another epoch. Used to heal a gap and to bootstrap from exports.
   */
  replaceAccount(
    accountId: string,
    revision: number,
    epoch: string,
    entities: readonly TypedEntity[],
  ): Promise<ReplaceOutcome>;
  /** The accounts marked with a gap and not healed yet. */
  gappedAccounts(): Promise<string[]>;
  /**
   * How this copy of the view was (or is being) filled, recorded by the applier that made it:
   * undefined for a view no applier has bootstrapped yet (new, or Redis lost its data).
   */
  readBootstrap(): Promise<ViewBootstrap | undefined>;
  /** Records the bootstrap's progress (kept with the view: a lost Redis loses it too). */
  writeBootstrap(bootstrap: ViewBootstrap): Promise<void>;
  /**
   * Every entity the view holds for the account, sorted by kind then id, with its applied
   * revision, read in one MULTI (for audits and convergence checks against an export).
   */
  readAccount(accountId: string): Promise<{ applied: AppliedRevision; entities: TypedEntity[] }>;
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
  /**
   * Replaces the recorded consumer lag with these partitions' figures (refused like the other
   * writes when the view is lost or the writer fenced).
   */
  setConsumerLag(lag: readonly PartitionLag[]): Promise<"recorded" | "view-lost" | "fenced">;
  /** The consumer lag last recorded, by partition. */
  consumerLag(): Promise<PartitionLag[]>;
  /** Entities and accounts held, and the Redis server's used memory. */
  size(): Promise<ViewSize>;
  /**
   * Records a partition's watermark and notifies the deciders (one script, refused like the other
   * writes when the view is lost or the writer fenced).
   */
  setWatermark(partition: number, committedBeforeMs: number): Promise<"recorded" | "view-lost" | "fenced">;
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
  const token = options.fencingToken ?? "";
  if (!/^[\w.:-]{1,100}$/.test(p)) {
    throw new IamError("ValidationError", `keyPrefix ${JSON.stringify(p)} must be 1-100 of [A-Za-z0-9_.:-]`, {
      field: "keyPrefix",
    });
  }
  const channel = `${p}notify`;
  const writeArgs = (accountId: string, revision: number, epoch: string, entities: readonly TypedEntity[]) => {
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
    args.push(token);
    return args;
  };
  return {
    channel,
    async applyRevision(accountId, revision, epoch, entities) {
      const args = writeArgs(accountId, revision, epoch, entities);
      const reply = (await redis.eval(APPLY_REVISION_LUA, 0, ...args)) as [string, number, number, ...string[]];
      const [outcome, rev, all, ...principals] = reply;
      if (outcome === "applied")
        return { kind: "applied", revision: Number(rev), invalidated: { all: all === 1, principals } };
      if (
        outcome === "duplicate" ||
        outcome === "epoch-mismatch" ||
        outcome === "gap" ||
        outcome === "gapped" ||
        outcome === "view-lost" ||
        outcome === "fenced"
      ) {
        return { kind: outcome, appliedRevision: Number(rev) };
      }
      throw new IamError("ServiceFailure", `apply script answered ${JSON.stringify(outcome)}`);
    },
    async replaceAccount(accountId, revision, epoch, entities) {
      // An export holds live entities only: a tombstone in it would be a codec bug, not a removal.
      const live = entities.filter((e) => e.state !== null);
      const args = writeArgs(accountId, revision, epoch, live);
      const [outcome, rev] = (await redis.eval(REPLACE_ACCOUNT_LUA, 0, ...args)) as [string, number];
      if (outcome === "replaced") return { kind: "replaced", revision: Number(rev) };
      if (outcome === "duplicate" || outcome === "view-lost" || outcome === "fenced") {
        return { kind: outcome, appliedRevision: Number(rev) };
      }
      throw new IamError("ServiceFailure", `replace script answered ${JSON.stringify(outcome)}`);
    },
    async gappedAccounts() {
      return (await redis.smembers(`${p}gapped`)).sort();
    },
    async readBootstrap() {
      const b = await redis.hgetall(`${p}bootstrap`);
      if ((b.mode !== "topic" && b.mode !== "export") || (b.state !== "pending" && b.state !== "done"))
        return undefined;
      return { mode: b.mode, state: b.state, accounts: Number(b.accounts ?? 0), atMs: Number(b.atMs ?? 0) };
    },
    async writeBootstrap(b) {
      await redis.hset(`${p}bootstrap`, {
        mode: b.mode,
        state: b.state,
        accounts: String(b.accounts),
        atMs: String(b.atMs),
      });
    },
    async readAccount(accountId) {
      const a = `${p}a:${accountId}:`;
      // A script reads the entity set and every state at one instant.
      const reply = (await redis.eval(
        `local a = ARGV[1]
         local cur = redis.call('HMGET', a .. 'rev', 'revision', 'epoch', 'gap')
         local out = {cur[1] or '0', cur[2] or '', cur[3] or ''}
         for _, ref in ipairs(redis.call('SMEMBERS', a .. 'ents')) do
           out[#out + 1] = ref
           out[#out + 1] = redis.call('GET', a .. 'e:' .. ref) or ''
         end
         return out`,
        0,
        a,
      )) as string[];
      const [revision, epoch, gap] = reply;
      const entities: TypedEntity[] = [];
      for (let i = 3; i + 1 < reply.length; i += 2) {
        const ref = reply[i] as string;
        const colon = ref.indexOf(":");
        entities.push(decodeEntity(ref.slice(0, colon), ref.slice(colon + 1), JSON.parse(reply[i + 1] as string)));
      }
      entities.sort((x, y) =>
        x.kind === y.kind ? (x.id < y.id ? -1 : x.id > y.id ? 1 : 0) : x.kind < y.kind ? -1 : 1,
      );
      return {
        applied: {
          revision: Number(revision ?? 0),
          epoch: epoch ?? "",
          ...(gap === "" || gap === undefined ? {} : { gap }),
        },
        entities,
      };
    },
    async ensureGeneration() {
      await redis.set(`${p}generation`, randomUUID().slice(0, 8), "NX");
      return (await redis.get(`${p}generation`)) ?? "";
    },
    async appliedRevision(accountId) {
      const [revision, epoch, gap, fromEpoch, fromRevision] = await redis.hmget(
        `${p}a:${accountId}:rev`,
        "revision",
        "epoch",
        "gap",
        "from_epoch",
        "from_revision",
      );
      return {
        revision: Number(revision ?? 0),
        epoch: epoch ?? "",
        ...(gap === null ? {} : { gap }),
        ...(typeof fromEpoch === "string"
          ? { continues: { epoch: fromEpoch, revision: Number(fromRevision ?? 0) } }
          : {}),
      };
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
    async setConsumerLag(lag) {
      const [outcome] = (await redis.eval(
        SET_CONSUMER_LAG_LUA,
        0,
        p,
        ...lag.flatMap((l) => [String(l.partition), JSON.stringify(l)]),
        token,
      )) as [string];
      if (outcome === "recorded" || outcome === "view-lost" || outcome === "fenced") return outcome;
      throw new IamError("ServiceFailure", `consumer lag script answered ${JSON.stringify(outcome)}`);
    },
    async consumerLag() {
      const all = await redis.hgetall(`${p}lag`);
      return Object.values(all)
        .map((v) => JSON.parse(v) as PartitionLag)
        .sort((x, y) => x.partition - y.partition);
    },
    async size() {
      const [entities, accounts, info] = await Promise.all([
        redis.get(`${p}entities`),
        redis.zcard(`${p}accounts`),
        redis.info("memory"),
      ]);
      const used = /^used_memory:(\d+)/m.exec(info)?.[1];
      return { entities: Number(entities ?? 0), accounts, usedMemoryBytes: Number(used ?? 0) };
    },
    async setWatermark(partition, committedBeforeMs) {
      const message: ViewNotification = { type: "watermark", partition, committedBeforeMs };
      const [outcome] = (await redis.eval(
        SET_WATERMARK_LUA,
        0,
        p,
        String(partition),
        String(committedBeforeMs),
        JSON.stringify(message),
        token,
      )) as [string];
      if (outcome === "recorded" || outcome === "view-lost" || outcome === "fenced") return outcome;
      throw new IamError("ServiceFailure", `watermark script answered ${JSON.stringify(outcome)}`);
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
          epoch: typeof m.epoch === "string" ? m.epoch : "",
          ...(typeof m.fromEpoch === "string" && m.fromEpoch !== "" && typeof m.fromRevision === "number"
            ? { continues: { epoch: m.fromEpoch, revision: m.fromRevision } }
            : {}),
          all: m.all === true,
          principals,
          resources,
          accessKeys,
          replaced: m.replaced === true,
        };
      }
      if (m.type === "watermark" && typeof m.partition === "number" && typeof m.committedBeforeMs === "number") {
        return { type: "watermark", partition: m.partition, committedBeforeMs: m.committedBeforeMs };
      }
      throw new IamError("ValidationError", `not a view notification: ${message.slice(0, 200)}`, { field: "message" });
    },
  };
}
