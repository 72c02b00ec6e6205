import { status } from "@grpc/grpc-js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

const CHANGE_PASSWORD = "arn:aws:iam::aws:policy/IAMUserChangePassword";

describe("login profiles and ChangePassword (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it("Create/Get/Update/DeleteLoginProfile: argon2id hash only, never returned, DeleteConflict on the user", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "lp" });
    const created = await root.call("createLoginProfile", {
      userName: "lp",
      password: "Correct-Horse-9",
      passwordResetRequired: true,
    });
    expect(created.loginProfile).toMatchObject({ userName: "lp", passwordResetRequired: true });
    expect(created.revision.revision).toBeGreaterThan(0);
    expect(JSON.stringify(created)).not.toContain("Correct-Horse-9");
    const stored = await f.h.cp.store.pool.query("SELECT password_hash FROM login_profiles");
    expect(stored.rows[0].password_hash).toMatch(/^\$argon2id\$/);
    await expectFailure(root.call("createLoginProfile", { userName: "lp", password: "Another-Pass-1" }), {
      code: status.ALREADY_EXISTS,
      awsName: "EntityAlreadyExists",
    });
    expect((await root.call("getLoginProfile", { userName: "lp" })).loginProfile.passwordResetRequired).toBe(true);
    await root.call("updateLoginProfile", { userName: "lp", passwordResetRequired: false });
    expect((await root.call("getLoginProfile", { userName: "lp" })).loginProfile.passwordResetRequired).toBe(false);
    await expectFailure(root.call("deleteUser", { userName: "lp" }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
    });
    await root.call("deleteLoginProfile", { userName: "lp" });
    await expectFailure(root.call("getLoginProfile", { userName: "lp" }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
    });
    expect((await failureOf(root.call("deleteLoginProfile", { userName: "lp" }))).awsName).toBe("NoSuchEntity");
    expect(
      (await failureOf(root.call("createLoginProfile", { userName: "ghost", password: "Abcdefg-1" }))).awsName,
    ).toBe("NoSuchEntity");
  });

  it("checks passwords against the account policy, naming the rule (AWS's defaults without one)", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "pp" });
    const weak = await expectFailure(root.call("createLoginProfile", { userName: "pp", password: "short" }), {
      code: status.INVALID_ARGUMENT,
      awsName: "PasswordPolicyViolation",
      field: "MinimumPasswordLength",
    });
    expect(weak.details).not.toContain("short");
    const oneClass = await failureOf(root.call("createLoginProfile", { userName: "pp", password: "alllowercase" }));
    expect(oneClass.field).toBe("CharacterTypes");
    await root.call("updateAccountPasswordPolicy", {
      minimumPasswordLength: 10,
      requireSymbols: true,
      requireNumbers: true,
    });
    await expectFailure(root.call("createLoginProfile", { userName: "pp", password: "abcdefghij1" }), {
      awsName: "PasswordPolicyViolation",
      field: "RequireSymbols",
    });
    const noNumber = await failureOf(root.call("createLoginProfile", { userName: "pp", password: "abcdefghij!" }));
    expect(noNumber.field).toBe("RequireNumbers");
    await root.call("createLoginProfile", { userName: "pp", password: "abcdefghi1!" });
    await expectFailure(root.call("createLoginProfile", { userName: "pp", password: "" }), {
      awsName: "ValidationError",
      field: "password",
    });
    await root.call("deleteAccountPasswordPolicy", {});
  });

  it("ChangePassword: own user only, old password verified, allowed by policy or IAMUserChangePassword, reuse prevention", async () => {
    const { root } = f;
    const withPolicy = await f.aUser("changer", { managed: [CHANGE_PASSWORD] });
    const without = await f.aUser("stuck");
    await root.call("createLoginProfile", { userName: "changer", password: "First-Pass-1" });
    await root.call("createLoginProfile", { userName: "stuck", password: "First-Pass-1" });

    await expectFailure(without.call("changePassword", { oldPassword: "First-Pass-1", newPassword: "Second-Pass-2" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    await expectFailure(
      withPolicy.call("changePassword", { oldPassword: "Not-The-Pass-1", newPassword: "Second-Pass-2" }),
      { awsName: "InvalidInput", field: "oldPassword" },
    );
    const changed = await withPolicy.call("changePassword", {
      oldPassword: "First-Pass-1",
      newPassword: "Second-Pass-2",
    });
    expect(changed.revision.revision).toBeGreaterThan(0);
    await expectFailure(root.call("changePassword", { oldPassword: "a", newPassword: "b" }), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidUserType",
      field: "userName",
    });

    // The account policy can let everyone change their own password, and prevent reuse.
    await root.call("updateAccountPasswordPolicy", { allowUsersToChangePassword: true, passwordReusePrevention: 2 });
    await without.call("changePassword", { oldPassword: "First-Pass-1", newPassword: "Second-Pass-2" });
    await expectFailure(without.call("changePassword", { oldPassword: "Second-Pass-2", newPassword: "First-Pass-1" }), {
      awsName: "PasswordPolicyViolation",
      field: "PasswordReusePrevention",
    });
    const same = await failureOf(
      without.call("changePassword", { oldPassword: "Second-Pass-2", newPassword: "Second-Pass-2" }),
    );
    expect(same.field).toBe("PasswordReusePrevention");
    await without.call("changePassword", { oldPassword: "Second-Pass-2", newPassword: "Third-Pass-3" });
    // Only the last two count: the first one is usable again after two changes.
    await without.call("changePassword", { oldPassword: "Third-Pass-3", newPassword: "Fourth-Pass-4" });
    await without.call("changePassword", { oldPassword: "Fourth-Pass-4", newPassword: "First-Pass-1" });
  });

  it("concurrent ChangePassword calls with the same old password: one wins, the loser's old password is stale", async () => {
    const racer = await f.aUser("racer", { managed: [CHANGE_PASSWORD] });
    await f.root.call("createLoginProfile", { userName: "racer", password: "Race-Old-Pass-1" });
    const { store } = f.h.cp;
    // Both calls check their passwords while a write holds the account lock, then queue for it.
    const locker = new pg.Client({ connectionString: store.options.connectionString });
    await locker.connect();
    const wanted = ["Race-New-Pass-A1", "Race-New-Pass-B2"];
    let results: PromiseSettledResult<unknown>[];
    try {
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM ${store.options.schema}.accounts WHERE account_id = $1 FOR UPDATE`, [
        f.accountId,
      ]);
      const settled = Promise.allSettled(
        wanted.map((newPassword) => racer.call("changePassword", { oldPassword: "Race-Old-Pass-1", newPassword })),
      );
      const waiting = async () =>
        (
          await store.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE accounts SET revision%' AND query LIKE $1`,
            [`%${f.accountId}%`],
          )
        ).rows[0]?.n;
      await expect.poll(waiting, { timeout: 30_000, interval: 20 }).toBe(2);
      await locker.query("COMMIT");
      results = await settled;
    } finally {
      await locker.end();
    }
    const won = results.findIndex((r) => r.status === "fulfilled");
    expect(won).toBeGreaterThanOrEqual(0);
    const lost = await expectFailure(Promise.reject((results[1 - won] as PromiseRejectedResult).reason), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidInput",
      field: "oldPassword",
    });
    expect(lost.details).toContain("concurrent request");
    // The winner's password is the one in force.
    await racer.call("changePassword", { oldPassword: wanted[won], newPassword: "Race-Final-Pass-3" });
  });
});
