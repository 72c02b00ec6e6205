import { createHash } from "node:crypto";
import { type SessionClaims, sessionArn, sessionUserId } from "@gatehouse/auth";
import { IamError } from "@gatehouse/core";
import type { Decider } from "./decider.ts";
import type { RequestAuthenticator } from "./request-authenticator.ts";
import type { SessionCredentialResolver, SessionPrincipal } from "./session-credentials.ts";
import type { StsCaller } from "./sts-issuer.ts";
import type { StsKeyring } from "./sts-keyring.ts";
import type { StsCallAuthenticator } from "./sts-service.ts";

function principalOf(claims: SessionClaims): SessionPrincipal {
  return {
    arn: sessionArn(claims),
    accountId: claims.accountId,
    userId: sessionUserId(claims),
    type: claims.principal.kind,
    tags: claims.tags,
    mfaPresent: claims.mfaAuthTimeMs !== undefined,
  };
}

/**
 * The region's {@link SessionCredentialResolver}: temporary credentials are this region's (or any
 * region's) STS sessions, vouched for by their self-verifying token. A token that does not open,
 * belongs to another key id, or whose role / user / access key is gone is `undefined`; an expired
 * one is returned with its expiry, so the authenticator answers ExpiredToken after checking the
 * signature.
 */
export function createStsSessionResolver(options: {
  decider: Pick<Decider, "openSession">;
  keyring: StsKeyring;
}): SessionCredentialResolver {
  const { decider, keyring } = options;
  return {
    async resolve(accessKeyId, sessionToken) {
      let claims: SessionClaims;
      try {
        claims = await decider.openSession(accessKeyId, sessionToken);
      } catch (e) {
        if (!IamError.is(e)) throw e;
        if (e.awsName !== "ExpiredToken") return undefined;
        const expired = keyring.codec().open(sessionToken, { acceptExpired: true });
        if (expired.accessKeyId !== accessKeyId) return undefined;
        claims = expired;
      }
      return {
        secretAccessKey: claims.secretAccessKey,
        principal: principalOf(claims),
        expiresAtMs: claims.expiresAtMs,
      };
    },
  };
}

/**
 * Verifies a signed STS call with the region's request authenticator (SigV4 scoped to service
 * `sts`, the call's canonical form as `verifyGrpcCall` builds it) and says who made it: a
 * long-term key's owner, or a session with its claims.
 */
export function createStsCallAuthenticator(options: {
  authenticator: RequestAuthenticator;
  decider: Pick<Decider, "openSession">;
}): StsCallAuthenticator {
  const { authenticator, decider } = options;
  return async (call) => {
    const token = call.metadata["x-amz-security-token"];
    const p = await authenticator.authenticate({
      parts: {
        method: "POST",
        path: call.method,
        query: "",
        headers: {
          host: call.authority,
          "x-amz-date": call.metadata["x-amz-date"],
          "x-amz-content-sha256": call.metadata["x-amz-content-sha256"],
          ...(token === undefined ? {} : { "x-amz-security-token": token }),
        },
        payloadHash: createHash("sha256").update(call.body).digest("hex"),
      },
      authorization: call.metadata.authorization ?? "",
      service: "sts",
      source: call.source ?? "unknown",
      uriEscapePath: false,
    });
    if (token !== undefined && p.accessKeyId.startsWith("ASIA")) {
      return { kind: "session", claims: await decider.openSession(p.accessKeyId, token) } satisfies StsCaller;
    }
    return {
      kind: "long-term",
      accessKeyId: p.accessKeyId,
      accountId: p.accountId,
      principalArn: p.arn,
      userId: p.type === "root" ? null : p.userId,
      userName: p.type === "root" ? null : p.userName,
    };
  };
}
