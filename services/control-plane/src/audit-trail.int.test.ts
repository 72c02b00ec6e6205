import { AuditEvent, EntityType } from "@gatehouse/proto";
import { createTestTopic, testKafka, uniqueName } from "@gatehouse/testkit";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture, totp } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";
import { kafkaBrokers } from "./test-env.int-helper.ts";

interface Row {
  event_id: string;
  account_id: string | null;
  principal_arn: string;
  user_name: string | null;
  access_key_id: string;
  source_ip: string | null;
  operation: string;
  request_parameters: Record<string, unknown>;
  error_code: string | null;
  error_name: string | null;
  revision: string | null;
  published: boolean;
}

describe("the audit trail (real Postgres + Kafka + control plane)", () => {
  let f: AccountFixture;
  let auditTopic: { name: string; delete(): Promise<void> };
  beforeAll(async () => {
    auditTopic = await createTestTopic({ prefix: "audit", partitions: 2 });
    f = await startAccountFixture({
      GATEHOUSE_CP_AUDIT_TOPIC: auditTopic.name,
      GATEHOUSE_CP_AUDIT_RELAY_POLL_MS: "50",
      GATEHOUSE_CP_AUDIT_RETENTION_DAYS: "30",
    });
  });
  afterAll(async () => {
    await f.close();
    await auditTopic.delete();
  });

  const rows = async (where = "true", params: unknown[] = []): Promise<Row[]> =>
    (await f.h.cp.store.pool.query<Row>(`SELECT * FROM audit_events WHERE ${where} ORDER BY id`, params)).rows;

  // That the event commits with its write (and only with it) is the next test's: an event that
  // cannot be inserted undoes the write on both paths.
  it("records a write once, with the revision it produced (both write paths)", async () => {
    // CreateUser is a single SQL function call; CreateGroup runs as a transaction from TypeScript.
    const user = await f.root.call("createUser", { userName: "tx-user" });
    const group = await f.root.call("createGroup", { groupName: "tx-group" });
    for (const [operation, name, revision] of [
      ["CreateUser", "tx-user", user.revision.revision],
      ["CreateGroup", "tx-group", group.revision.revision],
    ] as const) {
      const found = await rows("operation = $1", [operation]);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatchObject({
        account_id: f.accountId,
        principal_arn: `arn:aws:iam::${f.accountId}:root`,
        operation,
        error_code: null,
        error_name: null,
        revision: String(revision),
      });
      expect(found[0]?.source_ip).toBe("127.0.0.1");
      expect(found[0]?.request_parameters).toMatchObject(
        operation === "CreateUser" ? { userName: name } : { groupName: name },
      );
    }
  });

  it("a write that rolls back leaves no audit row, and an audit row that cannot commit undoes the write", async () => {
    const revisionBefore = await f.h.cp.store.pool.query("SELECT revision FROM accounts WHERE account_id = $1", [
      f.accountId,
    ]);
    // Make the event of these calls fail to insert: the write must fail with it, and leave nothing.
    await f.h.cp.store.pool.query(
      "ALTER TABLE audit_events ADD CONSTRAINT doomed CHECK (request_parameters->>'userName' IS DISTINCT FROM 'doomed' AND request_parameters->>'groupName' IS DISTINCT FROM 'doomed')",
    );
    try {
      await failureOf(f.root.call("createUser", { userName: "doomed" }));
      await failureOf(f.root.call("createGroup", { groupName: "doomed" }));
    } finally {
      await f.h.cp.store.pool.query("ALTER TABLE audit_events DROP CONSTRAINT doomed");
    }
    expect(
      await rows("request_parameters->>'userName' = 'doomed' OR request_parameters->>'groupName' = 'doomed'"),
    ).toEqual([]);
    await expectFailure(f.root.call("getUser", { userName: "doomed" }), { awsName: "NoSuchEntity" });
    await expectFailure(f.root.call("getGroup", { groupName: "doomed" }), { awsName: "NoSuchEntity" });
    const revisionAfter = await f.h.cp.store.pool.query("SELECT revision FROM accounts WHERE account_id = $1", [
      f.accountId,
    ]);
    expect(revisionAfter.rows[0].revision).toBe(revisionBefore.rows[0].revision);

    // A write that fails inside its transaction (the name is taken) commits nothing: its one
    // event is the failure, recorded on its own, without a revision.
    await expectFailure(f.root.call("createUser", { userName: "tx-user" }), { awsName: "EntityAlreadyExists" });
    const failed = await rows("operation = 'CreateUser' AND error_name IS NOT NULL");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      error_code: "ALREADY_EXISTS",
      error_name: "EntityAlreadyExists",
      revision: null,
    });
  });

  it("records a denied call with AccessDenied and the caller's principal, key and user name", async () => {
    const bob = await f.aUser("bob");
    const bobKey = (await rows("operation = 'CreateAccessKey' AND request_parameters->>'userName' = 'bob'"))[0];
    expect(bobKey?.revision).not.toBeNull();
    await expectFailure(bob.call("createUser", { userName: "by-bob" }), {
      code: status.PERMISSION_DENIED,
      awsName: "AccessDenied",
    });
    const denied = await rows("user_name = 'bob'");
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({
      account_id: f.accountId,
      principal_arn: `arn:aws:iam::${f.accountId}:user/bob`,
      operation: "CreateUser",
      error_code: "PERMISSION_DENIED",
      error_name: "AccessDenied",
      revision: null,
      request_parameters: { userName: "by-bob" },
    });
    expect(denied[0]?.access_key_id).toMatch(/^AKIA/);
    // The operator's calls are recorded too, outside any account.
    const op = await rows("operation = 'CreateAccount'");
    expect(op[0]).toMatchObject({ account_id: null, error_name: null });
  });

  it("never records secrets: access keys, passwords, MFA codes and seeds stay out of the rows and the topic", async () => {
    const { root } = f;
    await root.call("createUser", { userName: "carol" });
    const key = await root.call("createAccessKey", { userName: "carol" });
    const password = "Sup3r-Secret-Passw0rd!";
    const newPassword = "An0ther-Secret-Passw0rd!";
    await root.call("createLoginProfile", { userName: "carol", password, passwordResetRequired: false });
    await root.call("updateLoginProfile", { userName: "carol", password: newPassword });
    const device = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "carol-phone", path: "/" });
    const now = Math.floor(Date.now() / 1000);
    const code1 = totp(device.base32StringSeed, now - 30);
    const code2 = totp(device.base32StringSeed, now);
    await root.call("enableMfaDevice", {
      userName: "carol",
      serialNumber: device.serialNumber,
      authenticationCode1: code1,
      authenticationCode2: code2,
    });
    const document = policyDoc({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::very-private/*" });
    await root.call("putInlinePolicy", {
      entityType: EntityType.ENTITY_TYPE_USER,
      entityName: "carol",
      policyName: "p",
      policyDocument: document,
    });
    const secrets = [key.secretAccessKey, password, newPassword, device.base32StringSeed, `"${code1}"`, `"${code2}"`];

    const all = JSON.stringify(await rows());
    for (const s of secrets) expect(all).not.toContain(s);
    expect(all).not.toContain("very-private");
    const login = (await rows("operation = 'CreateLoginProfile'"))[0];
    expect(login?.request_parameters).toMatchObject({ userName: "carol", password: "[REDACTED]" });
    const mfa = (await rows("operation = 'EnableMFADevice'"))[0];
    expect(mfa?.request_parameters).toMatchObject({
      authenticationCode1: "[REDACTED]",
      authenticationCode2: "[REDACTED]",
    });
    const put = (await rows("operation = 'PutUserPolicy' OR operation = 'PutInlinePolicy'"))[0];
    expect(put?.request_parameters.policyDocument).toMatchObject({ length: Buffer.byteLength(document) });

    // Everything recorded reaches the audit topic, and the topic holds no secret either.
    const expected = (await rows()).length;
    await expect.poll(async () => (await rows("NOT published")).length, { timeout: 15_000 }).toBe(0);
    const consumer = testKafka().consumer({ groupId: uniqueName("audit_reader") });
    const seen: { raw: Buffer; event: AuditEvent }[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: auditTopic.name, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const raw = message.value ?? Buffer.alloc(0);
          seen.push({ raw, event: AuditEvent.decode(raw) });
        },
      });
      await expect.poll(() => seen.length, { timeout: 30_000 }).toBeGreaterThanOrEqual(expected);
    } finally {
      await consumer.disconnect();
    }
    const bytes = Buffer.concat(seen.map((s) => s.raw)).toString("latin1");
    for (const s of secrets) expect(bytes).not.toContain(s);
    const onTopic = seen.find((s) => s.event.operation === "CreateLoginProfile")?.event;
    expect(onTopic).toMatchObject({ accountId: f.accountId, principalArn: `arn:aws:iam::${f.accountId}:root` });
    expect(JSON.parse(onTopic?.requestParametersJson ?? "{}")).toMatchObject({ password: "[REDACTED]" });
    expect(kafkaBrokers().length).toBeGreaterThan(0);
  });

  it("LookupEvents: filters by user, operation and time, pages newest first, and is authorized", async () => {
    const { root, operator } = f;
    const dave = await f.aUser("dave", {
      inline: [policyDoc({ Effect: "Allow", Action: ["iam:LookupEvents", "iam:GetUser"], Resource: "*" })],
    });
    const start = Date.now();
    for (let i = 0; i < 5; i++) await dave.call("getUser", { userName: "dave" });
    await expectFailure(dave.call("createUser", { userName: "by-dave" }), { awsName: "AccessDenied" });

    const byDave = await root.call("lookupEvents", { userName: "dave", page: { marker: "", maxItems: 100 } });
    expect(byDave.events.map((e: AuditEvent) => e.operation)).toEqual(["CreateUser", ...Array(5).fill("GetUser")]);
    expect(byDave.events[0]).toMatchObject({ errorName: "AccessDenied", errorCode: "PERMISSION_DENIED" });

    // Paging: 2 at a time, newest first, each event once.
    const paged: string[] = [];
    let marker = "";
    for (let pages = 0; pages < 10; pages++) {
      const page = await dave.call("lookupEvents", {
        userName: "dave",
        operation: "GetUser",
        page: { marker, maxItems: 2 },
      });
      paged.push(...page.events.map((e: AuditEvent) => e.eventId));
      if (!page.page.isTruncated) break;
      marker = page.page.marker;
    }
    expect(paged).toHaveLength(5);
    expect(new Set(paged).size).toBe(5);
    const times = (await root.call("lookupEvents", { userName: "dave", operation: "GetUser" })).events.map(
      (e: AuditEvent) => Number(e.eventTimeMs),
    );
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    // Time range: nothing of dave's before `start` but the setup's calls (made by root, not dave).
    expect((await root.call("lookupEvents", { userName: "dave", endTimeMs: start })).events).toEqual([]);
    const setup = await root.call("lookupEvents", { operation: "CreateUser", endTimeMs: start, startTimeMs: 1 });
    expect(setup.events.every((e: AuditEvent) => Number(e.eventTimeMs) < start)).toBe(true);
    expect(setup.events.length).toBeGreaterThan(0);

    // Another account's principals never see this account's events; the operator sees every account.
    const other = await f.anotherAccount();
    await expectFailure(other.root.call("lookupEvents", { accountId: f.accountId }), { awsName: "AccessDenied" });
    const theirs = await other.root.call("lookupEvents", {});
    expect(theirs.events.every((e: AuditEvent) => e.accountId === other.accountId)).toBe(true);
    const all = await operator.call("lookupEvents", { userName: "dave" });
    expect(all.events).toHaveLength(byDave.events.length + 3); // and the three pages dave looked up since
    const mine = await operator.call("lookupEvents", { accountId: other.accountId });
    expect(mine.events.map((e: AuditEvent) => e.accountId)).toContain(other.accountId);

    // Without the permission: AccessDenied (and that refusal is itself recorded).
    const erin = await f.aUser("erin");
    await expectFailure(erin.call("lookupEvents", {}), { awsName: "AccessDenied" });
    expect((await rows("user_name = 'erin' AND operation = 'LookupEvents'"))[0]?.error_name).toBe("AccessDenied");
    await expectFailure(root.call("lookupEvents", { page: { marker: "bm9wZQ", maxItems: 0 } }), { field: "marker" });
  });

  it("retention: the housekeeping pass deletes only events older than the configured days", async () => {
    await f.root.call("createUser", { userName: "kept" });
    const before = (await rows()).length;
    // Age four events past the 30 days configured, one just inside them.
    await f.h.cp.store.pool.query(
      `UPDATE audit_events SET event_time = now() - interval '45 days' WHERE id IN (SELECT id FROM audit_events ORDER BY id LIMIT 4)`,
    );
    await f.h.cp.store.pool.query(
      `UPDATE audit_events SET event_time = now() - interval '29 days' WHERE id = (SELECT id FROM audit_events ORDER BY id OFFSET 4 LIMIT 1)`,
    );
    await f.h.cp.compactor.runOnce();
    const left = await rows();
    expect(left).toHaveLength(before - 4);
    expect(left.some((r) => r.request_parameters.userName === "kept")).toBe(true);
    // Batches smaller than the backlog still delete all of it, and nothing newer.
    await f.h.cp.store.pool.query(
      `UPDATE audit_events SET event_time = now() - interval '400 days' WHERE id IN (SELECT id FROM audit_events ORDER BY id LIMIT 5)`,
    );
    expect(await f.h.cp.store.pruneAuditEvents({ retentionDays: 30, batchSize: 2 })).toBe(5);
    expect(await rows()).toHaveLength(before - 9);
  });
});
