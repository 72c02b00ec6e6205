import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxCompactor } from "./outbox-compactor.ts";
import {
  type AccountFixture,
  policyDoc,
  startAccountFixture,
  type TestClient,
  totp,
} from "./test-account.int-helper.ts";
import { failureOf } from "./test-client.int-helper.ts";
import { silentLogger } from "./test-env.int-helper.ts";

// Through the service: tokens belong to the calling principal, last GATEHOUSE_CP_CLIENT_TOKEN_TTL
// seconds, and a replay of a secret-returning create answers without the secret.
describe("client request tokens through the service (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  let alice: TestClient;
  let bob: TestClient;
  const admin = policyDoc({ Effect: "Allow", Action: "iam:*", Resource: "*" });

  beforeAll(async () => {
    f = await startAccountFixture({ GATEHOUSE_CP_CLIENT_TOKEN_TTL: "120" });
    alice = await f.aUser("tok-alice", { inline: [admin] });
    bob = await f.aUser("tok-bob", { inline: [admin] });
  });
  afterAll(async () => {
    await f.close();
  });

  it("scopes a token to its caller: another user's same token creates its own key, and nobody gets a secret twice", async () => {
    const first = await alice.call("createAccessKey", { userName: "", clientRequestToken: "key-token-1" });
    expect(first.secretAccessKey).toHaveLength(40);
    const replay = await alice.call("createAccessKey", { userName: "", clientRequestToken: "key-token-1" });
    expect(replay.accessKey).toEqual(first.accessKey);
    expect(replay.secretAccessKey).toBe("");
    expect(replay.revision).toEqual(first.revision);
    // Bob knows alice's token: he gets a call of his own, not alice's key (nor its secret).
    const bobs = await bob.call("createAccessKey", { userName: "", clientRequestToken: "key-token-1" });
    expect(bobs.accessKey.userName).toBe("tok-bob");
    expect(bobs.accessKey.accessKeyId).not.toBe(first.accessKey.accessKeyId);
    expect(bobs.secretAccessKey).toHaveLength(40);
    // For a third user's key too: the root's token is not bob's, though the request is the same.
    await f.root.call("createUser", { userName: "tok-carol" });
    const byBob = await bob.call("createAccessKey", { userName: "tok-carol", clientRequestToken: "key-token-2" });
    const byRoot = await f.root.call("createAccessKey", { userName: "tok-carol", clientRequestToken: "key-token-2" });
    expect(byRoot.accessKey.accessKeyId).not.toBe(byBob.accessKey.accessKeyId);
    expect(byRoot.secretAccessKey).toHaveLength(40);
    const rows = await f.h.cp.store.pool.query<{ caller: string; ttl: number }>(
      `SELECT caller, extract(epoch FROM expires_at - created_at)::int AS ttl
         FROM idempotency_tokens WHERE token IN ('key-token-1', 'key-token-2') ORDER BY created_at`,
    );
    const users = await f.h.cp.store.pool.query<{ user_name: string; user_id: string }>(
      "SELECT user_name, user_id FROM users WHERE user_name IN ('tok-alice', 'tok-bob')",
    );
    const id = Object.fromEntries(users.rows.map((u) => [u.user_name, u.user_id]));
    expect(rows.rows).toEqual([
      { caller: `user:${id["tok-alice"]}`, ttl: 120 },
      { caller: `user:${id["tok-bob"]}`, ttl: 120 },
      { caller: `user:${id["tok-bob"]}`, ttl: 120 },
      { caller: "root", ttl: 120 },
    ]);
  });

  it("a replayed CreateVirtualMFADevice answers the serial number without seed or otpauth URI", async () => {
    const request = { virtualMfaDeviceName: "tok-phone", path: "/", clientRequestToken: "mfa-token-1" };
    const first = await alice.call("createVirtualMfaDevice", request);
    expect(first.base32StringSeed).toMatch(/^[A-Z2-7]{16,}$/);
    expect(first.otpauthUri).toContain(first.base32StringSeed);
    const replay = await alice.call("createVirtualMfaDevice", request);
    expect(replay).toMatchObject({ serialNumber: first.serialNumber, base32StringSeed: "", otpauthUri: "" });

    // EnableMFADevice's codes are part of the request: the same token with other codes is refused.
    const now = Math.floor(Date.now() / 1000);
    const enable = {
      userName: "tok-alice",
      serialNumber: first.serialNumber,
      authenticationCode1: totp(first.base32StringSeed, now - 30),
      authenticationCode2: totp(first.base32StringSeed, now),
      clientRequestToken: "enable-token-1",
    };
    const enabled = await alice.call("enableMfaDevice", enable);
    expect((await alice.call("enableMfaDevice", enable)).revision).toEqual(enabled.revision);
    const otherCodes = await failureOf(
      alice.call("enableMfaDevice", {
        ...enable,
        authenticationCode1: totp(first.base32StringSeed, now - 60),
        authenticationCode2: totp(first.base32StringSeed, now - 30),
      }),
    );
    expect([otherCodes.awsName, otherCodes.field]).toEqual(["InvalidInput", "clientRequestToken"]);
  });

  it("the operator's tokens are the operator's (operator-only operations run in its scope too)", async () => {
    const policyArn = (
      await f.root.call("createPolicy", {
        policyName: "tok-guard",
        policyDocument: policyDoc({ Effect: "Deny", Action: "iam:DeleteAccountAlias", Resource: "*" }),
      })
    ).policy.arn;
    const request = { accountId: f.accountId, policyArn, clientRequestToken: "guard-token-1" };
    const first = await f.operator.call("attachAccountGuardrail", request);
    expect((await f.operator.call("attachAccountGuardrail", request)).revision).toEqual(first.revision);
    const rows = await f.h.cp.store.pool.query("SELECT caller FROM idempotency_tokens WHERE token = 'guard-token-1'");
    expect(rows.rows).toEqual([{ caller: "operator" }]);
    // Guardrails allow only what they allow (like SCPs): gone again for the next test.
    await f.operator.call("detachAccountGuardrail", { accountId: f.accountId, policyArn });
  });

  it("the control plane's compaction timer prunes expired tokens", async () => {
    await alice.call("createGroup", { groupName: "tok-pruned", path: "/", clientRequestToken: "prune-me" });
    const pool = f.h.cp.store.pool;
    await pool.query("UPDATE idempotency_tokens SET expires_at = now() - interval '1 second' WHERE token = 'prune-me'");
    const compactor = createOutboxCompactor({ store: f.h.cp.store, logger: silentLogger, retentionSeconds: 86_400 });
    await compactor.runOnce();
    expect((await pool.query("SELECT 1 FROM idempotency_tokens WHERE token = 'prune-me'")).rowCount).toBe(0);
    expect((await pool.query("SELECT 1 FROM idempotency_tokens WHERE token = 'key-token-1'")).rowCount).toBe(2);
  });
});
