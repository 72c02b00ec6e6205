import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });

const TEAM = [{ key: "team", value: "core" }];

const S3_READ = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: "*" });

describe("tags on users, roles, policies, MFA devices, instance profiles and OIDC providers, role updates (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  let oidcArn: string;
  let policyArn: string;
  let serialNumber: string;
  beforeAll(async () => {
    f = await startAccountFixture();
    await f.root.call("createUser", { userName: "tagged", tags: TEAM });
    await f.root.call("createRole", { roleName: "app", assumeRolePolicyDocument: TRUST });
    await f.root.call("createInstanceProfile", { instanceProfileName: "web", tags: TEAM });
    oidcArn = (await f.root.call("createOpenIdConnectProvider", { url: "https://issuer.example.com", tags: TEAM }))
      .openIdConnectProviderArn;
    policyArn = (await f.root.call("createPolicy", { policyName: "Tagged", policyDocument: S3_READ, tags: TEAM }))
      .policy.arn;
    serialNumber = (await f.root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "tagged-phone", tags: TEAM }))
      .serialNumber;
  });
  afterAll(async () => {
    await f.close();
  });

  // The OIDC provider is named by its ARN (known once created); a missing one by an unused ARN.
  // As in AWS, tag keys compare case-insensitively on users and roles, exactly on the others.
  const kinds = [
    { kind: "User", name: () => "tagged", ghost: () => "ghost", ignoreCase: true },
    { kind: "Role", name: () => "app", ghost: () => "ghost", ignoreCase: true },
    {
      kind: "Policy",
      name: () => policyArn,
      ghost: () => `arn:aws:iam::${f.accountId}:policy/Ghost`,
      ignoreCase: false,
    },
    {
      kind: "MfaDevice",
      name: () => serialNumber,
      ghost: () => `arn:aws:iam::${f.accountId}:mfa/ghost`,
      ignoreCase: false,
    },
    { kind: "InstanceProfile", name: () => "web", ghost: () => "ghost", ignoreCase: false },
    {
      kind: "OpenIdConnectProvider",
      name: () => oidcArn,
      ghost: () => `arn:aws:iam::${f.accountId}:oidc-provider/ghost.example.com`,
      ignoreCase: false,
    },
  ] as const;
  for (const k of kinds) {
    const kind = k.kind;
    const how = k.ignoreCase ? "case-insensitively" : "case-sensitively";
    it(`Tag${kind}/Untag${kind}/List${kind}Tags: merge ${how}, at most 50, AWS key rules`, async () => {
      const { root } = f;
      const name = k.name();
      const tagged = await root.call(`tag${kind}`, {
        entityName: name,
        tags: [
          { key: "Team", value: "platform" },
          { key: "env", value: "prod" },
        ],
      });
      expect(tagged.revision.revision).toBeGreaterThan(0);
      const listed = await root.call(`list${kind}Tags`, { entityName: name });
      // A "team" tag given at creation (all but the role) was replaced by
      // "Team" where keys compare case-insensitively, and is another tag where they do not.
      expect(listed.tags).toEqual(
        k.ignoreCase
          ? [
              { key: "env", value: "prod" },
              { key: "Team", value: "platform" },
            ]
          : [
              { key: "Team", value: "platform" },
              { key: "env", value: "prod" },
              { key: "team", value: "core" },
            ],
      );
      const page = await root.call(`list${kind}Tags`, { entityName: name, page: { marker: "", maxItems: 1 } });
      expect(page.tags).toHaveLength(1);
      expect(page.page.isTruncated).toBe(true);
      // Re-tagging with the same values changes nothing: no new revision.
      const same = await root.call(`tag${kind}`, { entityName: name, tags: [{ key: "env", value: "prod" }] });
      expect(same.revision.revision).toBe(tagged.revision.revision);
      await root.call(`untag${kind}`, { entityName: name, tagKeys: ["ENV", "absent"] });
      const afterUntag = (await root.call(`list${kind}Tags`, { entityName: name })).tags;
      expect(afterUntag.map((t: { key: string }) => t.key)).toEqual(k.ignoreCase ? ["Team"] : ["Team", "env", "team"]);
      if (!k.ignoreCase) await root.call(`untag${kind}`, { entityName: name, tagKeys: ["env", "team"] });

      const many = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: "v" }));
      await expectFailure(root.call(`tag${kind}`, { entityName: name, tags: many }), {
        code: status.RESOURCE_EXHAUSTED,
        awsName: "LimitExceeded",
        field: "tags",
      });
      await expectFailure(root.call(`tag${kind}`, { entityName: name, tags: [{ key: "bad*key", value: "" }] }), {
        awsName: "ValidationError",
        field: "tags[0].key",
      });
      const dup = await failureOf(
        root.call(`tag${kind}`, {
          entityName: name,
          tags: [
            { key: "a", value: "1" },
            { key: k.ignoreCase ? "A" : "a", value: "2" },
          ],
        }),
      );
      expect(dup.awsName).toBe("ValidationError");
      const noKeys = await failureOf(root.call(`untag${kind}`, { entityName: name, tagKeys: [] }));
      expect(noKeys.field).toBe("tagKeys");
      await expectFailure(root.call(`tag${kind}`, { entityName: k.ghost(), tags: [{ key: "a", value: "" }] }), {
        code: status.NOT_FOUND,
        awsName: "NoSuchEntity",
      });
      for (const call of [
        () => root.call(`untag${kind}`, { entityName: k.ghost(), tagKeys: ["a"] }),
        () => root.call(`list${kind}Tags`, { entityName: k.ghost() }),
      ]) {
        expect((await failureOf(call())).awsName).toBe("NoSuchEntity");
      }
    });
  }

  it("instance profile and OIDC provider tags: in Get responses and events, checked at creation", async () => {
    const { root, accountId } = f;
    const lastState = async (entityId: string) =>
      (
        await f.h.cp.store.pool.query(
          "SELECT revision, payload FROM outbox WHERE account_id = $1 AND entity_id = $2 ORDER BY revision DESC LIMIT 1",
          [accountId, entityId],
        )
      ).rows.map((r) => ({ revision: Number(r.revision), payload: r.payload }))[0];

    await root.call("createInstanceProfile", { instanceProfileName: "tag-events", tags: TEAM });
    await root.call("addRoleToInstanceProfile", { instanceProfileName: "tag-events", roleName: "app" });
    const profileTagged = await root.call("tagInstanceProfile", {
      entityName: "TAG-EVENTS",
      tags: [{ key: "cost", value: "42" }],
    });
    const profile = (await root.call("getInstanceProfile", { instanceProfileName: "tag-events" })).instanceProfile;
    expect(profile.tags).toEqual([...TEAM, { key: "cost", value: "42" }]);
    expect(await lastState(profile.instanceProfileId)).toEqual({
      revision: Number(profileTagged.revision.revision),
      payload: expect.objectContaining({
        instanceProfileName: "tag-events",
        tags: [...TEAM, { key: "cost", value: "42" }],
        roles: [expect.objectContaining({ roleName: "app" })],
      }),
    });
    // Instance profile tag keys are case-sensitive: "TEAM" is not "team".
    await root.call("untagInstanceProfile", { entityName: "tag-events", tagKeys: ["TEAM"] });
    expect((await lastState(profile.instanceProfileId))?.payload.tags).toHaveLength(2);
    const profileUntagged = await root.call("untagInstanceProfile", { entityName: "tag-events", tagKeys: ["team"] });
    expect((await lastState(profile.instanceProfileId))?.payload.tags).toEqual([{ key: "cost", value: "42" }]);
    expect((await lastState(profile.instanceProfileId))?.revision).toBe(Number(profileUntagged.revision.revision));

    const arn = (
      await root.call("createOpenIdConnectProvider", {
        url: "https://tag-events.example.com",
        clientIdList: ["app"],
        tags: TEAM,
      })
    ).openIdConnectProviderArn;
    const providerTagged = await root.call("tagOpenIdConnectProvider", {
      entityName: arn,
      tags: [{ key: "cost", value: "7" }],
    });
    expect((await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn })).tags).toEqual([
      ...TEAM,
      { key: "cost", value: "7" },
    ]);
    expect(await lastState(arn)).toEqual({
      revision: Number(providerTagged.revision.revision),
      payload: expect.objectContaining({ arn, clientIds: ["app"], tags: [...TEAM, { key: "cost", value: "7" }] }),
    });
    await root.call("untagOpenIdConnectProvider", { entityName: arn, tagKeys: ["cost"] });
    expect((await lastState(arn))?.payload.tags).toEqual(TEAM);
    await expectFailure(
      root.call("tagOpenIdConnectProvider", { entityName: "issuer.example.com", tags: [{ key: "a", value: "" }] }),
      { code: status.INVALID_ARGUMENT, awsName: "InvalidInput", field: "entityName" },
    );

    // Tags given at creation follow the same rules as TagInstanceProfile and TagOpenIDConnectProvider.
    const many = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "v" }));
    const creations = [
      (tags: object[]) => root.call("createInstanceProfile", { instanceProfileName: "refused", tags }),
      (tags: object[]) => root.call("createOpenIdConnectProvider", { url: "https://refused.example.com", tags }),
    ];
    for (const create of creations) {
      await expectFailure(create(many), { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "tags" });
      await expectFailure(create([{ key: "ok", value: "no*star" }]), {
        awsName: "ValidationError",
        field: "tags[0].value",
      });
      // Keys are case-sensitive here: only the same spelling twice is a duplicate.
      await expectFailure(
        create([
          { key: "a", value: "1" },
          { key: "a", value: "2" },
        ]),
        { awsName: "ValidationError", field: "tags[1].key" },
      );
    }
    expect((await failureOf(root.call("getInstanceProfile", { instanceProfileName: "refused" }))).awsName).toBe(
      "NoSuchEntity",
    );

    await root.call("removeRoleFromInstanceProfile", { instanceProfileName: "tag-events", roleName: "app" });
  });

  it("policy and MFA device tags: in GetPolicy and events, checked at creation, none on AWS managed policies", async () => {
    const { root, accountId } = f;
    const lastState = async (entityId: string) =>
      (
        await f.h.cp.store.pool.query(
          "SELECT revision, payload FROM outbox WHERE account_id = $1 AND entity_id = $2 ORDER BY revision DESC LIMIT 1",
          [accountId, entityId],
        )
      ).rows.map((r) => ({ revision: Number(r.revision), payload: r.payload }))[0];

    const created = await root.call("createPolicy", { policyName: "TagEvents", policyDocument: S3_READ, tags: TEAM });
    expect(created.policy.tags).toEqual(TEAM);
    expect(await lastState(created.policy.policyId)).toEqual({
      revision: Number(created.revision.revision),
      payload: expect.objectContaining({ policyName: "TagEvents", tags: TEAM }),
    });
    // Named by another spelling of its name: the store matches policy names case-insensitively.
    const spelled = `arn:aws:iam::${accountId}:policy/TAGEVENTS`;
    const policyTagged = await root.call("tagPolicy", { entityName: spelled, tags: [{ key: "cost", value: "42" }] });
    expect((await root.call("getPolicy", { policyArn: created.policy.arn })).policy.tags).toEqual([
      ...TEAM,
      { key: "cost", value: "42" },
    ]);
    expect(await lastState(created.policy.policyId)).toEqual({
      revision: Number(policyTagged.revision.revision),
      payload: expect.objectContaining({ tags: [...TEAM, { key: "cost", value: "42" }], versions: expect.any(Array) }),
    });
    // Keys are case-sensitive: "TEAM" is not "team".
    const policyUntagged = await root.call("untagPolicy", {
      entityName: created.policy.arn,
      tagKeys: ["TEAM", "cost"],
    });
    expect(await lastState(created.policy.policyId)).toEqual({
      revision: Number(policyUntagged.revision.revision),
      payload: expect.objectContaining({ tags: TEAM }),
    });

    const device = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "tag-events", tags: TEAM });
    expect((await lastState(device.serialNumber))?.payload.tags).toEqual(TEAM);
    const deviceTagged = await root.call("tagMfaDevice", {
      entityName: device.serialNumber,
      tags: [{ key: "cost", value: "7" }],
    });
    expect(await lastState(device.serialNumber)).toEqual({
      revision: Number(deviceTagged.revision.revision),
      payload: expect.objectContaining({ deviceName: "tag-events", tags: [...TEAM, { key: "cost", value: "7" }] }),
    });
    await root.call("untagMfaDevice", { entityName: device.serialNumber, tagKeys: ["team"] });
    expect((await lastState(device.serialNumber))?.payload.tags).toEqual([{ key: "cost", value: "7" }]);
    await expectFailure(root.call("tagMfaDevice", { entityName: "tag-events", tags: [{ key: "a", value: "" }] }), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidInput",
      field: "entityName",
    });

    // AWS managed policies are read by every account and tagged by none; they list no tags.
    const awsPolicy = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    await expectFailure(root.call("tagPolicy", { entityName: awsPolicy, tags: [{ key: "a", value: "" }] }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    expect((await root.call("listPolicyTags", { entityName: awsPolicy })).tags).toEqual([]);

    const many = Array.from({ length: 51 }, (_, i) => ({ key: `k${i}`, value: "v" }));
    const creations = [
      (tags: object[]) => root.call("createPolicy", { policyName: "Refused", policyDocument: S3_READ, tags }),
      (tags: object[]) => root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "refused", tags }),
    ];
    for (const create of creations) {
      await expectFailure(create(many), { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "tags" });
      await expectFailure(create([{ key: "aws:team", value: "x" }]), { field: "tags[0].key" });
      await expectFailure(
        create([
          { key: "a", value: "1" },
          { key: "a", value: "2" },
        ]),
        { awsName: "ValidationError", field: "tags[1].key" },
      );
      // Only the same spelling twice is a duplicate.
      await create([
        { key: "a", value: "1" },
        { key: "A", value: "2" },
      ]);
    }
  });

  it("CreatePolicy and CreateVirtualMFADevice with tags need iam:TagPolicy / iam:TagMFADevice; aws:ResourceTag on both", async () => {
    const { accountId } = f;
    const createOnly = await f.aUser("create-only", {
      inline: [
        policyDoc({ Effect: "Allow", Action: ["iam:CreatePolicy", "iam:CreateVirtualMFADevice"], Resource: "*" }),
      ],
    });
    const tags = [{ key: "team", value: "blue" }];
    await expectFailure(
      createOnly.call("createPolicy", { policyName: "ByCreateOnly", policyDocument: S3_READ, tags }),
      { code: status.PERMISSION_DENIED, awsName: "AccessDenied" },
    );
    await expectFailure(createOnly.call("createVirtualMfaDevice", { virtualMfaDeviceName: "by-create-only", tags }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    // Untagged creates need no tagging permission.
    await createOnly.call("createPolicy", { policyName: "ByCreateOnly", policyDocument: S3_READ });
    await createOnly.call("createVirtualMfaDevice", { virtualMfaDeviceName: "by-create-only" });

    const creator = await f.aUser("creator", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:CreatePolicy", "iam:TagPolicy", "iam:CreateVirtualMFADevice", "iam:TagMFADevice"],
          Resource: "*",
          Condition: { StringEquals: { "aws:RequestTag/team": "blue" } },
        }),
      ],
    });
    const blue = await creator.call("createPolicy", { policyName: "Blue", policyDocument: S3_READ, tags });
    await expectFailure(
      creator.call("createPolicy", {
        policyName: "Red",
        policyDocument: S3_READ,
        tags: [{ key: "team", value: "red" }],
      }),
      { awsName: "AccessDenied" },
    );
    const blueDevice = await creator.call("createVirtualMfaDevice", { virtualMfaDeviceName: "blue", tags });
    await f.root.call("createVirtualMfaDevice", {
      virtualMfaDeviceName: "red",
      tags: [{ key: "team", value: "red" }],
    });

    const abac = await f.aUser("abac-blue", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:GetPolicy", "iam:ListPolicyTags", "iam:DeleteVirtualMFADevice", "iam:ListMFADeviceTags"],
          Resource: "*",
          Condition: { StringEquals: { "aws:ResourceTag/team": "blue" } },
        }),
      ],
    });
    expect((await abac.call("getPolicy", { policyArn: blue.policy.arn })).policy.tags).toEqual(tags);
    await abac.call("listPolicyTags", { entityName: blue.policy.arn });
    await expectFailure(abac.call("getPolicy", { policyArn: policyArn }), { awsName: "AccessDenied" });
    await abac.call("listMfaDeviceTags", { entityName: blueDevice.serialNumber });
    await expectFailure(abac.call("deleteVirtualMfaDevice", { serialNumber: `arn:aws:iam::${accountId}:mfa/red` }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    await abac.call("deleteVirtualMfaDevice", { serialNumber: blueDevice.serialNumber });

    // Each of the six operations is its own action.
    const lister = await f.aUser("tag-lister", {
      inline: [policyDoc({ Effect: "Allow", Action: ["iam:ListPolicyTags", "iam:ListMFADeviceTags"], Resource: "*" })],
    });
    for (const [list, entityName] of [
      ["listPolicyTags", policyArn],
      ["listMfaDeviceTags", serialNumber],
    ] as const) {
      const theirs = (await lister.call(list, { entityName })).tags;
      expect(theirs.length).toBeGreaterThan(0);
      expect(theirs).toEqual((await f.root.call(list, { entityName })).tags);
    }
    for (const call of [
      () => lister.call("tagPolicy", { entityName: policyArn, tags: [{ key: "a", value: "" }] }),
      () => lister.call("untagPolicy", { entityName: policyArn, tagKeys: ["team"] }),
      () => lister.call("tagMfaDevice", { entityName: serialNumber, tags: [{ key: "a", value: "" }] }),
      () => lister.call("untagMfaDevice", { entityName: serialNumber, tagKeys: ["team"] }),
    ]) {
      await expectFailure(call(), { code: status.PERMISSION_DENIED, awsName: "AccessDenied" });
    }
  });

  it("UpdateRole changes description and session length, keeping what is unset", async () => {
    const { root } = f;
    await root.call("updateRole", { roleName: "app", description: "the app", maxSessionDuration: 7200 });
    expect((await root.call("getRole", { roleName: "app" })).role).toMatchObject({
      description: "the app",
      maxSessionDuration: 7200,
    });
    await root.call("updateRole", { roleName: "app", maxSessionDuration: 3600 });
    expect((await root.call("getRole", { roleName: "app" })).role).toMatchObject({
      description: "the app",
      maxSessionDuration: 3600,
    });
    await expectFailure(root.call("updateRole", { roleName: "app", maxSessionDuration: 43_201 }), {
      awsName: "ValidationError",
      field: "maxSessionDuration",
    });
    const missing = await failureOf(root.call("updateRole", { roleName: "ghost", description: "x" }));
    expect(missing.awsName).toBe("NoSuchEntity");
  });

  it("UpdateAssumeRolePolicy validates the document as a trust policy", async () => {
    const { root } = f;
    const lambda = policyDoc({
      Effect: "Allow",
      Principal: { Service: "lambda.amazonaws.com" },
      Action: "sts:AssumeRole",
    });
    await root.call("updateAssumeRolePolicy", { roleName: "app", policyDocument: lambda });
    expect((await root.call("getRole", { roleName: "app" })).role.assumeRolePolicyDocument).toBe(lambda);
    await expectFailure(
      root.call("updateAssumeRolePolicy", {
        roleName: "app",
        policyDocument: policyDoc({ Effect: "Allow", Action: "s3:*", Resource: "*" }),
      }),
      { code: status.INVALID_ARGUMENT, awsName: "MalformedPolicyDocument", field: "policyDocument" },
    );
  });

  it("authorizes each as iam:<Operation> on the entity", async () => {
    const tagger = await f.aUser("tagger", {
      inline: [policyDoc({ Effect: "Allow", Action: ["iam:TagUser", "iam:ListUserTags"], Resource: "*" })],
    });
    await tagger.call("tagUser", { entityName: "tagged", tags: [{ key: "by", value: "tagger" }] });
    expect((await failureOf(tagger.call("untagUser", { entityName: "tagged", tagKeys: ["by"] }))).awsName).toBe(
      "AccessDenied",
    );
    expect(
      (await failureOf(tagger.call("tagRole", { entityName: "app", tags: [{ key: "a", value: "" }] }))).awsName,
    ).toBe("AccessDenied");
    expect((await failureOf(tagger.call("updateRole", { roleName: "app", description: "x" }))).awsName).toBe(
      "AccessDenied",
    );

    const { accountId } = f;
    const profileTagger = await f.aUser("profile-tagger", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:TagInstanceProfile", "iam:ListOpenIDConnectProviderTags"],
          Resource: [`arn:aws:iam::${accountId}:instance-profile/web`, oidcArn],
        }),
      ],
    });
    await profileTagger.call("tagInstanceProfile", { entityName: "web", tags: [{ key: "by", value: "tagger" }] });
    expect((await profileTagger.call("listOpenIdConnectProviderTags", { entityName: oidcArn })).tags).toBeDefined();
    for (const call of [
      () => profileTagger.call("untagInstanceProfile", { entityName: "web", tagKeys: ["by"] }),
      () => profileTagger.call("listInstanceProfileTags", { entityName: "web" }),
      () => profileTagger.call("tagOpenIdConnectProvider", { entityName: oidcArn, tags: [{ key: "a", value: "" }] }),
      () => profileTagger.call("untagOpenIdConnectProvider", { entityName: oidcArn, tagKeys: ["a"] }),
    ]) {
      await expectFailure(call(), { code: status.PERMISSION_DENIED, awsName: "AccessDenied" });
    }
    await f.root.call("createInstanceProfile", { instanceProfileName: "other" });
    const otherProfile = await failureOf(
      profileTagger.call("tagInstanceProfile", { entityName: "other", tags: [{ key: "a", value: "" }] }),
    );
    expect(otherProfile.awsName).toBe("AccessDenied");
  });
});
