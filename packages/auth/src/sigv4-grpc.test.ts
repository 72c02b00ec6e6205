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
