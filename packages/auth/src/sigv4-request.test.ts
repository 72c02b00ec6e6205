import { createHash } from "node:crypto";
import { createManualClock } from "@gatehouse/core";
import { iamErrorOf } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import {
  deriveSigningKey,
  type SignedRequestParts,
  signGrpcCall,
  signRequest,
  verifyGrpcCall,
  verifySignedRequest,
} from "./index.ts";

const creds = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const t0 = Date.parse("2026-01-01T00:00:00Z");
const clock = createManualClock(t0);
const scope = { region: "eu-west-1", service: "queues" };
const sha = (x: string) => createHash("sha256").update(x).digest("hex");

/** Signs with @smithy/signature-v4 (an AWS SDK's signer) and returns the parts a receiver sees. */
async function signed(
  request: {
    method: string;
    path: string;
    query: Record<string, string>;
    headers: Record<string, string>;
    body: string;
  },
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } = creds,
): Promise<{ parts: SignedRequestParts; authorization: string }> {
  const added = await signRequest(request, credentials, { ...scope, clock });
  const headers: Record<string, string> = { ...request.headers, ...added };
  const { authorization = "", ...rest } = headers;
  // What goes on the wire: the query percent-encoded.
  const query = Object.entries(request.query)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join("&");
  return {
    parts: { method: request.method, path: request.path, query, headers: rest, payloadHash: sha(request.body) },
    authorization,
  };
}

const lookup = async (id: string) =>
  id === creds.accessKeyId ? { secretAccessKey: creds.secretAccessKey, active: true } : undefined;
const base = {
  method: "POST",
  // As on the wire (an AWS SDK's HttpRequest holds the encoded path; SigV4 encodes it again).
  path: "/queues/my%20queue/messages",
  query: { Action: "Send Message", b: "x*y", a: "1" },
  headers: { host: "queues.example.com", "content-type": "application/json", "x-custom": "  a   b  " },
  body: '{"hello":"world"}',
};

