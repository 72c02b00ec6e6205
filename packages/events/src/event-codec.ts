import { IamError } from "@gatehouse/core";
import { AccountSnapshot, ChangeEvent, Watermark } from "@gatehouse/proto";

/** The ChangeEvent envelope version this code writes and the versions it can read. */
export const CHANGE_EVENT_SCHEMA_VERSION = 1;
const READABLE_VERSIONS: ReadonlySet<number> = new Set([1]);

/** One entity's full new state (`null` for a tombstone) at an account revision. */
export interface EntityChange {
  readonly accountId: string;
  readonly revision: number;
  readonly kind: string;
  readonly id: string;
  readonly state: unknown;
  /** Stable per outbox row, so re-sends carry the same id; empty in snapshots. */
  readonly eventId?: string;
  readonly committedAtMs?: number;
  /** The history the revision belongs to (ChangeEvent.epoch); empty in snapshots. */
  readonly epoch?: string;
  /** This event's place among its revision's events (0-based); see ChangeEvent.revision_index. */
  readonly revisionIndex?: number;
  /** How many events its revision has (0: unknown, as in snapshots); see ChangeEvent.revision_events. */
  readonly revisionEvents?: number;
}

/** The wire form of an entity change, at this code's envelope version. */
export function changeEvent(change: EntityChange): ChangeEvent {
  return {
    schemaVersion: CHANGE_EVENT_SCHEMA_VERSION,
    eventId: change.eventId ?? "",
    accountId: change.accountId,
    revision: change.revision,
    committedAtMs: change.committedAtMs ?? 0,
    key: { kind: change.kind, id: change.id },
    change:
      change.state === null
        ? { $case: "delete", value: {} }
        : { $case: "upsertJson", value: JSON.stringify(change.state) },
    epoch: change.epoch ?? "",
    revisionIndex: change.revisionIndex ?? 0,
    revisionEvents: change.revisionEvents ?? 0,
  };
}

/** Serializes a change event (filling in the schema version when left at 0). */
export function encodeChangeEvent(event: ChangeEvent): Buffer {
  const withVersion = event.schemaVersion === 0 ? { ...event, schemaVersion: CHANGE_EVENT_SCHEMA_VERSION } : event;
  return Buffer.from(ChangeEvent.encode(withVersion).finish());
}

/**
 * Parses a change event. Throws a non-retriable `ValidationError` for bytes that are not an event
 * or for an envelope version this reader does not know, so consumers dead-letter rather than retry.
 */
export function decodeChangeEvent(bytes: Uint8Array): ChangeEvent {
  let event: ChangeEvent;
  try {
    event = ChangeEvent.decode(bytes);
  } catch (e) {
    throw new IamError("ValidationError", "change event bytes are not a gatehouse.v1.ChangeEvent", { cause: e });
  }
  if (!READABLE_VERSIONS.has(event.schemaVersion)) {
    throw new IamError("ValidationError", `change event schema_version ${event.schemaVersion} is not supported`, {
      field: "schemaVersion",
    });
  }
  return event;
}

/** Serializes an account snapshot (ExportAccount's payload). */
export function encodeAccountSnapshot(snapshot: AccountSnapshot): Buffer {
  return Buffer.from(AccountSnapshot.encode(snapshot).finish());
}

/** Parses an account snapshot, with the same version rule as {@link decodeChangeEvent}. */
export function decodeAccountSnapshot(bytes: Uint8Array): AccountSnapshot {
  let snapshot: AccountSnapshot;
  try {
    snapshot = AccountSnapshot.decode(bytes);
  } catch (e) {
    throw new IamError("ValidationError", "bytes are not a gatehouse.v1.AccountSnapshot", { cause: e });
  }
  if (!READABLE_VERSIONS.has(snapshot.schemaVersion)) {
    throw new IamError("ValidationError", `snapshot schema_version ${snapshot.schemaVersion} is not supported`, {
      field: "schemaVersion",
    });
  }
  return snapshot;
}

/** Serializes a watermark (filling in the schema version when left at 0). */
export function encodeWatermark(watermark: Watermark): Buffer {
  const withVersion =
    watermark.schemaVersion === 0 ? { ...watermark, schemaVersion: CHANGE_EVENT_SCHEMA_VERSION } : watermark;
  return Buffer.from(Watermark.encode(withVersion).finish());
}

/** Parses a watermark, with the same version rule as {@link decodeChangeEvent}. */
export function decodeWatermark(bytes: Uint8Array): Watermark {
  let watermark: Watermark;
  try {
    watermark = Watermark.decode(bytes);
  } catch (e) {
    throw new IamError("ValidationError", "bytes are not a gatehouse.v1.Watermark", { cause: e });
  }
  if (!READABLE_VERSIONS.has(watermark.schemaVersion)) {
    throw new IamError("ValidationError", `watermark schema_version ${watermark.schemaVersion} is not supported`, {
      field: "schemaVersion",
    });
  }
  return watermark;
}

/**
 * The Kafka header that tells a change topic's message types apart without decoding: absent or
 * `change` for a ChangeEvent, `watermark` for a Watermark (which has no key).
 */
export const MESSAGE_TYPE_HEADER = "gatehouse-message";

/** Kafka headers every change message carries, so consumers can route without decoding. */
export const ChangeHeaders = Object.freeze({
  entityKind: "gatehouse-entity-kind",
  entityId: "gatehouse-entity-id",
  revision: "gatehouse-revision",
  schemaVersion: "gatehouse-schema-version",
  eventId: "gatehouse-event-id",
} as const);
