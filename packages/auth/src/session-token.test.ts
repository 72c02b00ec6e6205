import { createManualClock, IamError } from "@gatehouse/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  createSessionTokenCodec,
  newStsKey,
  type SessionClaimsInput,
  sessionArn,
  sessionUserId,
  sourceIdentityContext,
  stsKey,
} from "./session-token.ts";

const T0 = Date.parse("2026-12-04T12:00:00Z");
const K1 = stsKey(new Uint8Array(32).fill(1));
const K2 = stsKey(new Uint8Array(32).fill(2));

function claims(over: Partial<SessionClaimsInput> = {}): SessionClaimsInput {
  return {
    principal: {
      kind: "assumed-role",
      roleArn: "arn:aws:iam::111122223333:role/app/deploy",
      roleId: "AROAEXAMPLEEXAMPLE123",
      roleName: "deploy",
      sessionName: "ci-42",
    },
    accountId: "111122223333",
    accessKeyId: "ASIAABCDEFGHIJKLMNOP",
    secretAccessKey: "s3cr3t/session+key",
    issuedAtMs: T0,
    expiresAtMs: T0 + 3_600_000,
    mfaAuthTimeMs: T0 - 1000,
    sessionPolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}',
    policyArns: ["arn:aws:iam::111122223333:policy/narrow"],
    tags: [{ key: "team", value: "blue" }],
    transitiveTagKeys: ["team"],
    source: "long-term",
    ...over,
  };
}

function refusal(f: () => unknown): { awsName: string; message: string } {
  try {
    f();
  } catch (e) {
    if (IamError.is(e)) return { awsName: e.awsName, message: e.message };
    throw e;
  }
  throw new Error("expected a refusal");
}

