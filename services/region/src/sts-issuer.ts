import { randomBytes } from "node:crypto";
import {
  type SecretBox,
  type SessionClaims,
  type SessionClaimsInput,
  sessionArn,
  sessionUserId,
} from "@gatehouse/auth";
import { type Clock, IamError, newId, tryParseArn } from "@gatehouse/core";
import { type ContextValue, compileIdentity, evaluateCompiled, parsePolicy } from "@gatehouse/policy";
import type { RegionView } from "@gatehouse/view-redis";
import { createLocalJWKSet, decodeJwt, errors, type JSONWebKeySet, type JWTPayload, jwtVerify } from "jose";
import { generate } from "otplib";
import type { Decider, DecisionRequest } from "./decider.ts";
import { checkedPackedPolicySize } from "./packed-policy-size.ts";
import { compiledTrustPolicy } from "./role-trust.ts";
import {
  checkSessionTags,
  checkSourceIdentity,
  SOURCE_IDENTITY_CLAIM,
  tagRequestContext,
  webIdentityTags,
} from "./session-attributes.ts";
import type { StsKeyring } from "./sts-keyring.ts";

/**
 * Who called STS, as the region authenticated it: a long-term access key (a user's or the root's)
 * or a session (its token opened and checked by {@link Decider.openSession}).
 */
export type StsCaller =
  | {
      readonly kind: "long-term";
      readonly accessKeyId: string;
      readonly accountId: string;
      /** The key's owner: a user ARN or `arn:…:iam::A:root`. */
      readonly principalArn: string;
      readonly userId: string | null;
      readonly userName: string | null;
    }
  | { readonly kind: "session"; readonly claims: SessionClaims };

/** AssumeRole's input (the proto's fields, already mapped). */
export interface AssumeRoleInput {
  readonly roleArn: string;
  readonly roleSessionName: string;
  /** 0 = 3600. */
  readonly durationSeconds: number;
  readonly externalId: string;
  readonly serialNumber: string;
  readonly tokenCode: string;
  readonly policy: string;
  readonly policyArns: readonly string[];
  readonly tags: readonly { readonly key: string; readonly value: string }[];
  readonly transitiveTagKeys: readonly string[];
  /**
   * AWS's SourceIdentity ("" or absent: none). Needs `sts:SetSourceIdentity`; a calling session's
   * own source identity is carried on and cannot be changed.
   */
  readonly sourceIdentity?: string;
  readonly minRevision?: { readonly accountId: string; readonly revision: number };
  /** The caller's address as the region saw it (`aws:SourceIp`), never what the caller claims. */
  readonly sourceIp?: string;
  readonly deadlineMs: number;
}

/** Temporary credentials and what they act as. */
export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expirationMs: number;
  readonly claims: SessionClaims;
}

/** AssumeRole's answer. */
export interface AssumedRole extends IssuedCredentials {
  readonly assumedRoleId: string;
  readonly arn: string;
  /** Percent of the packed session policy and tag limit used (see `packedPolicySize`). */
  readonly packedPolicySize: number;
  /** The session's source identity (set by the call or carried from the calling session). */
  readonly sourceIdentity?: string;
}

/** AssumeRoleWithWebIdentity's input: the token is the credential (the call is not signed). */
export interface AssumeRoleWithWebIdentityInput {
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly webIdentityToken: string;
  /** 0 = 3600. */
  readonly durationSeconds: number;
  readonly policy: string;
  readonly policyArns: readonly string[];
  readonly sourceIp?: string;
}

/** The STS operations a region serves; issuance never calls the control plane. */
export interface StsIssuer {
  assumeRole(caller: StsCaller, input: AssumeRoleInput): Promise<AssumedRole>;
  /**
   * Verifies an OpenID Connect token against the role account's registered provider (its
   * replicated JWKS, issuer, audience = one of its client ids, exp/nbf at the clock's now; unsigned
   * and `alg: none` tokens refused), evaluates the role's trust policy for the provider with the
   * token's `sub`, `aud` and `amr` as `<provider>:…` keys, and issues a session.
   */
  assumeRoleWithWebIdentity(
    input: AssumeRoleWithWebIdentityInput,
  ): Promise<AssumedRole & { subject: string; provider: string }>;
  getSessionToken(
    caller: StsCaller,
    input: { durationSeconds: number; serialNumber: string; tokenCode: string },
  ): Promise<IssuedCredentials>;
  getCallerIdentity(caller: StsCaller): { account: string; arn: string; userId: string };
}

