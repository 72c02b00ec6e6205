import type { TypedEntity, TypedEntityChange } from "@gatehouse/events";

/** Every event of one account revision, ready to apply in one step. */
export interface CompleteRevision {
  readonly accountId: string;
  readonly revision: number;
  readonly epoch: string;
  readonly entities: readonly TypedEntity[];
  /** The offset of its first event on the partition (a consumer may commit only below it until it is applied). */
  readonly firstOffset: bigint;
}

/** A revision that can never complete (a later revision came first): reported, never applied. */
export interface BrokenRevision {
  readonly accountId: string;
  readonly revision: number;
  readonly held: number;
  readonly expected: number;
}

/** What one message completed. */
export interface AssemblerStep {
  readonly complete: readonly CompleteRevision[];
  readonly broken: readonly BrokenRevision[];
}

interface Pending {
  readonly revision: number;
  readonly epoch: string;
  /** `revision_events`, or 0 for a producer that does not say (complete on a later revision or a watermark). */
  readonly expected: number;
  readonly events: Map<string, { readonly order: number; readonly entity: TypedEntity }>;
  /** The offset of its first event: offsets may be committed only below it. */
  readonly firstOffset: bigint;
}

/**
 * Holds one partition's events per account until their revision is complete (ChangeEvent's
 * `revision_index` of `revision_events`; for producers that leave both 0, until a later revision
 * of the account or a watermark arrives), so a revision is applied whole or not at all.
 * Duplicates within a revision (redelivery) are kept once. Pure: no I/O.
 */
export class RevisionAssembler {
  readonly #pending = new Map<string, Pending>();

  /** Adds an event read at `offset`; returns the revisions it completed, oldest first. */
  add(change: TypedEntityChange, revisionIndex: number, revisionEvents: number, offset: bigint): AssemblerStep {
    const complete: CompleteRevision[] = [];
    const broken: BrokenRevision[] = [];
    const held = this.#pending.get(change.accountId);
    if (held !== undefined && held.revision !== change.revision) {
      // A replay of an older revision (at or below one already held) is applied already or will
      // be refused as a duplicate by the view: nothing to hold.
      if (change.revision < held.revision) return { complete, broken };
      this.#pending.delete(change.accountId);
      if (held.expected === 0) complete.push(toComplete(change.accountId, held));
      else
        broken.push({
          accountId: change.accountId,
          revision: held.revision,
          held: held.events.size,
          expected: held.expected,
        });
    }
    let pending = this.#pending.get(change.accountId);
    if (pending === undefined) {
      pending = {
        revision: change.revision,
        epoch: change.epoch,
        expected: revisionEvents,
        events: new Map(),
        firstOffset: offset,
      };
      this.#pending.set(change.accountId, pending);
    }
    const key =
      revisionEvents > 0 ? `#${revisionIndex}` : change.eventId !== "" ? change.eventId : `${change.kind}:${change.id}`;
    if (!pending.events.has(key)) {
      const entity = { kind: change.kind, id: change.id, state: change.state } as TypedEntity;
      pending.events.set(key, { order: revisionEvents > 0 ? revisionIndex : pending.events.size, entity });
    }
    if (pending.expected > 0 && pending.events.size >= pending.expected) {
      this.#pending.delete(change.accountId);
      complete.push(toComplete(change.accountId, pending));
    }
    return { complete, broken };
  }

  /** A watermark arrived: every revision of a producer that does not count its events is complete. */
  flushLegacy(): CompleteRevision[] {
    const out: CompleteRevision[] = [];
    for (const [accountId, p] of this.#pending) {
      if (p.expected !== 0) continue;
      this.#pending.delete(accountId);
      out.push(toComplete(accountId, p));
    }
    return out;
  }

  /** How many revisions are held incomplete. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * The offset a consumer may commit once everything before `next` was handled: `next` itself,
   * or the first offset of the oldest revision still held (which must be read again after a
   * restart).
   */
  committableOffset(next: bigint): bigint {
    let min = next;
    for (const p of this.#pending.values()) if (p.firstOffset < min) min = p.firstOffset;
    return min;
  }
}

function toComplete(accountId: string, p: Pending): CompleteRevision {
  const entities = [...p.events.values()].sort((a, b) => a.order - b.order).map((e) => e.entity);
  return { accountId, revision: p.revision, epoch: p.epoch, entities, firstOffset: p.firstOffset };
}
