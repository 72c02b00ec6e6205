import { AsyncLocalStorage } from "node:async_hooks";

/**
 * One control-plane call's audit event, as the store writes it (`gh_audit_insert`, migration 0030).
 * `requestParameters` is already redacted by the caller: the store writes what it is given.
 */
export interface AuditEventInput {
  readonly eventId: string;
  readonly eventTimeMs: number;
  /** The caller's account; undefined for the operator. */
  readonly accountId: string | undefined;
  readonly principalArn: string;
  /** The IAM user name of a user caller, for lookups by user. */
  readonly userName: string | undefined;
  readonly accessKeyId: string;
  readonly sourceIp: string | undefined;
  readonly operation: string;
  readonly requestParameters: Readonly<Record<string, unknown>>;
}

/** The call's event while it runs, and whether a write already committed it. */
export interface AuditSlot {
  readonly event: AuditEventInput;
  /** The revision of the write whose transaction inserted the event, once it committed. */
  recordedAt: number | undefined;
}

const scope = new AsyncLocalStorage<AuditSlot>();

/** Runs `body` with `slot` as the call's pending audit event (see {@link pendingAudit}). */
export function runInAuditScope<T>(slot: AuditSlot, body: () => Promise<T>): Promise<T> {
  return scope.run(slot, body);
}

/**
 * The pending audit event of the call this write runs for, or undefined (no audited call, or a
 * write of the call already recorded it: a call is recorded once, by its first write).
 */
export function pendingAudit(): AuditSlot | undefined {
  const slot = scope.getStore();
  return slot === undefined || slot.recordedAt !== undefined ? undefined : slot;
}

/** The event as `gh_audit_insert` reads it (JSON without undefined members). */
export function auditJson(event: AuditEventInput): string {
  return JSON.stringify(event);
}
