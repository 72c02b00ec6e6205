import { status } from "@grpc/grpc-js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

const NEVER = { lastUsedDateMs: 0, serviceName: "N/A", region: "N/A" };
const UNKNOWN_KEY = `AKIA${"Z".repeat(16)}`;

/** Revision and outbox size of an account: last use must change neither. */
async function iamState(f: AccountFixture) {
  const r = await f.h.cp.store.pool.query(
    "SELECT revision, (SELECT count(*)::int FROM outbox WHERE account_id = $1) AS events FROM accounts WHERE account_id = $1",
    [f.accountId],
  );
  return r.rows[0];
}

async function keyOf(f: AccountFixture, userName: string): Promise<string> {
  return (await f.root.call("listAccessKeys", { userName })).accessKeys[0].accessKeyId;
}

async function lastUsedAt(pool: pg.Pool | pg.Client, accessKeyId: string): Promise<Date | null> {
  const r = await pool.query("SELECT last_used_at FROM access_keys WHERE access_key_id = $1", [accessKeyId]);
  return r.rows[0].last_used_at;
}

describe("GetAccessKeyLastUsed (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({ GATEHOUSE_CP_ACCESS_KEY_LAST_USED_FLUSH_MS: "200" });
  });
  afterAll(async () => {
    await f.close();
  });

  const selfOnly = () =>
    policyDoc({
      Effect: "Allow",
      Action: ["iam:GetAccessKeyLastUsed", "iam:ListAccessKeys"],
      Resource: `arn:aws:iam::${f.accountId}:user/\${aws:username}`,
    });

  it('"N/A" until used; then the time, service and region of the last call, in ListAccessKeys too; no revision, no event', async () => {
    const reader = await f.aUser("lu-reader", { inline: [selfOnly()] });
    const id = await keyOf(f, "lu-reader");
    expect(await f.root.call("getAccessKeyLastUsed", { accessKeyId: id })).toEqual({
      userName: "lu-reader",
      accessKeyLastUsed: NEVER,
    });
    const before = await iamState(f);
    const t0 = Date.now();
    // A user reads its own key's last use with a policy on user/${aws:username}, as in AWS.
    expect((await reader.call("getAccessKeyLastUsed", { accessKeyId: id })).userName).toBe("lu-reader");
    await vi.waitFor(async () => expect(await lastUsedAt(f.h.cp.store.pool, id)).not.toBeNull(), {
      timeout: 10_000,
      interval: 50,
    });
    const got = await f.root.call("getAccessKeyLastUsed", { accessKeyId: id });
    expect(got.accessKeyLastUsed).toMatchObject({ serviceName: "iam", region: "us-east-1" });
    expect(Number(got.accessKeyLastUsed.lastUsedDateMs)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(Number(got.accessKeyLastUsed.lastUsedDateMs)).toBeLessThanOrEqual(Date.now());
    const listed = (await reader.call("listAccessKeys", { userName: "" })).accessKeys[0];
    expect(listed).toMatchObject({ accessKeyId: id, lastUsedService: "iam", lastUsedRegion: "us-east-1" });
    // The listing is itself a use of the key: its time is the one read above or a later one.
    expect(Number(listed.lastUsedDateMs)).toBeGreaterThanOrEqual(Number(got.accessKeyLastUsed.lastUsedDateMs));
    expect(Number(listed.lastUsedDateMs)).toBeLessThanOrEqual(Date.now());
    // Last use is not IAM state: no revision, no outbox event (so nothing reaches the regions).
    expect(await iamState(f)).toEqual(before);
  });

  it("root keys answer an empty user name; input, unknown keys and other accounts' keys are refused", async () => {
    const rootKey = (await f.root.call("listAccessKeys", { userName: "" })).accessKeys[0].accessKeyId;
    const rootAnswer = await f.root.call("getAccessKeyLastUsed", { accessKeyId: rootKey });
    expect(rootAnswer.userName).toBe("");
    for (const bad of ["", "AKIA1234", "AKIA-0123456789-ABC", "x".repeat(129)]) {
      await expectFailure(
        f.root.call("getAccessKeyLastUsed", { accessKeyId: bad }),
        { code: status.INVALID_ARGUMENT, awsName: "ValidationError", field: "accessKeyId" },
        bad,
      );
    }
    await expectFailure(f.root.call("getAccessKeyLastUsed", { accessKeyId: UNKNOWN_KEY }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
      field: "accessKeyId",
    });
    const other = await f.anotherAccount();
    await expectFailure(other.root.call("getAccessKeyLastUsed", { accessKeyId: rootKey }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
      field: "accessKeyId",
    });
  });

  it("authorizes on the key's user: own keys with a self policy, others' AccessDenied, unknown keys only with user/*", async () => {
    const self = await f.aUser("lu-self", { inline: [selfOnly()] });
    await f.aUser("lu-other");
    const nobody = await f.aUser("lu-nobody");
    const auditor = await f.aUser("lu-auditor", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: "iam:GetAccessKeyLastUsed",
          Resource: `arn:aws:iam::${f.accountId}:user/*`,
        }),
      ],
    });
    const own = await keyOf(f, "lu-self");
    const others = await keyOf(f, "lu-other");
    expect((await self.call("getAccessKeyLastUsed", { accessKeyId: own })).userName).toBe("lu-self");
    for (const [who, client, key] of [
      ["self on another user's key", self, others],
      ["self on an unknown key (existence is not revealed)", self, UNKNOWN_KEY],
      ["a user without permission on its own key", nobody, await keyOf(f, "lu-nobody")],
    ] as const) {
      await expectFailure(
        client.call("getAccessKeyLastUsed", { accessKeyId: key }),
        { code: status.PERMISSION_DENIED, awsName: "AccessDenied" },
        who,
      );
    }
    expect((await auditor.call("getAccessKeyLastUsed", { accessKeyId: others })).userName).toBe("lu-other");
    await expectFailure(auditor.call("getAccessKeyLastUsed", { accessKeyId: UNKNOWN_KEY }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
    });
  });
});

describe("access keys' last use is written in batches, not on the call's path (real Postgres + Kafka)", () => {
  it("no write while calls are served; the last uses in memory are written at shutdown", async () => {
    // An interval far beyond the test: only the shutdown flush can write.
    const f = await startAccountFixture({ GATEHOUSE_CP_ACCESS_KEY_LAST_USED_FLUSH_MS: "3600000" });
    const observer = new pg.Client({ connectionString: f.h.databaseUrl });
    try {
      const user = await f.aUser("lu-busy", {
        inline: [policyDoc({ Effect: "Allow", Action: "iam:*", Resource: "*" })],
      });
      const id = await keyOf(f, "lu-busy");
      for (let i = 0; i < 20; i++) await user.call("getAccessKeyLastUsed", { accessKeyId: id });
      expect(await lastUsedAt(f.h.cp.store.pool, id)).toBeNull();
      expect((await user.call("getAccessKeyLastUsed", { accessKeyId: id })).accessKeyLastUsed).toEqual(NEVER);
      await observer.connect();
      await observer.query(`SET search_path = ${f.h.schema}`);
      const beforeClose = Date.now();
      await f.h.cp.close();
      const at = await lastUsedAt(observer, id);
      expect(at).not.toBeNull();
      expect(at?.getTime()).toBeLessThanOrEqual(beforeClose);
    } finally {
      await observer.end();
      await f.close();
    }
  });
});