/** Options of {@link createStsIssuer}. */
export interface StsIssuerOptions {
  readonly decider: Decider;
  readonly view: RegionView;
  readonly keyring: StsKeyring;
  /** Opens MFA seeds (the control plane's secret keys). */
  readonly box: SecretBox;
  readonly clock: Clock;
}

const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const TOKEN_CODE = /^\d{6}$/;
/** AWS's limit on a session policy's plain text (the packed limit is `packed-policy-size.ts`'s). */
const MAX_SESSION_POLICY = 2048;
/** The owner in AWS managed policies' ARNs. */
const AWS_MANAGED_OWNER = "aws";
/** Role chaining: a session assuming a role gets at most an hour. */
const CHAINED_MAX_SECONDS = 3600;
/** TOTP steps either side of now a code may fall in. */
const TOTP_WINDOW = 1;

/** A federated caller has no identity side: only the trust policy decides. */
const NO_IDENTITY = compileIdentity({ identityPolicies: [] });

function validation(field: string, message: string): IamError {
  return new IamError("ValidationError", message, { field });
}

function denied(callerArn: string, action: string, resource: string, why = ""): IamError {
  return new IamError(
    "AccessDenied",
    `User: ${callerArn} is not authorized to perform: ${action} on resource: ${resource}${why}`,
  );
}

/** The ARN a caller is known by. */
function callerArnOf(caller: StsCaller): string {
  return caller.kind === "session" ? sessionArn(caller.claims) : caller.principalArn;
}

