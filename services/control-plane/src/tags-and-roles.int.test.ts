import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { failureOf } from "./test-client.int-helper.ts";

const TRUST = policyDoc({ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" });

describe("tags on users and roles, role updates (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
    await f.root.call("createUser", { userName: "tagged", tags: [{ key: "team", value: "core" }] });
    await f.root.call("createRole", { roleName: "app", assumeRolePolicyDocument: TRUST });
  });
  afterAll(async () => {
    await f.close();
  });

  for (const kind of ["User", "Role"] as const) {
    const name = kind === "User" ? "tagged" : "app";
    it(`Tag${kind}/Untag${kind}/List${kind}Tags: merge case-insensitively, at most 50, AWS key rules`, async () => {
      const { root } = f;
      const tagged = await root.call(`tag${kind}`, {
        entityName: name,
        tags: [
          { key: "Team", value: "platform" },
          { key: "env", value: "prod" },
        ],
      });
      expect(tagged.revision.revision).toBeGreaterThan(0);
      const listed = await root.call(`list${kind}Tags`, { entityName: name });
      // The user's "team" tag was replaced by "Team" (keys compare case-insensitively).
      expect(listed.tags).toEqual([
        { key: "env", value: "prod" },
        { key: "Team", value: "platform" },
      ]);
      const page = await root.call(`list${kind}Tags`, { entityName: name, page: { marker: "", maxItems: 1 } });
      expect(page.tags).toHaveLength(1);
      expect(page.page.isTruncated).toBe(true);
      // Re-tagging with the same values changes nothing: no new revision.
      const same = await root.call(`tag${kind}`, { entityName: name, tags: [{ key: "env", value: "prod" }] });
      expect(same.revision.revision).toBe(tagged.revision.revision);
      await root.call(`untag${kind}`, { entityName: name, tagKeys: ["ENV", "absent"] });
      expect((await root.call(`list${kind}Tags`, { entityName: name })).tags).toEqual([
        { key: "Team", value: "platform" },
      ]);

      const many = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: "v" }));
      const over = await failureOf(root.call(`tag${kind}`, { entityName: name, tags: many }));
      expect([over.code, over.awsName, over.field]).toEqual([status.RESOURCE_EXHAUSTED, "LimitExceeded", "tags"]);
      const badKey = await failureOf(
        root.call(`tag${kind}`, { entityName: name, tags: [{ key: "bad*key", value: "" }] }),
      );
      expect([badKey.awsName, badKey.field]).toEqual(["ValidationError", "tags[0].key"]);
      const dup = await failureOf(
        root.call(`tag${kind}`, {
          entityName: name,
          tags: [
            { key: "a", value: "1" },
            { key: "A", value: "2" },
          ],
        }),
      );
      expect(dup.awsName).toBe("ValidationError");
      const noKeys = await failureOf(root.call(`untag${kind}`, { entityName: name, tagKeys: [] }));
      expect(noKeys.field).toBe("tagKeys");
      const missing = await failureOf(
        root.call(`tag${kind}`, { entityName: "ghost", tags: [{ key: "a", value: "" }] }),
      );
      expect([missing.code, missing.awsName]).toEqual([status.NOT_FOUND, "NoSuchEntity"]);
    });
  }

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
    const long = await failureOf(root.call("updateRole", { roleName: "app", maxSessionDuration: 43_201 }));
    expect([long.awsName, long.field]).toEqual(["ValidationError", "maxSessionDuration"]);
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
    const notTrust = await failureOf(
      root.call("updateAssumeRolePolicy", {
        roleName: "app",
        policyDocument: policyDoc({ Effect: "Allow", Action: "s3:*", Resource: "*" }),
      }),
    );
    expect([notTrust.code, notTrust.awsName, notTrust.field]).toEqual([
      status.INVALID_ARGUMENT,
      "MalformedPolicyDocument",
      "policyDocument",
    ]);
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
  });
});
