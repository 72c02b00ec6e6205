import { createHash } from "node:crypto";

/**
 * Request fields whose text is a secret: passwords (CreateLoginProfile, UpdateLoginProfile,
 * ChangePassword), MFA codes (EnableMFADevice, ResyncMFADevice), secret and private keys, session
 * tokens. Matched on the decoded request's camelCase keys at any depth; the value is replaced.
 */
const SECRET_KEY = /password$|^(old|new)Password$|authenticationCode|secret|privateKey|sessionToken|seed/i;

/** Fields holding a policy document: recorded as their SHA-256 and length, never their text. */
const POLICY_KEY = /policyDocument$|^document$/i;

/** What replaces a secret's value in the trail. */
export const REDACTED = "[REDACTED]";

function redactValue(key: string, value: unknown): unknown {
  if (typeof value === "string" || (Array.isArray(value) && value.every((v) => typeof v === "string"))) {
    if (SECRET_KEY.test(key)) return REDACTED;
    if (POLICY_KEY.test(key) && typeof value === "string") {
      return value === ""
        ? ""
        : { sha256: createHash("sha256").update(value).digest("hex"), length: Buffer.byteLength(value) };
    }
    return value;
  }
  if (value instanceof Uint8Array) return { bytes: value.byteLength };
  if (Array.isArray(value)) return value.map((v) => redactValue(key, v));
  if (value !== null && typeof value === "object") return redactObject(value as Record<string, unknown>);
  if (typeof value === "bigint") return value.toString();
  return value;
}

function redactObject(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    out[k] = redactValue(k, v);
  }
  return out;
}

/**
 * A decoded request as the audit trail records it: secrets (passwords, MFA codes, secret and
 * private keys, session tokens, seeds) replaced by {@link REDACTED} whatever their depth, policy
 * documents by `{ sha256, length }` (the document itself is in the state at the recorded revision,
 * which ExportAccount returns to those allowed to read it), bytes by their length.
 *
 * @example
 * redactRequest({ userName: "alice", password: "hunter2!" }) // { userName: "alice", password: "[REDACTED]" }
 */
export function redactRequest(request: unknown): Record<string, unknown> {
  return request !== null && typeof request === "object" ? redactObject(request as Record<string, unknown>) : {};
}
