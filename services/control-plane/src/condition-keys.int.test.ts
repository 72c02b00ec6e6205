import { EntityType } from "@gatehouse/proto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

const ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess";
const READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const user = (entityName: string) => ({ entityType: EntityType.ENTITY_TYPE_USER, entityName });

// The policies below are AWS's documented examples (IAM User Guide, "Example IAM identity-based
// policies" and "Controlling access using tags"), with the account id and names of this test.
describe("condition keys of the control plane's authorization (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it("iam:PolicyARN: the AdministratorAccess attach guard stops a user attaching it to itself", async () => {
    const self = await f.aUser("self-admin", {
      inline: [
        doc(
          { Effect: "Allow", Action: "iam:*", Resource: "*" },
          {
            Effect: "Deny",
            Action: ["iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:AttachRolePolicy"],
            Resource: "*",
            Condition: { ArnEquals: { "iam:PolicyARN": ADMIN } },
          },
        ),
      ],
    });
    await expectFailure(self.call("attachPolicy", { ...user("self-admin"), policyArn: ADMIN }), {
      awsName: "AccessDenied",
    });
    await expectFailure(self.call("attachPolicy", { ...user("self-admin"), policyArn: ADMIN.toLowerCase() }), {
      awsName: "AccessDenied",
    });
    await self.call("attachPolicy", { ...user("self-admin"), policyArn: READ_ONLY });
    // Detach carries the key too: a guard on detaching ReadOnlyAccess holds.
    const keeper = await f.aUser("keeper", {
      inline: [
        doc(
          { Effect: "Allow", Action: "iam:*", Resource: "*" },
          {
            Effect: "Deny",
            Action: "iam:DetachUserPolicy",
            Resource: "*",
            Condition: { ArnEquals: { "iam:PolicyARN": READ_ONLY } },
          },
        ),
      ],
    });
    await expectFailure(keeper.call("detachPolicy", { ...user("self-admin"), policyArn: READ_ONLY }), {
      awsName: "AccessDenied",
    });
  });

  it("iam:PermissionsBoundary: delegated administration must set this boundary", async () => {
    const boundary = (
      await f.root.call("createPolicy", {
        policyName: "DelegatedBoundary",
        policyDocument: policyDoc({ Effect: "Allow", Action: "iam:Get*", Resource: "*" }),
      })
    ).policy.arn;
    const other = (
      await f.root.call("createPolicy", {
        policyName: "OtherBoundary",
        policyDocument: policyDoc({ Effect: "Allow", Action: "*", Resource: "*" }),
      })
    ).policy.arn;
    const onlyWithBoundary = { StringEquals: { "iam:PermissionsBoundary": boundary } };
    const delegate = await f.aUser("delegate", {
      inline: [
        doc(
          {
            Sid: "CreateOrChangeOnlyWithBoundary",
            Effect: "Allow",
            Action: [
              "iam:CreateUser",
              "iam:PutUserPermissionsBoundary",
              "iam:PutUserPolicy",
              "iam:DeleteUserPolicy",
              "iam:AttachUserPolicy",
              "iam:DetachUserPolicy",
            ],
            Resource: "*",
            Condition: onlyWithBoundary,
          },
          { Effect: "Allow", Action: "iam:DeleteUserPermissionsBoundary", Resource: "*", Condition: onlyWithBoundary },
        ),
      ],
    });
    await expectFailure(delegate.call("createUser", { userName: "unbounded" }), { awsName: "AccessDenied" });
    await expectFailure(delegate.call("createUser", { userName: "wrong", permissionsBoundaryArn: other }), {
      awsName: "AccessDenied",
    });
    await delegate.call("createUser", { userName: "bounded", permissionsBoundaryArn: boundary });
    // A lower-case spelling of the boundary is judged by the policy's stored ARN.
    await delegate.call("createUser", {
      userName: "bounded2",
      permissionsBoundaryArn: boundary.replace("DelegatedBoundary", "delegatedboundary"),
    });
    // On an existing user the key is the user's current boundary.
    const inline = { policyName: "p", policyDocument: policyDoc({ Effect: "Allow", Action: "s3:*", Resource: "*" }) };
    await delegate.call("putInlinePolicy", { ...user("bounded"), ...inline });
    await delegate.call("deleteInlinePolicy", { ...user("bounded"), policyName: "p" });
    await delegate.call("attachPolicy", { ...user("bounded"), policyArn: READ_ONLY });
    await delegate.call("detachPolicy", { ...user("bounded"), policyArn: READ_ONLY });
    await f.root.call("createUser", { userName: "plain" });
    await expectFailure(delegate.call("putInlinePolicy", { ...user("plain"), ...inline }), { awsName: "AccessDenied" });
    await expectFailure(delegate.call("attachPolicy", { ...user("plain"), policyArn: READ_ONLY }), {
      awsName: "AccessDenied",
    });
    // Put: the boundary being set; Delete: the one being removed.
    await delegate.call("putPermissionsBoundary", { ...user("plain"), permissionsBoundaryArn: boundary });
    await expectFailure(delegate.call("putPermissionsBoundary", { ...user("plain"), permissionsBoundaryArn: other }), {
      awsName: "AccessDenied",
    });
    await delegate.call("putPermissionsBoundary", { ...user("plain"), permissionsBoundaryArn: "" });
    await f.root.call("putPermissionsBoundary", { ...user("plain"), permissionsBoundaryArn: other });
    await expectFailure(delegate.call("putPermissionsBoundary", { ...user("plain"), permissionsBoundaryArn: "" }), {
      awsName: "AccessDenied",
    });
    // Roles likewise.
    const trust = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
    const roleDelegate = await f.aUser("role-delegate", {
      inline: [policyDoc({ Effect: "Allow", Action: "iam:CreateRole", Resource: "*", Condition: onlyWithBoundary })],
    });
    await expectFailure(roleDelegate.call("createRole", { roleName: "r1", assumeRolePolicyDocument: trust }), {
      awsName: "AccessDenied",
    });
    await roleDelegate.call("createRole", {
      roleName: "r1",
      assumeRolePolicyDocument: trust,
      permissionsBoundaryArn: boundary,
    });
  });

  it("aws:TagKeys and aws:RequestTag: manage only this tag key; tags on create need iam:TagUser", async () => {
    await f.root.call("createUser", { userName: "tagged" });
    const onlyDepartment = await f.aUser("only-department", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:TagUser", "iam:UntagUser"],
          Resource: "*",
          Condition: { "ForAllValues:StringEquals": { "aws:TagKeys": ["Department"] } },
        }),
      ],
    });
    await onlyDepartment.call("tagUser", { entityName: "tagged", tags: [{ key: "Department", value: "Eng" }] });
    // Without aws:TagKeys in the context, ForAllValues would hold vacuously and this would pass.
    await expectFailure(
      onlyDepartment.call("tagUser", {
        entityName: "tagged",
        tags: [
          { key: "Department", value: "Eng" },
          { key: "CostCenter", value: "1" },
        ],
      }),
      { awsName: "AccessDenied" },
    );
    await expectFailure(onlyDepartment.call("untagUser", { entityName: "tagged", tagKeys: ["CostCenter"] }), {
      awsName: "AccessDenied",
    });
    await onlyDepartment.call("untagUser", { entityName: "tagged", tagKeys: ["Department"] });

    const createOnly = await f.aUser("create-only", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:CreateUser", "iam:CreateRole", "iam:CreateInstanceProfile", "iam:CreateOpenIDConnectProvider"],
          Resource: "*",
        }),
      ],
    });
    const tags = [{ key: "team", value: "blue" }];
    await expectFailure(createOnly.call("createUser", { userName: "with-tags", tags }), { awsName: "AccessDenied" });
    await createOnly.call("createUser", { userName: "without-tags" });
    const trust = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
    await expectFailure(
      createOnly.call("createRole", { roleName: "tagged-role", assumeRolePolicyDocument: trust, tags }),
      {
        awsName: "AccessDenied",
      },
    );
    await expectFailure(createOnly.call("createInstanceProfile", { instanceProfileName: "tagged-ip", tags }), {
      awsName: "AccessDenied",
    });
    await expectFailure(
      createOnly.call("createOpenIdConnectProvider", {
        url: "https://tags.example.com",
        clientIdList: ["a"],
        thumbprintList: ["c".repeat(40)],
        tags,
      }),
      { awsName: "AccessDenied" },
    );
    const onlyBlue = await f.aUser("only-blue", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:CreateUser", "iam:TagUser"],
          Resource: "*",
          Condition: {
            StringEquals: { "aws:RequestTag/team": "blue" },
            "ForAllValues:StringEquals": { "aws:TagKeys": ["team"] },
          },
        }),
      ],
    });
    await onlyBlue.call("createUser", { userName: "blue-user", tags });
    await expectFailure(onlyBlue.call("createUser", { userName: "red-user", tags: [{ key: "team", value: "red" }] }), {
      awsName: "AccessDenied",
    });
    expect((await f.root.call("getUser", { userName: "blue-user" })).user.tags).toEqual(tags);
  });

  it("aws:PrincipalTag and aws:ResourceTag: ABAC on the caller's and the target's team", async () => {
    await f.root.call("createUser", { userName: "blue-target", tags: [{ key: "team", value: "blue" }] });
    await f.root.call("createUser", { userName: "red-target", tags: [{ key: "team", value: "red" }] });
    await f.root.call("createUser", { userName: "untagged-target" });
    const abac = await f.aUser("abac", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:GetUser", "iam:ListUserTags", "iam:CreateLoginProfile"],
          Resource: "*",
          // biome-ignore lint/suspicious/noTemplateCurlyInString: an IAM policy variable, not a JS template
          Condition: { StringEquals: { "aws:ResourceTag/team": "${aws:PrincipalTag/team}" } },
        }),
      ],
    });
    // Untagged, the caller matches nobody.
    await expectFailure(abac.call("getUser", { userName: "blue-target" }), { awsName: "AccessDenied" });
    await f.root.call("tagUser", { entityName: "abac", tags: [{ key: "team", value: "blue" }] });
    expect((await abac.call("getUser", { userName: "blue-target" })).user.userName).toBe("blue-target");
    await abac.call("listUserTags", { entityName: "blue-target" });
    await expectFailure(abac.call("getUser", { userName: "red-target" }), { awsName: "AccessDenied" });
    await expectFailure(abac.call("getUser", { userName: "untagged-target" }), { awsName: "AccessDenied" });
    await expectFailure(abac.call("createLoginProfile", { userName: "red-target", password: "Pa55word!xyz" }), {
      awsName: "AccessDenied",
    });
    // Roles and instance profiles carry their tags too.
    const trust = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
    await f.root.call("createRole", {
      roleName: "blue-role",
      assumeRolePolicyDocument: trust,
      tags: [{ key: "team", value: "blue" }],
    });
    await f.root.call("createInstanceProfile", {
      instanceProfileName: "red-ip",
      tags: [{ key: "team", value: "red" }],
    });
    const roles = await f.aUser("abac-roles", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:GetRole", "iam:GetInstanceProfile"],
          Resource: "*",
          Condition: { StringEquals: { "aws:ResourceTag/team": "blue" } },
        }),
      ],
    });
    await roles.call("getRole", { roleName: "blue-role" });
    await expectFailure(roles.call("getInstanceProfile", { instanceProfileName: "red-ip" }), {
      awsName: "AccessDenied",
    });
  });

  it("iam:PassedToService: AddRoleToInstanceProfile passes the role to EC2", async () => {
    const trust = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });
    await f.root.call("createRole", { roleName: "passed", assumeRolePolicyDocument: trust });
    await f.root.call("createInstanceProfile", { instanceProfileName: "pass-ip" });
    await f.root.call("createInstanceProfile", { instanceProfileName: "pass-ip2" });
    const passer = (service: string) =>
      doc(
        { Effect: "Allow", Action: "iam:AddRoleToInstanceProfile", Resource: "*" },
        {
          Effect: "Allow",
          Action: "iam:PassRole",
          Resource: "*",
          Condition: { StringEquals: { "iam:PassedToService": service } },
        },
      );
    const toLambda = await f.aUser("pass-to-lambda", { inline: [passer("lambda.amazonaws.com")] });
    await expectFailure(
      toLambda.call("addRoleToInstanceProfile", { instanceProfileName: "pass-ip", roleName: "passed" }),
      {
        awsName: "AccessDenied",
      },
    );
    const toEc2 = await f.aUser("pass-to-ec2", { inline: [passer("ec2.amazonaws.com")] });
    await toEc2.call("addRoleToInstanceProfile", { instanceProfileName: "pass-ip", roleName: "passed" });
  });

  it("aws:SourceIp: an allow list denies callers from elsewhere", async () => {
    const outside = await f.aUser("outside", {
      inline: [
        doc(
          { Effect: "Allow", Action: "iam:GetUser", Resource: "*" },
          {
            Effect: "Deny",
            Action: "*",
            Resource: "*",
            Condition: { NotIpAddress: { "aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"] } },
          },
        ),
      ],
    });
    await expectFailure(outside.call("getUser", {}), { awsName: "AccessDenied" });
    const inside = await f.aUser("inside", {
      inline: [
        doc(
          { Effect: "Allow", Action: "iam:GetUser", Resource: "*" },
          {
            Effect: "Deny",
            Action: "*",
            Resource: "*",
            Condition: { NotIpAddress: { "aws:SourceIp": ["127.0.0.0/8"] } },
          },
        ),
      ],
    });
    expect((await inside.call("getUser", {})).user.userName).toBe("inside");
  });
});
