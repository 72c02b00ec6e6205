import { IamError } from "@gatehouse/core";
import type { TypedEntity } from "@gatehouse/events";
import { type CompiledIdentity, compileIdentity, type Policy, type PolicyKind, parsePolicy } from "@gatehouse/policy";
import type { PrincipalSnapshot } from "@gatehouse/view-redis";

/** A principal compiled at one revision: what the decider caches (L1). */
export interface CompiledPrincipal {
  readonly arn: string;
  readonly accountId: string;
  /** `root`: the account's root user, allowed everything in its account within the guardrails. */
  readonly kind: "user" | "role" | "root";
  readonly name: string;
  readonly uniqueId: string;
  readonly tags: readonly { readonly key: string; readonly value: string }[];
  readonly identity: CompiledIdentity;
  /** The account revision the inputs were read at. */
  readonly revision: number;
  /** Approximate heap bytes, for the L1 bound (documents' size times a compiled-form factor). */
  readonly bytes: number;
}

// Parsed documents shared by every principal that uses them (a managed policy attached to many
// principals is parsed, and so compiled, once). Keyed by id and text; oldest dropped first.
const parsed = new Map<string, Policy>();
const MAX_PARSED = 4096;

function policyOf(text: string, kind: PolicyKind, id: string): Policy {
  const key = `${kind}\n${id}\n${text}`;
  const hit = parsed.get(key);
  if (hit !== undefined) return hit;
  // Stored documents were validated by the control plane, sizes included, and AWS managed
  // policies have no size limit as boundaries or session policies (ReadOnlyAccess is 60,000
  // characters; a session policy's kind alone allows 2,048).
  const { policy, findings } = parsePolicy(text, {
    kind,
    id,
    warnings: false,
    crossStatementWarnings: false,
    ignoreSizeLimit: true,
  });
  if (policy === undefined) {
    // A producer/engine mismatch.
    const first = findings.find((f) => f.severity === "error");
    throw new Error(`stored policy ${id} does not parse: ${first?.path ?? "$"}: ${first?.message ?? "invalid"}`);
  }
  if (parsed.size >= MAX_PARSED) parsed.delete(parsed.keys().next().value as string);
  parsed.set(key, policy);
  return policy;
}

/** The root user's identity side: everything in its account, as the control plane treats it. */
const ALLOW_ALL = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}';

/** Whether `arn` names an account's root user (`arn:aws:iam::ACCOUNT:root`). */
export function isRootArn(arn: string): boolean {
  return /^arn:aws:iam::\d{12}:root$/.test(arn);
}

/** The default version's document of a managed policy in the snapshot (undefined: not in the view). */
function managedDocument(snapshot: PrincipalSnapshot, arn: string): string | undefined {
  const p = snapshot.policies.get(arn)?.state;
  return p?.versions.find((v) => v.versionId === p.defaultVersionId)?.document;
}

/** What a simulation adds to a principal's own policies (never cached). */
export interface SimulationExtras {
  /** Documents evaluated as if attached to the principal. */
  readonly identityPolicies: readonly string[];
  /** Replaces the principal's permissions boundary. */
  readonly permissionBoundary?: string;
  /**
   * A session's policies (its inline session policy and the documents of its managed session
   * policy ARNs): the session may do only what they and the principal's own policies both allow.
   */
  readonly sessionPolicies?: readonly { readonly document: string; readonly id: string }[];
}

/** Parses a caller's document; a bad one is INVALID_ARGUMENT naming the field. */
function callerPolicy(text: string, kind: PolicyKind, field: string): Policy {
  const { policy, findings } = parsePolicy(text, { kind, id: field, warnings: false, crossStatementWarnings: false });
  if (policy !== undefined) return policy;
  const first = findings.find((f) => f.severity === "error");
  throw new IamError(
    "MalformedPolicyDocument",
    `${field}: ${first?.path ?? "$"}: ${first?.message ?? "invalid policy"}`,
    {
      field,
    },
  );
}

/**
 * Compiles a principal's identity side from one snapshot: its inline and attached policies, its
 * groups' inline and attached policies (users), its permissions boundary and the account's
 * guardrails. Returns undefined when the snapshot has no such principal.
 */
