import { EntityType } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, type TestClient } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

const S3 = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" });
const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
const USER = { entityType: EntityType.ENTITY_TYPE_USER, entityName: "walker" };
const ROLE = { entityType: EntityType.ENTITY_TYPE_ROLE, entityName: "walker-role" };
// Mixed case: the order (and the marker) is case-insensitive.
const GROUPS = ["Alpha", "beta", "Charlie", "delta", "Echo", "foxtrot", "Golf"];
const INLINE = ["a-inline", "b-inline", "c-inline", "d-inline", "e-inline", "f-inline", "g-inline"];
const READ_ONLY_AWS = "arn:aws:iam::aws:policy/ReadOnlyAccess";

interface Paged {
  page: { isTruncated: boolean; marker: string };
}

/**
 * Walks every page of a list with `maxItems`, checking that only the last page is untruncated,
 * that no page is larger than asked; returns the items in order.
 */
async function walk<T>(
  list: (page: { marker: string; maxItems: number }) => Promise<Paged>,
  items: (response: Paged) => T[],
  maxItems: number,
): Promise<T[]> {
  const all: T[] = [];
  let marker = "";
  for (let pages = 0; pages < 100; pages++) {
    const r = await list({ marker, maxItems });
    const got = items(r);
    expect(got.length).toBeLessThanOrEqual(maxItems);
    all.push(...got);
    if (!r.page.isTruncated) {
      expect(r.page.marker).toBe("");
      return all;
    }
    expect(got).toHaveLength(maxItems);
    expect(r.page.marker).not.toBe("");
    marker = r.page.marker;
  }
  throw new Error("more than 100 pages");
}

/** Every page size from 1 to one past the full list: the pages' union is the full list, in order. */
async function expectPagesCover<T>(
  full: T[],
  list: (page: { marker: string; maxItems: number }) => Promise<Paged>,
  items: (response: Paged) => T[],
): Promise<void> {
  for (let maxItems = 1; maxItems <= full.length + 1; maxItems++) {
    const walked = await walk(list, items, maxItems);
    expect(walked, `maxItems ${maxItems}`).toEqual(full);
    expect(new Set(walked.map((x) => JSON.stringify(x))).size).toBe(walked.length);
  }
}

/** A malformed marker and out-of-range max items are InvalidInput naming the field. */
async function expectBadPagesRejected(call: (page: { marker: string; maxItems: number }) => Promise<unknown>) {
  for (const marker of ["not-a-marker", Buffer.from("x:abc").toString("base64url")]) {
    await expectFailure(call({ marker, maxItems: 0 }), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidInput",
      field: "marker",
    });
  }
  await expectFailure(call({ marker: "", maxItems: 1001 }), {
    code: status.INVALID_ARGUMENT,
    awsName: "InvalidInput",
    field: "maxItems",
  });
}

