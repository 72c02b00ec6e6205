import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { IamError } from "@gatehouse/core";

/**
 * Encrypts secrets at rest (access-key secrets, MFA seeds) with AES-256-GCM; the caller's `aad`
 * (the access key id, the device serial) is bound to the ciphertext.
 */
export interface SecretBox {
  /**
   * `"GHS1" || keyId (8) || iv (12) || tag (16) || ciphertext`, sealed with the newest key, whose
   * id it names so the value still opens after the key is rotated.
   */
  seal(plaintext: string, aad: string): Buffer;
  /**
   * Opens a value sealed under any of the box's keys, or a legacy value without a key id
   * (`iv || tag || ciphertext`, from before key ids). Throws when the blob was tampered with,
   * sealed under another AAD, or under a key the box does not hold (naming its id).
   */
  open(sealed: Uint8Array, aad: string): string;
  /** The id of the key that seals (hex, 16 characters). */
  readonly keyId: string;
}

const MAGIC = Buffer.from("GHS1", "latin1");
const ID_BYTES = 8;
const HEADER = MAGIC.length + ID_BYTES;

/**
 * A key's id: derived from the key itself (an HMAC under it, so the id reveals nothing about the
 * key), which makes ids stable across restarts and replicas without configuring them.
 */
export function secretKeyId(key: Uint8Array): string {
  return createHmac("sha256", Buffer.from(key))
    .update("gatehouse secret key id")
    .digest()
    .subarray(0, ID_BYTES)
    .toString("hex");
}

function gcmOpen(key: Buffer, body: Buffer, aad: string): string {
  // authTagLength: Node would otherwise accept a tag cut to 12 bytes (or fewer, down to 4). The
  // callers' length checks already make every tag here 16 bytes, so this is a second guard.
  // Stryker disable next-line ObjectLiteral: equivalent behind the callers' length checks (tested)
  const decipher = createDecipheriv("aes-256-gcm", key, body.subarray(0, 12), { authTagLength: 16 });
  // Stryker disable next-line StringLiteral: equivalent, Buffer.from with an empty encoding name reads UTF-8
  decipher.setAAD(Buffer.from(aad, "utf8"));
  decipher.setAuthTag(body.subarray(12, 28));
  return Buffer.concat([decipher.update(body.subarray(28)), decipher.final()]).toString("utf8");
}

function tryOpen(key: Buffer, body: Buffer, aad: string): string | undefined {
  try {
    return gcmOpen(key, body, aad);
  } catch {
    return undefined;
  }
}

/**
 * A {@link SecretBox} sealing under `key` (32 bytes) and opening under it or any of `previous`
 * (keys rotated out, still needed for values sealed before the rotation).
 * @example
 * const box = createSecretBox(Buffer.from(config.secretKeyBase64, "base64"), [oldKey]);
 */
export function createSecretBox(key: Uint8Array, previous: readonly Uint8Array[] = []): SecretBox {
  const all = [key, ...previous].map((k, i) => {
    if (k.length !== 32)
      throw new Error(`secret key ${i === 0 ? "" : `previous[${i - 1}] `}must be 32 bytes, got ${k.length}`);
    return { id: secretKeyId(k), key: Buffer.from(k) };
  });
  const byId = new Map(all.map((k) => [k.id, k.key]));
  const newest = all[0] as { id: string; key: Buffer };
  const newestId = Buffer.from(newest.id, "hex");
  return {
    keyId: newest.id,
    seal(plaintext, aad) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", newest.key, iv);
      // Stryker disable next-line StringLiteral: equivalent, an empty encoding name reads UTF-8
      cipher.setAAD(Buffer.from(aad, "utf8"));
      // Stryker disable next-line StringLiteral: equivalent, an empty encoding name reads UTF-8
      const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return Buffer.concat([MAGIC, newestId, iv, cipher.getAuthTag(), ct]);
    },
    open(sealed, aad) {
      const buf = Buffer.from(sealed);
      const tagged = buf.length >= HEADER + 28 && buf.subarray(0, MAGIC.length).equals(MAGIC);
      if (tagged) {
        const id = buf.subarray(MAGIC.length, HEADER).toString("hex");
        const k = byId.get(id);
        const opened = k === undefined ? undefined : tryOpen(k, buf.subarray(HEADER), aad);
        if (opened !== undefined) return opened;
        // A legacy blob whose random IV happens to begin with the marker (2^-32) opens below.
        const legacy = openLegacy(buf, aad);
        if (legacy !== undefined) return legacy;
        throw new IamError(
          "ServiceFailure",
          k === undefined
            ? `a sealed secret names key id ${id}, which is not among the configured secret keys (${[...byId.keys()].join(", ")}): configure it as a previous key`
            : `a sealed secret does not open under key ${id}: it was tampered with or belongs to another entity`,
        );
      }
      const legacy = openLegacy(buf, aad);
      if (legacy !== undefined) return legacy;
      throw new IamError(
        "ServiceFailure",
        "a sealed secret without a key id (legacy format) opens under none of the configured secret keys",
      );
    },
  };

  /** Values sealed before key ids existed: tried under every key, the newest first. */
  function openLegacy(buf: Buffer, aad: string): string | undefined {
    if (buf.length < 28) return undefined;
    for (const k of all) {
      const opened = tryOpen(k.key, buf, aad);
      if (opened !== undefined) return opened;
    }
    return undefined;
  }
}
