import { createHash, createHmac } from "node:crypto";
import { createManualClock } from "@gatehouse/core";
import { iamErrorOf } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { signGrpcCall, verifyGrpcCall } from "./index.ts";

const creds = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const call = {
  method: "/gatehouse.v1.ControlService/CreateUser",
  authority: "127.0.0.1:50051",
  body: Buffer.from("hello"),
};
const t0 = Date.parse("2026-01-01T00:00:00Z");

describe("SigV4 over gRPC", () => {
  const clock = createManualClock(t0);
  const lookup = async (id: string) =>
    id === creds.accessKeyId ? { secretAccessKey: creds.secretAccessKey, active: true } : undefined;

  it("signs the canonical form and verifies it", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    expect(md["x-amz-date"]).toBe("20260101T000000Z");
    expect(md.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/20260101\/us-east-1\/iam\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(await verifyGrpcCall(call, md, { lookup, clock })).toEqual({
      accessKeyId: creds.accessKeyId,
      signedAtMs: t0,
    });
  });

  it("keeps HMAC keys per secret: past the key cache's bound, each key verifies only its own signatures", async () => {
    // The signer's HMAC keys are made once per secret and kept (1,024 from text at most): a key
    // must never serve another secret, also after the cache was emptied for being full.
    const keys = Array.from({ length: 1100 }, (_, i) => ({
      accessKeyId: `AKIAKEYCACHE${String(i).padStart(8, "0")}`,
      secretAccessKey: `secret-${i}-${"x".repeat(30)}`,
    }));
    const byId = new Map(keys.map((k) => [k.accessKeyId, k.secretAccessKey]));
    const own = async (id: string) => ({ secretAccessKey: byId.get(id) ?? "", active: true });
    const second = async () => ({ secretAccessKey: keys[1]?.secretAccessKey ?? "", active: true });
    for (const k of keys) {
      const md = await signGrpcCall(call, k, { clock });
      expect((await verifyGrpcCall(call, md, { lookup: own, clock })).accessKeyId).toBe(k.accessKeyId);
    }
    // The first key again, now that the cache has been emptied and refilled: its own secret
    // verifies, another's does not.
    const first = keys[0] as (typeof keys)[number];
    const md = await signGrpcCall(call, first, { clock });
    expect((await verifyGrpcCall(call, md, { lookup: own, clock })).accessKeyId).toBe(first.accessKeyId);
    expect((await iamErrorOf(verifyGrpcCall(call, md, { lookup: second, clock }))).awsName).toBe(
      "SignatureDoesNotMatch",
    );
  });

  it("produces the signature the SigV4 specification defines, step by step", async () => {
    // An independent oracle: the canonical request, string to sign and signing key of the spec,
    // computed here with node:crypto directly (guards the signer's hash adapter).
    const sha = (x: string | Buffer) => createHash("sha256").update(x).digest("hex");
    const hmac = (key: string | Buffer, x: string) => createHmac("sha256", key).update(x).digest();
    const bodyHash = sha(call.body);
    const canonical = [
      "POST",
      call.method,
      "",
      `host:${call.authority}`,
      `x-amz-content-sha256:${bodyHash}`,
      "x-amz-date:20260101T000000Z",
      "",
      "host;x-amz-content-sha256;x-amz-date",
      bodyHash,
    ].join("\n");
    const scope = "20260101/us-east-1/iam/aws4_request";
    const toSign = ["AWS4-HMAC-SHA256", "20260101T000000Z", scope, sha(canonical)].join("\n");
    let key = hmac(`AWS4${creds.secretAccessKey}`, "20260101");
    for (const part of ["us-east-1", "iam", "aws4_request"]) key = hmac(key, part);
    const expected = createHmac("sha256", key).update(toSign).digest("hex");
    const md = await signGrpcCall(call, creds, { clock });
    expect(md.authorization).toBe(
      `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${expected}`,
    );
  });

  it("rejects a wrong secret, a tampered body, another method or host, without leaking the signature", async () => {
    const wrong = await signGrpcCall(call, { ...creds, secretAccessKey: "x".repeat(40) }, { clock });
    const e = await iamErrorOf(verifyGrpcCall(call, wrong, { lookup, clock }));
    expect([e.awsName, e.code]).toEqual(["SignatureDoesNotMatch", "UNAUTHENTICATED"]);
    expect(e.message).not.toMatch(/[0-9a-f]{64}/);
    expect(e.message).not.toContain(creds.secretAccessKey);
    const md = await signGrpcCall(call, creds, { clock });
    expect(
      (await iamErrorOf(verifyGrpcCall({ ...call, body: Buffer.from("hellp") }, md, { lookup, clock }))).awsName,
    ).toBe("SignatureDoesNotMatch");
    const forged = { ...md, "x-amz-content-sha256": "0".repeat(64) };
    expect((await iamErrorOf(verifyGrpcCall(call, forged, { lookup, clock }))).awsName).toBe("SignatureDoesNotMatch");
    expect(
      (await iamErrorOf(verifyGrpcCall({ ...call, method: "/x/DeleteUser" }, md, { lookup, clock }))).awsName,
    ).toBe("SignatureDoesNotMatch");
    expect((await iamErrorOf(verifyGrpcCall({ ...call, authority: "evil:1" }, md, { lookup, clock }))).awsName).toBe(
      "SignatureDoesNotMatch",
    );
  });

  it("rejects stale and future dates beyond five minutes", async () => {
    const md = await signGrpcCall(call, creds, { clock: createManualClock(t0 - 5 * 60_000 - 1000) });
    expect((await iamErrorOf(verifyGrpcCall(call, md, { lookup, clock }))).awsName).toBe("RequestExpired");
    const future = await signGrpcCall(call, creds, { clock: createManualClock(t0 + 6 * 60_000) });
    expect((await iamErrorOf(verifyGrpcCall(call, future, { lookup, clock }))).awsName).toBe("RequestExpired");
    const edge = await signGrpcCall(call, creds, { clock: createManualClock(t0 - 4 * 60_000) });
    await expect(verifyGrpcCall(call, edge, { lookup, clock })).resolves.toBeDefined();
  });

  it("rejects unknown and inactive keys as InvalidClientTokenId, no signature as MissingAuthenticationToken, missing parts as IncompleteSignature", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    const inactive = async () => ({ secretAccessKey: creds.secretAccessKey, active: false });
    expect((await iamErrorOf(verifyGrpcCall(call, md, { lookup: inactive, clock }))).awsName).toBe(
      "InvalidClientTokenId",
    );
    expect((await iamErrorOf(verifyGrpcCall(call, md, { lookup: async () => undefined, clock }))).awsName).toBe(
      "InvalidClientTokenId",
    );
    expect((await iamErrorOf(verifyGrpcCall(call, {}, { lookup, clock }))).awsName).toBe("MissingAuthenticationToken");
    expect(
      (await iamErrorOf(verifyGrpcCall(call, { ...md, "x-amz-date": undefined }, { lookup, clock }))).awsName,
    ).toBe("IncompleteSignature");
    expect((await iamErrorOf(verifyGrpcCall(call, md, { lookup, clock, region: "eu-west-1" }))).awsName).toBe(
      "SignatureDoesNotMatch",
    );
  });
});