describe("session tokens", () => {
  it("round-trip every claim, with the key id in clear and no secret in clear", () => {
    const clock = createManualClock(T0);
    const codec = createSessionTokenCodec({ current: K1, clock });
    const token = codec.seal(claims());
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    const raw = Buffer.from(token, "base64url");
    expect(raw[0]).toBe(1);
    expect(raw.subarray(1, 9).toString("hex")).toBe(K1.keyId);
    expect(raw.toString("latin1")).not.toContain("s3cr3t");
    expect(raw.toString("latin1")).not.toContain("deploy");
    const opened = codec.open(token);
    expect(opened).toEqual(claims());
    expect(sessionArn(opened)).toBe("arn:aws:sts::111122223333:assumed-role/deploy/ci-42");
    expect(sessionUserId(opened)).toBe("AROAEXAMPLEEXAMPLE123:ci-42");
  });

  it("open a token sealed before source identity existed (same format version), and carry one sealed now", () => {
    // Sealed under K1 by the code of commit f42b0d8, before `sourceIdentity` was a claim.
    const old =
      "AejLOv7IH6ZQr_YCJ6kRSdNbukf2lj1qLoG3kyCLiVhAWNE0B6Ucubl0bcikrcS-9la7jwDnDWOGZMWdrJ750Sm4xPBWeZimBmIiu53Ppsjo-TY65lr3fJRMv7Z4DLEiM-DeBun7X_su89IDvnAE8srz_0CQOVPY05cdMDFuZZ6T7XpMC1l09xA0W2bdEJM8TML59JlC9piD7vcdn9Aq_FDhgvHEtp2ja-9lDnSepd1hnVN9W2Dfn6AyjogHpylaeeyKk2iZEAntvlQ8p8aGXW079l4g-ahdSzlq2koVxa2en9vorlVmnxFv5dlnla9sE1k-Dub8oYjZAYRZij-7k0d-G1wIaB-bFagJVy8IWdMIDkUIWg05_205WhT8Ea1kj7IcoGFqT7ijqX08wZl32Jk2deAvmY5Ga7ThZVSzAcsMToAWGtvrB5XYbcFdeKhGcYPQVeMOCA91wSXoWqhwpP_TOmISbtu1mE1EeDwdEZiSbh_ozzMZm3R-AOD1B3X0x0A2Oddn_tpbKn4tGlQLso7s4Sq0FFY62sStcuzKkUiEvwF6vnK4iYrtK9aPJtnd0b5P8RK3bHzUJJpZ0hhswViLagc-dOKPDGs1-JEork9zvQ";
    const codec = createSessionTokenCodec({ current: K1, clock: createManualClock(T0) });
    const opened = codec.open(old);
    expect(opened.sourceIdentity).toBeUndefined();
    expect(sourceIdentityContext(opened)).toEqual({});
    expect(sessionArn(opened)).toBe("arn:aws:sts::111122223333:assumed-role/deploy/ci-42");
    const now = codec.open(codec.seal(claims({ sourceIdentity: "alice@example.com" })));
    expect(now.sourceIdentity).toBe("alice@example.com");
    expect(sourceIdentityContext(now)).toEqual({ "aws:SourceIdentity": "alice@example.com" });
  });

  it("refuse a token once its expiry is reached (injected clock), not a millisecond before", () => {
    const clock = createManualClock(T0);
    const codec = createSessionTokenCodec({ current: K1, clock });
    const token = codec.seal(claims({ expiresAtMs: T0 + 900_000 }));
    clock.set(T0 + 899_999);
    expect(codec.open(token).accessKeyId).toBe("ASIAABCDEFGHIJKLMNOP");
    clock.set(T0 + 900_000);
    expect(refusal(() => codec.open(token)).awsName).toBe("ExpiredToken");
    // A codec that never opened it (no remembered claims) refuses it alike.
    expect(refusal(() => createSessionTokenCodec({ current: K1, clock }).open(token)).awsName).toBe("ExpiredToken");
  });

  it("refuse tokens under a key the set does not hold (foreign), and open them once the key is among the verifying ones", () => {
    const clock = createManualClock(T0);
    const a = createSessionTokenCodec({ current: K1, clock });
    const b = createSessionTokenCodec({ current: K2, clock });
    const token = a.seal(claims());
    const r = refusal(() => b.open(token));
    expect(r.awsName).toBe("InvalidClientTokenId");
    expect(r.message).toContain(K1.keyId);
    // Rotation: K2 now seals, K1 still verifies what it sealed.
    const rotated = createSessionTokenCodec({ current: K2, verifying: [K1], clock });
    expect(rotated.open(token).principal.kind).toBe("assumed-role");
    expect(Buffer.from(rotated.seal(claims()), "base64url").subarray(1, 9).toString("hex")).toBe(K2.keyId);
  });

  it("refuse a foreign key that claims a held key's id (the id is authenticated data)", () => {
    const clock = createManualClock(T0);
    const impostor = createSessionTokenCodec({ current: { keyId: K1.keyId, key: newStsKey().key }, clock });
    const real = createSessionTokenCodec({ current: K1, clock });
    expect(refusal(() => real.open(impostor.seal(claims()))).awsName).toBe("InvalidClientTokenId");
  });

  it("refuse every single-bit change and every truncation", () => {
    const clock = createManualClock(T0);
    const codec = createSessionTokenCodec({ current: K1, verifying: [K2], clock });
    const raw = Buffer.from(codec.seal(claims()), "base64url");
    for (let i = 0; i < raw.length; i++) {
      for (const bit of [0, 7]) {
        const t = Buffer.from(raw);
        t[i] = (t[i] ?? 0) ^ (1 << bit);
        expect(refusal(() => codec.open(t.toString("base64url"))).awsName, `byte ${i} bit ${bit}`).toBe(
          "InvalidClientTokenId",
        );
      }
    }
    for (let n = 0; n < raw.length; n++) {
      expect(refusal(() => codec.open(raw.subarray(0, n).toString("base64url"))).awsName, `first ${n} bytes`).toBe(
        "InvalidClientTokenId",
      );
    }
    expect(refusal(() => codec.open("not a token!")).awsName).toBe("InvalidClientTokenId");
    expect(refusal(() => codec.open("A".repeat(20_000))).awsName).toBe("InvalidClientTokenId");
  });

  it("property: any claims round-trip; any other bytes are refused, never crash", () => {
    const clock = createManualClock(T0);
    const codec = createSessionTokenCodec({ current: K1, clock });
    const text = fc.string({ maxLength: 40 });
    fc.assert(
      fc.property(
        text,
        text,
        fc.array(fc.record({ key: text, value: text }), { maxLength: 5 }),
        fc.integer({ min: 1, max: 43_200_000 }),
        fc.boolean(),
        (sessionName, policy, tags, ttl, mfa) => {
          const c = claims({
            principal: {
              kind: "user",
              userArn: "arn:aws:iam::111122223333:user/u",
              userId: "AIDAX",
              userName: sessionName,
            },
            sessionPolicy: policy,
            tags,
            transitiveTagKeys: tags.map((t) => t.key),
            expiresAtMs: T0 + ttl,
            mfaAuthTimeMs: mfa ? T0 : undefined,
          });
          if (!mfa) delete c.mfaAuthTimeMs;
          expect(codec.open(codec.seal(c))).toEqual(c);
        },
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expect(refusal(() => codec.open(Buffer.from(bytes).toString("base64url"))).awsName).toBe(
          "InvalidClientTokenId",
        );
      }),
      { numRuns: 300 },
    );
  });

  it("seal refuses claims outside the schema (a bad access key id, more than 10 policy ARNs)", () => {
    const codec = createSessionTokenCodec({ current: K1 });
    expect(() => codec.seal(claims({ accessKeyId: "AKIAABCDEFGHIJKLMNOP" }))).toThrow();
    expect(() => codec.seal(claims({ policyArns: Array.from({ length: 11 }, (_, i) => `arn:p${i}`) }))).toThrow();
  });
});