describe("pagination of per-entity lists (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  let root: TestClient;
  let versioned: string;
  const localArns: { policyName: string; policyArn: string; path: string }[] = [];

  beforeAll(async () => {
    f = await startAccountFixture({
      GATEHOUSE_QUOTA_GROUPS_PER_USER: "20",
      GATEHOUSE_QUOTA_ATTACHED_POLICIES_PER_ENTITY: "20",
    });
    root = f.root;
    await root.call("createUser", { userName: "walker" });
    for (const groupName of GROUPS) {
      await root.call("createGroup", { groupName, path: "/" });
      await root.call("addUserToGroup", { groupName, userName: "walker" });
    }
    // A local ReadOnlyAccess next to the AWS one: same name, told apart by owner in the marker.
    for (const [policyName, path] of [
      ["ReadOnlyAccess", "/a/"],
      ["app-read", "/a/"],
      ["App-write", "/b/"],
      ["billing", "/a/b/"],
      ["Zeta", "/b/"],
    ] as const) {
      const p = await root.call("createPolicy", { policyName, path, policyDocument: S3 });
      localArns.push({ policyName, policyArn: p.policy.arn, path });
      await root.call("attachPolicy", { ...USER, policyArn: p.policy.arn });
    }
    await root.call("attachPolicy", { ...USER, policyArn: READ_ONLY_AWS });
    await root.call("createRole", { roleName: "walker-role", assumeRolePolicyDocument: TRUST });
    for (const policyName of [...INLINE].reverse()) {
      await root.call("putInlinePolicy", { ...ROLE, policyName, policyDocument: S3 });
    }
    const p = await root.call("createPolicy", { policyName: "versioned", policyDocument: S3 });
    versioned = p.policy.arn;
    for (let i = 0; i < 4; i++) {
      await root.call("createPolicyVersion", { policyArn: versioned, policyDocument: S3, setAsDefault: i === 1 });
    }
  });
  afterAll(async () => {
    await f.close();
  });

  it("ListGroupsForUser: pages walk every group once, in case-insensitive name order", async () => {
    const all = await root.call("listGroupsForUser", { userName: "walker" });
    const names = all.groups.map((g: { groupName: string }) => g.groupName);
    expect(names).toEqual(GROUPS);
    expect(all.page).toEqual({ isTruncated: false, marker: "" });
    await expectPagesCover(
      names,
      (page) => root.call("listGroupsForUser", { userName: "walker", page }),
      (r) => (r as unknown as typeof all).groups.map((g: { groupName: string }) => g.groupName),
    );
    await expectBadPagesRejected((page) => root.call("listGroupsForUser", { userName: "walker", page }));
  });

  it("ListAttachedPolicies: pages walk every policy once (same-named local and AWS ones too); path prefix filters", async () => {
    const all = await root.call("listAttachedPolicies", USER);
    const arns: string[] = all.attachedPolicies.map((a: { policyArn: string }) => a.policyArn);
    expect(arns).toHaveLength(localArns.length + 1);
    expect(arns).toContain(READ_ONLY_AWS);
    expect(all.page).toEqual({ isTruncated: false, marker: "" });
    const byName = (r: Paged) =>
      (r as unknown as typeof all).attachedPolicies.map((a: { policyArn: string }) => a.policyArn);
    await expectPagesCover(arns, (page) => root.call("listAttachedPolicies", { ...USER, page }), byName);

    const underA = localArns.filter((p) => p.path.startsWith("/a/")).map((p) => p.policyArn);
    const filtered = byName(await root.call("listAttachedPolicies", { ...USER, pathPrefix: "/a/" }));
    expect([...filtered].sort()).toEqual([...underA].sort());
    await expectPagesCover(
      filtered,
      (page) => root.call("listAttachedPolicies", { ...USER, pathPrefix: "/a/", page }),
      byName,
    );
    expect(byName(await root.call("listAttachedPolicies", { ...USER, pathPrefix: "/a/b/" }))).toEqual([
      localArns.find((p) => p.policyName === "billing")?.policyArn,
    ]);
    expect(byName(await root.call("listAttachedPolicies", { ...USER, pathPrefix: "/nothing/" }))).toEqual([]);
    await expectFailure(root.call("listAttachedPolicies", { ...USER, pathPrefix: "a/" }), {
      code: status.INVALID_ARGUMENT,
      field: "pathPrefix",
    });
    await expectBadPagesRejected((page) => root.call("listAttachedPolicies", { ...USER, page }));
  });

  it("ListInlinePolicies: pages walk every name once, in name order", async () => {
    const all = await root.call("listInlinePolicies", ROLE);
    expect(all.policyNames).toEqual(INLINE);
    expect(all.page).toEqual({ isTruncated: false, marker: "" });
    await expectPagesCover(
      INLINE,
      (page) => root.call("listInlinePolicies", { ...ROLE, page }),
      (r) => (r as unknown as typeof all).policyNames,
    );
    await expectBadPagesRejected((page) => root.call("listInlinePolicies", { ...ROLE, page }));
  });

  it("ListPolicyVersions: pages walk every version once, newest first", async () => {
    const all = await root.call("listPolicyVersions", { policyArn: versioned });
    const ids = all.versions.map((v: { versionId: string }) => v.versionId);
    expect(ids).toEqual(["v5", "v4", "v3", "v2", "v1"]);
    expect(all.versions.filter((v: { isDefaultVersion: boolean }) => v.isDefaultVersion)).toHaveLength(1);
    expect(all.page).toEqual({ isTruncated: false, marker: "" });
    await expectPagesCover(
      ids,
      (page) => root.call("listPolicyVersions", { policyArn: versioned, page }),
      (r) => (r as unknown as typeof all).versions.map((v: { versionId: string }) => v.versionId),
    );
    await expectBadPagesRejected((page) => root.call("listPolicyVersions", { policyArn: versioned, page }));
    // A well-formed marker whose sort key is not a version number was not made by us.
    await expectFailure(
      root.call("listPolicyVersions", {
        policyArn: versioned,
        page: { marker: Buffer.from("m:v3").toString("base64url"), maxItems: 1 },
      }),
      { code: status.INVALID_ARGUMENT, awsName: "InvalidInput", field: "marker" },
    );
  });
  it("GetGroup: pages walk every member once, in case-insensitive name order; 100 by default, as AWS", async () => {
    const members = ["Ann", "bert", "Cleo", "dave", "Eve", "walker"];
    await root.call("createGroup", { groupName: "crew", path: "/" });
    for (const userName of members.filter((m) => m !== "walker")) await root.call("createUser", { userName });
    for (const userName of [...members].reverse()) await root.call("addUserToGroup", { groupName: "crew", userName });
    const all = await root.call("getGroup", { groupName: "crew" });
    const userNames = (r: Paged) => (r as unknown as typeof all).users.map((u: { userName: string }) => u.userName);
    expect(userNames(all)).toEqual(members);
    expect(all.page).toEqual({ isTruncated: false, marker: "" });
    await expectPagesCover(members, (page) => root.call("getGroup", { groupName: "crew", page }), userNames);
    await expectBadPagesRejected((page) => root.call("getGroup", { groupName: "crew", page }));
    // Every page carries the group itself.
    const first = await root.call("getGroup", { groupName: "crew", page: { marker: "", maxItems: 2 } });
    expect(first.group).toEqual(all.group);

    // Without a page: the first 100 members, truncated, as AWS's default MaxItems.
    await root.call("createGroup", { groupName: "crowd", path: "/" });
    const crowd = Array.from({ length: 101 }, (_, i) => `crowd-${String(i).padStart(3, "0")}`);
    for (const userName of crowd) {
      await root.call("createUser", { userName });
      await root.call("addUserToGroup", { groupName: "crowd", userName });
    }
    const page1 = await root.call("getGroup", { groupName: "crowd" });
    expect(userNames(page1)).toEqual(crowd.slice(0, 100));
    expect(page1.page.isTruncated).toBe(true);
    const page2 = await root.call("getGroup", { groupName: "crowd", page: { marker: page1.page.marker, maxItems: 0 } });
    expect(userNames(page2)).toEqual(crowd.slice(100));
    expect(page2.page).toEqual({ isTruncated: false, marker: "" });
  });
});