/**
 * Signs `call` by hand, as the SigV4 specification says, over the headers named in
 * `signedHeaders` only: a client that signs correctly but leaves a header out of the signature.
 */
function signByHand(
  c: typeof call,
  secret: string,
  amzDate: string,
  signedHeaders: readonly string[],
  scope = `${amzDate.slice(0, 8)}/us-east-1/iam/aws4_request`,
): Record<string, string> {
  const sha = (x: string | Buffer) => createHash("sha256").update(x).digest("hex");
  const hmac = (key: string | Buffer, x: string) => createHmac("sha256", key).update(x).digest();
  const bodyHash = sha(c.body);
  const values: Record<string, string> = {
    host: c.authority,
    "x-amz-content-sha256": bodyHash,
    "x-amz-date": amzDate,
  };
  const names = [...signedHeaders].sort();
  const canonical = ["POST", c.method, "", ...names.map((h) => `${h}:${values[h]}`), "", names.join(";"), bodyHash];
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha(canonical.join("\n"))].join("\n");
  let key = hmac(`AWS4${secret}`, scope.slice(0, 8));
  for (const part of scope.split("/").slice(1)) key = hmac(key, part);
  const signature = createHmac("sha256", key).update(toSign).digest("hex");
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`,
    "x-amz-date": amzDate,
    "x-amz-content-sha256": bodyHash,
  };
}

describe("SigV4 over gRPC: boundaries", () => {
  const clock = createManualClock(t0);
  const lookup = async (id: string) =>
    id === creds.accessKeyId ? { secretAccessKey: creds.secretAccessKey, active: true } : undefined;
  const at = (ms: number) => ({ lookup, clock: createManualClock(ms) });

  it("accepts a signature exactly five minutes old or ahead, and refuses one a millisecond beyond, either way", async () => {
    // AWS: the request time must be within 5 minutes of the server's, before or after.
    const md = await signGrpcCall(call, creds, { clock });
    const fiveMinutes = 5 * 60_000;
    await expect(verifyGrpcCall(call, md, at(t0 + fiveMinutes))).resolves.toEqual({
      accessKeyId: creds.accessKeyId,
      signedAtMs: t0,
    });
    await expect(verifyGrpcCall(call, md, at(t0 - fiveMinutes))).resolves.toBeDefined();
    for (const now of [t0 + fiveMinutes + 1, t0 - fiveMinutes - 1]) {
      const e = await iamErrorOf(verifyGrpcCall(call, md, at(now)));
      expect([e.awsName, e.field]).toEqual(["RequestExpired", "x-amz-date"]);
      expect(e.message).toBe("the request was signed at 20260101T000000Z, more than 300 s from the server's time");
    }
    // A configured skew moves both edges.
    const oneMinute = { lookup, clock: createManualClock(t0 + 60_000), maxSkewMs: 60_000 };
    await expect(verifyGrpcCall(call, md, oneMinute)).resolves.toBeDefined();
    const beyond = { ...oneMinute, clock: createManualClock(t0 + 60_001) };
    expect((await iamErrorOf(verifyGrpcCall(call, md, beyond))).awsName).toBe("RequestExpired");
  });

  it("refuses a signature that leaves x-amz-date, x-amz-content-sha256 or host out of SignedHeaders", async () => {
    const all = ["host", "x-amz-content-sha256", "x-amz-date"];
    // Signed by hand over all three, the same signature verifies: the oracle is right.
    const whole = signByHand(call, creds.secretAccessKey, "20260101T000000Z", all);
    await expect(verifyGrpcCall(call, whole, { lookup, clock })).resolves.toBeDefined();
    for (const left of all) {
      const md = signByHand(
        call,
        creds.secretAccessKey,
        "20260101T000000Z",
        all.filter((h) => h !== left),
      );
      const e = await iamErrorOf(verifyGrpcCall(call, md, { lookup, clock }));
      expect([e.awsName, e.field, e.message]).toEqual([
        "IncompleteSignature",
        "authorization",
        `SignedHeaders must include ${left}`,
      ]);
    }
  });

  it("tells an unsigned call, with no or an empty authorization, that it is unsigned, not malformed", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    const malformed = await iamErrorOf(verifyGrpcCall(call, { ...md, authorization: "AWS4" }, { lookup, clock }));
    const missing = await iamErrorOf(verifyGrpcCall(call, { ...md, authorization: undefined }, { lookup, clock }));
    const empty = await iamErrorOf(verifyGrpcCall(call, { ...md, authorization: "" }, { lookup, clock }));
    expect(missing.code).toBe("UNAUTHENTICATED");
    expect(missing.message).not.toBe("");
    expect(missing.message).not.toBe(malformed.message);
    expect([empty.awsName, empty.field, empty.message]).toEqual([missing.awsName, missing.field, missing.message]);
  });

  it("refuses a call without the payload hash, or with an empty one, as IncompleteSignature", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    for (const hash of [undefined, ""]) {
      const e = await iamErrorOf(verifyGrpcCall(call, { ...md, "x-amz-content-sha256": hash }, { lookup, clock }));
      expect([e.awsName, e.field, e.message]).toEqual([
        "IncompleteSignature",
        "x-amz-content-sha256",
        "x-amz-content-sha256 is missing",
      ]);
    }
  });

  it("refuses a payload hash that is not the body's, naming the field", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    const e = await iamErrorOf(verifyGrpcCall({ ...call, body: Buffer.from("hellp") }, md, { lookup, clock }));
    expect([e.awsName, e.field, e.message]).toEqual([
      "SignatureDoesNotMatch",
      "x-amz-content-sha256",
      "the request body does not match the signed payload hash",
    ]);
  });

  it("refuses a missing or malformed x-amz-date as IncompleteSignature naming x-amz-date", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    const missing = await iamErrorOf(verifyGrpcCall(call, { ...md, "x-amz-date": undefined }, { lookup, clock }));
    expect([missing.awsName, missing.field, missing.message]).toEqual([
      "IncompleteSignature",
      "x-amz-date",
      "x-amz-date is missing",
    ]);
    for (const date of ["2026-01-01T00:00:00Z", "x20260101T000000Z", "20260101T000000Zx", "20260101T000000"]) {
      const e = await iamErrorOf(verifyGrpcCall(call, { ...md, "x-amz-date": date }, { lookup, clock }));
      expect([e.awsName, e.field, e.message]).toEqual([
        "IncompleteSignature",
        "x-amz-date",
        `x-amz-date ${JSON.stringify(date)} is not YYYYMMDDTHHMMSSZ`,
      ]);
    }
  });

  it("parses the authorization strictly: nothing before or after, the commas' spaces optional", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    const auth = md.authorization ?? "";
    for (const bad of [
      `x${auth}`,
      `${auth}0`,
      auth.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1"),
      auth.replace(/Signature=[0-9a-f]+/, "Signature=abc"),
    ]) {
      const e = await iamErrorOf(verifyGrpcCall(call, { ...md, authorization: bad }, { lookup, clock }));
      expect([e.awsName, e.field, e.message]).toEqual([
        "IncompleteSignature",
        "authorization",
        "authorization is not an AWS4-HMAC-SHA256 signature",
      ]);
    }
    // AWS accepts the parts separated by "," with or without a space.
    for (const compact of [
      auth.replace(", SignedHeaders", ",SignedHeaders"),
      auth.replace(", Signature", ",Signature"),
    ]) {
      await expect(verifyGrpcCall(call, { ...md, authorization: compact }, { lookup, clock })).resolves.toBeDefined();
    }
  });

  it("refuses a credential scope of another date, region or service, each alone", async () => {
    const all = ["host", "x-amz-content-sha256", "x-amz-date"];
    const amzDate = "20260101T000000Z";
    for (const scope of [
      "20251231/us-east-1/iam/aws4_request",
      "20260101/eu-west-1/iam/aws4_request",
      "20260101/us-east-1/sts/aws4_request",
    ]) {
      // Signed correctly for that scope: only the scope is wrong.
      const md = signByHand(call, creds.secretAccessKey, amzDate, all, scope);
      const e = await iamErrorOf(verifyGrpcCall(call, md, { lookup, clock }));
      expect([e.awsName, e.field, e.message]).toEqual([
        "SignatureDoesNotMatch",
        "authorization",
        "the credential scope must be <date of x-amz-date>/us-east-1/iam/aws4_request",
      ]);
    }
  });

  it("verifies a call signed for the region and service the verifier serves", async () => {
    const scope = { region: "eu-west-1", service: "gatehouse" };
    const md = await signGrpcCall(call, creds, { ...scope, clock });
    expect(md.authorization).toContain("/20260101/eu-west-1/gatehouse/aws4_request,");
    await expect(verifyGrpcCall(call, md, { ...scope, lookup, clock })).resolves.toBeDefined();
    const e = await iamErrorOf(verifyGrpcCall(call, md, { lookup, clock }));
    expect(e.message).toBe("the credential scope must be <date of x-amz-date>/us-east-1/iam/aws4_request");
  });

  it("names the field and says why on an unknown key and on a wrong signature", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    const unknown = await iamErrorOf(verifyGrpcCall(call, md, { lookup: async () => undefined, clock }));
    expect([unknown.awsName, unknown.field, unknown.message]).toEqual([
      "InvalidClientTokenId",
      "authorization",
      "the access key id in the request is not valid or not active",
    ]);
    const wrong = await iamErrorOf(
      verifyGrpcCall(call, md, { lookup: async () => ({ secretAccessKey: "y".repeat(40), active: true }), clock }),
    );
    expect([wrong.awsName, wrong.field, wrong.message]).toEqual([
      "SignatureDoesNotMatch",
      "authorization",
      "the request signature does not match; check the secret access key and signing method",
    ]);
  });
});
