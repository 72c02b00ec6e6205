import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, type TestClient } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const THUMB = "9e99a48a9960b14926bb7f3b02e22da2b0ab7280";
const JWKS = JSON.stringify({ keys: [{ kty: "RSA", kid: "k1", n: "AQAB", e: "AQAB", alg: "RS256", use: "sig" }] });

type FailureCase = [request: object, code: number, awsName: string, field: string];

/** Calls `method` with each request and expects its gRPC code, AWS error name and field. */
async function expectEachFails(client: TestClient, method: string, cases: FailureCase[]) {
  for (const [request, code, awsName, field] of cases) {
    await expectFailure(client.call(method, request), { code, awsName, field }, JSON.stringify(request).slice(0, 80));
  }
}

describe("OpenID Connect providers (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({ GATEHOUSE_QUOTA_OIDC_PROVIDERS_PER_ACCOUNT: "2" });
  });
  afterAll(async () => {
    await f.close();
  });

  it("create, get, client ids, thumbprints, list, delete; events and export", async () => {
    const { root, accountId } = f;
    const created = await root.call("createOpenIdConnectProvider", {
      url: "https://token.actions.example.com/org",
      clientIdList: ["sts.amazonaws.com"],
      thumbprintList: [THUMB.toUpperCase()],
      jwksJson: JWKS,
      tags: [{ key: "ci", value: "yes" }],
    });
    const arn = `arn:aws:iam::${accountId}:oidc-provider/token.actions.example.com/org`;
    expect(created.openIdConnectProviderArn).toBe(arn);
    expect(created.tags).toEqual([{ key: "ci", value: "yes" }]);

    await expectFailure(root.call("createOpenIdConnectProvider", { url: "https://token.actions.example.com/org/" }), {
      code: status.ALREADY_EXISTS,
      awsName: "EntityAlreadyExists",
      field: "url",
    });

    const got = await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn });
    expect(got).toMatchObject({
      url: "token.actions.example.com/org",
      clientIdList: ["sts.amazonaws.com"],
      thumbprintList: [THUMB],
      jwksJson: JWKS,
    });

    const before = await root.call("addClientIdToOpenIdConnectProvider", {
      openIdConnectProviderArn: arn,
      clientId: "my-app",
    });
    const again = await root.call("addClientIdToOpenIdConnectProvider", {
      openIdConnectProviderArn: arn,
      clientId: "my-app",
    });
    expect(again.revision.revision).toBe(before.revision.revision);
    await root.call("removeClientIdFromOpenIdConnectProvider", {
      openIdConnectProviderArn: arn,
      clientId: "sts.amazonaws.com",
    });
    await root.call("removeClientIdFromOpenIdConnectProvider", { openIdConnectProviderArn: arn, clientId: "absent" });
    const other = "a".repeat(40);
    await root.call("updateOpenIdConnectProviderThumbprint", {
      openIdConnectProviderArn: arn,
      thumbprintList: [other],
    });
    const updated = await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn });
    expect([updated.clientIdList, updated.thumbprintList]).toEqual([["my-app"], [other]]);

    const exported = await f.h.cp.store.exportAccount(accountId);
    expect(exported.entities.find((e) => e.kind === "oidc-provider")?.state).toMatchObject({
      arn,
      url: "token.actions.example.com/org",
      clientIds: ["my-app"],
      thumbprints: [other],
      jwks: JWKS,
    });

    const listed = await root.call("listOpenIdConnectProviders", {});
    expect(listed.openIdConnectProviderList).toEqual([{ arn }]);
    const deleted = await root.call("deleteOpenIdConnectProvider", { openIdConnectProviderArn: arn });
    await expectFailure(root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
      field: "openIdConnectProviderArn",
    });
    expect((await failureOf(root.call("deleteOpenIdConnectProvider", { openIdConnectProviderArn: arn }))).awsName).toBe(
      "NoSuchEntity",
    );

    const events = await f.h.cp.store.pool.query(
      "SELECT revision, payload FROM outbox WHERE account_id = $1 AND entity_kind = 'oidc-provider' ORDER BY revision",
      [accountId],
    );
    // create, add, remove (the second add and the absent removal changed nothing), thumbprints, delete
    expect(events.rows).toHaveLength(5);
    expect(events.rows.at(-1)?.payload).toBeNull();
    expect(Number(events.rows.at(-1)?.revision)).toBe(Number(deleted.revision.revision));
  });

  it("UpdateOpenIDConnectProviderJWKS replaces and removes the document; events carry the full state", async () => {
    const { root, accountId } = f;
    const arn = `arn:aws:iam::${accountId}:oidc-provider/keys.example.com`;
    await root.call("createOpenIdConnectProvider", {
      url: "https://keys.example.com",
      clientIdList: ["app"],
      thumbprintList: [THUMB],
      jwksJson: JWKS,
      tags: [{ key: "env", value: "prod" }],
    });
    const eventsOf = async () =>
      (
        await f.h.cp.store.pool.query(
          "SELECT revision, payload FROM outbox WHERE account_id = $1 AND entity_id = $2 ORDER BY revision",
          [accountId, arn],
        )
      ).rows.map((r) => ({ revision: Number(r.revision), payload: r.payload }));

    const rotated = JSON.stringify({ keys: [{ kty: "EC", kid: "k2", crv: "P-256", x: "AA", y: "AA" }] });
    const replaced = await root.call("updateOpenIdConnectProviderJwks", {
      openIdConnectProviderArn: arn,
      jwksJson: rotated,
    });
    expect((await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn })).jwksJson).toBe(rotated);
    const afterReplace = await eventsOf();
    expect(afterReplace.at(-1)).toEqual({
      revision: Number(replaced.revision.revision),
      payload: expect.objectContaining({
        arn,
        url: "keys.example.com",
        clientIds: ["app"],
        thumbprints: [THUMB],
        jwks: rotated,
        tags: [{ key: "env", value: "prod" }],
      }),
    });

    // The same document again changes nothing: no revision, no event.
    const same = await root.call("updateOpenIdConnectProviderJwks", {
      openIdConnectProviderArn: arn,
      jwksJson: rotated,
    });
    expect(same.revision.revision).toBe(replaced.revision.revision);
    expect(await eventsOf()).toHaveLength(afterReplace.length);

    const cleared = await root.call("updateOpenIdConnectProviderJwks", { openIdConnectProviderArn: arn, jwksJson: "" });
    expect(Number(cleared.revision.revision)).toBe(Number(replaced.revision.revision) + 1);
    expect((await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn })).jwksJson).toBe("");
    const afterClear = await eventsOf();
    expect(afterClear.at(-1)).toMatchObject({ revision: Number(cleared.revision.revision), payload: { jwks: null } });
    const exported = await f.h.cp.store.exportAccount(accountId);
    expect(exported.entities.find((e) => e.id === arn)?.state).toMatchObject({ jwks: null, clientIds: ["app"] });

    // Checked exactly as at creation; a refused document leaves the provider as it was.
    const cases: FailureCase[] = [
      [{ openIdConnectProviderArn: arn, jwksJson: "{not json" }, status.INVALID_ARGUMENT, "InvalidInput", "jwksJson"],
      [{ openIdConnectProviderArn: arn, jwksJson: '{"keys":[]}' }, status.INVALID_ARGUMENT, "InvalidInput", "jwksJson"],
      [
        { openIdConnectProviderArn: arn, jwksJson: '{"keys":[{"kid":"x"}]}' },
        status.INVALID_ARGUMENT,
        "InvalidInput",
        "jwksJson",
      ],
      [
        { openIdConnectProviderArn: arn, jwksJson: JSON.stringify({ keys: [{ kty: "oct", k: "x".repeat(70_000) }] }) },
        status.INVALID_ARGUMENT,
        "InvalidInput",
        "jwksJson",
      ],
      [
        { openIdConnectProviderArn: "nope", jwksJson: JWKS },
        status.INVALID_ARGUMENT,
        "InvalidInput",
        "openIdConnectProviderArn",
      ],
      [
        { openIdConnectProviderArn: `arn:aws:iam::${accountId}:oidc-provider/ghost.example.com`, jwksJson: JWKS },
        status.NOT_FOUND,
        "NoSuchEntity",
        "openIdConnectProviderArn",
      ],
    ];
    await expectEachFails(root, "updateOpenIdConnectProviderJwks", cases);
    expect(await eventsOf()).toHaveLength(afterClear.length);
    expect((await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn })).jwksJson).toBe("");

    // A retry with the same client request token returns the first result without a second write.
    const first = await root.call("updateOpenIdConnectProviderJwks", {
      openIdConnectProviderArn: arn,
      jwksJson: JWKS,
      clientRequestToken: "jwks-retry-1",
    });
    await root.call("updateOpenIdConnectProviderJwks", { openIdConnectProviderArn: arn, jwksJson: rotated });
    const retried = await root.call("updateOpenIdConnectProviderJwks", {
      openIdConnectProviderArn: arn,
      jwksJson: JWKS,
      clientRequestToken: "jwks-retry-1",
    });
    expect(retried.revision.revision).toBe(first.revision.revision);
    expect((await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn })).jwksJson).toBe(rotated);

    await root.call("deleteOpenIdConnectProvider", { openIdConnectProviderArn: arn });
  });

  it("AWS's default quotas: 100 client ids and 5 thumbprints per provider, on every path", async () => {
    const { root, accountId } = f;
    const arn = `arn:aws:iam::${accountId}:oidc-provider/full.example.com`;
    const clientIds = Array.from({ length: 100 }, (_, i) => `c${i}`);
    const thumbprints = Array.from({ length: 5 }, (_, i) => String(i).repeat(40));
    await root.call("createOpenIdConnectProvider", {
      url: "https://full.example.com",
      clientIdList: clientIds,
      thumbprintList: thumbprints,
    });
    const oneMore = await expectFailure(
      root.call("addClientIdToOpenIdConnectProvider", { openIdConnectProviderArn: arn, clientId: "c100" }),
      { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "clientId" },
    );
    expect(oneMore.details).toContain("quota 100");
    // A client id already there is no addition, even at the quota.
    await root.call("addClientIdToOpenIdConnectProvider", { openIdConnectProviderArn: arn, clientId: "c0" });
    const sixThumbprints = await expectFailure(
      root.call("updateOpenIdConnectProviderThumbprint", {
        openIdConnectProviderArn: arn,
        thumbprintList: [...thumbprints, "f".repeat(40)],
      }),
      { code: status.RESOURCE_EXHAUSTED, awsName: "LimitExceeded", field: "thumbprintList" },
    );
    expect(sixThumbprints.details).toContain("quota 5");
    const got = await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn });
    expect([got.clientIdList, got.thumbprintList]).toEqual([clientIds, thumbprints]);
    await root.call("deleteOpenIdConnectProvider", { openIdConnectProviderArn: arn });
  });

  it("rejects bad URLs, lists and JWKS documents with AWS's errors", async () => {
    const { root } = f;
    const cases: FailureCase[] = [
      [{ url: "http://issuer.example.com" }, status.INVALID_ARGUMENT, "InvalidInput", "url"],
      [{ url: "https://issuer.example.com/?a=b" }, status.INVALID_ARGUMENT, "InvalidInput", "url"],
      [{ url: "https://issuer.example.com/#x" }, status.INVALID_ARGUMENT, "InvalidInput", "url"],
      [{ url: `https://${"a".repeat(250)}.com` }, status.INVALID_ARGUMENT, "ValidationError", "url"],
      [
        { url: "https://i.example.com", clientIdList: Array.from({ length: 101 }, (_, i) => `c${i}`) },
        status.RESOURCE_EXHAUSTED,
        "LimitExceeded",
        "clientIdList",
      ],
      [
        { url: "https://i.example.com", clientIdList: ["x".repeat(256)] },
        status.INVALID_ARGUMENT,
        "ValidationError",
        "clientIdList[0]",
      ],
      [
        { url: "https://i.example.com", thumbprintList: Array.from({ length: 6 }, (_, i) => String(i).repeat(40)) },
        status.RESOURCE_EXHAUSTED,
        "LimitExceeded",
        "thumbprintList",
      ],
      [
        { url: "https://i.example.com", thumbprintList: ["xyz"] },
        status.INVALID_ARGUMENT,
        "ValidationError",
        "thumbprintList[0]",
      ],
      [{ url: "https://i.example.com", jwksJson: "{not json" }, status.INVALID_ARGUMENT, "InvalidInput", "jwksJson"],
      [{ url: "https://i.example.com", jwksJson: '{"k":[]}' }, status.INVALID_ARGUMENT, "InvalidInput", "jwksJson"],
      // Without a document the control plane would fetch the keys: never from inside (SSRF).
      [{ url: "https://169.254.169.254/latest" }, status.INVALID_ARGUMENT, "InvalidInput", "url"],
      [{ url: "https://127.0.0.1:1" }, status.INVALID_ARGUMENT, "InvalidInput", "url"],
      [{ url: "https://localhost" }, status.INVALID_ARGUMENT, "InvalidInput", "url"],
      [{ url: "https://10.0.0.1" }, status.INVALID_ARGUMENT, "InvalidInput", "url"],
      [{ url: "https://[fd00::1]" }, status.INVALID_ARGUMENT, "InvalidInput", "url"],
      [
        { url: "https://i.example.com", jwksJson: '{"keys":[{"kid":"x"}]}' },
        status.INVALID_ARGUMENT,
        "InvalidInput",
        "jwksJson",
      ],
    ];
    await expectEachFails(root, "createOpenIdConnectProvider", cases);
    await expectFailure(root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: "nope" }), {
      awsName: "InvalidInput",
      field: "openIdConnectProviderArn",
    });
  });

  it("refuses provider and policy ARNs of another partition than the control plane's (aws)", async () => {
    const { root, accountId } = f;
    await root.call("createOpenIdConnectProvider", { url: "https://cn.example.com" });
    const arn = `arn:aws:iam::${accountId}:oidc-provider/cn.example.com`;
    const cnArn = `arn:aws-cn:iam::${accountId}:oidc-provider/cn.example.com`;
    const field = "openIdConnectProviderArn";
    const cases: [() => Promise<unknown>, string][] = [
      [() => root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: cnArn }), field],
      [() => root.call("deleteOpenIdConnectProvider", { openIdConnectProviderArn: cnArn }), field],
      [
        () => root.call("addClientIdToOpenIdConnectProvider", { openIdConnectProviderArn: cnArn, clientId: "c" }),
        field,
      ],
      [
        () =>
          root.call("updateOpenIdConnectProviderThumbprint", { openIdConnectProviderArn: cnArn, thumbprintList: [] }),
        field,
      ],
      [() => root.call("updateOpenIdConnectProviderJwks", { openIdConnectProviderArn: cnArn, jwksJson: "" }), field],
      [
        () => root.call("tagOpenIdConnectProvider", { entityName: cnArn, tags: [{ key: "k", value: "v" }] }),
        "entityName",
      ],
      [() => root.call("getPolicy", { policyArn: "arn:aws-cn:iam::aws:policy/ReadOnlyAccess" }), "policyArn"],
    ];
    for (const [call, named] of cases) {
      await expectFailure(
        call(),
        {
          code: status.INVALID_ARGUMENT,
          awsName: "InvalidInput",
          field: named,
          details: expect.stringContaining('serves partition "aws"'),
        },
        named,
      );
    }
    // The provider, under its aws ARN, is untouched and still served.
    const got = await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: arn });
    expect([got.url, got.clientIdList, got.tags]).toEqual(["cn.example.com", [], []]);
    await root.call("deleteOpenIdConnectProvider", { openIdConnectProviderArn: arn });
  });

  it("enforces the per-account quota and authorizes iam:<Operation> on the provider ARN", async () => {
    const { root, accountId } = f;
    await root.call("createOpenIdConnectProvider", { url: "https://one.example.com" });
    await root.call("createOpenIdConnectProvider", { url: "https://two.example.com" });
    await expectFailure(root.call("createOpenIdConnectProvider", { url: "https://three.example.com" }), {
      code: status.RESOURCE_EXHAUSTED,
      awsName: "LimitExceeded",
    });

    const reader = await f.aUser("oidc-reader", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: "iam:GetOpenIDConnectProvider",
          Resource: `arn:aws:iam::${accountId}:oidc-provider/one.example.com`,
        }),
      ],
    });
    const one = `arn:aws:iam::${accountId}:oidc-provider/one.example.com`;
    const two = `arn:aws:iam::${accountId}:oidc-provider/two.example.com`;
    const keyKeeper = await f.aUser("oidc-key-keeper", {
      inline: [policyDoc({ Effect: "Allow", Action: "iam:UpdateOpenIDConnectProviderJWKS", Resource: one })],
    });
    await keyKeeper.call("updateOpenIdConnectProviderJwks", { openIdConnectProviderArn: one, jwksJson: JWKS });
    expect((await root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: one })).jwksJson).toBe(JWKS);
    await expectFailure(
      keyKeeper.call("updateOpenIdConnectProviderJwks", { openIdConnectProviderArn: two, jwksJson: JWKS }),
      { code: status.PERMISSION_DENIED, awsName: "AccessDenied" },
    );
    expect((await reader.call("getOpenIdConnectProvider", { openIdConnectProviderArn: one })).url).toBe(
      "one.example.com",
    );
    for (const call of [
      () => reader.call("getOpenIdConnectProvider", { openIdConnectProviderArn: two }),
      () => reader.call("deleteOpenIdConnectProvider", { openIdConnectProviderArn: one }),
      () => reader.call("updateOpenIdConnectProviderJwks", { openIdConnectProviderArn: one, jwksJson: "" }),
      () => reader.call("listOpenIdConnectProviders", {}),
      () => reader.call("createOpenIdConnectProvider", { url: "https://mine.example.com" }),
    ]) {
      await expectFailure(call(), { code: status.PERMISSION_DENIED, awsName: "AccessDenied" });
    }
    const elsewhere = await f.anotherAccount();
    const foreign = await failureOf(elsewhere.root.call("getOpenIdConnectProvider", { openIdConnectProviderArn: one }));
    expect(foreign.code === status.NOT_FOUND || foreign.code === status.PERMISSION_DENIED).toBe(true);
  });
});
