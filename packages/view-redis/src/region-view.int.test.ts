import type { PolicyState, TypedEntity } from "@gatehouse/events";
import { entityBuilders, policyRef as ref } from "@gatehouse/events/testing";
import { createTestKeyPrefix, testRedis } from "@gatehouse/testkit";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegionView, type RegionView, type ViewNotification } from "./region-view.ts";

const ACCT = "111122223333";
const arn = (kind: string, name: string) => `arn:aws:iam::${ACCT}:${kind}/${name}`;
const { user, role, group, ...acct } = entityBuilders(ACCT);
const policy = (name: string, description = "") => acct.policy(name, undefined, { description });

describe("region view in Redis", () => {
  const keys = createTestKeyPrefix({ prefix: "view" });
  let redis: Redis;
  let sub: Redis;
  let view: RegionView;
  const notes: ViewNotification[] = [];

  beforeAll(async () => {
    redis = testRedis();
    sub = testRedis();
    view = createRegionView({ redis, keyPrefix: keys.prefix });
    await view.ensureGeneration();
    await sub.subscribe(view.channel);
    sub.on("message", (_c: string, m: string) => notes.push(view.parseNotification(m)));
  });
  afterAll(async () => {
    await sub.quit();
    await redis.quit();
    await keys.cleanup();
  });

  const lagOf = (partition: number, lag: number) => ({
    partition,
    endOffset: 100,
    appliedOffset: 100 - lag,
    committedOffset: 100 - lag,
    lag,
    recordedAtMs: 1_700_000_000_000,
  });
  const pol = policy("read");
  const devs = group("devs", { attachedPolicies: [ref(pol)] });
  const alice = user("alice", { groups: [{ groupId: devs.id, groupName: "devs" }] });
  const bob = user("bob", { attachedPolicies: [ref(pol)] });
  const carol = user("carol", { permissionsBoundaryArn: pol.state?.arn ?? null });
  const ops = role("ops", { attachedPolicies: [ref(pol)] });
  const dave = user("dave");

  it("applies a revision: states and indexes readable together, at its revision", async () => {
    const out = await view.applyRevision(ACCT, 1, "e1", [pol, devs, alice, bob, carol, ops, dave]);
    expect(out.kind).toBe("applied");
    const snap = await view.readPrincipal(ACCT, arn("user", "alice"));
    expect(snap.applied).toEqual({ revision: 1, epoch: "e1" });
    expect(snap.principal?.id).toBe(alice.id);
    expect(snap.groups.map((g) => g.id)).toEqual([devs.id]);
    expect([...snap.policies.keys()]).toEqual([pol.state?.arn]);
    const role = await view.readPrincipal(ACCT, arn("role", "ops"));
    expect(role.principal?.kind).toBe("role");
    expect((await view.readPrincipal(ACCT, arn("user", "nobody"))).principal).toBeUndefined();
  });

  it("a policy change invalidates every attached, bounded, group-member and role principal, nobody else", async () => {
    const out = await view.applyRevision(ACCT, 2, "e1", [policy("read", "changed")]);
    expect(out).toEqual({
      kind: "applied",
      revision: 2,
      invalidated: {
        all: false,
        principals: [arn("role", "ops"), arn("user", "alice"), arn("user", "bob"), arn("user", "carol")].sort(),
      },
    });
    await expect
      .poll(() => notes.find((n) => n.type === "applied" && n.revision === 2))
      .toMatchObject({
        principals: [arn("role", "ops"), arn("user", "alice"), arn("user", "bob"), arn("user", "carol")].sort(),
      });
  });

  it("a group change reaches its members before and after; a removed member leaves the index", async () => {
    const out = await view.applyRevision(ACCT, 3, "e1", [user("alice"), group("devs")]);
    expect(out.kind === "applied" && out.invalidated.principals).toEqual([arn("user", "alice")]);
    const next = await view.applyRevision(ACCT, 4, "e1", [group("devs", { attachedPolicies: [] })]);
    expect(next.kind === "applied" && next.invalidated.principals).toEqual([]);
    expect((await view.readPrincipal(ACCT, arn("user", "alice"))).policies.size).toBe(0);
  });

  it("an account (guardrail) change invalidates the whole account", async () => {
    const account: TypedEntity = {
      kind: "account",
      id: ACCT,
      state: { accountId: ACCT, alias: null, createdAtMs: 1, passwordPolicy: null, guardrails: [] },
    };
    const out = await view.applyRevision(ACCT, 5, "e1", [account]);
    expect(out.kind === "applied" && out.invalidated.all).toBe(true);
    expect((await view.readPrincipal(ACCT, arn("user", "bob"))).account?.id).toBe(ACCT);
  });

  it("replays and duplicates change nothing; another epoch at or below is reported; a gap is refused", async () => {
    const before = await view.readPrincipal(ACCT, arn("user", "bob"));
    expect(await view.applyRevision(ACCT, 2, "e1", [user("bob")])).toEqual({ kind: "duplicate", appliedRevision: 5 });
    expect(await view.applyRevision(ACCT, 5, "e1", [user("bob")])).toEqual({ kind: "duplicate", appliedRevision: 5 });
    expect(await view.applyRevision(ACCT, 4, "e2", [user("bob")])).toEqual({
      kind: "epoch-mismatch",
      appliedRevision: 5,
    });
    expect(await view.readPrincipal(ACCT, arn("user", "bob"))).toEqual(before);
    expect(await view.applyRevision(ACCT, 7, "e1", [user("bob")])).toEqual({ kind: "gap", appliedRevision: 5 });
    expect(await view.applyRevision(ACCT, 6, "e1", [user("bob")])).toEqual({ kind: "gapped", appliedRevision: 5 });
    expect(await view.appliedRevision(ACCT)).toEqual({ revision: 5, epoch: "e1", gap: "6>7" });
    expect(await view.readPrincipal(ACCT, arn("user", "bob"))).toEqual({
      ...before,
      applied: { ...before.applied, gap: "6>7" },
    });
  });

  it("a gapped account is replaced whole from an export: old entities and indexes gone, one invalidation, then resumes", async () => {
    expect(await view.gappedAccounts()).toContain(ACCT);
    const write = policy("write");
    const erin = user("erin", { attachedPolicies: [ref(write)] });
    const key: TypedEntity = {
      kind: "access-key",
      id: "AKIAERIN000000000001",
      state: {
        accessKeyId: "AKIAERIN000000000001",
        accountId: ACCT,
        userId: erin.id,
        userName: "erin",
        principalArn: arn("user", "erin"),
        status: "Active",
        createdAtMs: 1,
        secretCiphertext: Buffer.from("sealed").toString("base64"),
      },
    };
    const bucket: TypedEntity = {
      kind: "resource-policy",
      id: "arn:aws:s3:::b",
      state: {
        accountId: ACCT,
        resourceArn: "arn:aws:s3:::b",
        policyDocument: '{"Version":"2012-10-17","Statement":[]}',
        createdAtMs: 1,
        updatedAtMs: 1,
      },
    };
    const seen = notes.length;
    // Below the applied revision of the same history: nothing happens.
    expect(await view.replaceAccount(ACCT, 4, "e1", [write])).toEqual({ kind: "duplicate", appliedRevision: 5 });
    expect(await view.replaceAccount(ACCT, 8, "e1", [write, erin, key, bucket])).toEqual({
      kind: "replaced",
      revision: 8,
    });
    expect(await view.appliedRevision(ACCT)).toEqual({ revision: 8, epoch: "e1" });
    expect(await view.gappedAccounts()).not.toContain(ACCT);
    for (const gone of ["alice", "bob", "carol", "dave"]) {
      expect((await view.readPrincipal(ACCT, arn("user", gone))).principal, gone).toBeUndefined();
    }
    expect((await view.readPrincipal(ACCT, arn("role", "ops"))).principal).toBeUndefined();
    const snap = await view.readPrincipal(ACCT, arn("user", "erin"));
    expect(snap.applied).toEqual({ revision: 8, epoch: "e1" });
    expect([...snap.policies.keys()]).toEqual([write.state?.arn]);
    expect(snap.account).toBeUndefined();
    expect(await view.readAccessKey("AKIAERIN000000000001")).toMatchObject({ secretCiphertext: "c2VhbGVk" });
    expect((await view.readResourcePolicy(ACCT, "arn:aws:s3:::b")).document).toContain("2012-10-17");
    await expect
      .poll(() => notes.slice(seen).filter((n) => n.type === "applied"))
      .toEqual([
        {
          type: "applied",
          accountId: ACCT,
          revision: 8,
          // The history it now holds: a decider checks min_revision tokens' epochs against it.
          epoch: "e1",
          all: true,
          principals: [],
          resources: ["arn:aws:s3:::b"],
          // The replacement names the access keys it wrote, so deciders drop their cached secrets.
          accessKeys: ["AKIAERIN000000000001"],
          // And says it replaced the account: deciders drop what they derived from it, whatever its revision.
          replaced: true,
        },
      ]);
    // The old reverse indexes went with the old entities: "read" reaches nobody, "write" only erin.
    const next = await view.applyRevision(ACCT, 9, "e1", [policy("read", "again"), policy("write", "changed")]);
    expect(next).toEqual({
      kind: "applied",
      revision: 9,
      invalidated: { all: false, principals: [arn("user", "erin")] },
    });
    // Replaced again at the same revision: nothing (not gapped, same history).
    expect((await view.replaceAccount(ACCT, 9, "e1", [])).kind).toBe("duplicate");
    // Another history (a rewound epoch) is replaced even below: everything goes, the key too.
    expect(await view.replaceAccount(ACCT, 3, "e2", [])).toEqual({ kind: "replaced", revision: 3 });
    expect(await view.readAccessKey("AKIAERIN000000000001")).toBeUndefined();
    expect((await view.readPrincipal(ACCT, arn("user", "erin"))).principal).toBeUndefined();
    expect((await view.readResourcePolicy(ACCT, "arn:aws:s3:::b")).document).toBeUndefined();
    // Rebuild the state the later tests of this file expect.
    expect((await view.replaceAccount(ACCT, 10, "e1", [pol, devs, alice, bob, carol, ops, dave])).kind).toBe(
      "replaced",
    );
  });

  it("consumer lag is replaced whole, and only by the lease holder's fencing token", async () => {
    const prefix = `${keys.prefix}lag:`;
    const active = createRegionView({ redis, keyPrefix: prefix, fencingToken: "7" });
    await active.ensureGeneration();
    expect(await active.setConsumerLag([lagOf(0, 5), lagOf(1, 0)])).toBe("recorded");
    expect(await active.setConsumerLag([lagOf(1, 3)])).toBe("recorded");
    expect(await active.consumerLag()).toEqual([lagOf(1, 3)]);
    await redis.set(`${prefix}fence`, "7");
    const deposed = createRegionView({ redis, keyPrefix: prefix, fencingToken: "6" });
    expect(await deposed.setConsumerLag([lagOf(0, 99)])).toBe("fenced");
    expect(await active.consumerLag()).toEqual([lagOf(1, 3)]);
    expect(await active.setConsumerLag([])).toBe("recorded");
    expect(await active.consumerLag()).toEqual([]);
  });

  it("a view whose generation is gone (Redis flushed) applies nothing; a new generation is made once", async () => {
    const other = createRegionView({ redis, keyPrefix: `${keys.prefix}lost:` });
    expect(await other.applyRevision(ACCT, 1, "e1", [user("x")])).toEqual({ kind: "view-lost", appliedRevision: 0 });
    expect(await other.setWatermark(0, 1)).toBe("view-lost");
    expect((await other.watermarks()).size).toBe(0);
    expect(await other.setConsumerLag([lagOf(0, 5)])).toBe("view-lost");
    expect(await other.consumerLag()).toEqual([]);
    expect((await other.appliedRevision(ACCT)).revision).toBe(0);
    const generation = await other.ensureGeneration();
    expect(await other.ensureGeneration()).toBe(generation);
    expect((await other.applyRevision(ACCT, 1, "e1", [user("x")])).kind).toBe("applied");
  });

  it("a multi-event revision is never seen half-applied under concurrent reads", async () => {
    const acct = "222233334444";
    const uarn = `arn:aws:iam::${acct}:user/eve`;
    const mk = (r: number): TypedEntity[] => {
      const p = policy(`p${r}`);
      const ps = { ...(p.state as PolicyState), accountId: acct, arn: `arn:aws:iam::${acct}:policy/p${r}` };
      const u = user("eve", {
        accountId: acct,
        arn: uarn,
        tags: [{ key: "rev", value: String(r) }],
        attachedPolicies: [{ policyId: p.id, policyArn: ps.arn }],
      });
      return [u, { kind: "policy", id: p.id, state: ps }];
    };
    let done = false;
    let reads = 0;
    const reader = async () => {
      const r2 = testRedis();
      const v2 = createRegionView({ redis: r2, keyPrefix: keys.prefix });
      try {
        while (!done) {
          const s = await v2.readPrincipal(acct, uarn);
          reads++;
          if (s.principal === undefined) continue;
          const tag = s.principal.kind === "user" ? s.principal.state?.tags[0]?.value : undefined;
          // The user at revision r attaches p<r>, created in the same revision: both or neither.
          expect(tag).toBe(String(s.applied.revision));
          expect([...s.policies.keys()]).toEqual([`arn:aws:iam::${acct}:policy/p${s.applied.revision}`]);
        }
      } finally {
        await r2.quit();
      }
    };
    const readers = [reader(), reader()];
    for (let r = 1; r <= 150; r++) expect((await view.applyRevision(acct, r, "e1", mk(r))).kind).toBe("applied");
    done = true;
    await Promise.all(readers);
    expect(reads).toBeGreaterThan(50);
  });

  it("an access key's revisions name its id in the notification (created, deactivated, deleted) and its owner", async () => {
    const acct = "333344445555";
    const owner = `arn:aws:iam::${acct}:user/kim`;
    const key = (status: "Active" | "Inactive"): TypedEntity => ({
      kind: "access-key",
      id: "AKIAVIEWTEST0000001",
      state: {
        accessKeyId: "AKIAVIEWTEST0000001",
        accountId: acct,
        userId: "AIDAKIM",
        userName: "kim",
        principalArn: owner,
        status,
        createdAtMs: 1,
        secretCiphertext: Buffer.from("sealed").toString("base64"),
      },
    });
    const tombstone: TypedEntity = { kind: "access-key", id: "AKIAVIEWTEST0000001", state: null };
    for (const [r, entity] of [key("Active"), key("Inactive"), tombstone].entries()) {
      expect((await view.applyRevision(acct, r + 1, "e1", [entity])).kind).toBe("applied");
      await expect
        .poll(() => notes.find((n) => n.type === "applied" && n.accountId === acct && n.revision === r + 1))
        .toMatchObject({ accessKeys: ["AKIAVIEWTEST0000001"] });
    }
    expect(await view.readAccessKey("AKIAVIEWTEST0000001")).toBeUndefined();
    const other = notes.find((n) => n.type === "applied" && n.accountId === ACCT && n.revision === 2);
    expect(other).toMatchObject({ accessKeys: [] });
  });
});
