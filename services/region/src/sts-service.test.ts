import { IamError } from "@gatehouse/core";
import type { AssumeRoleWithWebIdentityRequest, RegionAuditEvent } from "@gatehouse/proto";
import type { handleUnaryCall, ServerUnaryCall } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { AssumedRole, StsIssuer } from "./sts-issuer.ts";
import { createStsService } from "./sts-service.ts";

const TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmFjbWUvYXBwIn0.c2lnbmF0dXJl";
const ROLE = "arn:aws:iam::111122223333:role/ci";

function issued(): AssumedRole & { subject: string; provider: string } {
  return {
    accessKeyId: "ASIAAAAAAAAAAAAAAAAA",
    secretAccessKey: "secret-of-the-session",
    sessionToken: "token-of-the-session",
    expirationMs: 1_800_000_000_000,
    claims: {} as AssumedRole["claims"],
    assumedRoleId: "AROAAAAAAAAAAAAAAAAAA:build",
    arn: "arn:aws:sts::111122223333:assumed-role/ci/build",
    packedPolicySize: 0,
    subject: "repo:acme/app",
    provider: "arn:aws:iam::111122223333:oidc-provider/token.example.com",
  };
}

/** Calls a handler as grpc-js would, with a peer address. */
function call<Req, Res>(h: handleUnaryCall<Req, Res>, request: Req): Promise<Res> {
  const c = { request, getPeer: () => "203.0.113.7:50123" } as unknown as ServerUnaryCall<Req, Res>;
  return new Promise((resolve, reject) => h(c, (e, r) => (e ? reject(e) : resolve(r as Res))));
}

describe("StsService's audit records", () => {
  it("AssumeRoleWithWebIdentity: recorded in the role's account as the provider and subject, never with the token or secrets; a refused token too", async () => {
    const events: Omit<RegionAuditEvent, "eventTimeMs">[] = [];
    let refuse = false;
    const issuer = {
      assumeRoleWithWebIdentity: async () => {
        if (refuse) throw new IamError("InvalidIdentityToken", "webIdentityToken: signature does not verify");
        return issued();
      },
    } as unknown as StsIssuer;
    const sts = createStsService({
      issuer,
      region: "us-east-1",
      audit: (e) => events.push(e),
      unary: (_method, fn) => (c, cb) => {
        fn(c.request, c).then(
          (r) => cb(null, r),
          (e: unknown) => cb(e as Error, null),
        );
      },
    });
    const request: AssumeRoleWithWebIdentityRequest = {
      roleArn: ROLE,
      roleSessionName: "build",
      webIdentityToken: TOKEN,
      durationSeconds: 0,
      policy: "",
      policyArns: [],
    };
    const raw = { raw: Buffer.alloc(0), message: request };
    await call(sts.assumeRoleWithWebIdentity, raw);
    refuse = true;
    await expect(call(sts.assumeRoleWithWebIdentity, raw)).rejects.toThrow(/signature/);
    expect(events).toEqual([
      {
        eventId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        accountId: "111122223333",
        principalArn: "arn:aws:iam::111122223333:oidc-provider/token.example.com",
        userName: "repo:acme/app",
        accessKeyId: "",
        sourceIp: "203.0.113.7",
        operation: "AssumeRoleWithWebIdentity",
        requestParametersJson: JSON.stringify({ roleArn: ROLE, roleSessionName: "build" }),
        responseElementsJson: expect.stringContaining('"accessKeyId":"ASIAAAAAAAAAAAAAAAAA"'),
        errorCode: "",
        errorName: "",
      },
      expect.objectContaining({
        accountId: "111122223333",
        principalArn: "",
        errorCode: "UNAUTHENTICATED",
        errorName: "InvalidIdentityToken",
        responseElementsJson: "",
      }),
    ]);
    const all = JSON.stringify(events);
    for (const secret of [TOKEN, "secret-of-the-session", "token-of-the-session"]) expect(all).not.toContain(secret);
  });

  it("an audit sink that throws never fails the issuance", async () => {
    const sts = createStsService({
      region: "us-east-1",
      issuer: { assumeRoleWithWebIdentity: async () => issued() } as unknown as StsIssuer,
      audit: () => {
        throw new Error("sink broken");
      },
      unary: (_m, fn) => (c, cb) => {
        fn(c.request, c).then(
          (r) => cb(null, r),
          (e: unknown) => cb(e as Error, null),
        );
      },
    });
    const raw = {
      raw: Buffer.alloc(0),
      message: {
        roleArn: ROLE,
        roleSessionName: "b",
        webIdentityToken: TOKEN,
        durationSeconds: 0,
        policy: "",
        policyArns: [],
      },
    };
    const r = await call(sts.assumeRoleWithWebIdentity, raw);
    expect(r.credentials?.accessKeyId).toBe("ASIAAAAAAAAAAAAAAAAA");
  });
});
