import { type SessionClaims, sessionArn } from "@gatehouse/auth";
import { IamError } from "@gatehouse/core";
import { SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import {
  type AuthzRequest,
  type CompiledResourcePolicy,
  type ContextValue,
  type EvaluationResult,
  evaluateCompiled,
  type PrincipalInfo,
} from "@gatehouse/policy";
import type { HistoryPoint, RegionView, ViewNotification } from "@gatehouse/view-redis";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { type BatchScope, createBatchScope, type ResourceMemo } from "./batch-scope.ts";
import { type CompiledPrincipal, compilePrincipal, isRootArn, type SimulationExtras } from "./compile-principal.ts";
import { baseArnOf, createPrincipalAccounts } from "./principal-arns.ts";
import { PrincipalCache } from "./principal-cache.ts";
import { checkCallerContext, createRequestContexts } from "./request-context.ts";
import {
  bucketOf,
  compileInlineResourcePolicy,
  type StoredResource,
  StoredResourcePolicies,
} from "./resource-policies.ts";
import { createSessionPrincipals } from "./session-principals.ts";
import type { StsKeyring } from "./sts-keyring.ts";

export type { BatchScope } from "./batch-scope.ts";

/** One authorization question, as the decider takes it (the gRPC layer maps the proto). */
export interface DecisionRequest {
  /**
   * The principal by ARN, by the access key id it authenticated with (an `ASIA…` key with the
   * session token that came with it), or as a session whose token was already opened.
   */
  readonly principal:
    | { readonly kind: "arn"; readonly arn: string }
    | { readonly kind: "access-key"; readonly accessKeyId: string; readonly sessionToken?: string }
    | { readonly kind: "session"; readonly claims: SessionClaims };
  readonly action: string;
  readonly resource: string;
  readonly resourceAccount?: string;
  readonly context: Readonly<Record<string, ContextValue>>;
  /** Inline resource-based policy JSON. */
  readonly resourcePolicy?: string;
  /** A resource side the region compiled itself (a role's trust policy, for AssumeRole). */
  readonly compiledResourcePolicy?: CompiledResourcePolicy;
  /**
   * Set by the region (never from a request's fields) when this call was made with an MFA code it
   * checked: `aws:MultiFactorAuthPresent` is true and `aws:MultiFactorAuthAge` counts from it.
   */
  readonly mfaAuthTimeMs?: number;
  readonly minRevision?: MinRevision;
  readonly maxStalenessMs?: number;
  readonly explain: boolean;
  /** Simulate: the principal's policies plus these, compiled for this call only (not cached). */
  readonly simulation?: SimulationExtras;
  /** Epoch ms after which waiting gives up (the call's deadline). */
  readonly deadlineMs: number;
}

/** A decision and the revision of the principal's account it was made at. */
export interface DecisionResult {
  readonly result: EvaluationResult;
  readonly accountId: string;
  readonly revision: number;
}

/** Options of {@link createDecider}. */
export interface DeciderOptions {
  readonly view: RegionView;
  /** A dedicated connection: it is put in subscriber mode. */
  readonly subscriber: Redis;
  /** The region's name (`aws:RequestedRegion`). */
  readonly region: string;
  readonly l1MaxBytes: number;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Opens session tokens (absent: the region serves no sessions; ASIA keys are refused). */
  readonly keyring?: StsKeyring;
}

/** Told of every applied revision's notification, in order, before any waiter wakes. */
export interface ViewListener {
  applied(notification: Extract<ViewNotification, { type: "applied" }>): void;
  /** Notifications may have been lost (the subscription reconnected): forget everything cached. */
  reset(): void;
}

/** The decider: compiled principals cached in process, kept exact by the view's notifications. */
export interface Decider {
  decide(request: DecisionRequest): Promise<DecisionResult>;
  /**
   * The principal (user, role or the account's root by `arn:aws:iam::ACCOUNT:root`) compiled at
   * `atLeast` or later, from L1 or one shared load. NoSuchEntity when the region has none.
   */
  principal(accountId: string, arn: string, atLeast?: number): Promise<CompiledPrincipal>;
  /**
   * Resolves once `accountId` is applied at `revision` or above, in history `epoch` when one is
   * given (see {@link historyOf}); ConsistencyTimeout at `deadlineMs`, HistoryRewound as soon as
   * the region has applied a later history of the account.
   */
  waitApplied(accountId: string, revision: number, deadlineMs: number, epoch?: string): Promise<void>;
  /** Adds a listener of applied revisions (e.g. the authenticator's key cache). */
  addListener(listener: ViewListener): void;
  /**
   * The same decision as {@link Decider.decide}, made synchronously when everything it needs is in
   * memory (the principal current in the L1, the stored resource policy looked up, `min_revision`
   * already applied, the principal named by ARN); undefined when it would wait or read Redis.
   * Throws what `decide` would reject with for bad input.
   */
  tryDecide(request: DecisionRequest, scope?: BatchScope): DecisionResult | undefined;
  /**
   * A scope for the checks of one batch, passed to {@link Decider.tryDecide}: what they share is
   * done once (the caller context's check, the principal's lookup, the stored resource policy's
   * lookup, the context the engine sees for one principal, context and resource account), each
   * check still answered as alone. Use it within one synchronous pass only (nothing the decider
   * learns from Redis can arrive in between), then drop it.
   */
  batchScope(): BatchScope;
  readonly cache: PrincipalCache;
  /** Principals compiled so far (single-flight: concurrent misses for one principal compile once). */
  compiles(): number;
  /** Milliseconds since the oldest partition watermark (Infinity when none was seen). */
  stalenessMs(): number;
  /** The latest watermark (`committed_before_ms`) of each partition, as notified. */
  watermarks(): ReadonlyMap<number, number>;
  /**
   * A session's claims if it is still live here: its token opens and is unexpired, and what it
   * stands on still exists (the role, or the user and the access key that made it). Throws
   * `InvalidClientTokenId` / `ExpiredToken` otherwise.
   */
  openSession(accessKeyId: string, sessionToken: string): Promise<SessionClaims>;
  /** Reads from the view (L2) on L1 misses: principals, access keys, stored resource policies. */
  l2(): { readonly reads: number; readonly hits: number; readonly misses: number };
  close(): Promise<void>;
}

const EXPLAIN = Object.freeze({ explain: true });
/** A batch reads the clock once per this many checks it answers from memory (see `batchNow`). */
const CLOCK_READ_EVERY = 16;
const PLAIN = Object.freeze({ explain: false });
const EMPTY_CONTEXT: Readonly<Record<string, ContextValue>> = Object.freeze({});

/** A read-your-writes token: an account revision, of one control-plane history when `epoch` is set. */
export interface MinRevision {
  readonly accountId: string;
  readonly revision: number;
  /** `<Postgres system identifier>:<timeline>` (Revision.epoch); absent or "": any history. */
  readonly epoch?: string;
}

/** A control-plane history, `<system identifier>:<timeline>` (Revision.epoch). */
export const EPOCH = /^(\d+):(\d+)$/;

/**
 * How the history a token was issued in (`want`) stands to the one a region has applied (`have`),
 * both `<system identifier>:<timeline>`: `same` (either unknown counts as the same, as before
 * epochs), `replaced` (a later timeline of the same server: a failover's promoted standby, which
 * may lack the token's write and reuse its revision for another), `ahead` (an earlier timeline:
 * the region has not applied the new history yet; or another server, which cannot be ordered, so
 * waited for).
 */
export function historyOf(want: string, have: string): "same" | "replaced" | "ahead" {
  if (want === "" || have === "" || want === have) return "same";
  const w = EPOCH.exec(want);
  const h = EPOCH.exec(have);
  if (w === null || h === null || w[1] !== h[1]) return "ahead";
  return Number(h[2]) > Number(w[2]) ? "replaced" : "ahead";
}

/**
 * Creates a decider over the view. Subscribes to the view's notifications before answering, so
 * the applied revisions it knows and the evictions it makes arrive in the order Redis applied them.
 */
export async function createDecider(options: DeciderOptions): Promise<Decider> {
  const { view, subscriber, region, logger } = options;
  const now = options.now ?? Date.now;
  const cache = new PrincipalCache(options.l1MaxBytes);
  /**
   * Per account, the highest applied revision whose notification was processed (the revision a
   * replace healed the account to, when it went back to another history's).
   */
  const notified = new Map<string, number>();
  /** Per account, the history of its `notified` revision ("" from a view that does not say). */
  const notifiedEpoch = new Map<string, string>();
  /** Per account, the history its `notifiedEpoch` continued and up to where (both agree there). */
  const notifiedContinues = new Map<string, HistoryPoint>();
  const watermarks = new Map<number, number>();
  const waiters = new Map<string, Set<{ revision: number; wake: () => void }>>();
  const loading = new Map<string, Promise<CompiledPrincipal | undefined>>();
  let compiles = 0;
  const listeners: ViewListener[] = [];
  const l2 = { reads: 0, hits: 0, misses: 0 };
  const countL2 = (found: boolean) => {
    l2.reads++;
    if (found) l2.hits++;
    else l2.misses++;
  };
  const storedResources = new StoredResourcePolicies(view, notified, countL2);
  /**
   * What L1 held when the notification stream broke (see the `ready` handler): used instead of a
   * read from the view only while the view is older than it or unreachable. Bounded by what L1
   * held.
   */
  const suspects = new Map<string, CompiledPrincipal>();
  const principalAccount = createPrincipalAccounts();
  const contexts = createRequestContexts(region);

  const onMessage = (_channel: string, message: string) => {
    let n: ReturnType<RegionView["parseNotification"]>;
    try {
      n = view.parseNotification(message);
    } catch (e) {
      logger.warn({ err: e }, "unreadable view notification");
      return;
    }
    if (n.type === "watermark") {
      watermarks.set(n.partition, Math.max(n.committedBeforeMs, watermarks.get(n.partition) ?? 0));
      return;
    }
    if (n.accountId === SYSTEM_ACCOUNT_ID && options.keyring !== undefined) {
      options.keyring.reload().catch((e: unknown) => logger.error({ err: e }, "reloading the STS key set failed"));
    }
    if (n.replaced) {
      // Healed from an export, maybe of another history at the same revision numbers: nothing
      // compiled or looked up from the account before can be trusted, whatever its revision.
      cache.replaceAccount(n.accountId);
      for (const [arn, e] of suspects) if (e.accountId === n.accountId) suspects.delete(arn);
      storedResources.replaceAccount(n.accountId);
    }
    cache.invalidate(n.accountId, n.revision, n.all, n.principals);
    storedResources.invalidate(n.accountId, n.revision, n.resources);
    for (const l of listeners) l.applied(n);
    if (n.replaced || n.revision > (notified.get(n.accountId) ?? 0)) {
      notified.set(n.accountId, n.revision);
      notifiedEpoch.set(n.accountId, n.epoch);
      if (n.continues === undefined) notifiedContinues.delete(n.accountId);
      else notifiedContinues.set(n.accountId, n.continues);
    }
    const set = waiters.get(n.accountId);
    if (set !== undefined) for (const w of set) if (w.revision <= n.revision || n.replaced) w.wake();
  };
  subscriber.on("message", onMessage);
  let subscribedOnce = false;
  subscriber.on("ready", () => {
    // A reconnect may have lost notifications: nothing cached can be trusted to be current.
    if (subscribedOnce) {
      // Nothing cached can be trusted to be current, but each entry is still a true snapshot at
      // its revision: kept aside, served only while the view holds nothing newer (a restarted
      // Redis being rebuilt), so L1 keeps answering through a Redis restart.
      for (const e of cache.drain()) suspects.set(e.arn, e);
      storedResources.suspectAll();
      notified.clear();
      notifiedEpoch.clear();
      notifiedContinues.clear();
      for (const l of listeners) l.reset();
      logger.warn("notification stream reconnected: L1 cleared");
    }
    subscribedOnce = true;
  });
  await subscriber.subscribe(view.channel);
  // The key set may have been applied between the keyring's first read and the subscription (no
  // notification reached us for it): read it again now that every later change is notified.
  await options.keyring?.reload();
  for (const [p, ms] of await view.watermarks()) watermarks.set(p, ms);

  /**
   * Redis has applied `revision` but its notification may still be on the way, and what it evicts
   * (L1 principals are checked against `notified`, but the listeners' caches, such as the
   * authenticator's keys, are not) must be gone before the caller reads at that revision. A PING on
   * the subscriber connection is answered after every message published before it, and ioredis
   * hands those to `onMessage` first: a barrier. A broken connection resets every cache anyway.
   */
  const notificationsDelivered = async (accountId: string, revision: number): Promise<void> => {
    if ((notified.get(accountId) ?? 0) >= revision) return;
    await subscriber.ping().catch(() => {});
  };

  /**
   * Whether the region, at `revision` of history `have` (which continued `continues`, if set), has
   * applied `want`'s revision of history `epoch`; throws HistoryRewound when `have` is a later
   * history of the same server, in which the write that returned `want` may be lost (see
   * {@link historyOf}) — unless `have` continued `epoch` after `want`: both hold it then.
   */
  const reached = (
    accountId: string,
    want: number,
    epoch: string,
    revision: number,
    have: string,
    continues: HistoryPoint | undefined,
  ): boolean => {
    if (continues !== undefined && continues.epoch === epoch && want <= continues.revision) return true;
    const order = historyOf(epoch, have);
    if (order === "replaced") {
      throw new IamError(
        "HistoryRewound",
        `min_revision ${want} of account ${accountId} is of control-plane history ${epoch}, which a failover replaced: region ${region} has applied history ${have} (revision ${revision}), in which the write that returned it may be lost; read it again from the control plane`,
        { field: "minRevision.epoch" },
      );
    }
    return order === "same" && revision >= want;
  };

  /**
   * Resolves once `accountId` is applied at `revision` or above (of history `epoch` when given);
   * throws ConsistencyTimeout at the deadline, HistoryRewound once a later history is applied.
   */
  const waitApplied = async (accountId: string, revision: number, deadlineMs: number, epoch = ""): Promise<void> => {
    const notifiedNow = () =>
      reached(
        accountId,
        revision,
        epoch,
        notified.get(accountId) ?? 0,
        notifiedEpoch.get(accountId) ?? "",
        notifiedContinues.get(accountId),
      );
    if (notifiedNow()) return;
    for (;;) {
      let wake = () => {};
      const woken = new Promise<void>((resolve) => {
        wake = resolve;
      });
      const waiter = { revision, wake };
      let set = waiters.get(accountId);
      if (set === undefined) {
        set = new Set();
        waiters.set(accountId, set);
      }
      set.add(waiter);
      let timer: NodeJS.Timeout | undefined;
      try {
        // Registered first, then read: an apply between the two wakes the waiter, none is missed.
        const applied = await view.appliedRevision(accountId);
        if (reached(accountId, revision, epoch, applied.revision, applied.epoch, applied.continues)) {
          await notificationsDelivered(accountId, revision);
          return;
        }
        const timedOut = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), Math.max(0, deadlineMs - now()));
        });
        if ((await Promise.race([woken, timedOut])) === "timeout") {
          const latest = await view.appliedRevision(accountId).catch(() => applied);
          if (reached(accountId, revision, epoch, latest.revision, latest.epoch, latest.continues)) {
            await notificationsDelivered(accountId, revision);
            return;
          }
          const behind =
            historyOf(epoch, latest.epoch) === "same"
              ? `, ${revision - latest.revision} behind min_revision ${revision}`
              : ` of history ${latest.epoch}, not yet min_revision ${revision}'s history ${epoch}`;
          throw new IamError(
            "ConsistencyTimeout",
            `region ${region} has applied account ${accountId} up to revision ${latest.revision}${behind}${latest.gap === undefined ? "" : ` (stalled at a gap: revisions ${latest.gap})`}`,
            { field: "minRevision" },
          );
        }
        // Woken by a notification of the account: met, or (another history's) read again.
        if (notifiedNow()) return;
      } finally {
        clearTimeout(timer);
        set.delete(waiter);
        if (set.size === 0) waiters.delete(accountId);
      }
    }
  };

  /** The principal compiled at `atLeast` or later: L1, else one shared load per ARN. */
  const principalAt = async (accountId: string, arn: string, atLeast: number): Promise<CompiledPrincipal> => {
    const cached = cache.get(arn);
    if (cached !== undefined && Math.max(cached.revision, notified.get(accountId) ?? 0) >= atLeast) return cached;
    for (;;) {
      let flight = loading.get(arn);
      if (flight === undefined) {
        const generation = cache.generation;
        flight = view.readPrincipal(accountId, arn).then(
          (snapshot) => {
            countL2(snapshot.principal !== undefined);
            const suspect = suspects.get(arn);
            if (suspect !== undefined) {
              // The view is behind what L1 held (Redis restarted and is being rebuilt).
              if (snapshot.applied.revision < suspect.revision) return suspect;
              suspects.delete(arn);
            }
            compiles++;
            const compiled = compilePrincipal(snapshot, undefined, isRootArn(arn) ? arn : undefined);
            if (compiled !== undefined) cache.set(compiled, generation);
            return compiled;
          },
          (e: unknown) => {
            // Redis unreachable: what L1 held still answers, at its own revision.
            const suspect = suspects.get(arn);
            if (suspect !== undefined) return suspect;
            throw e;
          },
        );
        const mine = flight;
        loading.set(arn, mine);
        void mine
          .finally(() => {
            if (loading.get(arn) === mine) loading.delete(arn);
          })
          .catch(() => {});
      }
      const compiled = await flight;
      if (compiled === undefined) {
        throw new IamError("NoSuchEntity", `the region has no principal ${arn} in account ${accountId}`, {
          field: "principal.arn",
        });
      }
      // A load that started before the revision we must reach was applied: read again.
      if (compiled.revision >= atLeast) return compiled;
      if (suspects.get(arn) === compiled) {
        throw new IamError(
          "ServiceUnavailable",
          `region ${region} is rebuilding its view: principal ${arn} is known only at revision ${compiled.revision}, below ${atLeast}`,
          { field: "minRevision" },
        );
      }
    }
  };

  /** A principal compiled with a simulation's extras, from a fresh snapshot (read after any wait). */
  const simulated = async (accountId: string, arn: string, extras: SimulationExtras): Promise<CompiledPrincipal> => {
    const compiled = compilePrincipal(
      await view.readPrincipal(accountId, arn),
      extras,
      isRootArn(arn) ? arn : undefined,
    );
    if (compiled === undefined) {
      throw new IamError("NoSuchEntity", `the region has no principal ${arn} in account ${accountId}`, {
        field: "principal.arn",
      });
    }
    return compiled;
  };

  const { openSession, withSessionPolicies } = createSessionPrincipals({
    view,
    notified,
    principalAt,
    ...(options.keyring === undefined ? {} : { keyring: options.keyring }),
  });

  const stalenessMs = () => {
    if (watermarks.size === 0) return Number.POSITIVE_INFINITY;
    let oldest = Number.POSITIVE_INFINITY;
    for (const ms of watermarks.values()) oldest = Math.min(oldest, ms);
    return Math.max(0, now() - oldest);
  };

  /** The checks every request passes before anything is read; returns the inline resource policy compiled. */
  const checkRequest = (request: DecisionRequest, scope?: BatchScope): CompiledResourcePolicy | undefined => {
    if (request.action === "") throw new IamError("InvalidInput", "action is required", { field: "action" });
    if (request.resource === "") throw new IamError("InvalidInput", "resource is required", { field: "resource" });
    if (scope === undefined) checkCallerContext(request.context);
    else if (!scope.checkedContexts.has(request.context)) {
      checkCallerContext(request.context);
      scope.checkedContexts.add(request.context);
    }
    const inline = request.resourcePolicy?.trimStart().startsWith("{") === true ? request.resourcePolicy : undefined;
    const inlineResource = inline === undefined ? undefined : compileInlineResourcePolicy(inline);
    if (request.maxStalenessMs !== undefined && request.maxStalenessMs > 0) {
      const staleness = stalenessMs();
      if (staleness > request.maxStalenessMs) {
        throw new IamError(
          "ServiceUnavailable",
          Number.isFinite(staleness)
            ? `region ${region} is ${staleness} ms stale, above max_staleness_ms ${request.maxStalenessMs}`
            : `region ${region} has seen no watermark yet: its staleness is unknown (max_staleness_ms ${request.maxStalenessMs})`,
          { field: "maxStalenessMs" },
        );
      }
    }
    return inlineResource;
  };

  /** The stored policy found, or NoSuchEntity when the request named one that is not stored. */
  const storedOrRefused = (stored: StoredResource, resourceAccount: string, named: string | undefined) => {
    if (stored.compiled === undefined && named !== undefined) {
      throw new IamError(
        "NoSuchEntity",
        `account ${resourceAccount} has no resource policy for ${named} in this region`,
        {
          field: "resourcePolicy",
        },
      );
    }
    return stored.compiled;
  };

  /**
   * The resource side stored for `resource` (or the policy `named`) in `resourceAccount`, if the
   * lookup is in memory and current at `atLeastThere`: the policy, `false` when none is stored,
   * `null` when it would have to be read. NoSuchEntity when the named one is not stored.
   */
  const storedSideInMemory = (
    resourceAccount: string,
    resource: string,
    named: string | undefined,
    atLeastThere: number,
  ): ResourceMemo => {
    let stored = storedResources.peek(resourceAccount, named ?? resource);
    if (stored === undefined || !storedResources.isCurrent(stored, resourceAccount, atLeastThere)) return null;
    // An S3 object has no policy of its own in AWS: its bucket's applies (exact ARN first).
    const bucket = named === undefined && stored.compiled === undefined ? bucketOf(resource) : undefined;
    if (bucket !== undefined) {
      stored = storedResources.peek(resourceAccount, bucket);
      if (stored === undefined || !storedResources.isCurrent(stored, resourceAccount, atLeastThere)) return null;
    }
    return storedOrRefused(stored, resourceAccount, named) ?? false;
  };

  /** What the engine is told about the principal (a session: the session's ARN). */
  const infoOf = (principal: CompiledPrincipal, session?: SessionClaims): PrincipalInfo =>
    session === undefined
      ? { arn: principal.arn, accountId: principal.accountId }
      : {
          arn: sessionArn(session),
          accountId: principal.accountId,
          ...(principal.kind === "role" ? { roleArn: principal.arn } : {}),
        };

  /** The question evaluate asks the engine without an explanation, reused (see there). */
  const question: AuthzRequest = { action: "", resource: "", resourceAccount: "", context: EMPTY_CONTEXT };
  /** The answers made last, for one account and revision, by decision: each is shared while they stay. */
  const answers: { accountId: string; revision: number; byDecision: Map<EvaluationResult, DecisionResult> } = {
    accountId: "",
    revision: -1,
    byDecision: new Map(),
  };
  /** `{ result, accountId, revision }`, one frozen object per shared result at one account and revision. */
  const answerOf = (result: EvaluationResult, accountId: string, revision: number): DecisionResult => {
    if (result.explanation !== undefined || !Object.isFrozen(result)) return { result, accountId, revision };
    if (answers.accountId !== accountId || answers.revision !== revision) {
      answers.accountId = accountId;
      answers.revision = revision;
      answers.byDecision.clear();
    }
    let answer = answers.byDecision.get(result);
    if (answer === undefined) {
      answer = Object.freeze({ result, accountId, revision });
      answers.byDecision.set(result, answer);
    }
    return answer;
  };

  /**
   * The time of a batch's check: the clock is read for every {@link CLOCK_READ_EVERY}th check only
   * (a reading costs about 40 ns on this host, a check from memory about 2 µs). A reading serves
   * the checks made in the next 30 µs or so (longer only when one of them compiles an inline
   * resource policy it has not seen), inside the millisecond the clock resolves: time still moves
   * within a batch, and a check sees the time it is made at about as finely as one Authorize.
   */
  const batchNow = (scope: BatchScope): number => {
    if (scope.clockUses === 0) {
      scope.clockMs = now();
      scope.clockUses = CLOCK_READ_EVERY;
    }
    scope.clockUses--;
    return scope.clockMs;
  };

  /** The decision, with the keys the region fills added to the caller's context. */
  const evaluate = (
    request: DecisionRequest,
    principal: CompiledPrincipal,
    info: PrincipalInfo,
    resource: CompiledResourcePolicy | undefined,
    resourceAccount: string,
    accountId: string,
    revision: number,
    session?: SessionClaims,
    scope?: BatchScope,
  ): DecisionResult => {
    const at = scope === undefined ? now() : batchNow(scope);
    const context =
      scope === undefined || session !== undefined || request.mfaAuthTimeMs !== undefined || request.explain
        ? contexts.build(request, principal, resourceAccount, at, session)
        : contexts.shared(scope.contexts, request, principal, resourceAccount, at);
    if (request.explain) {
      const result = evaluateCompiled(
        principal.identity,
        resource,
        info,
        { action: request.action, resource: request.resource, resourceAccount, context },
        EXPLAIN,
      );
      return { result, accountId, revision };
    }
    // Without an explanation the engine keeps nothing of the request (it is read synchronously,
    // then dropped) and answers with one of three shared results: neither the request nor the
    // answer needs an object per decision.
    question.action = request.action;
    question.resource = request.resource;
    question.resourceAccount = resourceAccount;
    question.context = context;
    const result = evaluateCompiled(principal.identity, resource, info, question, PLAIN);
    question.context = EMPTY_CONTEXT;
    return answerOf(result, accountId, revision);
  };

  return {
    cache,
    openSession,
    principal: (accountId, arn, atLeast = 0) => principalAt(accountId, arn, atLeast),
    waitApplied,
    addListener(listener) {
      listeners.push(listener);
    },
    compiles: () => compiles,
    stalenessMs,
    watermarks: () => watermarks,
    l2: () => ({ ...l2 }),
    async decide(request) {
      const inlineResource = checkRequest(request);
      // Waited for first: what follows (the access key, the principal) is read at or after it.
      const minRevision = request.minRevision;
      if (minRevision !== undefined && minRevision.revision > 0) {
        await waitApplied(minRevision.accountId, minRevision.revision, request.deadlineMs, minRevision.epoch);
      }
      let principalArn: string;
      let session: SessionClaims | undefined;
      if (request.principal.kind === "arn") principalArn = request.principal.arn;
      else if (request.principal.kind === "session") {
        session = request.principal.claims;
        principalArn = baseArnOf(session);
      } else if (request.principal.accessKeyId.startsWith("ASIA")) {
        session = await openSession(request.principal.accessKeyId, request.principal.sessionToken ?? "");
        principalArn = baseArnOf(session);
      } else {
        const key = await view.readAccessKey(request.principal.accessKeyId);
        countL2(key !== undefined);
        // Unknown, deleted and inactive keys alike: nothing about the key is disclosed.
        if (key === undefined || key.status !== "Active") {
          throw new IamError("InvalidClientTokenId", "the access key id is not active in this region", {
            field: "principal.accessKeyId",
          });
        }
        principalArn = key.principalArn;
      }
      const accountId = principalAccount(principalArn);
      const atLeast = request.minRevision?.accountId === accountId ? request.minRevision.revision : 0;
      const base =
        request.simulation === undefined
          ? await principalAt(accountId, principalArn, atLeast)
          : await simulated(accountId, principalArn, request.simulation);
      const principal = session === undefined ? base : await withSessionPolicies(base, session);
      // Taken now, before anything else awaits: a cached principal is valid from its revision up
      // to every notification processed so far (none named it); anything else only at its own.
      const revision =
        request.simulation === undefined && cache.isCurrent(base)
          ? Math.max(principal.revision, notified.get(accountId) ?? 0)
          : principal.revision;
      const resourceAccount = request.resourceAccount ?? accountId;
      let resource = request.compiledResourcePolicy ?? inlineResource;
      if (request.compiledResourcePolicy === undefined && inlineResource === undefined) {
        // Named by ARN, or none given: the policy stored for that ARN (else for the request's
        // resource, else for an S3 object its bucket's).
        const named = request.resourcePolicy;
        const atLeastThere = request.minRevision?.accountId === resourceAccount ? request.minRevision.revision : 0;
        let stored = await storedResources.at(resourceAccount, named ?? request.resource, atLeastThere);
        // An S3 object has no policy of its own in AWS: its bucket's applies (exact ARN first).
        const bucket = named === undefined && stored.compiled === undefined ? bucketOf(request.resource) : undefined;
        if (bucket !== undefined) stored = await storedResources.at(resourceAccount, bucket, atLeastThere);
        resource = storedOrRefused(stored, resourceAccount, named);
      }
      return evaluate(
        request,
        principal,
        infoOf(principal, session),
        resource,
        resourceAccount,
        accountId,
        revision,
        session,
      );
    },
    batchScope: createBatchScope,
    tryDecide(request, scope) {
      const inlineResource = checkRequest(request, scope);
      if (
        request.principal.kind !== "arn" ||
        request.simulation !== undefined ||
        request.compiledResourcePolicy !== undefined ||
        request.mfaAuthTimeMs !== undefined
      ) {
        return undefined;
      }
      const minRevision = request.minRevision;
      if (
        minRevision !== undefined &&
        minRevision.revision > 0 &&
        ((notified.get(minRevision.accountId) ?? 0) < minRevision.revision ||
          (minRevision.epoch !== undefined &&
            minRevision.epoch !== "" &&
            minRevision.epoch !== notifiedEpoch.get(minRevision.accountId)))
      ) {
        return undefined;
      }
      const principalArn = request.principal.arn;
      const seen = scope?.principals.get(principalArn);
      const accountId = seen === undefined ? principalAccount(principalArn) : seen.accountId;
      const atLeast = minRevision?.accountId === accountId ? minRevision.revision : 0;
      const applied = notified.get(accountId) ?? 0;
      const principal = seen?.principal ?? cache.peek(principalArn);
      if (principal === undefined || Math.max(principal.revision, applied) < atLeast) return undefined;
      const resourceAccount = request.resourceAccount ?? accountId;
      let resource = inlineResource;
      if (inlineResource === undefined) {
        const named = request.resourcePolicy;
        let side: ResourceMemo;
        if (scope !== undefined && named === undefined && minRevision === undefined) {
          // In a batch, the common case (the policy stored for the request's resource, no
          // min_revision) is looked up once per resource account and resource.
          let memo = scope.resources.get(resourceAccount);
          if (memo === undefined) {
            memo = new Map();
            scope.resources.set(resourceAccount, memo);
          }
          const known = memo.get(request.resource);
          if (known !== undefined) side = known;
          else {
            side = storedSideInMemory(resourceAccount, request.resource, undefined, 0);
            memo.set(request.resource, side);
          }
        } else {
          const atLeastThere = minRevision?.accountId === resourceAccount ? minRevision.revision : 0;
          side = storedSideInMemory(resourceAccount, request.resource, named, atLeastThere);
        }
        if (side === null) return undefined;
        resource = side === false ? undefined : side;
      }
      // Counted and moved up the LRU as decide's lookup would (once per batch); peek found it
      // current (cached).
      let info: PrincipalInfo;
      if (seen !== undefined) {
        cache.countHit();
        info = seen.info;
      } else {
        cache.get(principalArn);
        info = infoOf(principal);
        scope?.principals.set(principalArn, { accountId, principal, info });
      }
      return evaluate(
        request,
        principal,
        info,
        resource,
        resourceAccount,
        accountId,
        Math.max(principal.revision, applied),
        undefined,
        scope,
      );
    },
    async close() {
      subscriber.off("message", onMessage);
      await subscriber.quit().catch(() => {});
    },
  };
}
