import { randomBytes } from "node:crypto";
import { createTestSchema, iamErrorOf, type TestSchema } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore } from "./index.ts";

// Client request tokens on real Postgres: scoped to the caller, expiring, pruned, never a way to
// get a secret again, and keyed on every field of the request (passwords only through an HMAC).
describe("client request tokens (real Postgres)", () => {
  let schema: TestSchema;
  let store: IamStore;
  let accountId: string;
  const TTL = 3600;
  const alice = { callerId: "user:AIDAALICE" };
  const bob = { callerId: "user:AIDABOB" };

  beforeAll(async () => {
    schema = await createTestSchema({ prefix: "tokens", migrated: true });
    store = createPostgresStore({
      connectionString: schema.databaseUrl,
      schema: schema.name,
      secretKey: randomBytes(32),
      clientTokenTtlSeconds: TTL,
    });
    await store.migrate();
    accountId = (await store.createAccount({})).accountId;
  });
  afterAll(async () => {
    await store.close();
    await schema.drop();
  });

  /** Moves a token's expiry into the past, as if its lifetime had gone by. */
  const expire = async (token: string) => {
    const r = await store.pool.query(
      "UPDATE idempotency_tokens SET expires_at = now() - interval '1 second' WHERE token = $1",
      [token],
    );
    expect(r.rowCount).toBeGreaterThan(0);
  };

  it("a token is its caller's: another caller's reuse is a new request, neither a replay nor a mismatch", async () => {
    // A single-call write (SQL function) and a TypeScript one (mutate).
    const a = await store.createUser(accountId, { userName: "scoped-a", clientRequestToken: "shared-1", ...alice });
    const b = await store.createUser(accountId, { userName: "scoped-b", clientRequestToken: "shared-1", ...bob });
    expect([a.value.userName, b.value.userName]).toEqual(["scoped-a", "scoped-b"]);
    expect(b.revision).toBeGreaterThan(a.revision);
    // Each caller's replay still answers its own first call.
    const again = await store.createUser(accountId, { userName: "scoped-a", clientRequestToken: "shared-1", ...alice });
    expect([again.value.userId, again.revision]).toEqual([a.value.userId, a.revision]);
    // Bob sending alice's exact request with her token runs it (and finds the user there).
    const bobAsAlice = await iamErrorOf(
      store.createUser(accountId, { userName: "scoped-a", clientRequestToken: "shared-1", ...bob }),
    );
    expect(bobAsAlice.awsName).toBe("InvalidInput"); // bob's own token: used for scoped-b
    const carol = await iamErrorOf(
      store.createUser(accountId, { userName: "scoped-a", clientRequestToken: "shared-1", callerId: "user:AIDACAROL" }),
    );
    expect(carol.awsName).toBe("EntityAlreadyExists");

    const g1 = await store.createGroup(accountId, {
      groupName: "scoped-g",
      path: "/",
      clientRequestToken: "shared-2",
      ...alice,
    });
    const g2 = await iamErrorOf(
      store.createGroup(accountId, { groupName: "scoped-g", path: "/", clientRequestToken: "shared-2", ...bob }),
    );
    expect(g2.awsName).toBe("EntityAlreadyExists");
    const rows = await store.pool.query(
      "SELECT caller FROM idempotency_tokens WHERE token = 'shared-1' ORDER BY caller",
    );
    expect(rows.rows.map((r) => r.caller)).toEqual(["user:AIDAALICE", "user:AIDABOB"]);
    expect(g1.value.groupName).toBe("scoped-g");
  });

  it("tokens expire after clientTokenTtlSeconds: an expired token runs its request again", async () => {
    await store.createUser(accountId, { userName: "exp-u", clientRequestToken: "exp-1", ...alice });
    await store.createGroup(accountId, { groupName: "exp-g", path: "/", clientRequestToken: "exp-2", ...alice });
    const lifetimes = await store.pool.query<{ s: number }>(
      "SELECT extract(epoch FROM expires_at - created_at)::int AS s FROM idempotency_tokens WHERE token IN ('exp-1', 'exp-2')",
    );
    expect(lifetimes.rows.map((r) => r.s)).toEqual([TTL, TTL]);
    // Within the lifetime: replays. Past it: the call runs (and finds the entity it created).
    await store.createUser(accountId, { userName: "exp-u", clientRequestToken: "exp-1", ...alice });
    await expire("exp-1");
    await expire("exp-2");
    expect(
      (await iamErrorOf(store.createUser(accountId, { userName: "exp-u", clientRequestToken: "exp-1", ...alice })))
        .awsName,
    ).toBe("EntityAlreadyExists");
    expect(
      (
        await iamErrorOf(
          store.createGroup(accountId, { groupName: "exp-g", path: "/", clientRequestToken: "exp-2", ...alice }),
        )
      ).awsName,
    ).toBe("EntityAlreadyExists");
    // An expired token may be reused for another request.
    const reused = await store.createUser(accountId, { userName: "exp-v", clientRequestToken: "exp-1", ...alice });
    expect(reused.value.userName).toBe("exp-v");
  });

  it("expired tokens are pruned, live ones kept", async () => {
    await store.createUser(accountId, { userName: "prune-1", clientRequestToken: "prune-1", ...alice });
    await store.createUser(accountId, { userName: "prune-2", clientRequestToken: "prune-2", ...alice });
    await store.createUser(accountId, { userName: "prune-3", clientRequestToken: "prune-3", ...alice });
    await expire("prune-1");
    await expire("prune-2");
    const before = await store.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM idempotency_tokens WHERE expires_at <= now()",
    );
    expect(await store.pruneClientRequestTokens(1)).toBe(before.rows[0]?.n);
    const left = await store.pool.query("SELECT token FROM idempotency_tokens WHERE token LIKE 'prune-%'");
    expect(left.rows.map((r) => r.token)).toEqual(["prune-3"]);
    expect(await store.pruneClientRequestTokens(100)).toBe(0);
  });

  it("a replayed CreateAccessKey, CreateVirtualMFADevice or CreateAccount never returns the secret again", async () => {
    await store.createUser(accountId, { userName: "keyed" });
    const key = await store.createAccessKey(accountId, "keyed", { clientRequestToken: "key-1", ...alice });
    const keyAgain = await store.createAccessKey(accountId, "keyed", { clientRequestToken: "key-1", ...alice });
    expect(key.value.secretAccessKey).toHaveLength(40);
    expect(keyAgain.value).toEqual({ accessKey: key.value.accessKey, secretAccessKey: "" });
    expect(keyAgain.revision).toBe(key.revision);

    const mfa = await store.createVirtualMfaDevice(accountId, {
      deviceName: "d1",
      path: "/",
      clientRequestToken: "mfa-1",
      ...alice,
    });
    const mfaAgain = await store.createVirtualMfaDevice(accountId, {
      deviceName: "d1",
      path: "/",
      clientRequestToken: "mfa-1",
      ...alice,
    });
    expect(mfa.value.base32StringSeed).toMatch(/^[A-Z2-7]{16,}$/);
    expect(mfaAgain.value).toEqual({ serialNumber: mfa.value.serialNumber, base32StringSeed: "" });

    const account = await store.createAccount({ clientRequestToken: "acct-1" });
    const accountAgain = await store.createAccount({ clientRequestToken: "acct-1" });
    expect(account.value.rootAccessKey.secretAccessKey).toHaveLength(40);
    expect(accountAgain.value.account.accountId).toBe(account.value.account.accountId);
    expect(accountAgain.value.rootAccessKey).toEqual({ ...account.value.rootAccessKey, secretAccessKey: "" });
    // Nothing secret is kept with any token.
    const kept = await store.pool.query<{ r: string }>("SELECT response::text AS r FROM idempotency_tokens");
    for (const secret of [
      key.value.secretAccessKey,
      mfa.value.base32StringSeed,
      account.value.rootAccessKey.secretAccessKey,
    ]) {
      for (const row of kept.rows) expect(row.r).not.toContain(secret);
    }
  });

  it("the request hash covers passwords (keyed): a reused token with another password is a different request", async () => {
    await store.createUser(accountId, { userName: "pw" });
    await store.createLoginProfile(accountId, "pw", {
      password: "first-Password-1",
      passwordResetRequired: false,
      clientRequestToken: "pw-1",
      ...alice,
    });
    // The same password replays; another one is refused as a mismatch, not "succeeded" unset.
    await store.createLoginProfile(accountId, "pw", {
      password: "first-Password-1",
      passwordResetRequired: false,
      clientRequestToken: "pw-1",
      ...alice,
    });
    const other = await iamErrorOf(
      store.createLoginProfile(accountId, "pw", {
        password: "other-Password-2",
        passwordResetRequired: false,
        clientRequestToken: "pw-1",
        ...alice,
      }),
    );
    expect([other.awsName, other.field]).toEqual(["InvalidInput", "clientRequestToken"]);

    await store.updateLoginProfile(accountId, "pw", {
      password: "second-Password-2",
      clientRequestToken: "pw-2",
      ...alice,
    });
    const update = await iamErrorOf(
      store.updateLoginProfile(accountId, "pw", { password: "third-Password-3", clientRequestToken: "pw-2", ...alice }),
    );
    expect([update.awsName, update.field]).toEqual(["InvalidInput", "clientRequestToken"]);

    await store.changePassword(accountId, "pw", "second-Password-2", "fourth-Password-4", {
      clientRequestToken: "pw-3",
      ...alice,
    });
    const change = await iamErrorOf(
      store.changePassword(accountId, "pw", "second-Password-2", "fifth-Password-5", {
        clientRequestToken: "pw-3",
        ...alice,
      }),
    );
    expect([change.awsName, change.field]).toEqual(["InvalidInput", "clientRequestToken"]);
    // The fourth password is the current one: the refused calls set nothing.
    await store.changePassword(accountId, "pw", "fourth-Password-4", "sixth-Password-6");
  });
});
