// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables and fixture placeholders are literal ${…} text
import type { AccountState, GroupState, TypedEntity } from "@gatehouse/events";
import { compilePolicySet } from "@gatehouse/policy";
import {
  type AuthorizeRequest,
  type AuthorizeResponse,
  type AuthorizerServiceClient,
  BatchAuthorizeRequest,
  type BatchAuthorizeResponse,
  Decision,
  GetRegionStatusRequest,
  type GetRegionStatusResponse,
  type Revision,
  SimulateRequest,
  type SimulateResponse,
} from "@gatehouse/proto";
import type { RegionView } from "@gatehouse/view-redis";
import { Metadata, status } from "@grpc/grpc-js";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountEntities, grpcFailure, startTestDecider, type TestDecider } from "./decider-fixture.int-helper.ts";
import type { DeciderServer } from "./decider-server.ts";
import { DECISION_FIXTURES } from "./decision-fixtures.int-helper.ts";

const ACCT = "333344445555";
const arnOf = (kind: string, name: string) => `arn:aws:iam::${ACCT}:${kind}/${name}`;
const allowDoc = (action: string, resource = "*") =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: resource }] });

const { user, policy } = accountEntities(ACCT);

describe("decider over a live view (real Redis, gRPC)", () => {
  let fixture: TestDecider;
  let view: RegionView;
  let server: DeciderServer;
  let subscriber: Redis;
  let client: AuthorizerServiceClient;
  const apply = (...entities: TypedEntity[]) => fixture.apply(ACCT, ...entities);
  /** The account's last applied revision. */
  const revision = () => fixture.revisionOf(ACCT);
  const call = (r: Partial<AuthorizeRequest>, deadlineMs = 5000) =>
    new Promise<AuthorizeResponse>((resolve, reject) =>
      client.authorize(
        {
          principal: { kind: { $case: "arn", value: arnOf("user", "alice") } },
          action: "s3:GetObject",
          resource: "arn:aws:s3:::b/k",
          resourceAccount: "",
          context: {},
          resourcePolicy: "",
          explain: false,
          maxStalenessMs: 0,
          correlationId: "",
          sessionToken: "",
          ...r,
        },
        new Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, res) => (err === null ? resolve(res) : reject(err)),
      ),
    );
  const failure = grpcFailure;

  beforeAll(async () => {
    fixture = await startTestDecider("decider");
    ({ view, server, subscriber, client } = fixture);
  });
  afterAll(() => fixture?.close());

  it("read-your-writes: a call with min_revision waits for the revision, then Allows at it; a revoke Denies once applied", async () => {
    const read = policy("read", allowDoc("s3:GetObject"));
    await apply(read, user("alice"));
    expect((await call({})).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    // Asked before the attach is applied: the call waits (notification, no polling) for it.
    const waiting = call({ minRevision: { accountId: ACCT, revision: revision() + 1, epoch: "" } });
    await new Promise((r) => setTimeout(r, 200));
    const attachedAt = await apply(
      user("alice", { attachedPolicies: [{ policyId: read.id, policyArn: read.state.arn }] }),
    );
    const allowed = await waiting;
    expect(allowed.decision).toBe(Decision.DECISION_ALLOW);
    expect(Number(allowed.evaluatedAt?.revision)).toBe(attachedAt);
    // The cached Allow must not survive the detach's revision.
    const detachedAt = await apply(user("alice"));
    const denied = await call({ minRevision: { accountId: ACCT, revision: detachedAt, epoch: "" } });
    expect(denied.decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    expect(Number(denied.evaluatedAt?.revision)).toBeGreaterThanOrEqual(detachedAt);
  });

  it("never a stale Allow: under concurrent calls, an Allow is never reported at or after the revoke's revision", async () => {
    const write = policy("write", allowDoc("s3:PutObject"));
    const grantedAt = await apply(
      write,
      user("bob", { attachedPolicies: [{ policyId: write.id, policyArn: write.state.arn }] }),
    );
    let revokedAt = Number.POSITIVE_INFINITY;
    let stop = false;
    const seen: { decision: number; at: number }[] = [];
    const caller = async () => {
      while (!stop) {
        const r = await call({
          principal: { kind: { $case: "arn", value: arnOf("user", "bob") } },
          action: "s3:PutObject",
        });
        seen.push({ decision: r.decision, at: Number(r.evaluatedAt?.revision) });
      }
    };
    const callers = [caller(), caller(), caller()];
    await new Promise((r) => setTimeout(r, 100));
    // A policy change (not a user change) revokes: the invalidation must reach the attached user.
    revokedAt = await apply(policy("write", allowDoc("s3:ListBucket")));
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await Promise.all(callers);
    expect(seen.some((s) => s.decision === Decision.DECISION_ALLOW && s.at >= grantedAt)).toBe(true);
    expect(seen.filter((s) => s.decision === Decision.DECISION_ALLOW && s.at >= revokedAt)).toEqual([]);
    expect(seen.some((s) => s.decision === Decision.DECISION_IMPLICIT_DENY && s.at >= revokedAt)).toBe(true);
  });

  it("compile-on-miss is single-flight: 50 concurrent calls for an uncached principal compile it once", async () => {
    await apply(user("erin"));
    const before = server.decider.compiles();
    const erin = { kind: { $case: "arn" as const, value: arnOf("user", "erin") } };
    const answers = await Promise.all(Array.from({ length: 50 }, () => call({ principal: erin })));
    expect(answers.every((a) => a.decision === Decision.DECISION_IMPLICIT_DENY)).toBe(true);
    expect(server.decider.compiles() - before).toBe(1);
  });

  it("tryDecide answers from memory exactly as decide does, and defers whatever needs a wait or a Redis read", async () => {
    const read = policy("fayread", allowDoc("s3:GetObject", "arn:aws:s3:::fay/*"));
    const at = await apply(
      read,
      user("fay", {
        tags: [{ key: "team", value: "blue" }],
        attachedPolicies: [{ policyId: read.id, policyArn: read.state.arn }],
      }),
    );
    const d = server.decider;
    const request = {
      principal: { kind: "arn" as const, arn: arnOf("user", "fay") },
      action: "s3:GetObject",
      resource: "arn:aws:s3:::fay/k",
      context: { "s3:prefix": "k" },
      explain: false,
      deadlineMs: Date.now() + 5000,
    };
    // Not cached yet (neither the principal nor the resource's stored policy lookup): deferred.
    expect(d.tryDecide(request)).toBeUndefined();
    const slow = await d.decide(request);
    const hits = d.cache.hits;
    const fast = d.tryDecide(request);
    expect(fast).toEqual(slow);
    expect(fast?.result.decision).toBe("Allow");
    expect(fast?.revision).toBeGreaterThanOrEqual(at);
    expect(d.cache.hits).toBe(hits + 1);
    // The same answer for a denied action, and for a resource whose stored-policy lookup is cached too.
    expect(d.tryDecide({ ...request, action: "s3:PutObject" })?.result.decision).toBe("ImplicitDeny");
    // Deferred: an access key (read from Redis on each call), a revision not applied yet, an
    // uncached resource lookup, a simulation.
    expect(d.tryDecide({ ...request, principal: { kind: "access-key", accessKeyId: "AKIAFAYFAYFAYFAYFAY0" } })).toBe(
      undefined,
    );
    expect(
      d.tryDecide({ ...request, minRevision: { accountId: ACCT, revision: revision() + 1, epoch: "" } }),
    ).toBeUndefined();
    expect(d.tryDecide({ ...request, minRevision: { accountId: "999988887777", revision: 1 } })).toBeUndefined();
    expect(d.tryDecide({ ...request, resource: "arn:aws:s3:::fay/other" })).toBeUndefined();
    expect(d.tryDecide({ ...request, simulation: { identityPolicies: [] } })).toBeUndefined();
    // Bad input throws as decide rejects: the same error, the same field.
    expect(() => d.tryDecide({ ...request, context: { "AWS:PrincipalTag/team": "red" } })).toThrow(/set by the region/);
    expect(() => d.tryDecide({ ...request, principal: { kind: "arn", arn: "arn:aws:s3:::nope" } })).toThrow(
      /not an IAM user or role ARN/,
    );
    // A change to the principal evicts it: deferred again until decide recompiles it.
    await apply(read, user("fay", { attachedPolicies: [] }));
    await new Promise((r) => setTimeout(r, 100));
    expect(d.tryDecide(request)).toBeUndefined();
    expect((await d.decide(request)).result.decision).toBe("ImplicitDeny");
    expect(d.tryDecide(request)?.result.decision).toBe("ImplicitDeny");
  });

  it("min_revision met in Redis still waits for that revision's notification, so listeners' caches (the key cache) saw it first", async () => {
    const seen: number[] = [];
    server.decider.addListener({
      applied: (n) => {
        if (n.accountId === ACCT) seen.push(n.revision);
      },
      reset: () => {},
    });
    // The notification is published with the apply but not read yet (the subscriber's socket is
    // paused): Redis already says the revision is applied.
    subscriber.stream.pause();
    let at = 0;
    let resolved = false;
    try {
      at = await apply(user("frank"));
      const waiting = server.decider.waitApplied(ACCT, at, Date.now() + 5000).then(() => {
        resolved = true;
      });
      await new Promise((r) => setTimeout(r, 150));
      expect(resolved).toBe(false);
      subscriber.stream.resume();
      await waiting;
    } finally {
      subscriber.stream.resume();
    }
    expect(seen).toContain(at);
  });

  it("min_revision past the deadline: DEADLINE_EXCEEDED saying how far behind the region is", async () => {
    // The decider gives up a tenth of the deadline (at most 100 ms) before the caller does; with a
    // 300 ms deadline that 30 ms margin was lost to a loaded host's scheduling once.
    const e = await failure(call({ minRevision: { accountId: ACCT, revision: revision() + 5, epoch: "" } }, 1500));
    expect(e.code).toBe(status.DEADLINE_EXCEEDED);
    expect(e.details).toContain(`up to revision ${revision()}, 5 behind`);
  });

  it("min_revision with an epoch: met only in its history; an earlier one waits, a later one (a failover) is FAILED_PRECONDITION", async () => {
    const acct = "444400002222";
    const bob = { kind: { $case: "arn" as const, value: `arn:aws:iam::${acct}:user/bob` } };
    const bobUser = user("bob", { accountId: acct, arn: bob.kind.value });
    const token = (epoch: string): Revision => ({ accountId: acct, revision: 1, epoch });
    expect((await view.applyRevision(acct, 1, "7:1", [bobUser])).kind).toBe("applied");
    expect((await call({ principal: bob, minRevision: token("7:1") })).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    // Revision 1 of the next timeline is another write: not met by timeline 1's, whatever the number.
    const ahead = await failure(call({ principal: bob, minRevision: token("7:2") }, 1500));
    expect(ahead.code).toBe(status.DEADLINE_EXCEEDED);
    expect(ahead.details).toContain("up to revision 1 of history 7:1, not yet min_revision 1's history 7:2");
    // Waited for: answered once the region has the new history (healed from its export).
    const waiting = call({ principal: bob, minRevision: token("7:2") });
    await new Promise((r) => setTimeout(r, 200));
    expect((await view.replaceAccount(acct, 1, "7:2", [bobUser])).kind).toBe("replaced");
    expect((await waiting).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    // Timeline 1's token now names a history the failover replaced: its write may be lost.
    const rewound = await failure(call({ principal: bob, minRevision: token("7:1") }));
    expect(rewound.code).toBe(status.FAILED_PRECONDITION);
    expect(rewound.details).toContain("min_revision 1 of account 444400002222 is of control-plane history 7:1");
    // A history that continued right after a revision (the promoted standby had all of it) holds
    // the older history's revisions up to there: those tokens are met, later ones were lost.
    expect((await view.applyRevision(acct, 2, "7:2", [bobUser])).kind).toBe("applied");
    expect((await view.applyRevision(acct, 3, "7:3", [bobUser])).kind).toBe("applied");
    expect(await view.appliedRevision(acct)).toEqual({
      revision: 3,
      epoch: "7:3",
      continues: { epoch: "7:2", revision: 2 },
    });
    const at = (revision: number, epoch: string): Revision => ({ accountId: acct, revision, epoch });
    expect((await call({ principal: bob, minRevision: at(2, "7:2") })).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    expect((await call({ principal: bob, minRevision: at(1, "7:2") })).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    expect((await failure(call({ principal: bob, minRevision: at(3, "7:2") }))).code).toBe(status.FAILED_PRECONDITION);
    // Healed from another history's export instead: how far they agree is unknown, nothing is kept.
    expect((await view.replaceAccount(acct, 3, "7:4", [bobUser])).kind).toBe("replaced");
    expect(await view.appliedRevision(acct)).toEqual({ revision: 3, epoch: "7:4" });
    expect((await failure(call({ principal: bob, minRevision: at(2, "7:3") }))).code).toBe(status.FAILED_PRECONDITION);
    // Without an epoch, any history meets it, as before epochs; a malformed one is bad input.
    expect((await call({ principal: bob, minRevision: token("") })).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    const bad = await failure(call({ principal: bob, minRevision: token("timeline-2") }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain("min_revision epoch");
  });

  it("a caller cannot set a key the region fills: INVALID_ARGUMENT naming it", async () => {
    const folder = policy("home", allowDoc("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"));
    await apply(folder, user("carol", { attachedPolicies: [{ policyId: folder.id, policyArn: folder.state.arn }] }));
    const carol = { kind: { $case: "arn" as const, value: arnOf("user", "carol") } };
    expect((await call({ principal: carol, resource: "arn:aws:s3:::home/carol/x" })).decision).toBe(
      Decision.DECISION_ALLOW,
    );
    for (const key of [
      "aws:username",
      "AWS:UserName",
      "aws:PrincipalTag/team",
      "aws:PrincipalArn",
      "aws:RequestedRegion",
    ]) {
      const e = await failure(
        call({
          principal: carol,
          resource: "arn:aws:s3:::home/dave/x",
          context: { [key]: { kind: { $case: "stringValue", value: "dave" } } },
        }),
      );
      expect(e.code).toBe(status.INVALID_ARGUMENT);
      expect(e.details).toContain(JSON.stringify(key));
    }
  });

  it("bad input: unknown principal NOT_FOUND, malformed ARN and invalid inline resource policy INVALID_ARGUMENT", async () => {
    const unknown = await failure(call({ principal: { kind: { $case: "arn", value: arnOf("user", "nobody") } } }));
    expect(unknown.code).toBe(status.NOT_FOUND);
    const malformed = await failure(call({ principal: { kind: { $case: "arn", value: "not-an-arn" } } }));
    expect(malformed.code).toBe(status.INVALID_ARGUMENT);
    const bad = await failure(call({ resourcePolicy: '{"Version":"2012-10-17","Statement":[{"Effect":"Maybe"}]}' }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain("resourcePolicy");
  });

  it("a stored resource policy decides when the request names none (cross-account), or names it by ARN", async () => {
    const other = "999988887777";
    const bucket = "arn:aws:s3:::shared-bucket";
    const read = policy("anyread", allowDoc("s3:GetObject"));
    await apply(read, user("frank", { attachedPolicies: [{ policyId: read.id, policyArn: read.state.arn }] }));
    const frank = { kind: { $case: "arn" as const, value: arnOf("user", "frank") } };
    // Each ask names the resource account's revision it needs: the first asks cache "no stored
    // policy", and without a token a call may answer before the next revision's notification.
    let atLeast = 0;
    const ask = (resourcePolicy = "") =>
      call({
        principal: frank,
        resource: `${bucket}/k`,
        resourceAccount: other,
        resourcePolicy,
        ...(atLeast === 0 ? {} : { minRevision: { accountId: other, revision: atLeast, epoch: "" } }),
      });
    expect((await ask()).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    const document = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${ACCT}:root` },
          Action: "s3:GetObject",
          Resource: `${bucket}/*`,
        },
      ],
    });
    const stored = { resourceArn: bucket, accountId: other, policyDocument: document, createdAtMs: 1, updatedAtMs: 1 };
    expect(
      (await view.applyRevision(other, 1, "e", [{ kind: "resource-policy", id: bucket, state: stored }])).kind,
    ).toBe("applied");
    atLeast = 1;
    expect((await ask(bucket)).decision).toBe(Decision.DECISION_ALLOW);
    // Named nowhere: the stored policy of the object ARN (none), then of its bucket.
    expect((await ask()).decision).toBe(Decision.DECISION_ALLOW);
    // Cached now: a new stored document (a revision of the resource's account) replaces it at once.
    const denying = document.replace('"Effect":"Allow"', '"Effect":"Deny"');
    expect(
      (
        await view.applyRevision(other, 2, "e", [
          { kind: "resource-policy", id: bucket, state: { ...stored, policyDocument: denying } },
        ])
      ).kind,
    ).toBe("applied");
    const replaced = await call({
      principal: frank,
      resource: `${bucket}/k`,
      resourceAccount: other,
      resourcePolicy: bucket,
      minRevision: { accountId: other, revision: 2, epoch: "" },
    });
    expect(replaced.decision).toBe(Decision.DECISION_EXPLICIT_DENY);
    expect((await view.applyRevision(other, 3, "e", [{ kind: "resource-policy", id: bucket, state: null }])).kind).toBe(
      "applied",
    );
    await expect.poll(async () => (await failure(ask(bucket))).code).toBe(status.NOT_FOUND);
    const unknown = await failure(ask("arn:aws:s3:::no-such-bucket"));
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.details).toContain("no resource policy");
  });

  it("an S3 object ARN with no resource policy named: the object's stored policy, else its bucket's (same and cross-account)", async () => {
    const other = "999988887776";
    const bucket = "arn:aws:s3:::objects-bucket";
    const read = policy("objread", allowDoc("s3:GetObject"));
    await apply(
      read,
      user("olga", { attachedPolicies: [{ policyId: read.id, policyArn: read.state.arn }] }),
      user("pete"),
    );
    const as = (name: string) => ({ kind: { $case: "arn" as const, value: arnOf("user", name) } });
    const stored = (account: string, arn: string, Statement: object[]): TypedEntity => ({
      kind: "resource-policy",
      id: arn,
      state: {
        resourceArn: arn,
        accountId: account,
        policyDocument: JSON.stringify({ Version: "2012-10-17", Statement }),
        createdAtMs: 1,
        updatedAtMs: 1,
      },
    });
    const grant = (principal: string, Resource: string) => ({
      Effect: "Allow",
      Principal: { AWS: principal },
      Action: "s3:GetObject",
      Resource,
    });
    // Cross-account: the bucket in `other` grants this account's root; its objects inherit it.
    expect(
      (
        await view.applyRevision(other, 1, "e", [
          stored(other, bucket, [grant(`arn:aws:iam::${ACCT}:root`, `${bucket}/*`)]),
        ])
      ).kind,
    ).toBe("applied");
    const ask = (name: string, resource: string, resourceAccount: string, minRevision?: number) =>
      call({
        principal: as(name),
        resource,
        resourceAccount,
        ...(minRevision === undefined
          ? {}
          : { minRevision: { accountId: resourceAccount, revision: minRevision, epoch: "" } }),
      });
    expect((await ask("olga", `${bucket}/reports/q3.pdf`, other)).decision).toBe(Decision.DECISION_ALLOW);
    // Cross-account needs both sides: pete has no identity policy.
    expect((await ask("pete", `${bucket}/reports/q3.pdf`, other)).decision).toBe(Decision.DECISION_IMPLICIT_DENY);
    // Not an object of the bucket: no fallback (another bucket, or the bucket itself has no object path).
    expect((await ask("olga", "arn:aws:s3:::objects-bucket-2/k", other)).decision).toBe(
      Decision.DECISION_IMPLICIT_DENY,
    );
    // The object's own stored policy comes first: here it denies olga; other objects keep the bucket's.
    const denyOlga = {
      Effect: "Deny",
      Principal: { AWS: arnOf("user", "olga") },
      Action: "s3:GetObject",
      Resource: `${bucket}/secret`,
    };
    expect((await view.applyRevision(other, 2, "e", [stored(other, `${bucket}/secret`, [denyOlga])])).kind).toBe(
      "applied",
    );
    expect((await ask("olga", `${bucket}/secret`, other, 2)).decision).toBe(Decision.DECISION_EXPLICIT_DENY);
    expect((await ask("olga", `${bucket}/public`, other, 2)).decision).toBe(Decision.DECISION_ALLOW);
    // Same account: the bucket's policy alone grants pete (no identity policy needed).
    const own = "arn:aws:s3:::own-bucket";
    await apply(stored(ACCT, own, [grant(arnOf("user", "pete"), `${own}/*`)]));
    expect((await ask("pete", `${own}/k`, ACCT, revision())).decision).toBe(Decision.DECISION_ALLOW);
  });

  it("a principal named by its access key id: active keys decide as their user, inactive and unknown keys are refused", async () => {
    const key = (status: "Active" | "Inactive"): TypedEntity => ({
      kind: "access-key",
      id: "AKIAREGIONTEST000001",
      state: {
        accessKeyId: "AKIAREGIONTEST000001",
        accountId: ACCT,
        userId: "AIDACAROL",
        userName: "carol",
        principalArn: arnOf("user", "carol"),
        status,
        createdAtMs: 1,
        secretCiphertext: Buffer.from("sealed").toString("base64"),
      },
    });
    const byKey = { kind: { $case: "accessKeyId" as const, value: "AKIAREGIONTEST000001" } };
    const unknown = await failure(call({ principal: byKey, resource: "arn:aws:s3:::home/carol/x" }));
    expect(unknown.code).toBe(status.UNAUTHENTICATED);
    const activeAt = await apply(key("Active"));
    const allowed = await call({
      principal: byKey,
      resource: "arn:aws:s3:::home/carol/x",
      minRevision: { accountId: ACCT, revision: activeAt, epoch: "" },
    });
    expect(allowed.decision).toBe(Decision.DECISION_ALLOW);
    await apply(key("Inactive"));
    const inactive = await failure(call({ principal: byKey, resource: "arn:aws:s3:::home/carol/x" }));
    expect(inactive.code).toBe(status.UNAUTHENTICATED);
  });

  it("Simulate: the principal's policies plus extra ones and a replacement boundary, always explained, nothing cached", async () => {
    const simulate = (r: Partial<SimulateRequest>) =>
      new Promise<SimulateResponse>((resolve, reject) =>
        client.simulate(SimulateRequest.fromPartial(r), (err, res) => (err === null ? resolve(res) : reject(err))),
      );
    const carol = { kind: { $case: "arn" as const, value: arnOf("user", "carol") } };
    const base = {
      principal: carol,
      actions: ["s3:GetObject", "s3:PutObject"],
      resources: ["arn:aws:s3:::home/carol/x"],
    };
    const own = await simulate(base);
    expect(own.results.map((r) => r.decision)).toEqual([Decision.DECISION_ALLOW, Decision.DECISION_IMPLICIT_DENY]);
    const extra = await simulate({ ...base, extraIdentityPolicies: [allowDoc("s3:PutObject")] });
    expect(extra.results.map((r) => r.decision)).toEqual([Decision.DECISION_ALLOW, Decision.DECISION_ALLOW]);
    const put = JSON.parse(extra.results[1]?.explanationJson ?? "{}") as {
      decidingStatement?: { policy: { id?: string } };
    };
    expect(put.decidingStatement?.policy.id).toBe("extraIdentityPolicies[0]");
    const bounded = await simulate({
      ...base,
      extraIdentityPolicies: [allowDoc("s3:PutObject")],
      permissionBoundary: allowDoc("s3:GetObject"),
    });
    expect(bounded.results.map((r) => r.decision)).toEqual([Decision.DECISION_ALLOW, Decision.DECISION_IMPLICIT_DENY]);
    const bad = await failure(simulate({ ...base, extraIdentityPolicies: ['{"Version":"2012-10-17"}'] }));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.details).toContain("extraIdentityPolicies[0]");
    // The simulation's extra policy never reaches Authorize.
    const real = await call({ principal: carol, action: "s3:PutObject", resource: "arn:aws:s3:::home/carol/x" });
    expect(real.decision).toBe(Decision.DECISION_IMPLICIT_DENY);
  });

  it("max_staleness_ms answers only when the watermark is that fresh", async () => {
    const stale = await failure(call({ maxStalenessMs: 1000 }));
    expect(stale.code).toBe(status.UNAVAILABLE);
    await view.setWatermark(0, Date.now());
    await expect
      .poll(async () => (await call({ maxStalenessMs: 1000 }).catch(() => undefined))?.decision)
      .toBe(Decision.DECISION_IMPLICIT_DENY);
  });

  it("explain names the deciding policy and statement", async () => {
    const res = await call({
      principal: { kind: { $case: "arn", value: arnOf("user", "carol") } },
      resource: "arn:aws:s3:::home/carol/x",
      explain: true,
    });
    const explanation = JSON.parse(res.explanationJson) as { decidingStatement?: { policy: { id?: string } } };
    expect(explanation.decidingStatement?.policy.id).toBe(arnOf("policy", "home"));
  });

  it("BatchAuthorize: each check its own answer or error; more than 1,000 refused", async () => {
    const batch = (requests: Partial<AuthorizeRequest>[]) =>
      new Promise<BatchAuthorizeResponse>((resolve, reject) =>
        client.batchAuthorize(
          BatchAuthorizeRequest.fromPartial({ requests: requests as AuthorizeRequest[] }),
          (err, res) => (err === null ? resolve(res) : reject(err)),
        ),
      );
    const carol = { kind: { $case: "arn" as const, value: arnOf("user", "carol") } };
    const out = await batch([
      { principal: carol, action: "s3:GetObject", resource: "arn:aws:s3:::home/carol/x", correlationId: "a" },
      {
        principal: { kind: { $case: "arn", value: arnOf("user", "nobody") } },
        action: "s3:GetObject",
        resource: "*",
        correlationId: "b",
      },
      { principal: carol, action: "s3:GetObject", resource: "arn:aws:s3:::home/x/x", correlationId: "c" },
      {
        principal: carol,
        action: "s3:GetObject",
        resource: "arn:aws:s3:::home/carol/x",
        minRevision: { accountId: ACCT, revision: 1, epoch: "timeline-2" },
        correlationId: "d",
      },
    ]);
    expect(out.responses.map((r) => [r.correlationId, r.decision, r.error?.code])).toEqual([
      ["a", Decision.DECISION_ALLOW, undefined],
      ["b", Decision.DECISION_UNSPECIFIED, status.NOT_FOUND],
      ["c", Decision.DECISION_IMPLICIT_DENY, undefined],
      ["d", Decision.DECISION_UNSPECIFIED, status.INVALID_ARGUMENT],
    ]);
    // A bad field of one check is named with its index.
    expect(out.responses[3]?.error?.detail?.field).toBe("requests[3].minRevision.epoch");
    const many = Array.from({ length: 1001 }, () => ({ principal: carol, action: "s3:GetObject", resource: "*" }));
    const e = await failure(batch(many));
    expect(e.code).toBe(status.INVALID_ARGUMENT);
    expect(e.details).toContain("at most 1000");
  });

  it("GetRegionStatus: applied revision per account (paged by account id), watermarks, staleness, L1 figures", async () => {
    const status = (r: Partial<GetRegionStatusRequest>) =>
      new Promise<GetRegionStatusResponse>((resolve, reject) =>
        client.getRegionStatus(GetRegionStatusRequest.fromPartial(r), (err, res) =>
          err === null ? resolve(res) : reject(err),
        ),
      );
    await view.setWatermark(3, Date.now());
    const other = "222200001111";
    await view.applyRevision(other, 1, "e2", [
      user("zed", { accountId: other, arn: `arn:aws:iam::${other}:user/zed` }),
    ]);
    const first = await status({ pageSize: 1 });
    expect(first.region).toBe("eu-west-1");
    expect(first.accounts).toEqual([{ accountId: other, revision: 1, epoch: "e2", gap: "" }]);
    expect(first.nextPageToken).toBe(other);
    const second = await status({ pageSize: 1, pageToken: first.nextPageToken });
    expect(second.accounts.map((a) => [a.accountId, Number(a.revision)])).toEqual([[ACCT, revision()]]);
    const all = await status({});
    expect(all.accounts.map((a) => a.accountId)).toContain(ACCT);
    expect(all.nextPageToken).toBe("");
    await expect.poll(async () => (await status({})).watermarks.some((w) => w.partition === 3)).toBe(true);
    const now = await status({});
    expect(Number(now.stalenessMs)).toBeGreaterThanOrEqual(0);
    expect(Number(now.l1Hits)).toBeGreaterThan(0);
    expect(Number(now.l1Principals)).toBeGreaterThan(0);
    const bad = await failure(status({ pageToken: "nope" }));
    expect(bad.details).toContain("pageToken");
  });

  it("one fixture table, two targets: the pure engine and the live region agree with the expected decisions", async () => {
    const decisions = ["Allow", "ExplicitDeny", "ImplicitDeny"] as const;
    const wire = {
      Allow: Decision.DECISION_ALLOW,
      ExplicitDeny: Decision.DECISION_EXPLICIT_DENY,
      ImplicitDeny: Decision.DECISION_IMPLICIT_DENY,
    };
    for (const [i, f] of DECISION_FIXTURES.entries()) {
      const name = `fx${i}`;
      const arn = arnOf("user", name);
      const fill = (s: string) =>
        s.replaceAll("${user}", name).replaceAll("${account}", ACCT).replaceAll("${arn}", arn);
      const resource = fill(f.resource);
      const resourcePolicy = f.resourcePolicy === undefined ? undefined : fill(JSON.stringify(f.resourcePolicy));
      // Target 1: the pure engine, with the keys AWS fills written out.
      const pure = compilePolicySet({
        identityPolicies: [...f.userPolicies, ...(f.groupPolicies ?? [])],
        ...(f.boundary === undefined ? {} : { permissionBoundary: f.boundary }),
        ...(f.guardrails === undefined ? {} : { guardrails: [...f.guardrails] }),
        ...(resourcePolicy === undefined ? {} : { resourcePolicy }),
      }).evaluate(
        { arn, accountId: ACCT },
        {
          action: f.action,
          resource,
          resourceAccount: f.resourceAccount ?? ACCT,
          context: {
            ...f.context,
            "aws:username": name,
            "aws:userid": `AIDA${name.toUpperCase()}`,
            "aws:PrincipalArn": arn,
            "aws:PrincipalAccount": ACCT,
            "aws:PrincipalType": "User",
            ...Object.fromEntries((f.tags ?? []).map((t) => [`aws:PrincipalTag/${t.key}`, t.value])),
          },
        },
      ).decision;
      expect([f.name, pure]).toEqual([f.name, f.expected]);
      // Target 2: the live region, the same documents stored as the account's state.
      const group: GroupState = {
        accountId: ACCT,
        groupId: `AGPA${name.toUpperCase()}`,
        groupName: `g${name}`,
        path: "/",
        arn: arnOf("group", `g${name}`),
        createdAtMs: 1,
        attachedPolicies: [],
        inlinePolicies: (f.groupPolicies ?? []).map((d, j) => ({
          policyName: `g${j}`,
          policyDocument: JSON.stringify(d),
        })),
      };
      const boundary = f.boundary === undefined ? undefined : policy(`b${name}`, JSON.stringify(f.boundary));
      const account: AccountState = {
        accountId: ACCT,
        alias: null,
        createdAtMs: 1,
        passwordPolicy: null,
        guardrails: (f.guardrails ?? []).map((d, j) => ({
          policyArn: `arn:aws:organizations::${ACCT}:policy/gr${j}`,
          document: JSON.stringify(d),
        })),
      };
      const at = await apply(
        { kind: "account", id: ACCT, state: account },
        { kind: "group", id: group.groupId, state: group },
        ...(boundary === undefined ? [] : [boundary]),
        user(name, {
          tags: [...(f.tags ?? [])],
          groups: [{ groupId: group.groupId, groupName: group.groupName }],
          permissionsBoundaryArn: boundary?.state.arn ?? null,
          inlinePolicies: f.userPolicies.map((d, j) => ({ policyName: `u${j}`, policyDocument: JSON.stringify(d) })),
        }),
      );
      const live = await call({
        principal: { kind: { $case: "arn", value: arn } },
        action: f.action,
        resource,
        resourceAccount: f.resourceAccount ?? "",
        resourcePolicy: resourcePolicy ?? "",
        context: Object.fromEntries(
          Object.entries(f.context ?? {}).map(([k, v]) => [k, { kind: { $case: "stringValue", value: v } }]),
        ),
        minRevision: { accountId: ACCT, revision: at, epoch: "" },
      });
      expect([f.name, live.decision]).toEqual([f.name, wire[f.expected]]);
    }
    expect(decisions.every((d) => DECISION_FIXTURES.some((f) => f.expected === d))).toBe(true);
  });
});
