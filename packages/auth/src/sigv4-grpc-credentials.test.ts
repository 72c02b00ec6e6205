import { createManualClock } from "@gatehouse/core";
import { iamErrorOf } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { signGrpcCall, verifyGrpcCall } from "./index.ts";

const creds = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const call = { method: "/gatehouse.v1.ControlService/GetUser", authority: "127.0.0.1:50051", body: Buffer.from("x") };
const clock = createManualClock(Date.parse("2026-01-01T00:00:00Z"));

describe("SigV4 credentials the verifier refuses", () => {
  it("names an unsigned call MissingAuthenticationToken (AWS's name), with or without other metadata", async () => {
    let looked = 0;
    const lookup = async () => {
      looked++;
      return { secretAccessKey: creds.secretAccessKey, active: true };
    };
    for (const md of [{}, { authorization: "" }, { "x-amz-date": "20260101T000000Z" }]) {
      const e = await iamErrorOf(verifyGrpcCall(call, md, { lookup, clock }));
      expect([e.awsName, e.code, e.field]).toEqual(["MissingAuthenticationToken", "UNAUTHENTICATED", "authorization"]);
    }
    // A malformed signature stays IncompleteSignature.
    const bad = await iamErrorOf(
      verifyGrpcCall(call, { authorization: "AWS4-HMAC-SHA256 nonsense" }, { lookup, clock }),
    );
    expect(bad.awsName).toBe("IncompleteSignature");
    expect(looked).toBe(0);
  });

  it("refuses any x-amz-security-token, signed or not, before looking the key up", async () => {
    let looked = 0;
    const lookup = async () => {
      looked++;
      return { secretAccessKey: creds.secretAccessKey, active: true };
    };
    const plain = await signGrpcCall(call, creds, { clock });
    await expect(verifyGrpcCall(call, plain, { lookup, clock })).resolves.toBeDefined();
    expect(looked).toBe(1);
    // Added after signing (unsigned), or by a client signing with temporary credentials.
    const unsigned = { ...plain, "x-amz-security-token": "FwoGZXIvYXdzEJr//////////wEaDOk" };
    const signed = await signGrpcCall(call, { ...creds, sessionToken: "FwoGZXIvYXdzEJr" }, { clock });
    expect(signed["x-amz-security-token"]).toBe("FwoGZXIvYXdzEJr");
    for (const md of [unsigned, signed, { ...plain, "x-amz-security-token": "" }]) {
      const e = await iamErrorOf(verifyGrpcCall(call, md, { lookup, clock }));
      expect([e.awsName, e.field]).toEqual(["InvalidClientTokenId", "x-amz-security-token"]);
      expect(e.message).toMatch(/temporary credentials are not supported/);
    }
    expect(looked).toBe(1);
  });
});

describe("SigV4 signing with and without a session token", () => {
  it("sends exactly the three signature entries without a token (no empty or undefined one)", async () => {
    const md = await signGrpcCall(call, creds, { clock });
    expect(Object.keys(md).sort()).toEqual(["authorization", "x-amz-content-sha256", "x-amz-date"]);
    expect(md.authorization).toMatch(/SignedHeaders=host;x-amz-content-sha256;x-amz-date,/);
  });

  it("signs a session token as AWS does (listed in SignedHeaders, covered by the signature) and sends it", async () => {
    const withToken = await signGrpcCall(call, { ...creds, sessionToken: "FwoGZXIvYXdzEJr" }, { clock });
    expect(Object.keys(withToken).sort()).toEqual([
      "authorization",
      "x-amz-content-sha256",
      "x-amz-date",
      "x-amz-security-token",
    ]);
    expect(withToken.authorization).toMatch(/SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,/);
    const other = await signGrpcCall(call, { ...creds, sessionToken: "FwoGZXIvYXdzEJs" }, { clock });
    const signature = (md: Record<string, string>) => md.authorization?.slice(-64);
    expect(signature(other)).not.toBe(signature(withToken));
  });
});
