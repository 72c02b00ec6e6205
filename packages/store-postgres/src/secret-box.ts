import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";

/** Encrypts access-key secrets at rest with AES-256-GCM; the access key id is bound as AAD. */
export interface SecretBox {
  /** `iv (12) || tag (16) || ciphertext`. */
  seal(plaintext: string, aad: string): Buffer;
  /** Throws when the blob was tampered with or sealed under another key or AAD. */
  open(sealed: Uint8Array, aad: string): string;
}

/**
 * A {@link SecretBox} under a 32-byte key.
 * @example
 * const box = createSecretBox(Buffer.from(config.secretKeyBase64, "base64"));
 */
export function createSecretBox(key: Uint8Array): SecretBox {
  if (key.length !== 32) throw new Error(`secret key must be 32 bytes, got ${key.length}`);
  const k = Buffer.from(key);
  return {
    seal(plaintext, aad) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", k, iv);
      cipher.setAAD(Buffer.from(aad, "utf8"));
      const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), ct]);
    },
    open(sealed, aad) {
      const buf = Buffer.from(sealed);
      const decipher = createDecipheriv("aes-256-gcm", k, buf.subarray(0, 12));
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(buf.subarray(12, 28));
      return Buffer.concat([decipher.update(buf.subarray(28)), decipher.final()]).toString("utf8");
    },
  };
}
