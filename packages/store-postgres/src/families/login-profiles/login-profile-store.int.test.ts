import { randomBytes } from "node:crypto";
import { IamError } from "@gatehouse/core";
import { createTestSchema, iamErrorOf, type TestSchema } from "@gatehouse/testkit";
import { verify } from "@node-rs/argon2";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore, type PasswordPolicyRecord } from "../../index.ts";

const POLICY: PasswordPolicyRecord = {
  minimumPasswordLength: 8,
  requireSymbols: false,
  requireNumbers: false,
  requireUppercaseCharacters: false,
  requireLowercaseCharacters: false,
  allowUsersToChangePassword: true,
  maxPasswordAge: 0,
  passwordReusePrevention: 5,
  hardExpiry: false,
};

function failure(r: PromiseSettledResult<unknown>): IamError {
  if (r.status === "fulfilled") throw new Error("expected a failure");
  if (!IamError.is(r.reason)) throw r.reason;
  return r.reason;
}

// Password writes check the new password (policy, reuse of the last N hashes) before their
// transaction, since argon2 must not run under the account lock. These tests make the calls
// genuinely concurrent: the account's row lock is held while they start, so every call checks
// against the same state and then queues for the lock, as two requests arriving together would.
describe("login profiles under concurrent password writes (real Postgres)", () => {
  let testSchema: TestSchema;
  let store: IamStore;
  let accountId: string;

  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "pwrace", migrated: true });
    store = createPostgresStore({
      connectionString: testSchema.databaseUrl,
      schema: testSchema.name,
      secretKey: randomBytes(32),
      poolSize: 10,
    });
    await store.migrate();
    accountId = (await store.createAccount({})).accountId;
    await store.updatePasswordPolicy(accountId, POLICY);
  });
  afterAll(async () => {
    await store.close();
    await testSchema.drop();
  });

  /** Starts `calls` while the account is locked; lets them go once all of them wait for the lock. */
  async function raced<T>(calls: (() => Promise<T>)[]): Promise<PromiseSettledResult<T>[]> {
    const locker = new pg.Client({ connectionString: testSchema.databaseUrl });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`SELECT 1 FROM ${testSchema.name}.accounts WHERE account_id = $1 FOR UPDATE`, [accountId]);
      const settled = Promise.allSettled(calls.map((call) => call()));
      // Polled outside the locker's transaction, which would keep seeing its first snapshot.
      const waiting = async () =>
        (
          await store.pool.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE '%UPDATE accounts SET revision%' AND query LIKE $1`,
            [`%${accountId}%`],
          )
        ).rows[0]?.n;
      await expect.poll(waiting, { timeout: 30_000, interval: 20 }).toBe(calls.length);
      await locker.query("COMMIT");
      return await settled;
    } finally {
      await locker.end();
    }
  }

  const userWithPassword = async (userName: string, password: string) => {
    const user = (await store.createUser(accountId, { userName })).value;
    await store.createLoginProfile(accountId, userName, { password, passwordResetRequired: false });
    return user.userId;
  };
  const storedHashes = async (userId: string) => {
    const r = await store.pool.query<{ h: string }>(
      `SELECT password_hash AS h FROM login_profiles WHERE user_id = $1
       UNION ALL SELECT password_hash FROM password_history WHERE user_id = $1`,
      [userId],
    );
    return r.rows.map((x) => x.h);
  };
  const historyLength = async (userId: string) =>
    (
      await store.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM password_history WHERE user_id = $1", [
        userId,
      ])
    ).rows[0]?.n;
  /** The user's current password is `password`: a change from it is accepted. */
  const isCurrent = async (userName: string, password: string, next: string) =>
    store.changePassword(accountId, userName, password, next).then(
      () => true,
      (e: unknown) => {
        if (IamError.is(e) && e.field === "oldPassword") return false;
        throw e;
      },
    );

  it("the same new password from concurrent UpdateLoginProfile calls is set once; reuse prevention refuses the rest", async () => {
    const userId = await userWithPassword("same", "Initial-Pass-1");
    const results = await raced(
      [1, 2, 3].map(() => () => store.updateLoginProfile(accountId, "same", { password: "Same-New-Pass-2" })),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((x) => x.status === "rejected")) {
      const e = failure(r);
      expect([e.awsName, e.field]).toEqual(["PasswordPolicyViolation", "PasswordReusePrevention"]);
    }
    // One change: the first password in the history, the new one current, no repeats.
    expect(await historyLength(userId)).toBe(1);
    expect(await isCurrent("same", "Same-New-Pass-2", "Third-Pass-3")).toBe(true);
  });

  it("concurrent ChangePassword calls with the same old password: one wins, the other is told the old one changed", async () => {
    const userId = await userWithPassword("changer", "Old-Pass-1");
    const wanted = ["New-Pass-A-1", "New-Pass-B-2"];
    const results = await raced(
      wanted.map((next) => () => store.changePassword(accountId, "changer", "Old-Pass-1", next)),
    );
    const won = results.findIndex((r) => r.status === "fulfilled");
    expect(won).toBeGreaterThanOrEqual(0);
    const lost = failure(results[1 - won] as PromiseSettledResult<unknown>);
    expect([lost.awsName, lost.field]).toEqual(["InvalidInput", "oldPassword"]);
    expect(lost.message).toContain("a concurrent request changed it");
    // No lost update: the winner's password is the current one, the loser's never was.
    expect(await historyLength(userId)).toBe(1);
    expect(await isCurrent("changer", wanted[1 - won] as string, "Whatever-Pass-9")).toBe(false);
    expect(await isCurrent("changer", wanted[won] as string, "Final-Pass-3")).toBe(true);
  });

  it("ChangePassword racing an administrator's reset never overwrites it with a password checked against the old state", async () => {
    const userId = await userWithPassword("reset", "Old-Pass-1");
    const [change, reset] = await raced<unknown>([
      () => store.changePassword(accountId, "reset", "Old-Pass-1", "User-Pass-2"),
      () => store.updateLoginProfile(accountId, "reset", { password: "Admin-Pass-3", passwordResetRequired: true }),
    ]);
    // The administrator's write always lands, before or after the user's; the user's only lands
    // if it came first (its old password is not current after the reset).
    expect(reset?.status).toBe("fulfilled");
    if (change?.status === "rejected") {
      expect([failure(change).awsName, failure(change).field]).toEqual(["InvalidInput", "oldPassword"]);
    }
    expect(await historyLength(userId)).toBe(change?.status === "fulfilled" ? 2 : 1);
    expect((await store.getLoginProfile(accountId, "reset")).passwordResetRequired).toBe(true);
    expect(await isCurrent("reset", "Admin-Pass-3", "After-Pass-4")).toBe(true);
  });

  it("distinct new passwords from concurrent calls all land, one after the other, none lost", async () => {
    const userId = await userWithPassword("many", "Start-Pass-0");
    const passwords = ["Many-Pass-1", "Many-Pass-2", "Many-Pass-3"];
    const results = await raced(
      passwords.map((password) => () => store.updateLoginProfile(accountId, "many", { password })),
    );
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    const revisions = results.map((r) => (r.status === "fulfilled" ? r.value.revision : 0));
    expect(new Set(revisions).size).toBe(3);
    // Every password is stored exactly once (current or history), the start one too.
    const hashes = await storedHashes(userId);
    expect(hashes).toHaveLength(4);
    for (const password of ["Start-Pass-0", ...passwords]) {
      const matches = await Promise.all(hashes.map((h) => verify(h, password)));
      expect(matches.filter(Boolean), password).toHaveLength(1);
    }
    const last = passwords[revisions.indexOf(Math.max(...revisions))] as string;
    expect(await isCurrent("many", last, "Later-Pass-4")).toBe(true);
  });

  it("a concurrent CreateLoginProfile pair: one profile, the other EntityAlreadyExists", async () => {
    await store.createUser(accountId, { userName: "twice" });
    const results = await raced(
      ["Create-Pass-1", "Create-Pass-2"].map(
        (password) => () => store.createLoginProfile(accountId, "twice", { password, passwordResetRequired: false }),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const e = failure(results.find((r) => r.status === "rejected") as PromiseSettledResult<unknown>);
    expect([e.awsName, e.field]).toEqual(["EntityAlreadyExists", "userName"]);
  });

  it("a retried password write (same client request token) returns the first result instead of failing reuse prevention", async () => {
    await userWithPassword("retry", "Retry-Pass-1");
    const first = await store.updateLoginProfile(accountId, "retry", {
      password: "Retry-Pass-2",
      clientRequestToken: "retry-update-1",
    });
    const again = await store.updateLoginProfile(accountId, "retry", {
      password: "Retry-Pass-2",
      clientRequestToken: "retry-update-1",
    });
    expect(again.revision).toBe(first.revision);
    const changed = await store.changePassword(accountId, "retry", "Retry-Pass-2", "Retry-Pass-3", {
      clientRequestToken: "retry-change-1",
    });
    const changedAgain = await store.changePassword(accountId, "retry", "Retry-Pass-2", "Retry-Pass-3", {
      clientRequestToken: "retry-change-1",
    });
    expect(changedAgain.revision).toBe(changed.revision);
    // Without a token the same request is checked again, and refused.
    const reused = await store.updateLoginProfile(accountId, "retry", { password: "Retry-Pass-3" }).catch((e) => e);
    expect([reused.awsName, reused.field]).toEqual(["PasswordPolicyViolation", "PasswordReusePrevention"]);
  });

  it("a deleted login profile's password stays in the history: re-creating the profile with it is refused", async () => {
    const userId = await userWithPassword("recreated", "Recreated-Pass-1");
    await store.deleteLoginProfile(accountId, "recreated");
    expect(await historyLength(userId)).toBe(1);
    const again = await iamErrorOf(
      store.createLoginProfile(accountId, "recreated", { password: "Recreated-Pass-1", passwordResetRequired: false }),
    );
    expect([again.awsName, again.field]).toEqual(["PasswordPolicyViolation", "PasswordReusePrevention"]);
    await store.createLoginProfile(accountId, "recreated", {
      password: "Recreated-Pass-2",
      passwordResetRequired: false,
    });
    expect(await isCurrent("recreated", "Recreated-Pass-2", "Recreated-Pass-3")).toBe(true);
  });
});
