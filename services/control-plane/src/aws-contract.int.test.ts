import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });

// Details of AWS's IAM contract that clients rely on.
describe("AWS contract details (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  let providerArn: string;
  beforeAll(async () => {
    f = await startAccountFixture();
    await f.root.call("createUser", { userName: "u" });
    await f.root.call("createRole", { roleName: "r", assumeRolePolicyDocument: TRUST });
    await f.root.call("createInstanceProfile", { instanceProfileName: "ip" });
    providerArn = (
      await f.root.call("createOpenIdConnectProvider", {
        url: "https://contract.example.com",
        clientIdList: ["a"],
        thumbprintList: ["d".repeat(40)],
      })
    ).openIdConnectProviderArn;
  });
  afterAll(async () => {
    await f.close();
  });

  it("tag keys beginning with aws: are reserved, on create, Tag* and Untag*, in any case", async () => {
    const { root } = f;
    for (const key of ["aws:team", "AWS:team", "Aws:cost"]) {
      const tags = [
        { key: "ok", value: "1" },
        { key, value: "x" },
      ];
      await expectFailure(root.call("createUser", { userName: "reserved", tags }), {
        awsName: "InvalidInput",
        field: "tags[1].key",
      });
      await expectFailure(root.call("createRole", { roleName: "reserved", assumeRolePolicyDocument: TRUST, tags }), {
        awsName: "InvalidInput",
        field: "tags[1].key",
      });
      await expectFailure(root.call("tagUser", { entityName: "u", tags }), {
        awsName: "InvalidInput",
        field: "tags[1].key",
      });
      await expectFailure(root.call("tagOpenIdConnectProvider", { entityName: providerArn, tags }), {
        awsName: "InvalidInput",
        field: "tags[1].key",
      });
      await expectFailure(root.call("untagRole", { entityName: "r", tagKeys: ["ok", key] }), {
        awsName: "InvalidInput",
        field: "tagKeys[1]",
      });
    }
    // Nothing was written; a key merely containing "aws:" later on is fine.
    await expectFailure(root.call("getUser", { userName: "reserved" }), { awsName: "NoSuchEntity" });
    await root.call("tagUser", { entityName: "u", tags: [{ key: "team:aws:x", value: "1" }] });
  });

  it("tag keys are case-insensitive on users and roles, case-sensitive on instance profiles and OIDC providers", async () => {
    const { root } = f;
    const keys = async (rpc: string, entityName: string) =>
      (await root.call(rpc, { entityName })).tags.map((t: { key: string; value: string }) => `${t.key}=${t.value}`);
    for (const [tag, untag, list, entityName] of [
      ["tagUser", "untagUser", "listUserTags", "u"],
      ["tagRole", "untagRole", "listRoleTags", "r"],
    ] as const) {
      await root.call(tag, { entityName, tags: [{ key: "Env", value: "prod" }] });
      await root.call(tag, { entityName, tags: [{ key: "env", value: "dev" }] });
      expect(await keys(list, entityName)).toContain("env=dev");
      expect(await keys(list, entityName)).not.toContain("Env=prod");
      await expectFailure(
        root.call(tag, {
          entityName,
          tags: [
            { key: "Owner", value: "a" },
            { key: "OWNER", value: "b" },
          ],
        }),
        { awsName: "ValidationError", field: "tags[1].key" },
      );
      await root.call(untag, { entityName, tagKeys: ["ENV"] });
      expect((await keys(list, entityName)).some((k: string) => k.toLowerCase().startsWith("env="))).toBe(false);
    }
    for (const [tag, untag, list, entityName] of [
      ["tagInstanceProfile", "untagInstanceProfile", "listInstanceProfileTags", "ip"],
      ["tagOpenIdConnectProvider", "untagOpenIdConnectProvider", "listOpenIdConnectProviderTags", providerArn],
    ] as const) {
      await root.call(tag, {
        entityName,
        tags: [
          { key: "Env", value: "prod" },
          { key: "env", value: "dev" },
        ],
      });
      expect((await keys(list, entityName)).sort()).toEqual(["Env=prod", "env=dev"]);
      await root.call(untag, { entityName, tagKeys: ["ENV", "env"] });
      expect(await keys(list, entityName)).toEqual(["Env=prod"]);
    }
    const created = await root.call("createInstanceProfile", {
      instanceProfileName: "ip2",
      tags: [
        { key: "A", value: "1" },
        { key: "a", value: "2" },
      ],
    });
    expect(created.instanceProfile.tags).toHaveLength(2);
    await expectFailure(
      root.call("createUser", {
        userName: "dup",
        tags: [
          { key: "A", value: "1" },
          { key: "a", value: "2" },
        ],
      }),
      { awsName: "ValidationError", field: "tags[1].key" },
    );
  });

  it("GetUser by the root without a user name returns the root user", async () => {
    const { root, accountId } = f;
    const { user } = await root.call("getUser", {});
    expect(user).toMatchObject({ arn: `arn:aws:iam::${accountId}:root`, userId: accountId, userName: "" });
    expect(user.createDateMs).toBeGreaterThan(0);
    // A user without a name is itself; with a name, the root reads that user.
    expect((await root.call("getUser", { userName: "u" })).user.userName).toBe("u");
  });

  it("ErrorDetail.field names request fields in lowerCamelCase, as the proto3 JSON names", async () => {
    const e = await expectFailure(f.root.call("createPolicy", { policyName: "p", policyDocument: "{" }), {
      awsName: "MalformedPolicyDocument",
    });
    expect(e.field).toBe("policyDocument");
    await expectFailure(f.root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: "nope" }), {
      field: "openIdConnectProviderArn",
    });
    await expectFailure(f.root.call("createRole", { roleName: "bad-trust", assumeRolePolicyDocument: "[]" }), {
      field: "assumeRolePolicyDocument",
    });
  });
});
