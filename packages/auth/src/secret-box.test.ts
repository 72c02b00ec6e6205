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

/** The IamError `fn` throws; fails the test when it returns or throws anything else. */
function refusal(fn: () => unknown): IamError {
  try {
    fn();
  } catch (e) {
    if (IamError.is(e)) return e;
    throw e;
  }
  throw new Error("expected an IamError, but the value opened");
}

/** A legacy value (`iv || tag || ciphertext`) sealed with a chosen IV. */
function legacySealWithIv(key: Uint8Array, iv: Buffer, plaintext: string, aad: string): Buffer {
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]);
}

/** HMAC-SHA256(OLD, "gatehouse secret key id"), first 8 bytes: the id OLD has had since key ids exist. */
const KNOWN_ID_OF_OLD = "f34498822adf97be";

describe("secret box: key ids, formats and refusals", () => {
  it("derives a key's id as a fixed function of the key, so ids stay stable across versions and replicas", () => {
    // Pinned: sealed values name their key by this id, so changing the derivation would strand them.
    expect(secretKeyId(OLD)).toBe(KNOWN_ID_OF_OLD);
    expect(createSecretBox(OLD).keyId).toBe(KNOWN_ID_OF_OLD);
    expect(secretKeyId(OLD)).toMatch(/^[0-9a-f]{16}$/);
  });

  it("round-trips an empty secret (the shortest sealed value) and non-ASCII text and AAD", () => {
    const box = createSecretBox(NEW, [OLD]);
    const empty = box.seal("", "AKIAEXAMPLE");
    expect(empty).toHaveLength(4 + 8 + 12 + 16);
    expect(box.open(empty, "AKIAEXAMPLE")).toBe("");
    expect(box.open(box.seal("sécret ✓", "arn:aws:iam::1:mfa/é"), "arn:aws:iam::1:mfa/é")).toBe("sécret ✓");
  });

  it("binds the AAD: a value opens only under the AAD it was sealed with, naming the key it was sealed under", () => {
    const box = createSecretBox(NEW, [OLD]);
    const sealed = box.seal(SECRET, "AKIAONE");
    const e = refusal(() => box.open(sealed, "AKIATWO"));
    expect([e.awsName, e.message]).toEqual([
      "ServiceFailure",
      `a sealed secret does not open under key ${secretKeyId(NEW)}: it was tampered with or belongs to another entity`,
    ]);
  });

  it("refuses a value whose key id, IV, tag or ciphertext was changed, as tampered or as an unknown key", () => {
    const box = createSecretBox(NEW, [OLD]);
    const sealed = box.seal(SECRET, "AKIAEXAMPLE");
    for (const at of [12, 12 + 11, 24, 24 + 15, 40, sealed.length - 1]) {
      const bad = Buffer.from(sealed);
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      expect(refusal(() => box.open(bad, "AKIAEXAMPLE")).message, `byte ${at}`).toMatch(
        new RegExp(`^a sealed secret does not open under key ${secretKeyId(NEW)}: it was tampered with`),
      );
    }
    // A changed key id no longer names a configured key: the error lists the ones there are.
    const renamed = Buffer.from(sealed);
    renamed[4] = (renamed[4] ?? 0) ^ 0x01;
    const unknownId = renamed.subarray(4, 12).toString("hex");
    expect(refusal(() => box.open(renamed, "AKIAEXAMPLE")).message).toBe(
      `a sealed secret names key id ${unknownId}, which is not among the configured secret keys (${secretKeyId(NEW)}, ${secretKeyId(OLD)}): configure it as a previous key`,
    );
  });

  it("opens under a previous key whichever position it has, and under the newest first", () => {
    const third = new Uint8Array(32).fill(3);
    const sealed = createSecretBox(OLD).seal(SECRET, "AKIAEXAMPLE");
    expect(createSecretBox(NEW, [third, OLD]).open(sealed, "AKIAEXAMPLE")).toBe(SECRET);
    expect(createSecretBox(NEW, [OLD, third]).open(sealed, "AKIAEXAMPLE")).toBe(SECRET);
    expect(createSecretBox(third, [NEW, OLD]).open(legacySeal(NEW, SECRET, "A"), "A")).toBe(SECRET);
  });

  it("opens a legacy value whose random IV happens to begin with the key-id marker", () => {
    const iv = Buffer.concat([Buffer.from("GHS1", "latin1"), randomBytes(8)]);
    const legacy = legacySealWithIv(OLD, iv, SECRET, "AKIAEXAMPLE");
    expect(createSecretBox(NEW, [OLD]).open(legacy, "AKIAEXAMPLE")).toBe(SECRET);
  });

  it("opens a legacy empty secret (28 bytes) and refuses shorter values, whose GCM tag would be truncated", () => {
    const box = createSecretBox(OLD);
    const empty = legacySeal(OLD, "", "AKIAEXAMPLE");
    expect(empty).toHaveLength(28);
    expect(box.open(empty, "AKIAEXAMPLE")).toBe("");
    // GCM itself accepts a tag cut to 12 bytes, which is far easier to forge: never offer it one.
    const truncated = empty.subarray(0, 24);
    const e = refusal(() => box.open(truncated, "AKIAEXAMPLE"));
    expect([e.awsName, e.message]).toEqual([
      "ServiceFailure",
      "a sealed secret without a key id (legacy format) opens under none of the configured secret keys",
    ]);
  });

  it("reads a value too short for a key id as legacy, even when it begins with the marker", () => {
    const box = createSecretBox(OLD);
    const short = box.seal("", "AKIAEXAMPLE").subarray(0, 4 + 8 + 27);
    expect(refusal(() => box.open(short, "AKIAEXAMPLE")).message).toMatch(/without a key id \(legacy format\)/);
  });

  it("names the primary key without an index and a previous key by its index when one is not 32 bytes", () => {
    expect(() => createSecretBox(new Uint8Array(33))).toThrow(/^secret key must be 32 bytes, got 33$/);
    expect(() => createSecretBox(NEW, [OLD, new Uint8Array(0)])).toThrow(
      /^secret key previous\[1\] must be 32 bytes, got 0$/,
    );
  });
});
