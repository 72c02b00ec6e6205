import type { SessionClaims } from "@gatehouse/auth";
import { createManualClock, IamError } from "@gatehouse/core";
import type { ContextValue } from "@gatehouse/policy";
import type { PrincipalPolicies, TagRecord } from "@gatehouse/store-postgres";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { type ApiRequest, type AuthorizerStore, createAuthorizer } from "./authorizer.ts";
import type { Caller } from "./caller.ts";

const ACCOUNT = "111122223333";
const OTHER = "444455556666";
const T0 = Date.parse("2026-03-01T12:00:00Z");

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const ALLOW_ALL = doc({ Effect: "Allow", Action: "*", Resource: "*" });

const operator: Caller = { kind: "operator", accessKeyId: "AKIAOP", arn: "arn:aws:iam::gatehouse:operator" };
const root: Extract<Caller, { kind: "root" }> = {
  kind: "root",
  accessKeyId: "AKIAROOT",
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:root`,
};
const alice: Extract<Caller, { kind: "user" }> = {
  kind: "user",
  accessKeyId: "AKIAALICE",
  accountId: ACCOUNT,
  arn: `arn:aws:iam::${ACCOUNT}:user/eng/alice`,
  userId: "AIDAALICE",
  userName: "alice",
};

/** The authorizer's port, in memory: guardrails per account and one user's policies. */
class MemoryStore implements AuthorizerStore {
  guardrails: string[] = [];
  identity: string[] = [];
  boundary: string | null = null;
  tags: TagRecord[] = [];
  guardrailReads = 0;
  policyReads = 0;
  async listAccountGuardrails(accountId: string) {
    this.guardrailReads++;
    return accountId === ACCOUNT ? this.guardrails.map((document) => ({ document })) : [];
  }
  async getUserPolicies(accountId: string, userId: string): Promise<PrincipalPolicies> {
    this.policyReads++;
    const mine = accountId === alice.accountId && userId === alice.userId;
    return {
      identityPolicies: mine ? this.identity.map((document, i) => ({ id: `p${i}`, document })) : [],
      permissionsBoundary: mine && this.boundary !== null ? { id: "boundary", document: this.boundary } : null,
      principalTags: mine ? this.tags : [],
    };
  }
  roleIdentity: string[] = [];
  roleGone = false;
  managed = new Map<string, string>();
  async getRolePolicies(accountId: string, roleId: string): Promise<PrincipalPolicies | undefined> {
    if (this.roleGone || accountId !== ACCOUNT || roleId !== "AROAAPP") return undefined;
    return {
      identityPolicies: this.roleIdentity.map((document, i) => ({ id: `r${i}`, document })),
      permissionsBoundary: null,
      principalTags: [{ key: "team", value: "role" }],
    };
  }
  async getPolicyDocuments(policyArns: readonly string[]) {
    return new Map(
      policyArns.flatMap((a) => (this.managed.has(a) ? [[a, this.managed.get(a) as string] as const] : [])),
    );
  }
}

const claims = (over: Partial<SessionClaims> = {}): SessionClaims => ({
  principal: {
    kind: "assumed-role",
    roleArn: `arn:aws:iam::${ACCOUNT}:role/app`,
    roleId: "AROAAPP",
    roleName: "app",
    sessionName: "s1",
  },
  accountId: ACCOUNT,
  accessKeyId: "ASIAABCDEFGHIJKLMNOP",
  secretAccessKey: "x",
  issuedAtMs: T0 - 60_000,
  expiresAtMs: T0 + 3_600_000,
  policyArns: [],
  tags: [],
  transitiveTagKeys: [],
  source: "long-term",
  ...over,
});
const roleSession = (over: Partial<SessionClaims> = {}): Caller => ({
  kind: "role-session",
  accessKeyId: "ASIAABCDEFGHIJKLMNOP",
  accountId: ACCOUNT,
  arn: `arn:aws:sts::${ACCOUNT}:assumed-role/app/s1`,
  roleArn: `arn:aws:iam::${ACCOUNT}:role/app`,
  roleId: "AROAAPP",
  session: claims(over),
});

function setup() {
  const store = new MemoryStore();
  const clock = createManualClock(T0);
  const logged: string[] = [];
  const logger = pino({ level: "error" }, { write: (line: string) => logged.push(line) });
  const authorizer = createAuthorizer({ store, logger, region: "eu-west-1", clock });
  return { store, clock, logged, authorizer };
}

const request = (over: Partial<ApiRequest> = {}): ApiRequest => ({
  action: "iam:GetUser",
  resource: `arn:aws:iam::${ACCOUNT}:user/bob`,
  accountId: ACCOUNT,
  ...over,
});

async function outcome(p: Promise<void>): Promise<"Allow" | "AccessDenied"> {
  try {
    await p;
    return "Allow";
  } catch (e) {
    if (IamError.is(e) && e.awsName === "AccessDenied") return "AccessDenied";
    throw e;
  }
}

describe("createAuthorizer", () => {
  it("refuses the operator and callers from another account, before reading anything", async () => {
    const { store, authorizer } = setup();
    store.identity = [ALLOW_ALL];
    expect(await outcome(authorizer.authorize(operator, request()))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(root, request({ accountId: OTHER })))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(alice, request({ accountId: OTHER })))).toBe("AccessDenied");
    expect([store.guardrailReads, store.policyReads]).toEqual([0, 0]);
    const e = await authorizer.authorize(alice, request({ accountId: OTHER })).catch((x: unknown) => x);
    expect(IamError.is(e) && e.message).toBe(
      `${alice.arn} is not authorized to perform iam:GetUser on resource arn:aws:iam::${ACCOUNT}:user/bob`,
    );
  });

  it("lets the root do anything without guardrails, and bounds it by them", async () => {
    const { store, authorizer } = setup();
    expect(await outcome(authorizer.authorize(root, request({ action: "iam:DeleteUser" })))).toBe("Allow");
    expect(store.policyReads).toBe(0);
    expect(await authorizer.hasGuardrails(ACCOUNT)).toBe(false);

    store.guardrails = [doc({ Effect: "Allow", Action: ["iam:Get*", "iam:List*"], Resource: "*" })];
    authorizer.forgetGuardrails(ACCOUNT);
    expect(await authorizer.hasGuardrails(ACCOUNT)).toBe(true);
    expect(await outcome(authorizer.authorize(root, request()))).toBe("Allow");
    expect(await outcome(authorizer.authorize(root, request({ action: "iam:DeleteUser" })))).toBe("AccessDenied");
    expect(store.policyReads).toBe(0);

    store.guardrails = [ALLOW_ALL, doc({ Effect: "Deny", Action: "iam:ExportAccount", Resource: "*" })];
    authorizer.forgetGuardrails(ACCOUNT);
    expect(await outcome(authorizer.authorize(root, request({ action: "iam:ExportAccount" })))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(root, request({ action: "iam:DeleteUser" })))).toBe("Allow");
  });

  it("caches guardrails for a second unless forgotten", async () => {
    const { store, clock, authorizer } = setup();
    await authorizer.hasGuardrails(ACCOUNT);
    store.guardrails = [doc({ Effect: "Deny", Action: "*", Resource: "*" })];
    clock.advance(999);
    expect(await authorizer.hasGuardrails(ACCOUNT)).toBe(false);
    expect(store.guardrailReads).toBe(1);
    clock.advance(1);
    expect(await authorizer.hasGuardrails(ACCOUNT)).toBe(true);
    expect(store.guardrailReads).toBe(2);
    store.guardrails = [];
    authorizer.forgetGuardrails(ACCOUNT);
    expect(await authorizer.hasGuardrails(ACCOUNT)).toBe(false);
    expect(store.guardrailReads).toBe(3);
  });

  it("evaluates a user's identity policies: no policy denies, Allow allows, Deny wins", async () => {
    const { store, authorizer } = setup();
    expect(await outcome(authorizer.authorize(alice, request()))).toBe("AccessDenied");
    store.identity = [doc({ Effect: "Allow", Action: "iam:GetUser", Resource: `arn:aws:iam::${ACCOUNT}:user/bob` })];
    expect(await outcome(authorizer.authorize(alice, request()))).toBe("Allow");
    // The resource and action are the request's.
    expect(await outcome(authorizer.authorize(alice, request({ resource: `arn:aws:iam::${ACCOUNT}:user/Bob` })))).toBe(
      "AccessDenied",
    );
    expect(await outcome(authorizer.authorize(alice, request({ action: "iam:DeleteUser" })))).toBe("AccessDenied");
    store.identity.push(doc({ Effect: "Deny", Action: "iam:*", Resource: "*" }));
    expect(await outcome(authorizer.authorize(alice, request()))).toBe("AccessDenied");
  });

  it("bounds a user by its permissions boundary and the guardrails", async () => {
    const { store, authorizer } = setup();
    store.identity = [ALLOW_ALL];
    store.boundary = doc({ Effect: "Allow", Action: "iam:Get*", Resource: "*" });
    expect(await outcome(authorizer.authorize(alice, request()))).toBe("Allow");
    expect(await outcome(authorizer.authorize(alice, request({ action: "iam:DeleteUser" })))).toBe("AccessDenied");
    store.boundary = null;
    store.guardrails = [ALLOW_ALL, doc({ Effect: "Deny", Action: "iam:DeleteUser", Resource: "*" })];
    authorizer.forgetGuardrails(ACCOUNT);
    expect(await outcome(authorizer.authorize(alice, request({ action: "iam:DeleteUser" })))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(alice, request({ action: "iam:CreateUser" })))).toBe("Allow");
  });

  it("grants a call allowed by an account setting without identity policies, still within the guardrails", async () => {
    const { store, authorizer } = setup();
    const change = request({ action: "iam:ChangePassword", resource: alice.arn, allowedByAccountSetting: true });
    expect(await outcome(authorizer.authorize(alice, change))).toBe("Allow");
    expect(store.policyReads).toBe(0);
    // Evaluated (the account has guardrails), the boundary does not apply: the setting is no identity policy.
    store.boundary = doc({ Effect: "Allow", Action: "iam:Get*", Resource: "*" });
    store.guardrails = [ALLOW_ALL];
    authorizer.forgetGuardrails(ACCOUNT);
    expect(await outcome(authorizer.authorize(alice, change))).toBe("Allow");
    expect(store.policyReads).toBe(1);
    store.guardrails = [ALLOW_ALL, doc({ Effect: "Deny", Action: "iam:ChangePassword", Resource: "*" })];
    authorizer.forgetGuardrails(ACCOUNT);
    expect(await outcome(authorizer.authorize(alice, change))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(alice, { ...change, allowedByAccountSetting: false }))).toBe(
      "AccessDenied",
    );
  });

  it("denies, and logs, when a stored document cannot be evaluated", async () => {
    const { store, logged, authorizer } = setup();
    store.identity = ["{not json"];
    expect(await outcome(authorizer.authorize(alice, request()))).toBe("AccessDenied");
    expect(logged.join("")).toContain("policy evaluation failed; denying");
  });

  describe("request context", () => {
    /** Whether alice is allowed under `StringEquals {key: value}` with the request's context. */
    async function holds(
      key: string,
      value: string,
      over: Partial<ApiRequest> = {},
      tags: TagRecord[] = [],
      operator = "StringEquals",
    ) {
      const { store, authorizer } = setup();
      store.tags = tags;
      store.identity = [
        doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { [operator]: { [key]: value } } }),
      ];
      return outcome(authorizer.authorize(alice, request(over)));
    }

    it.each([
      ["aws:username", "alice"],
      ["aws:userid", "AIDAALICE"],
      ["aws:PrincipalType", "User"],
      ["aws:PrincipalArn", alice.arn],
      ["aws:PrincipalAccount", ACCOUNT],
      ["aws:CurrentTime", "2026-03-01T12:00:00.000Z"],
      ["aws:EpochTime", String(T0 / 1000)],
      ["aws:RequestedRegion", "eu-west-1"],
    ])("carries %s", async (key, value) => {
      expect(await holds(key, value)).toBe("Allow");
      expect(await holds(key, `${value}x`)).toBe("AccessDenied");
    });

    it("carries the root's principal keys when guardrails make it evaluated", async () => {
      const { store, authorizer } = setup();
      const onlyAccount = (k: string, v: string) =>
        doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { StringEquals: { [k]: v } } });
      for (const [k, v] of [
        ["aws:PrincipalType", "Account"],
        ["aws:userid", ACCOUNT],
        ["aws:PrincipalArn", root.arn],
      ] as const) {
        store.guardrails = [onlyAccount(k, v)];
        authorizer.forgetGuardrails(ACCOUNT);
        expect(await outcome(authorizer.authorize(root, request())), k).toBe("Allow");
        store.guardrails = [onlyAccount(k, `${v}x`)];
        authorizer.forgetGuardrails(ACCOUNT);
        expect(await outcome(authorizer.authorize(root, request())), k).toBe("AccessDenied");
      }
    });

    it("carries aws:PrincipalTag/* from the user's tags", async () => {
      expect(await holds("aws:PrincipalTag/team", "blue", {}, [{ key: "team", value: "blue" }])).toBe("Allow");
      expect(await holds("aws:PrincipalTag/team", "blue", {}, [{ key: "team", value: "red" }])).toBe("AccessDenied");
      expect(await holds("aws:PrincipalTag/team", "blue")).toBe("AccessDenied");
    });

    it.each<[string, ContextValue, string]>([
      ["iam:PolicyARN", "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/AdministratorAccess"],
      ["iam:PermissionsBoundary", `arn:aws:iam::${ACCOUNT}:policy/B`, `arn:aws:iam::${ACCOUNT}:policy/B`],
      ["aws:ResourceTag/team", "blue", "blue"],
      ["aws:RequestTag/team", "blue", "blue"],
      ["aws:SourceIp", "203.0.113.9", "203.0.113.9"],
    ])("carries the operation's %s", async (key, value, expected) => {
      expect(await holds(key, expected, { context: { [key]: value } })).toBe("Allow");
      expect(await holds(key, expected, { context: { [key]: `${String(value)}x` } })).toBe("AccessDenied");
      expect(await holds(key, expected)).toBe("AccessDenied");
    });

    it("carries aws:TagKeys as a multivalued key", async () => {
      const context = { "aws:TagKeys": ["Department", "CostCenter"] };
      const allowOnly = (keys: string[]) =>
        holds("aws:TagKeys", keys as unknown as string, { context }, [], "ForAllValues:StringEquals");
      expect(await allowOnly(["Department", "CostCenter"])).toBe("Allow");
      expect(await allowOnly(["Department"])).toBe("AccessDenied");
    });

    it("lets nothing in the operation's context pose as the principal's keys", async () => {
      const spoof = {
        context: {
          "aws:username": "root-admin",
          "AWS:UserName": "root-admin",
          "aws:PrincipalTag/team": "admins",
          "aws:PrincipalArn": "arn:aws:iam::111122223333:user/root-admin",
          "aws:CurrentTime": "2000-01-01T00:00:00Z",
          "aws:RequestedRegion": "us-east-1",
        },
      };
      expect(await holds("aws:username", "root-admin", spoof)).toBe("AccessDenied");
      expect(await holds("aws:username", "alice", spoof)).toBe("Allow");
      expect(await holds("aws:PrincipalTag/team", "admins", spoof)).toBe("AccessDenied");
      expect(await holds("aws:PrincipalArn", spoof.context["aws:PrincipalArn"], spoof)).toBe("AccessDenied");
      expect(await holds("aws:CurrentTime", "2000-01-01T00:00:00Z", spoof)).toBe("AccessDenied");
      expect(await holds("aws:RequestedRegion", "us-east-1", spoof)).toBe("AccessDenied");
      // Keys that merely start like a principal key are the operation's to set.
      expect(await holds("aws:SourceIp", "10.0.0.1", { context: { "aws:SourceIp": "10.0.0.1" } })).toBe("Allow");
    });
  });
});

describe("createAuthorizer: what it logs and which operation keys it keeps", () => {
  it("logs a failed evaluation as the authorizer's, naming the user and the error", async () => {
    const { store, logged, authorizer } = setup();
    store.identity = ["{not json"];
    expect(await outcome(authorizer.authorize(alice, request()))).toBe("AccessDenied");
    expect(logged).toHaveLength(1);
    const line = JSON.parse(logged[0] ?? "{}") as Record<string, unknown>;
    expect(line).toMatchObject({ component: "authorizer", user: alice.arn, msg: "policy evaluation failed; denying" });
    expect(line.err).toMatchObject({ message: expect.any(String) });
  });

  it("keeps operation keys that only begin like, or contain, a principal key", async () => {
    for (const key of [
      "aws:usernameSuffix",
      "aws:useridX",
      "aws:CurrentTimeZone",
      "aws:EpochTimeMs",
      "aws:RequestedRegions",
      "ec2:aws:username",
    ]) {
      const { store, authorizer } = setup();
      store.identity = [
        doc({ Effect: "Allow", Action: "*", Resource: "*", Condition: { StringEquals: { [key]: "v" } } }),
      ];
      expect(await outcome(authorizer.authorize(alice, request({ context: { [key]: "v" } }))), key).toBe("Allow");
    }
  });

  it("decides a role session with the role's policies narrowed by its session policies, never widened", async () => {
    const { store, authorizer } = setup();
    store.roleIdentity = [doc({ Effect: "Allow", Action: "iam:Get*", Resource: "*" })];
    expect(await outcome(authorizer.authorize(roleSession(), request()))).toBe("Allow");
    expect(await outcome(authorizer.authorize(roleSession(), request({ action: "iam:CreateUser" })))).toBe(
      "AccessDenied",
    );
    const narrow = {
      sessionPolicy: doc({ Effect: "Allow", Action: ["iam:GetRole", "iam:CreateUser"], Resource: "*" }),
    };
    expect(await outcome(authorizer.authorize(roleSession(narrow), request()))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(roleSession(narrow), request({ action: "iam:GetRole" })))).toBe("Allow");
    expect(await outcome(authorizer.authorize(roleSession(narrow), request({ action: "iam:CreateUser" })))).toBe(
      "AccessDenied",
    );
    // A managed session policy, and one that is gone (allows nothing).
    store.managed.set(
      `arn:aws:iam::${ACCOUNT}:policy/m`,
      doc({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }),
    );
    expect(
      await outcome(authorizer.authorize(roleSession({ policyArns: [`arn:aws:iam::${ACCOUNT}:policy/m`] }), request())),
    ).toBe("Allow");
    expect(
      await outcome(authorizer.authorize(roleSession({ policyArns: [`arn:aws:iam::${ACCOUNT}:policy/x`] }), request())),
    ).toBe("AccessDenied");
    store.roleGone = true;
    expect(await outcome(authorizer.authorize(roleSession(), request()))).toBe("AccessDenied");
  });

  it("a web identity session: aws:FederatedProvider and the token's claim keys from the session, never from the operation's context; managed session policies only from the role's account or AWS", async () => {
    const { store, authorizer } = setup();
    const provider = `arn:aws:iam::${ACCOUNT}:oidc-provider/idp.example.com`;
    store.roleIdentity = [
      doc(
        {
          Effect: "Allow",
          Action: "iam:GetUser",
          Resource: "*",
          Condition: { StringEquals: { "aws:FederatedProvider": provider } },
        },
        {
          Effect: "Allow",
          Action: "iam:GetRole",
          Resource: "*",
          Condition: { StringEquals: { "idp.example.com:sub": "user-1" } },
        },
      ),
    ];
    const web = { federatedProvider: provider, webIdentityClaims: { "idp.example.com:sub": "user-1" } };
    expect(await outcome(authorizer.authorize(roleSession(web), request()))).toBe("Allow");
    expect(await outcome(authorizer.authorize(roleSession(web), request({ action: "iam:GetRole" })))).toBe("Allow");
    expect(await outcome(authorizer.authorize(roleSession(), request()))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(roleSession(), request({ action: "iam:GetRole" })))).toBe("AccessDenied");
    expect(
      await outcome(authorizer.authorize(roleSession(), request({ context: { "aws:FederatedProvider": provider } }))),
    ).toBe("AccessDenied");
    // Another account's policy as a session policy is never read (it allows nothing).
    store.roleIdentity = [ALLOW_ALL];
    const foreign = "arn:aws:iam::999988887777:policy/m";
    store.managed.set(foreign, doc({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }));
    expect(await outcome(authorizer.authorize(roleSession({ policyArns: [foreign] }), request()))).toBe("AccessDenied");
    store.managed.set("arn:aws:iam::aws:policy/R", doc({ Effect: "Allow", Action: "iam:GetUser", Resource: "*" }));
    expect(
      await outcome(authorizer.authorize(roleSession({ policyArns: ["arn:aws:iam::aws:policy/R"] }), request())),
    ).toBe("Allow");
  });

  it("fills aws:TokenIssueTime, MFA and session tags from the session (revoke older sessions works; the caller cannot set them)", async () => {
    const { store, authorizer } = setup();
    store.roleIdentity = [
      doc({
        Effect: "Allow",
        Action: "iam:Get*",
        Resource: "*",
        Condition: { StringEquals: { "aws:PrincipalTag/team": "blue" } },
      }),
      doc({
        Effect: "Deny",
        Action: "*",
        Resource: "*",
        Condition: { DateLessThan: { "aws:TokenIssueTime": new Date(T0 - 30_000).toISOString() } },
      }),
    ];
    const blue = { tags: [{ key: "team", value: "blue" }] };
    expect(await outcome(authorizer.authorize(roleSession(blue), request()))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(roleSession({ ...blue, issuedAtMs: T0 - 10_000 }), request()))).toBe(
      "Allow",
    );
    expect(await outcome(authorizer.authorize(roleSession({ issuedAtMs: T0 - 10_000 }), request()))).toBe(
      "AccessDenied",
    );
    const forged = request({
      context: { "aws:TokenIssueTime": new Date(T0).toISOString(), "aws:PrincipalTag/team": "blue" },
    });
    expect(await outcome(authorizer.authorize(roleSession(), forged))).toBe("AccessDenied");
  });

  it("refuses IAM calls with GetSessionToken credentials that carry no MFA, as AWS does", async () => {
    const { store, authorizer } = setup();
    store.identity = [ALLOW_ALL];
    const userSession = (mfa: boolean): Caller => ({
      ...alice,
      accessKeyId: "ASIAABCDEFGHIJKLMNOP",
      session: claims({
        principal: { kind: "user", userArn: alice.arn, userId: alice.userId, userName: alice.userName },
        ...(mfa ? { mfaAuthTimeMs: T0 - 1000 } : {}),
      }),
    });
    expect(await outcome(authorizer.authorize(userSession(false), request()))).toBe("AccessDenied");
    expect(await outcome(authorizer.authorize(userSession(true), request()))).toBe("Allow");
  });
});
