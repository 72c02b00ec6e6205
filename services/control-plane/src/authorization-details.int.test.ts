import type { GetAccountAuthorizationDetailsResponse } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, type TestClient } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

// GetAccountAuthorizationDetails over gRPC: AWS's shape, its filters, and one marker across the
// four lists.

const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
const READ_S3 = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" });
const LIST_S3 = policyDoc({ Effect: "Allow", Action: "s3:ListBucket", Resource: "*" });
const USER_INLINE = policyDoc({ Effect: "Allow", Action: "sqs:SendMessage", Resource: "*" });
const GROUP_INLINE = policyDoc({ Effect: "Allow", Action: "sns:Publish", Resource: "*" });
const ROLE_INLINE = policyDoc({ Effect: "Allow", Action: "dynamodb:GetItem", Resource: "*" });
const BOUNDARY = policyDoc({ Effect: "Allow", Action: ["s3:*", "sqs:*", "sns:*"], Resource: "*" });
const aws = (name: string) => `arn:aws:iam::aws:policy/${name}`;
const USER = 1;
const GROUP = 2;
const ROLE = 3;

type Details = GetAccountAuthorizationDetailsResponse;

/** What a response lists, as `list:name` in response order (users, groups, roles, policies). */
function names(d: Details): string[] {
  return [
    ...d.userDetailList.map((x) => `user:${x.userName}`),
    ...d.groupDetailList.map((x) => `group:${x.groupName}`),
    ...d.roleDetailList.map((x) => `role:${x.roleName}`),
    ...d.policies.map((x) => `policy:${x.arn.replace(/^arn:aws:iam::\d{12}:/, "local:")}`),
  ];
}