export function compilePrincipal(
  snapshot: PrincipalSnapshot,
  extras?: SimulationExtras,
  rootArn?: string,
): CompiledPrincipal | undefined {
  if (rootArn !== undefined) return compileRoot(snapshot, rootArn, extras);
  const principal = snapshot.principal;
  if (principal === undefined || principal.state === null) return undefined;
  const docs: Policy[] = [];
  let size = 0;
  const add = (text: string, kind: PolicyKind, id: string) => {
    size += text.length;
    docs.push(policyOf(text, kind, id));
  };
  const s = principal.state;
  const attached = (refs: readonly { policyArn: string }[]) => {
    for (const ref of refs) {
      const doc = managedDocument(snapshot, ref.policyArn);
      if (doc !== undefined) add(doc, "identity", ref.policyArn);
    }
  };
  for (const p of s.inlinePolicies) add(p.policyDocument, "identity", `${s.arn}#${p.policyName}`);
  attached(s.attachedPolicies);
  if (principal.kind === "user") {
    for (const g of snapshot.groups as Extract<TypedEntity, { kind: "group" }>[]) {
      if (g.state === null) continue;
      for (const p of g.state.inlinePolicies) add(p.policyDocument, "identity", `${g.state.arn}#${p.policyName}`);
      attached(g.state.attachedPolicies);
    }
  }
  for (const [i, text] of (extras?.identityPolicies ?? []).entries()) {
    docs.push(callerPolicy(text, "identity", `extraIdentityPolicies[${i}]`));
  }
  const boundaryArn = s.permissionsBoundaryArn;
  const boundaryDoc = boundaryArn === null ? undefined : managedDocument(snapshot, boundaryArn);
  // A boundary the view lacks the document of allows nothing (an empty boundary), never everything.
  const boundary =
    extras?.permissionBoundary !== undefined
      ? callerPolicy(extras.permissionBoundary, "boundary", "permissionBoundary")
      : boundaryArn === null
        ? undefined
        : policyOf(boundaryDoc ?? '{"Version":"2012-10-17","Statement":[]}', "boundary", boundaryArn);
  const guardrails = (snapshot.account?.state?.guardrails ?? []).map((g) => {
    size += g.document.length;
    return policyOf(g.document, "scp", g.policyArn);
  });
  const sessionPolicies = (extras?.sessionPolicies ?? []).map((p) => policyOf(p.document, "session", p.id));
  const identity = compileIdentity({
    identityPolicies: docs,
    ...(sessionPolicies.length === 0 ? {} : { sessionPolicies }),
    ...(boundary === undefined ? {} : { permissionBoundary: boundary }),
    guardrails,
  });
  const base = { arn: s.arn, accountId: s.accountId, tags: s.tags, identity, revision: snapshot.applied.revision };
  return principal.kind === "user"
    ? {
        ...base,
        kind: "user",
        name: principal.state.userName,
        uniqueId: principal.state.userId,
        bytes: 2048 + size * 8,
      }
    : {
        ...base,
        kind: "role",
        name: principal.state.roleName,
        uniqueId: principal.state.roleId,
        bytes: 2048 + size * 8,
      };
}

/**
 * Compiles an account's root user from a snapshot read for its ARN: AWS gives the root every
 * permission in its own account, so its identity side allows everything, bounded only by the
 * account's guardrails (SCP-like) and, at evaluation, explicit denies of resource policies;
 * access to another account still needs that account's resource policy. Undefined when the
 * region has no such account. Extras (Simulate) add nothing an allow-all does not already allow,
 * but are parsed so a bad one is still named.
 */
function compileRoot(
  snapshot: PrincipalSnapshot,
  rootArn: string,
  extras?: SimulationExtras,
): CompiledPrincipal | undefined {
  const account = snapshot.account?.state;
  if (account === undefined || account === null) return undefined;
  for (const [i, text] of (extras?.identityPolicies ?? []).entries()) {
    callerPolicy(text, "identity", `extraIdentityPolicies[${i}]`);
  }
  let size = ALLOW_ALL.length;
  const guardrails = account.guardrails.map((g) => {
    size += g.document.length;
    return policyOf(g.document, "scp", g.policyArn);
  });
  const identity = compileIdentity({ identityPolicies: [policyOf(ALLOW_ALL, "identity", rootArn)], guardrails });
  return {
    arn: rootArn,
    accountId: account.accountId,
    kind: "root",
    name: "",
    uniqueId: account.accountId,
    tags: [],
    identity,
    revision: snapshot.applied.revision,
    bytes: 2048 + size * 8,
  };
}
