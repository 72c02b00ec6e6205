import { createCipheriv, randomBytes } from "node:crypto";
import { IamError } from "@gatehouse/core";
import { describe, expect, it } from "vitest";
import { createSecretBox, secretKeyId } from "./secret-box.ts";

const OLD = new Uint8Array(32).fill(7);
const NEW = new Uint8Array(32).fill(9);
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/** A value sealed the way the store did before key ids: `iv || tag || ciphertext`. */
function legacySeal(key: Uint8Array, plaintext: string, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]);
}

describe("secret box", () => {
  it("round-trips and rejects another AAD or a tampered blob", () => {
    const box = createSecretBox(OLD);
    const sealed = box.seal(SECRET, "AKIAEXAMPLE");
    expect(box.open(sealed, "AKIAEXAMPLE")).toBe(SECRET);
    expect(() => box.open(sealed, "AKIAOTHER")).toThrow();
    sealed[sealed.length - 1] = (sealed[sealed.length - 1] ?? 0) ^ 1;
    expect(() => box.open(sealed, "AKIAEXAMPLE")).toThrow();
  });

  it("names the sealing key in what it seals", () => {
    const sealed = createSecretBox(NEW, [OLD]).seal(SECRET, "AKIAEXAMPLE");
    expect(sealed.subarray(0, 4).toString("latin1")).toBe("GHS1");
    expect(sealed.subarray(4, 12).toString("hex")).toBe(secretKeyId(NEW));
    expect(secretKeyId(NEW)).not.toBe(secretKeyId(OLD));
  });

  it("still opens values sealed under a rotated-out key, and seals new ones under the new key", () => {
    const before = createSecretBox(OLD).seal(SECRET, "AKIAEXAMPLE");
    const rotated = createSecretBox(NEW, [OLD]);
    expect(rotated.open(before, "AKIAEXAMPLE")).toBe(SECRET);
    const after = rotated.seal(SECRET, "AKIAEXAMPLE");
    expect(after.subarray(4, 12).toString("hex")).toBe(rotated.keyId);
    // Once the old key is dropped, the new value still opens; the old one does not.
    const onlyNew = createSecretBox(NEW);
    expect(onlyNew.open(after, "AKIAEXAMPLE")).toBe(SECRET);
    expect(() => onlyNew.open(before, "AKIAEXAMPLE")).toThrow(secretKeyId(OLD));
  });

  it("refuses a value sealed under an unknown key id with an error naming the id", () => {
    const sealed = createSecretBox(OLD).seal(SECRET, "AKIAEXAMPLE");
    let caught: unknown;
    try {
      createSecretBox(NEW).open(sealed, "AKIAEXAMPLE");
    } catch (e) {
      caught = e;
    }
    expect(IamError.is(caught)).toBe(true);
    expect((caught as IamError).awsName).toBe("ServiceFailure");
    expect((caught as IamError).message).toContain(`names key id ${secretKeyId(OLD)}`);
  });

  it("opens legacy values without a key id under the primary key or a previous one", () => {
    expect(createSecretBox(OLD).open(legacySeal(OLD, SECRET, "AKIAEXAMPLE"), "AKIAEXAMPLE")).toBe(SECRET);
    expect(createSecretBox(NEW, [OLD]).open(legacySeal(OLD, SECRET, "AKIAEXAMPLE"), "AKIAEXAMPLE")).toBe(SECRET);
    expect(() => createSecretBox(NEW).open(legacySeal(OLD, SECRET, "AKIAEXAMPLE"), "AKIAEXAMPLE")).toThrow(/legacy/);
  });

  it("refuses keys that are not 32 bytes", () => {
    expect(() => createSecretBox(new Uint8Array(16))).toThrow(/32 bytes, got 16/);
    expect(() => createSecretBox(NEW, [new Uint8Array(31)])).toThrow(/previous\[0\] must be 32 bytes, got 31/);
  });
});
