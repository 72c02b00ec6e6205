import type { CompiledResourcePolicy, PrincipalInfo } from "@gatehouse/policy";
import type { CompiledPrincipal } from "./compile-principal.ts";
import type { BuiltContext } from "./request-context.ts";

/** A principal a batch looked up, with what the engine is told about it (built once per batch). */
export interface ScopedPrincipal {
  /** The account its ARN names. */
  readonly accountId: string;
  readonly principal: CompiledPrincipal;
  readonly info: PrincipalInfo;
}

/**
 * A batch's memo of the resource side for one resource: the stored policy, `false` when none is
 * stored, `null` when the lookup is not in memory (the check then waits for a read).
 */
export type ResourceMemo = CompiledResourcePolicy | false | null;

/**
 * What the checks of one batch share, keyed by identity (a batch's decoder gives equal principals
 * and contexts the same object, and repeated strings the same string): see `Decider.batchScope`.
 */
export interface BatchScope {
  /** Caller contexts that passed `checkCallerContext`. */
  readonly checkedContexts: Set<object>;
  /** Principals looked up in the L1 (and moved up its LRU order) in this batch, by ARN. */
  readonly principals: Map<string, ScopedPrincipal>;
  /**
   * The resource side of `account`, `resource` (no inline or named policy, no min_revision): one
   * Map per resource account.
   */
  readonly resources: Map<string, Map<string, ResourceMemo>>;
  /** Per caller context, the contexts built from it (principal and resource account). */
  readonly contexts: Map<object, BuiltContext[]>;
  /** The clock's last reading in this batch (see `CLOCK_READ_EVERY` in decider.ts). */
  clockMs: number;
  /** Checks that may still use {@link BatchScope.clockMs} before the clock is read again. */
  clockUses: number;
}

/** An empty scope, for one synchronous pass over a batch's checks. */
export function createBatchScope(): BatchScope {
  return {
    checkedContexts: new Set(),
    principals: new Map(),
    resources: new Map(),
    contexts: new Map(),
    clockMs: 0,
    clockUses: 0,
  };
}