describe("SigV4 verification of a request given by its parts", () => {
  it("verifies what an AWS SDK's signer signs: escaped path, sorted query, extra signed headers", async () => {
    const { parts, authorization } = await signed(base);
    expect(authorization).toContain("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-custom,");
    const v = await verifySignedRequest(parts, authorization, { ...scope, lookup, clock });
    expect(v).toEqual({ accessKeyId: creds.accessKeyId, signedAtMs: t0 });
  });

  it("fails a tampered path, query, signed header, payload or method with SignatureDoesNotMatch", async () => {
    const { parts, authorization } = await signed(base);
    const tampered: SignedRequestParts[] = [
      { ...parts, path: "/queues/other%20queue/messages" },
      // The decoded path is another canonical URI than the encoded one that was signed.
      { ...parts, path: "/queues/my queue/messages" },
      { ...parts, query: `${parts.query}&c=3` },
      { ...parts, headers: { ...parts.headers, "content-type": "text/plain" } },
      // Another body, and the header claiming its hash changed to match.
      {
        ...parts,
        payloadHash: sha('{"hello":"mallory"}'),
        headers: { ...parts.headers, "x-amz-content-sha256": sha('{"hello":"mallory"}') },
      },
      { ...parts, method: "PUT" },
    ];
    for (const t of tampered) {
      const e = await iamErrorOf(verifySignedRequest(t, authorization, { ...scope, lookup, clock }));
      expect([e.awsName, e.code]).toEqual(["SignatureDoesNotMatch", "UNAUTHENTICATED"]);
      expect(e.message).not.toMatch(/[0-9a-f]{64}/);
    }
    // The header claiming the payload's hash must be the body's.
    const body = await iamErrorOf(
      verifySignedRequest({ ...parts, payloadHash: sha("other") }, authorization, { ...scope, lookup, clock }),
    );
    expect([body.awsName, body.field]).toEqual(["SignatureDoesNotMatch", "x-amz-content-sha256"]);
  });

  it("needs every signed header's value, and host and x-amz-date signed", async () => {
    const { parts, authorization } = await signed(base);
    const missing = await iamErrorOf(
      verifySignedRequest({ ...parts, headers: { ...parts.headers, "x-custom": undefined } }, authorization, {
        ...scope,
        lookup,
        clock,
      }),
    );
    expect([missing.awsName, missing.message]).toEqual([
      "IncompleteSignature",
      "signed header x-custom has no value in the request",
    ]);
    const noHost = authorization.replace("content-type;host;", "content-type;");
    expect((await iamErrorOf(verifySignedRequest(parts, noHost, { ...scope, lookup, clock }))).message).toBe(
      "SignedHeaders must include host",
    );
  });

  it("covers the session token: accepted only when asked, signed, and passed to the lookup", async () => {
    const temp = { ...creds, accessKeyId: "ASIAIOSFODNN7EXAMPLE", sessionToken: "token-1" };
    const { parts, authorization } = await signed(base, temp);
    expect(authorization).toContain("x-amz-security-token");
    const seen: (string | undefined)[] = [];
    const tokenLookup = async (id: string, token: string | undefined) => {
      seen.push(token);
      return id === temp.accessKeyId ? { secretAccessKey: temp.secretAccessKey, active: true } : undefined;
    };
    const refused = await iamErrorOf(
      verifySignedRequest(parts, authorization, { ...scope, lookup: tokenLookup, clock }),
    );
    expect([refused.awsName, refused.field]).toEqual(["InvalidClientTokenId", "x-amz-security-token"]);
    const options = { ...scope, lookup: tokenLookup, clock, acceptSessionTokens: true };
    expect(await verifySignedRequest(parts, authorization, options)).toEqual({
      accessKeyId: temp.accessKeyId,
      signedAtMs: t0,
      sessionToken: "token-1",
    });
    expect(seen).toEqual(["token-1"]);
    const swapped = { ...parts, headers: { ...parts.headers, "x-amz-security-token": "token-2" } };
    expect((await iamErrorOf(verifySignedRequest(swapped, authorization, options))).awsName).toBe(
      "SignatureDoesNotMatch",
    );
    const unsigned = authorization.replace(";x-amz-security-token", "");
    expect((await iamErrorOf(verifySignedRequest(parts, unsigned, options))).message).toBe(
      "SignedHeaders must include x-amz-security-token",
    );
  });

  it("signs a gRPC call's session token into the canonical request, so a verifier accepting tokens verifies it", async () => {
    const call = {
      method: "/gatehouse.v1.StsService/GetCallerIdentity",
      authority: "127.0.0.1:1",
      body: Buffer.from("x"),
    };
    const temp = { ...creds, sessionToken: "session-token" };
    const md = await signGrpcCall(call, temp, { clock });
    expect(md.authorization).toContain("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,");
    const ok = await verifyGrpcCall(call, md, { lookup, clock, acceptSessionTokens: true });
    expect(ok.sessionToken).toBe("session-token");
    const e = await iamErrorOf(
      verifyGrpcCall(call, { ...md, "x-amz-security-token": "other" }, { lookup, clock, acceptSessionTokens: true }),
    );
    expect(e.awsName).toBe("SignatureDoesNotMatch");
  });

  it("uses the caller's derived signing key when the lookup gives one", async () => {
    const { parts, authorization } = await signed(base);
    const scopes: string[] = [];
    const cached = async () => ({
      secretAccessKey: "not used",
      active: true,
      signingKey: (date: string) => {
        scopes.push(date);
        return deriveSigningKey(creds.secretAccessKey, date, scope.region, scope.service);
      },
    });
    await expect(verifySignedRequest(parts, authorization, { ...scope, lookup: cached, clock })).resolves.toBeDefined();
    expect(scopes).toEqual(["20260101"]);
  });

  it("refuses a date outside the skew and a malformed payload hash", async () => {
    const { parts, authorization } = await signed(base);
    const late = createManualClock(t0 + 15 * 60_000 + 1000);
    const e = await iamErrorOf(
      verifySignedRequest(parts, authorization, { ...scope, lookup, clock: late, maxSkewMs: 15 * 60_000 }),
    );
    expect(e.awsName).toBe("RequestExpired");
    const within = createManualClock(t0 + 15 * 60_000);
    await expect(
      verifySignedRequest(parts, authorization, { ...scope, lookup, clock: within, maxSkewMs: 15 * 60_000 }),
    ).resolves.toBeDefined();
    const bad = await iamErrorOf(
      verifySignedRequest({ ...parts, payloadHash: "abc" }, authorization, { ...scope, lookup, clock }),
    );
    expect([bad.awsName, bad.field]).toEqual(["InvalidInput", "payloadHash"]);
  });
});