describe("GetAccountAuthorizationDetails (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  let appRead: string;
  let boundary: string;

  beforeAll(async () => {
    f = await startAccountFixture();
    const { root } = f;
    appRead = (await root.call("createPolicy", { policyName: "app-read", path: "/app/", policyDocument: READ_S3 }))
      .policy.arn;
    await root.call("createPolicyVersion", { policyArn: appRead, policyDocument: LIST_S3, setAsDefault: true });
    boundary = (
      await root.call("createPolicy", { policyName: "boundary", policyDocument: BOUNDARY, description: "the ceiling" })
    ).policy.arn;

    await root.call("createGroup", { groupName: "devs", path: "/eng/" });
    const devs = { entityType: GROUP, entityName: "devs" };
    await root.call("putInlinePolicy", { ...devs, policyName: "g-inline", policyDocument: GROUP_INLINE });
    await root.call("attachPolicy", { ...devs, policyArn: appRead });

    await root.call("createUser", {
      userName: "alice",
      path: "/people/",
      tags: [{ key: "team", value: "core" }],
      permissionsBoundaryArn: boundary,
    });
    const alice = { entityType: USER, entityName: "alice" };
    await root.call("addUserToGroup", { groupName: "devs", userName: "alice" });
    await root.call("putInlinePolicy", { ...alice, policyName: "u-inline", policyDocument: USER_INLINE });
    await root.call("attachPolicy", { ...alice, policyArn: appRead });

    await root.call("createRole", {
      roleName: "web",
      assumeRolePolicyDocument: TRUST,
      description: "web servers",
      tags: [{ key: "tier", value: "front" }],
    });
    const web = { entityType: ROLE, entityName: "web" };
    await root.call("putInlinePolicy", { ...web, policyName: "r-inline", policyDocument: ROLE_INLINE });
    await root.call("attachPolicy", { ...web, policyArn: aws("ReadOnlyAccess") });
    await root.call("createInstanceProfile", { instanceProfileName: "web-profile", path: "/apps/" });
    await root.call("addRoleToInstanceProfile", { instanceProfileName: "web-profile", roleName: "web" });
  });
  afterAll(async () => {
    await f.close();
  });

  it("returns users, groups, roles and the policies in use in AWS's shape", async () => {
    const { root, accountId } = f;
    // Another account's entities and its use of the same AWS managed policy stay out of this one's.
    const other = await f.anotherAccount();
    await other.root.call("createRole", { roleName: "web", assumeRolePolicyDocument: TRUST });
    await other.root.call("attachPolicy", { entityType: ROLE, entityName: "web", policyArn: aws("ReadOnlyAccess") });

    const d: Details = await root.call("getAccountAuthorizationDetails", {});
    const user = (await root.call("getUser", { userName: "alice" })).user;
    const group = (await root.call("getGroup", { groupName: "devs" })).group;
    const role = (await root.call("getRole", { roleName: "web" })).role;
    const profile = (await root.call("getInstanceProfile", { instanceProfileName: "web-profile" })).instanceProfile;
    const appPolicy = (await root.call("getPolicy", { policyArn: appRead })).policy;
    const boundaryPolicy = (await root.call("getPolicy", { policyArn: boundary })).policy;
    const readOnly = (await root.call("getPolicy", { policyArn: aws("ReadOnlyAccess") })).policy;
    const appVersions = (await root.call("listPolicyVersions", { policyArn: appRead })).versions;
    // An AWS managed policy's details carry its default version only (its state does, migration
    // 0035): ReadOnlyAccess's 151 versions would be 5 MB. GetPolicyVersion serves the others.
    const readOnlyVersions = [
      (await root.call("getPolicyVersion", { policyArn: aws("ReadOnlyAccess"), versionId: readOnly.defaultVersionId }))
        .policyVersion,
    ];

    expect(d.userDetailList).toEqual([
      {
        path: "/people/",
        userName: "alice",
        userId: user.userId,
        arn: `arn:aws:iam::${accountId}:user/people/alice`,
        createDateMs: user.createDateMs,
        userPolicyList: [{ policyName: "u-inline", policyDocument: USER_INLINE }],
        groupList: ["devs"],
        attachedManagedPolicies: [{ policyName: "app-read", policyArn: appRead }],
        permissionsBoundary: { permissionsBoundaryType: "PermissionsBoundaryPolicy", permissionsBoundaryArn: boundary },
        tags: [{ key: "team", value: "core" }],
      },
    ]);
    expect(d.groupDetailList).toEqual([
      {
        path: "/eng/",
        groupName: "devs",
        groupId: group.groupId,
        arn: `arn:aws:iam::${accountId}:group/eng/devs`,
        createDateMs: group.createDateMs,
        groupPolicyList: [{ policyName: "g-inline", policyDocument: GROUP_INLINE }],
        attachedManagedPolicies: [{ policyName: "app-read", policyArn: appRead }],
      },
    ]);
    expect(d.roleDetailList).toEqual([
      {
        path: "/",
        roleName: "web",
        roleId: role.roleId,
        arn: `arn:aws:iam::${accountId}:role/web`,
        createDateMs: role.createDateMs,
        assumeRolePolicyDocument: TRUST,
        instanceProfileList: [profile],
        rolePolicyList: [{ policyName: "r-inline", policyDocument: ROLE_INLINE }],
        attachedManagedPolicies: [{ policyName: "ReadOnlyAccess", policyArn: aws("ReadOnlyAccess") }],
        permissionsBoundary: undefined,
        tags: [{ key: "tier", value: "front" }],
      },
    ]);
    expect(profile.roles).toEqual([role]);

    // Names in ListPolicies' order; of the AWS managed policies only the one in use, counted in
    // this account only (the other account's attachment is not ours).
    expect(d.policies).toEqual([
      {
        policyName: "app-read",
        policyId: appPolicy.policyId,
        arn: appRead,
        path: "/app/",
        defaultVersionId: "v2",
        attachmentCount: 2,
        permissionsBoundaryUsageCount: 0,
        isAttachable: true,
        description: "",
        createDateMs: appPolicy.createDateMs,
        updateDateMs: appPolicy.updateDateMs,
        policyVersionList: appVersions,
      },
      {
        policyName: "boundary",
        policyId: boundaryPolicy.policyId,
        arn: boundary,
        path: "/",
        defaultVersionId: "v1",
        attachmentCount: 0,
        permissionsBoundaryUsageCount: 1,
        isAttachable: true,
        description: "the ceiling",
        createDateMs: boundaryPolicy.createDateMs,
        updateDateMs: boundaryPolicy.updateDateMs,
        policyVersionList: (await root.call("listPolicyVersions", { policyArn: boundary })).versions,
      },
      {
        policyName: "ReadOnlyAccess",
        policyId: readOnly.policyId,
        arn: aws("ReadOnlyAccess"),
        path: "/",
        defaultVersionId: readOnly.defaultVersionId,
        attachmentCount: 1,
        permissionsBoundaryUsageCount: 0,
        isAttachable: true,
        description: readOnly.description,
        createDateMs: readOnly.createDateMs,
        updateDateMs: readOnly.updateDateMs,
        policyVersionList: readOnlyVersions,
      },
    ]);
    // Both versions with their documents, newest (the default) first.
    expect(appVersions).toEqual([
      expect.objectContaining({ versionId: "v2", isDefaultVersion: true, document: LIST_S3 }),
      expect.objectContaining({ versionId: "v1", isDefaultVersion: false, document: READ_S3 }),
    ]);
    expect(d.page).toEqual({ isTruncated: false, marker: "" });

    // The other account sees only its own role and the AWS managed policy it uses.
    expect(names(await other.root.call("getAccountAuthorizationDetails", {}))).toEqual([
      "role:web",
      "policy:arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]);
  });

  it("filters by entity type, and lists an AWS managed policy used only as a boundary", async () => {
    const { root } = f;
    const only = async (...filter: string[]) => names(await root.call("getAccountAuthorizationDetails", { filter }));
    expect(await only("User")).toEqual(["user:alice"]);
    expect(await only("Group")).toEqual(["group:devs"]);
    expect(await only("Role")).toEqual(["role:web"]);
    expect(await only("LocalManagedPolicy")).toEqual([
      "policy:local:policy/app/app-read",
      "policy:local:policy/boundary",
    ]);
    expect(await only("AWSManagedPolicy")).toEqual(["policy:arn:aws:iam::aws:policy/ReadOnlyAccess"]);
    expect(await only("AWSManagedPolicy", "Role", "Role")).toEqual([
      "role:web",
      "policy:arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]);
    expect(await only()).toEqual(await only("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"));

    const web = { entityType: ROLE, entityName: "web" };
    await root.call("putPermissionsBoundary", { ...web, permissionsBoundaryArn: aws("PowerUserAccess") });
    try {
      const d: Details = await root.call("getAccountAuthorizationDetails", { filter: ["AWSManagedPolicy", "Role"] });
      expect(names(d)).toEqual([
        "role:web",
        "policy:arn:aws:iam::aws:policy/PowerUserAccess",
        "policy:arn:aws:iam::aws:policy/ReadOnlyAccess",
      ]);
      expect(d.roleDetailList[0]?.permissionsBoundary).toEqual({
        permissionsBoundaryType: "PermissionsBoundaryPolicy",
        permissionsBoundaryArn: aws("PowerUserAccess"),
      });
      expect(d.policies[0]).toMatchObject({ attachmentCount: 0, permissionsBoundaryUsageCount: 1 });
    } finally {
      await root.call("putPermissionsBoundary", { ...web, permissionsBoundaryArn: "" });
    }
    expect(await only("AWSManagedPolicy")).toEqual(["policy:arn:aws:iam::aws:policy/ReadOnlyAccess"]);
  });

  it("pages with one marker across the lists, stable while entities come and go", async () => {
    const { root } = f;
    const all = names(await root.call("getAccountAuthorizationDetails", {}));
    expect(all).toEqual([
      "user:alice",
      "group:devs",
      "role:web",
      "policy:local:policy/app/app-read",
      "policy:local:policy/boundary",
      "policy:arn:aws:iam::aws:policy/ReadOnlyAccess",
    ]);
    const walked: string[] = [];
    let marker = "";
    for (let i = 0; i < 10; i++) {
      const d: Details = await root.call("getAccountAuthorizationDetails", { page: { marker, maxItems: 1 } });
      expect(names(d)).toHaveLength(1);
      walked.push(...names(d));
      expect(d.page?.isTruncated).toBe(walked.length < all.length);
      if (!d.page?.isTruncated) break;
      marker = d.page?.marker ?? "";
    }
    expect(walked).toEqual(all);

    // A user created before the marker's position is not shown and repeats nothing; one created
    // after it is reached in its turn.
    const first: Details = await root.call("getAccountAuthorizationDetails", { page: { marker: "", maxItems: 2 } });
    expect(names(first)).toEqual(["user:alice", "group:devs"]);
    await root.call("createUser", { userName: "aaron" });
    await root.call("createGroup", { groupName: "ops" });
    try {
      const rest: string[] = [];
      marker = first.page?.marker ?? "";
      for (let i = 0; i < 10 && marker !== ""; i++) {
        const d: Details = await root.call("getAccountAuthorizationDetails", { page: { marker, maxItems: 2 } });
        rest.push(...names(d));
        marker = d.page?.isTruncated ? d.page.marker : "";
      }
      expect(rest).toEqual(["group:ops", ...all.slice(2)]);
      // A filter applies to the pages after a marker as well.
      const users: Details = await root.call("getAccountAuthorizationDetails", {
        filter: ["User", "Role"],
        page: { marker: "", maxItems: 1 },
      });
      expect(names(users)).toEqual(["user:aaron"]);
      const next: Details = await root.call("getAccountAuthorizationDetails", {
        filter: ["User", "Role"],
        page: { maxItems: 5, marker: users.page?.marker ?? "" },
      });
      expect(names(next)).toEqual(["user:alice", "role:web"]);
      expect(next.page).toEqual({ isTruncated: false, marker: "" });
    } finally {
      await root.call("deleteUser", { userName: "aaron" });
      await root.call("deleteGroup", { groupName: "ops" });
    }
  });

  it("refuses bad input, naming the field", async () => {
    const { root } = f;
    await expectFailure(root.call("getAccountAuthorizationDetails", { filter: ["User", "Users"] }), {
      code: status.INVALID_ARGUMENT,
      awsName: "ValidationError",
      field: "filter[1]",
    });
    await expectFailure(root.call("getAccountAuthorizationDetails", { page: { marker: "", maxItems: 1001 } }), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidInput",
      field: "maxItems",
    });
    await expectFailure(
      root.call("getAccountAuthorizationDetails", { page: { marker: "not-a-marker", maxItems: 0 } }),
      {
        code: status.INVALID_ARGUMENT,
        awsName: "InvalidInput",
        field: "marker",
      },
    );
    // Another list's marker is not one of this call's.
    await root.call("createUser", { userName: "zed" });
    try {
      const users = await root.call("listUsers", { page: { marker: "", maxItems: 1 } });
      expect(users.page.isTruncated).toBe(true);
      await expectFailure(
        root.call("getAccountAuthorizationDetails", { page: { marker: users.page.marker, maxItems: 0 } }),
        {
          code: status.INVALID_ARGUMENT,
          awsName: "InvalidInput",
          field: "marker",
        },
      );
    } finally {
      await root.call("deleteUser", { userName: "zed" });
    }
  });

  it("is authorized as iam:GetAccountAuthorizationDetails on *", async () => {
    const call = (c: TestClient) => c.call("getAccountAuthorizationDetails", { filter: ["Role"] });
    const nobody = await f.aUser("nobody");
    await expectFailure(call(nobody), { code: status.PERMISSION_DENIED, awsName: "AccessDenied" });
    // The action has no resource type: a grant on the account's ARNs does not reach it.
    const narrow = await f.aUser("narrow", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: "iam:GetAccountAuthorizationDetails",
          Resource: `arn:aws:iam::${f.accountId}:*`,
        }),
      ],
    });
    await expectFailure(call(narrow), { code: status.PERMISSION_DENIED, awsName: "AccessDenied" });
    const auditor = await f.aUser("auditor", {
      inline: [policyDoc({ Effect: "Allow", Action: "iam:GetAccountAuthorizationDetails", Resource: "*" })],
    });
    expect(names(await call(auditor))).toEqual(["role:web"]);
    const reader = await f.aUser("reader", { managed: [aws("IAMReadOnlyAccess")] });
    expect(names(await call(reader))).toEqual(["role:web"]);
  });
});
