import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, totp } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

/** The report's time format: ISO to the second, `+00:00`. */
const at = (ms: number | string) => `${new Date(Number(ms)).toISOString().slice(0, 19)}+00:00`;

function parse(csv: string): Record<string, string>[] {
  expect(csv.endsWith("\n")).toBe(true);
  const [header, ...rows] = csv.trimEnd().split("\n");
  const columns = (header as string).split(",");
  return rows.map((line) => {
    const values = line.split(",");
    expect(values).toHaveLength(columns.length);
    return Object.fromEntries(columns.map((c, i) => [c, values[i] as string]));
  });
}

describe("credential report (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  const report = async () => {
    const got = await f.root.call("getCredentialReport", {});
    expect(got.reportFormat).toBe("text/csv");
    return { rows: parse(Buffer.from(got.content).toString("utf8")), generatedTimeMs: Number(got.generatedTimeMs) };
  };

  /** What the report must say of a user's keys, from ListAccessKeys and GetAccessKeyLastUsed. */
  const keyColumns = async (userName: string) => {
    const keys = [...(await f.root.call("listAccessKeys", { userName })).accessKeys].sort(
      (a, b) => Number(a.createDateMs) - Number(b.createDateMs),
    );
    const out: Record<string, string> = {};
    for (const n of [1, 2]) {
      const k = keys[n - 1];
      const used = k === undefined ? undefined : Number(k.lastUsedDateMs) > 0 ? k : undefined;
      out[`access_key_${n}_active`] = String(k?.status === "Active");
      out[`access_key_${n}_last_rotated`] = k === undefined ? "N/A" : at(k.createDateMs);
      out[`access_key_${n}_last_used_date`] = used === undefined ? "N/A" : at(used.lastUsedDateMs);
      out[`access_key_${n}_last_used_region`] = used === undefined ? "N/A" : used.lastUsedRegion;
      out[`access_key_${n}_last_used_service`] = used === undefined ? "N/A" : used.lastUsedService;
    }
    return out;
  };
  const NO_CERTS = {
    cert_1_active: "false",
    cert_1_last_rotated: "N/A",
    cert_2_active: "false",
    cert_2_last_rotated: "N/A",
  };

  it("ReportNotPresent before the first; then the root and every user as the state says, with AWS's columns", async () => {
    await expectFailure(f.root.call("getCredentialReport", {}), { awsName: "ReportNotPresent" });
    await f.root.call("updateAccountPasswordPolicy", { minimumPasswordLength: 8, maxPasswordAge: 90 });
    // alice: a password, an MFA device, two keys (the second inactive, the first used in a region).
    await f.aUser("alice");
    await f.root.call("createLoginProfile", { userName: "alice", password: "Alice-Pass-1" });
    const device = await f.root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "alice-phone", path: "/" });
    const now = Math.floor(Date.now() / 1000);
    await f.root.call("enableMfaDevice", {
      userName: "alice",
      serialNumber: device.serialNumber,
      authenticationCode1: totp(device.base32StringSeed, now - 30),
      authenticationCode2: totp(device.base32StringSeed, now),
    });
    const second = await f.root.call("createAccessKey", { userName: "alice" });
    await f.root.call("updateAccessKey", {
      userName: "alice",
      accessKeyId: second.accessKey.accessKeyId,
      status: "Inactive",
    });
    const first = (await f.root.call("listAccessKeys", { userName: "alice" })).accessKeys.find(
      (k: { accessKeyId: string }) => k.accessKeyId !== second.accessKey.accessKeyId,
    );
    const usedAt = Date.now() - 60_000;
    await f.h.cp.store.recordAccessKeyUses([
      { accessKeyId: first.accessKeyId, atMs: usedAt, service: "s3", region: "eu-west-1" },
    ]);
    // bob: nothing but the user; carol: under a path, one key.
    await f.root.call("createUser", { userName: "bob" });
    await f.root.call("createUser", { userName: "carol", path: "/team/" });
    await f.root.call("createAccessKey", { userName: "carol" });

    const generated = await f.root.call("generateCredentialReport", {});
    expect(generated.state).toBe(3); // REPORT_STATE_COMPLETE
    const { rows, generatedTimeMs } = await report();
    expect(Math.abs(generatedTimeMs - Date.now())).toBeLessThan(60_000);
    expect(rows.map((r) => r.user)).toEqual(["<root_account>", "alice", "bob", "carol"]);

    const rootKeys = (await f.root.call("listAccessKeys", {})).accessKeys;
    expect(rootKeys).toHaveLength(1);
    const created = await f.h.cp.store.pool.query(
      "SELECT (extract(epoch FROM created_at) * 1000)::bigint AS ms FROM accounts WHERE account_id = $1",
      [f.accountId],
    );
    // The root's key signs these very calls: its last use (iam, us-east-1) may be flushed or not yet.
    const rootUse = await keyColumns("");
    expect(rows[0]).toEqual({
      user: "<root_account>",
      arn: `arn:aws:iam::${f.accountId}:root`,
      user_creation_time: at(created.rows[0].ms),
      password_enabled: "not_supported",
      password_last_used: "N/A",
      password_last_changed: "not_supported",
      password_next_rotation: "not_supported",
      mfa_active: "false",
      ...rootUse,
      access_key_1_last_used_date: rows[0]?.access_key_1_last_used_date,
      access_key_1_last_used_region: rows[0]?.access_key_1_last_used_region,
      access_key_1_last_used_service: rows[0]?.access_key_1_last_used_service,
      ...NO_CERTS,
    });
    expect(rows[0]?.access_key_1_active).toBe("true");
    expect(["N/A", "iam"]).toContain(rows[0]?.access_key_1_last_used_service);

    const user = async (name: string) => (await f.root.call("getUser", { userName: name })).user;
    const alice = await user("alice");
    const profile = await f.h.cp.store.pool.query(
      "SELECT (extract(epoch FROM password_changed_at) * 1000)::bigint AS ms FROM login_profiles WHERE user_id = $1",
      [alice.userId],
    );
    const changedMs = Number(profile.rows[0].ms);
    expect(rows[1]).toEqual({
      user: "alice",
      arn: alice.arn,
      user_creation_time: at(alice.createDateMs),
      password_enabled: "true",
      password_last_used: "no_information",
      password_last_changed: at(changedMs),
      password_next_rotation: at(changedMs + 90 * 86_400_000),
      mfa_active: "true",
      ...(await keyColumns("alice")),
      ...NO_CERTS,
    });
    expect(rows[1]).toMatchObject({
      access_key_1_active: "true",
      access_key_1_last_used_date: at(usedAt),
      access_key_1_last_used_region: "eu-west-1",
      access_key_1_last_used_service: "s3",
      access_key_2_active: "false",
      access_key_2_last_used_date: "N/A",
    });
    const bob = await user("bob");
    expect(rows[2]).toEqual({
      user: "bob",
      arn: bob.arn,
      user_creation_time: at(bob.createDateMs),
      password_enabled: "false",
      password_last_used: "N/A",
      password_last_changed: "N/A",
      password_next_rotation: "N/A",
      mfa_active: "false",
      ...(await keyColumns("bob")),
      ...NO_CERTS,
    });
    const carol = await user("carol");
    expect(carol.arn).toBe(`arn:aws:iam::${f.accountId}:user/team/carol`);
    expect(rows[3]).toMatchObject({ user: "carol", arn: carol.arn, ...(await keyColumns("carol")) });
    expect(rows[3]?.access_key_1_active).toBe("true");
  });

  it("keeps a report younger than four hours (as AWS), says ReportExpired past them, and regenerates then", async () => {
    const before = await report();
    await f.root.call("createUser", { userName: "dave" });
    expect((await f.root.call("generateCredentialReport", {})).state).toBe(3);
    const kept = await report();
    expect(kept).toEqual(before);
    await f.h.cp.store.pool.query(
      "UPDATE credential_reports SET generated_at = generated_at - interval '4 hours 1 minute' WHERE account_id = $1",
      [f.accountId],
    );
    await expectFailure(f.root.call("getCredentialReport", {}), { awsName: "ReportExpired" });
    expect((await f.root.call("generateCredentialReport", {})).state).toBe(3);
    const fresh = await report();
    expect(fresh.rows.map((r) => r.user)).toEqual(["<root_account>", "alice", "bob", "carol", "dave"]);
  });

  it("is authorized as iam:GenerateCredentialReport / iam:GetCredentialReport on *, per account", async () => {
    const nobody = await f.aUser("cr-nobody");
    await expectFailure(nobody.call("generateCredentialReport", {}), { awsName: "AccessDenied" });
    await expectFailure(nobody.call("getCredentialReport", {}), { awsName: "AccessDenied" });
    const auditor = await f.aUser("cr-auditor", {
      inline: [
        policyDoc({
          Effect: "Allow",
          Action: ["iam:GenerateCredentialReport", "iam:GetCredentialReport"],
          Resource: "*",
        }),
      ],
    });
    await f.h.cp.store.pool.query("DELETE FROM credential_reports WHERE account_id = $1", [f.accountId]);
    expect((await auditor.call("generateCredentialReport", {})).state).toBe(3);
    expect(Buffer.from((await auditor.call("getCredentialReport", {})).content).toString()).toContain("cr-auditor");
    // Another account has its own (none yet).
    const other = await f.anotherAccount();
    await expectFailure(other.root.call("getCredentialReport", {}), { awsName: "ReportNotPresent" });
  });
});