/** Creates the issuer over a decider (trust and permission decisions) and the region's view. */
export function createStsIssuer(options: StsIssuerOptions): StsIssuer {
  const { decider, view, keyring, box, clock } = options;

  const principalOf = (caller: StsCaller): DecisionRequest["principal"] =>
    caller.kind === "session"
      ? { kind: "session", claims: caller.claims }
      : { kind: "access-key", accessKeyId: caller.accessKeyId };

  /** Checks an MFA code against the device (assigned to `userId`), once per region. */
  const checkMfa = async (accountId: string, userId: string | null, serialNumber: string, tokenCode: string) => {
    if (!TOKEN_CODE.test(tokenCode)) throw validation("tokenCode", "tokenCode must be six digits");
    const read = await view.readEntity(accountId, "mfa-device", serialNumber);
    const device = read.entity?.kind === "mfa-device" ? read.entity.state : null;
    if (
      device === null ||
      device.enabledAtMs === null ||
      device.userId === null ||
      device.userId !== userId ||
      device.seedCiphertext === undefined
    ) {
      throw new IamError("AccessDenied", "MultiFactorAuthentication failed: the MFA device is not the caller's", {
        field: "serialNumber",
      });
    }
    const seed = box.open(Buffer.from(device.seedCiphertext, "base64"), serialNumber);
    const now = Math.floor(clock.now() / 1000);
    let matched: number | undefined;
    for (let step = -TOTP_WINDOW; step <= TOTP_WINDOW; step++) {
      const epoch = now + step * 30;
      if ((await generate({ secret: seed, epoch })) === tokenCode) matched = Math.floor(epoch / 30);
    }
    if (matched === undefined) {
      throw new IamError("AccessDenied", "MultiFactorAuthentication failed with invalid MFA one time pass code", {
        field: "tokenCode",
      });
    }
    // A code is good once: replaying it (here, within its window) is refused.
    if (!(await view.useOnce(`mfa:${serialNumber}:${matched}:${tokenCode}`, (TOTP_WINDOW * 2 + 2) * 30_000))) {
      throw new IamError("AccessDenied", "MultiFactorAuthentication failed: this one time pass code was already used", {
        field: "tokenCode",
      });
    }
  };

  /**
   * The session policy text (minified) and managed ARNs, checked; fields named as the proto's.
   * Managed session policies must be the role account's own or AWS managed ones, as in AWS.
   */
  const sessionPolicies = (policy: string, policyArns: readonly string[], roleAccount: string): string | undefined => {
    if (policyArns.length > 10) throw validation("policyArns", `policyArns has ${policyArns.length} ARNs, at most 10`);
    for (const [i, arn] of policyArns.entries()) {
      const a = tryParseArn(arn);
      if (a === undefined || a.service !== "iam" || !a.resource.startsWith("policy/") || arn.length > 2048) {
        throw validation(`policyArns[${i}]`, `${JSON.stringify(arn)} is not a managed policy ARN`);
      }
      if (a.accountId !== roleAccount && a.accountId !== AWS_MANAGED_OWNER) {
        throw validation(
          `policyArns[${i}]`,
          `${JSON.stringify(arn)} is neither account ${roleAccount}'s (the role's) nor an AWS managed policy`,
        );
      }
    }
    if (policy === "") return undefined;
    if (policy.length > MAX_SESSION_POLICY) {
      throw validation("policy", `policy has ${policy.length} characters, at most ${MAX_SESSION_POLICY}`);
    }
    const parsed = parsePolicy(policy, { kind: "session", warnings: false, crossStatementWarnings: false });
    if (parsed.policy === undefined) {
      const first = parsed.findings.find((f) => f.severity === "error");
      throw new IamError("MalformedPolicyDocument", `policy: ${first?.path ?? "$"}: ${first?.message ?? "invalid"}`, {
        field: "policy",
      });
    }
    return JSON.stringify(JSON.parse(policy));
  };

  const mint = (claims: Omit<SessionClaimsInput, "accessKeyId" | "secretAccessKey">): IssuedCredentials => {
    const accessKeyId = newId("temporaryAccessKey");
    const secretAccessKey = randomBytes(30).toString("base64");
    const codec = keyring.codec();
    const full: SessionClaimsInput = { ...claims, accessKeyId, secretAccessKey };
    const sessionToken = codec.seal(full);
    const opened = codec.open(sessionToken);
    return { accessKeyId, secretAccessKey, sessionToken, expirationMs: opened.expiresAtMs, claims: opened };
  };

  return {
    async assumeRole(caller, r) {
      const callerArn = callerArnOf(caller);
      const role = tryParseArn(r.roleArn);
      if (role === undefined || role.service !== "iam" || !role.resource.startsWith("role/")) {
        throw validation("roleArn", `roleArn ${JSON.stringify(r.roleArn)} is not a role ARN`);
      }
      if (!SESSION_NAME.test(r.roleSessionName)) {
        throw validation("roleSessionName", "roleSessionName must be 2-64 characters of [A-Za-z0-9_+=,.@-]");
      }
      if (r.externalId !== "" && !EXTERNAL_ID.test(r.externalId)) {
        throw validation("externalId", "externalId must be 2-1224 characters of [A-Za-z0-9_+=,.@:/-]");
      }
      const sessionPolicy = sessionPolicies(r.policy, r.policyArns, role.accountId);
      // Session tags: the caller's transitive ones pass on and cannot be overridden.
      const inherited =
        caller.kind === "session"
          ? caller.claims.tags.filter((t) =>
              caller.claims.transitiveTagKeys.some((k) => k.toLowerCase() === t.key.toLowerCase()),
            )
          : [];
      checkSessionTags(r.tags, r.transitiveTagKeys, inherited, {
        tags: "tags",
        transitiveTagKeys: "transitiveTagKeys",
      });
      // Source identity: set once, then carried through chaining unchanged (as in AWS).
      const requestedSourceIdentity = r.sourceIdentity ?? "";
      if (requestedSourceIdentity !== "") checkSourceIdentity("sourceIdentity", requestedSourceIdentity);
      const carriedSourceIdentity = caller.kind === "session" ? caller.claims.sourceIdentity : undefined;
      if (
        carriedSourceIdentity !== undefined &&
        requestedSourceIdentity !== "" &&
        requestedSourceIdentity !== carriedSourceIdentity
      ) {
        throw denied(
          callerArn,
          "sts:SetSourceIdentity",
          r.roleArn,
          ` (the session's source identity ${JSON.stringify(carriedSourceIdentity)} cannot be changed)`,
        );
      }
      const sourceIdentity =
        carriedSourceIdentity ?? (requestedSourceIdentity === "" ? undefined : requestedSourceIdentity);
      const chained = caller.kind === "session";
      const entity = await view.readByArn(role.accountId, r.roleArn);
      const roleState = entity?.kind === "role" ? entity.state : null;
      if (roleState === null) throw denied(callerArn, "sts:AssumeRole", r.roleArn);
      const duration = r.durationSeconds === 0 ? Math.min(3600, roleState.maxSessionDuration) : r.durationSeconds;
      const max = chained ? Math.min(CHAINED_MAX_SECONDS, roleState.maxSessionDuration) : roleState.maxSessionDuration;
      if (duration < 900 || duration > max) {
        throw validation(
          "durationSeconds",
          `durationSeconds ${duration} is outside 900..${max}${chained ? " (role chaining is capped at 3600)" : ""}`,
        );
      }
      if (
        (caller.kind === "long-term" && caller.userId === null) ||
        (caller.kind === "session" && caller.claims.principal.kind === "root")
      ) {
        throw denied(callerArn, "sts:AssumeRole", r.roleArn, " (the account root cannot assume roles)");
      }
      let mfaAuthTimeMs: number | undefined;
      if (r.serialNumber !== "" || r.tokenCode !== "") {
        const userId =
          caller.kind === "long-term"
            ? caller.userId
            : caller.claims.principal.kind === "user"
              ? caller.claims.principal.userId
              : null;
        const accountId = caller.kind === "long-term" ? caller.accountId : caller.claims.accountId;
        await checkMfa(accountId, userId, r.serialNumber, r.tokenCode);
        mfaAuthTimeMs = clock.now();
      }
      const allTags = [...inherited, ...r.tags];
      const context: Record<string, ContextValue> = { "sts:RoleSessionName": r.roleSessionName };
      if (r.externalId !== "") context["sts:ExternalId"] = r.externalId;
      if (r.sourceIp !== undefined) context["aws:SourceIp"] = r.sourceIp;
      tagRequestContext(context, r.tags, r.transitiveTagKeys);
      if (sourceIdentity !== undefined) context["sts:SourceIdentity"] = sourceIdentity;
      const ask = (action: string) =>
        decider.decide({
          principal: principalOf(caller),
          action,
          resource: roleState.arn,
          resourceAccount: roleState.accountId,
          context,
          compiledResourcePolicy: compiledTrustPolicy(roleState.assumeRolePolicyDocument),
          ...(r.minRevision === undefined ? {} : { minRevision: r.minRevision }),
          explain: false,
          deadlineMs: r.deadlineMs,
          ...(mfaAuthTimeMs === undefined ? {} : { mfaAuthTimeMs }),
        });
      if ((await ask("sts:AssumeRole")).result.decision !== "Allow")
        throw denied(callerArn, "sts:AssumeRole", roleState.arn);
      if (r.tags.length > 0 && (await ask("sts:TagSession")).result.decision !== "Allow") {
        throw denied(callerArn, "sts:TagSession", roleState.arn);
      }
      // Setting one, or carrying one into the next role of a chain, needs sts:SetSourceIdentity
      // (the trust policy, and the caller's identity policies as for sts:AssumeRole).
      if (sourceIdentity !== undefined && (await ask("sts:SetSourceIdentity")).result.decision !== "Allow") {
        throw denied(callerArn, "sts:SetSourceIdentity", roleState.arn);
      }
      const transitiveTagKeys = [
        ...(caller.kind === "session" ? caller.claims.transitiveTagKeys : []),
        ...r.transitiveTagKeys,
      ];
      const packedPolicySize = checkedPackedPolicySize({
        ...(sessionPolicy === undefined ? {} : { policy: sessionPolicy }),
        policyArns: r.policyArns,
        tags: allTags,
        transitiveTagKeys,
      });
      const now = clock.now();
      const issued = mint({
        principal: {
          kind: "assumed-role",
          roleArn: roleState.arn,
          roleId: roleState.roleId,
          roleName: roleState.roleName,
          sessionName: r.roleSessionName,
        },
        accountId: roleState.accountId,
        issuedAtMs: now,
        expiresAtMs: now + duration * 1000,
        ...(mfaAuthTimeMs === undefined ? {} : { mfaAuthTimeMs }),
        ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
        policyArns: [...r.policyArns],
        tags: allTags,
        transitiveTagKeys,
        source: chained ? "session" : "long-term",
        ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
      });
      return {
        ...issued,
        assumedRoleId: sessionUserId(issued.claims),
        arn: sessionArn(issued.claims),
        packedPolicySize,
        ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
      };
    },

    async assumeRoleWithWebIdentity(r) {
      const role = tryParseArn(r.roleArn);
      if (role === undefined || role.service !== "iam" || !role.resource.startsWith("role/")) {
        throw validation("roleArn", `roleArn ${JSON.stringify(r.roleArn)} is not a role ARN`);
      }
      if (!SESSION_NAME.test(r.roleSessionName)) {
        throw validation("roleSessionName", "roleSessionName must be 2-64 characters of [A-Za-z0-9_+=,.@-]");
      }
      const sessionPolicy = sessionPolicies(r.policy, r.policyArns, role.accountId);
      const invalidToken = (message: string, cause?: unknown) =>
        new IamError("InvalidIdentityToken", `webIdentityToken: ${message}`, {
          field: "webIdentityToken",
          ...(cause === undefined ? {} : { cause }),
        });
      if (r.webIdentityToken.length < 4 || r.webIdentityToken.length > 20_000) {
        throw invalidToken("must be a JWT of at most 20,000 characters");
      }
      let issuer: string;
      try {
        const claims = decodeJwt(r.webIdentityToken);
        if (typeof claims.iss !== "string") throw new Error("no iss");
        issuer = claims.iss;
      } catch (e) {
        throw invalidToken("is not a JWT with an issuer", e);
      }
      const url = issuer.replace(/^https:\/\//, "").replace(/\/$/, "");
      const providerArn = `arn:aws:iam::${role.accountId}:oidc-provider/${url}`;
      const read = await view.readEntity(role.accountId, "oidc-provider", providerArn);
      const provider = read.entity?.kind === "oidc-provider" ? read.entity.state : null;
      if (provider === null || provider.jwks === null) {
        throw invalidToken(`no OpenID Connect provider with a JWKS is registered for ${JSON.stringify(issuer)}`);
      }
      let payload: JWTPayload;
      try {
        const jwks = createLocalJWKSet(JSON.parse(provider.jwks) as JSONWebKeySet);
        ({ payload } = await jwtVerify(r.webIdentityToken, jwks, {
          issuer: [`https://${url}`, `https://${url}/`, url],
          audience: [...provider.clientIds],
          currentDate: new Date(clock.now()),
          algorithms: ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"],
        }));
      } catch (e) {
        if (e instanceof errors.JWTExpired) {
          throw new IamError("ExpiredToken", "webIdentityToken: the token is expired", {
            field: "webIdentityToken",
            cause: e,
          });
        }
        throw invalidToken(e instanceof Error ? e.message : "does not verify", e);
      }
      const subject = typeof payload.sub === "string" ? payload.sub : "";
      const { tags, transitiveTagKeys } = webIdentityTags(payload, invalidToken);
      checkSessionTags(tags, transitiveTagKeys, [], {
        tags: "webIdentityToken.principal_tags",
        transitiveTagKeys: "webIdentityToken.transitive_tag_keys",
      });
      const claimedSourceIdentity = payload[SOURCE_IDENTITY_CLAIM];
      if (claimedSourceIdentity !== undefined && typeof claimedSourceIdentity !== "string") {
        throw invalidToken(`the ${SOURCE_IDENTITY_CLAIM} claim must be a string`);
      }
      const sourceIdentity = claimedSourceIdentity === "" ? undefined : claimedSourceIdentity;
      if (sourceIdentity !== undefined) checkSourceIdentity("webIdentityToken.source_identity", sourceIdentity);
      const aud = Array.isArray(payload.aud) ? payload.aud : payload.aud === undefined ? [] : [payload.aud];
      const entity = await view.readByArn(role.accountId, r.roleArn);
      const roleState = entity?.kind === "role" ? entity.state : null;
      const who = `arn:aws:sts::${role.accountId}:assumed-role/${role.resource.split("/").pop()}/${r.roleSessionName}`;
      if (roleState === null) throw denied(who, "sts:AssumeRoleWithWebIdentity", r.roleArn);
      const duration = r.durationSeconds === 0 ? Math.min(3600, roleState.maxSessionDuration) : r.durationSeconds;
      if (duration < 900 || duration > roleState.maxSessionDuration) {
        throw validation(
          "durationSeconds",
          `durationSeconds ${duration} is outside 900..${roleState.maxSessionDuration}`,
        );
      }
      const now = clock.now();
      // The token's claims under AWS's keys: the trust policy sees them, and so do the session's
      // later requests (with aws:FederatedProvider), from the session token, never from a caller.
      const webIdentityClaims: Record<string, string | string[]> = {
        [`${url}:sub`]: subject,
        [`${url}:aud`]: typeof payload.azp === "string" ? payload.azp : (aud[0] ?? ""),
      };
      if (Array.isArray(payload.amr)) webIdentityClaims[`${url}:amr`] = payload.amr.map(String);
      else if (typeof payload.amr === "string") webIdentityClaims[`${url}:amr`] = payload.amr;
      const context: Record<string, ContextValue> = {
        ...webIdentityClaims,
        "aws:FederatedProvider": providerArn,
        "sts:RoleSessionName": r.roleSessionName,
        "aws:CurrentTime": new Date(now).toISOString(),
        "aws:EpochTime": String(Math.floor(now / 1000)),
      };
      if (r.sourceIp !== undefined) context["aws:SourceIp"] = r.sourceIp;
      tagRequestContext(context, tags, transitiveTagKeys);
      if (sourceIdentity !== undefined) context["sts:SourceIdentity"] = sourceIdentity;
      const trusted = (action: string) =>
        evaluateCompiled(
          NO_IDENTITY,
          compiledTrustPolicy(roleState.assumeRolePolicyDocument),
          { arn: providerArn, accountId: role.accountId, type: "Federated" },
          { action, resource: roleState.arn, resourceAccount: roleState.accountId, context },
        ).decision === "Allow";
      if (!trusted("sts:AssumeRoleWithWebIdentity")) throw denied(who, "sts:AssumeRoleWithWebIdentity", roleState.arn);
      // The token's session tags and source identity need the trust policy's leave, as in AWS.
      if (tags.length > 0 && !trusted("sts:TagSession")) throw denied(who, "sts:TagSession", roleState.arn);
      if (sourceIdentity !== undefined && !trusted("sts:SetSourceIdentity")) {
        throw denied(who, "sts:SetSourceIdentity", roleState.arn);
      }
      const packedPolicySize = checkedPackedPolicySize({
        ...(sessionPolicy === undefined ? {} : { policy: sessionPolicy }),
        policyArns: r.policyArns,
        tags,
        transitiveTagKeys,
      });
      const issued = mint({
        principal: {
          kind: "assumed-role",
          roleArn: roleState.arn,
          roleId: roleState.roleId,
          roleName: roleState.roleName,
          sessionName: r.roleSessionName,
        },
        accountId: roleState.accountId,
        issuedAtMs: now,
        expiresAtMs: now + duration * 1000,
        ...(sessionPolicy === undefined ? {} : { sessionPolicy }),
        policyArns: [...r.policyArns],
        source: "web-identity",
        federatedProvider: providerArn,
        webIdentityClaims,
        tags: [...tags],
        transitiveTagKeys: [...transitiveTagKeys],
        ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
      });
      return {
        ...issued,
        assumedRoleId: sessionUserId(issued.claims),
        arn: sessionArn(issued.claims),
        packedPolicySize,
        ...(sourceIdentity === undefined ? {} : { sourceIdentity }),
        subject,
        provider: providerArn,
      };
    },

    async getSessionToken(caller, r) {
      if (caller.kind === "session") {
        throw new IamError("AccessDenied", "Cannot call GetSessionToken with session credentials");
      }
      const root = caller.userId === null;
      const max = root ? 3600 : 129_600;
      const duration = r.durationSeconds === 0 ? (root ? 3600 : 43_200) : r.durationSeconds;
      if (duration < 900 || duration > max) {
        throw validation("durationSeconds", `durationSeconds ${duration} is outside 900..${max}`);
      }
      let mfaAuthTimeMs: number | undefined;
      if (r.serialNumber !== "" || r.tokenCode !== "") {
        await checkMfa(caller.accountId, caller.userId, r.serialNumber, r.tokenCode);
        mfaAuthTimeMs = clock.now();
      }
      const now = clock.now();
      return mint({
        principal:
          caller.userId === null
            ? { kind: "root" }
            : { kind: "user", userArn: caller.principalArn, userId: caller.userId, userName: caller.userName ?? "" },
        accountId: caller.accountId,
        issuedAtMs: now,
        expiresAtMs: now + duration * 1000,
        ...(mfaAuthTimeMs === undefined ? {} : { mfaAuthTimeMs }),
        source: "long-term",
        sourceAccessKeyId: caller.accessKeyId,
      });
    },

    getCallerIdentity(caller) {
      if (caller.kind === "session") {
        return {
          account: caller.claims.accountId,
          arn: sessionArn(caller.claims),
          userId: sessionUserId(caller.claims),
        };
      }
      return { account: caller.accountId, arn: caller.principalArn, userId: caller.userId ?? caller.accountId };
    },
  };
}
