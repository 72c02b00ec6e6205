// AWS's whole managed-policy catalogue, seeded into a fresh schema by the store's start-up, kept
// as it is by a restart, and replacing the shortened documents Gatehouse shipped before it.
import { randomBytes } from "node:crypto";
import { SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import { createTestSchema } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { AWS_MANAGED_ACCOUNT, createPostgresStore, loadAwsManagedPolicies, seedBuiltinPolicies } from "../../index.ts";

const catalogue = loadAwsManagedPolicies();

describe("AWS's managed-policy catalogue in Postgres", () => {
  it("is seeded whole with every version and its default; a restart reads and writes nothing", async () => {
    await using fresh = await createTestSchema({ prefix: "catalogue" });
    const store = createPostgresStore({
      connectionString: fresh.databaseUrl,
      schema: fresh.name,
      poolSize: 2,
      secretKey: randomBytes(32),
    });
    try {
      await store.migrate();
      const q = async <T extends object>(sql: string, params: unknown[] = []) =>
        (await store.pool.query<T & pg_row>(sql, params)).rows;
      type pg_row = Record<string, unknown>;
      const [counts] = await q<{ policies: number; versions: number }>(
        `SELECT (SELECT count(*)::int FROM managed_policies WHERE account_id = $1) AS policies,
           (SELECT count(*)::int FROM policy_versions v JOIN managed_policies p USING (policy_id)
            WHERE p.account_id = $1) AS versions`,
        [AWS_MANAGED_ACCOUNT],
      );
      expect(counts).toEqual({ policies: 1594, versions: 6194 });
      const policy = async (name: string) =>
        (
          await q<{ policy_id: string; path: string; default_version_id: string; versions: string[]; flagged: string }>(
            `SELECT p.policy_id, p.path, p.default_version_id,
               array(SELECT version_id FROM policy_versions v WHERE v.policy_id = p.policy_id
                     ORDER BY substr(version_id, 2)::int) AS versions,
               (SELECT version_id FROM policy_versions v WHERE v.policy_id = p.policy_id AND is_default) AS flagged
             FROM managed_policies p WHERE p.account_id = $1 AND p.policy_name = $2`,
            [AWS_MANAGED_ACCOUNT, name],
          )
        )[0];
      const readOnly = await policy("ReadOnlyAccess");
      expect(readOnly).toMatchObject({
        policy_id: "ANPAILL3HVNFSB6DCOWYQ",
        path: "/",
        default_version_id: "v188",
        flagged: "v188",
      });
      expect(readOnly?.versions).toHaveLength(151);
      expect(readOnly?.versions.slice(0, 2)).toEqual(["v1", "v2"]);
      const [v1] = await q<{ created_at: Date }>(
        "SELECT created_at FROM policy_versions WHERE policy_id = $1 AND version_id = 'v1'",
        [readOnly?.policy_id],
      );
      expect(v1?.created_at.toISOString()).toBe("2015-02-06T18:39:48.000Z");
      expect(await policy("AmazonS3ReadOnlyAccess")).toMatchObject({ path: "/" });
      expect(await policy("AdministratorAccess")).toMatchObject({ versions: ["v1"], flagged: "v1" });
      expect(await policy("AWSLambdaBasicExecutionRole")).toMatchObject({ path: "/service-role/" });
      // A version our parser refuses (a trailing space in an action) is kept as AWS has it.
      const [old] = await q<{ document: string }>(
        `SELECT v.document FROM policy_versions v JOIN managed_policies p USING (policy_id)
         WHERE p.policy_name = 'SecurityAudit' AND v.version_id = 'v5'`,
      );
      expect(old?.document).toContain('"lambda:ListFunctions "');

      // The system stream carries every one once, each with its default version only.
      const [system] = await q<{ n: number; versions: number; largest: number }>(
        `SELECT count(*)::int AS n, sum(jsonb_array_length(payload->'versions'))::int AS versions,
           max(octet_length(payload::text))::int AS largest
         FROM outbox WHERE account_id = $1 AND entity_kind = 'policy'`,
        [SYSTEM_ACCOUNT_ID],
      );
      expect(system).toMatchObject({ n: 1594, versions: 1594 });
      expect(system?.largest).toBeLessThan(1_000_000);

      // A restart finds the package it applied: it neither reads it nor writes anything.
      const outboxBefore = await q<{ n: number }>("SELECT count(*)::int AS n FROM outbox");
      expect(await seedBuiltinPolicies(store)).toEqual({
        added: [],
        changed: [],
        accountsUpdated: 0,
        carriedOnSystemStream: 0,
        catalogueRead: false,
        skipped: [],
        unparsableOlderVersions: 0,
      });
      // Nor does one that reads it again (the fingerprint lost): nothing differs from what is stored.
      await store.pool.query("DELETE FROM aws_policy_catalogue");
      expect(await seedBuiltinPolicies(store)).toMatchObject({
        added: [],
        changed: [],
        carriedOnSystemStream: 0,
        catalogueRead: true,
        unparsableOlderVersions: catalogue.unparsableOlderVersions.length,
      });
      expect(await q<{ n: number }>("SELECT count(*)::int AS n FROM outbox")).toEqual(outboxBefore);
    } finally {
      await store.close();
    }
  });

  it("replaces the shortened documents Gatehouse shipped as v1 by AWS's, and moves the default to AWS's", async () => {
    await using fresh = await createTestSchema({ prefix: "catalogue" });
    const store = createPostgresStore({
      connectionString: fresh.databaseUrl,
      schema: fresh.name,
      poolSize: 2,
      secretKey: randomBytes(32),
    });
    try {
      const powerUser = catalogue.policies.find((p) => p.policyName === "PowerUserAccess");
      if (powerUser === undefined) throw new Error("PowerUserAccess is missing");
      const shipped = JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }],
      });
      // What the release before this one had seeded: its own v1, the default, at revision 1.
      await store.migrate();
      const id = powerUser.policyId;
      // One transaction: a policy has a default at every commit.
      const c = await store.pool.connect();
      try {
        await c.query("BEGIN");
        await c.query("DELETE FROM policy_versions WHERE policy_id = $1 AND version_id <> 'v1'", [id]);
        await c.query("UPDATE policy_versions SET document = $2, is_default = true WHERE policy_id = $1", [
          id,
          shipped,
        ]);
        await c.query(
          `UPDATE managed_policies SET default_version_id = 'v1', next_version = 2, builtin_revision = 1,
             system_carried_revision = 1 WHERE policy_id = $1`,
          [id],
        );
        await c.query("DELETE FROM aws_policy_catalogue");
        await c.query("COMMIT");
      } finally {
        c.release();
      }
      const seeding = await seedBuiltinPolicies(store);
      expect(seeding.changed).toContain(powerUser.policyId);
      const rows = await store.pool.query<{ version_id: string; document: string; is_default: boolean }>(
        "SELECT version_id, document, is_default FROM policy_versions WHERE policy_id = $1 AND version_id IN ('v1', $2)",
        [powerUser.policyId, powerUser.defaultVersionId],
      );
      const byId = new Map(rows.rows.map((r) => [r.version_id, r]));
      expect(byId.get("v1")?.document).toBe(powerUser.versions[0]?.document);
      expect(byId.get(powerUser.defaultVersionId)?.is_default).toBe(true);
    } finally {
      await store.close();
    }
  });
});
