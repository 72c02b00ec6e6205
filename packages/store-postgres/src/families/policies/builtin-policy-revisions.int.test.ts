// Migration 0019: built-in policies carry their catalog revision. Policies seeded before it must
// get the revision the catalog gives them, so that the first upgraded start-up finds them unchanged
// and writes nothing to the accounts using them.
import { randomBytes } from "node:crypto";
import { createTestSchema } from "@gatehouse/testkit";
import pg from "pg";
import { describe, expect, it } from "vitest";
import {
  AWS_MANAGED_ACCOUNT,
  type BuiltinPolicy,
  createPostgresStore,
  loadMigrations,
  migrate,
  seedBuiltinPolicies,
} from "../../index.ts";

/** What Gatehouse shipped before migration 0019: six AWS managed policies of one version each. */
const doc = (action: string) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: "*" }] });
const BUILTIN_POLICIES: readonly BuiltinPolicy[] = [
  ["ANPAIWMBCKSKIEE64ZLYK", "AdministratorAccess", "*"],
  ["ANPAJYRXTHIB4FOVS3ZXS", "PowerUserAccess", "s3:*"],
  ["ANPAILL3HVNFSB6DCOWYQ", "ReadOnlyAccess", "*:Get*"],
  ["ANPAI7XKCFMBPM3QQRRVQ", "IAMFullAccess", "iam:*"],
  ["ANPAJKSO7NDY4T57MWDSQ", "IAMReadOnlyAccess", "iam:Get*"],
  ["ANPAJ4L4MM2A7QIEB56MS", "IAMUserChangePassword", "iam:ChangePassword"],
].map(([policyId, policyName, action]) => ({
  policyId: policyId as string,
  policyName: policyName as string,
  path: "/",
  revision: 1,
  description: `${policyName} as shipped`,
  defaultVersionId: "v1",
  versions: [{ versionId: "v1", document: doc(action as string) }],
}));

describe("built-in policy revisions (migration 0019)", () => {
  it("gives policies seeded before it their catalog revision; the next seeding finds nothing to do", async () => {
    await using fresh = await createTestSchema({ prefix: "builtin" });
    const pool = new pg.Pool({ connectionString: fresh.url, max: 2 });
    try {
      await migrate(pool, { schema: fresh.name, migrations: loadMigrations().filter((m) => m.version <= 18) });
      // What seeding wrote before 0019: the policy, its versions, the last one the default.
      for (const p of BUILTIN_POLICIES) {
        const n = p.versions.length;
        await pool.query(
          `INSERT INTO managed_policies (policy_id, account_id, policy_name, path, description, default_version_id, next_version)
           VALUES ($1, $2, $3, '/', $4, $5, $6)`,
          [p.policyId, AWS_MANAGED_ACCOUNT, p.policyName, p.description, `v${n}`, n + 1],
        );
        await pool.query(
          `INSERT INTO policy_versions (policy_id, version_id, document, is_default)
           SELECT $1, 'v' || i, d, i = $3 FROM unnest($2::text[]) WITH ORDINALITY AS v(d, i)`,
          [p.policyId, p.versions.map((v) => v.document), n],
        );
      }
      expect((await migrate(pool, { schema: fresh.name })).applied).toEqual(
        loadMigrations()
          .filter((m) => m.version > 18)
          .map((m) => m.version),
      );
      const stored = await pool.query<{ policy_id: string; builtin_revision: number }>(
        "SELECT policy_id, builtin_revision FROM managed_policies WHERE account_id = $1 ORDER BY policy_id",
        [AWS_MANAGED_ACCOUNT],
      );
      expect(stored.rows).toEqual(
        BUILTIN_POLICIES.map((p) => ({ policy_id: p.policyId, builtin_revision: p.revision })).sort((a, b) =>
          a.policy_id < b.policy_id ? -1 : 1,
        ),
      );

      const store = createPostgresStore({
        connectionString: fresh.databaseUrl,
        schema: fresh.name,
        poolSize: 2,
        secretKey: randomBytes(32),
      });
      try {
        // Nothing changed; the system stream carries every policy once (migration 0033's first seeding).
        expect(await seedBuiltinPolicies(store, BUILTIN_POLICIES)).toEqual({
          added: [],
          changed: [],
          accountsUpdated: 0,
          carriedOnSystemStream: BUILTIN_POLICIES.length,
          catalogueRead: false,
          skipped: [],
          unparsableOlderVersions: 0,
        });
        expect((await seedBuiltinPolicies(store, BUILTIN_POLICIES)).carriedOnSystemStream).toBe(0);
      } finally {
        await store.close();
      }

      // Only built-in policies have a revision, and theirs is at least 1.
      await expect(
        pool.query("UPDATE managed_policies SET builtin_revision = NULL WHERE account_id = $1", [AWS_MANAGED_ACCOUNT]),
      ).rejects.toMatchObject({ code: "23514", constraint: "managed_policies_builtin_revision" });
      await expect(
        pool.query("UPDATE managed_policies SET builtin_revision = 0 WHERE account_id = $1", [AWS_MANAGED_ACCOUNT]),
      ).rejects.toMatchObject({ code: "23514" });
    } finally {
      await pool.end();
    }
  });
});
