import { randomBytes } from "node:crypto";
import { createTestSchema, type TestSchema } from "@gatehouse/testkit";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore } from "../../index.ts";
import { ACCOUNT_USAGE_SQL } from "./account-summary-store.ts";

describe("account usage for GetAccountSummary (real Postgres)", () => {
  let testSchema: TestSchema;
  let store: IamStore;
  let accountId: string;

  beforeAll(async () => {
    testSchema = await createTestSchema({ prefix: "summary", migrated: true });
    store = createPostgresStore({
      connectionString: testSchema.databaseUrl,
      schema: testSchema.name,
      secretKey: randomBytes(32),
    });
    await store.migrate();
    accountId = (await store.createAccount({})).value.account.accountId;
  });
  afterAll(async () => {
    await store.close();
    await testSchema.drop();
  });

  it("counts a new account: its root's first access key, nothing else", async () => {
    expect(await store.getAccountUsage(accountId)).toEqual({
      users: 0,
      groups: 0,
      roles: 0,
      policies: 0,
      policyAttachments: 0,
      instanceProfiles: 0,
      oidcProviders: 0,
      mfaDevices: 0,
      mfaDevicesInUse: 0,
      rootAccessKeys: 1,
    });
    await store.createUser(accountId, { userName: "counted" });
    await store.createAccessKey(accountId, "counted");
    // A user's key is not the root's.
    expect(await store.getAccountUsage(accountId)).toMatchObject({ users: 1, rootAccessKeys: 1 });
  });

  it("counts every kind with an index scan by account (none reads a whole table)", async () => {
    const client = new pg.Client({ connectionString: testSchema.databaseUrl });
    await client.connect();
    try {
      await client.query(`SET search_path = ${testSchema.name}`);
      // Empty tables make a sequential scan the cheapest plan; disabling it shows whether an index
      // by account exists at all (without one the planner has to scan the table anyway).
      await client.query("SET enable_seqscan = off");
      const plan = (await client.query<{ "QUERY PLAN": string }>(`EXPLAIN ${ACCOUNT_USAGE_SQL}`, [accountId])).rows
        .map((r) => r["QUERY PLAN"])
        .join("\n");
      expect(plan).not.toContain("Seq Scan");
      // Every index scanned leads with account_id: an index merely containing it (or one on
      // user_id IS NULL) would be read whole, across all accounts.
      const byAccount = new Set(
        (
          await client.query<{ name: string }>(
            `SELECT c.relname AS name FROM pg_index i
               JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
              WHERE c.relnamespace = $1::regnamespace AND a.attname = 'account_id'`,
            [testSchema.name],
          )
        ).rows.map((r) => r.name),
      );
      const scanned = [...plan.matchAll(/Index (?:Only )?Scan (?:using|on) (\w+)/g)].map((m) => m[1]);
      expect(scanned.filter((name) => !byAccount.has(name ?? ""))).toEqual([]);
      for (const table of ["groups", "roles", "managed_policies", "policy_attachments", "access_keys", "mfa_devices"]) {
        expect(plan).toContain(` on ${table}`);
      }
    } finally {
      await client.end();
    }
  });
});
