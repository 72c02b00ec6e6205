import type { RegionAuditEvent, RegionAuditRecord } from "@gatehouse/proto";
import { describe, expect, it } from "vitest";
import { eventIdIn, parseRegionAuditRecords } from "./region-audit-ingest.ts";

const NOW = Date.UTC(2026, 11, 5, 2, 0, 0);
const ID = "6f1c2a3b-4d5e-4f60-8a7b-8c9d0e1f2a3b";
const A = "111122223333";
const B = "444455556666";

const event = (e: Partial<RegionAuditEvent> = {}): RegionAuditRecord => ({
  schemaVersion: 1,
  region: "eu-west-1",
  record: {
    $case: "event",
    value: {
      eventId: ID,
      eventTimeMs: NOW - 1000,
      accountId: A,
      principalArn: `arn:aws:iam::${A}:user/alice`,
      userName: "alice",
      accessKeyId: "AKIAAAAAAAAAAAAAAAAA",
      sourceIp: "10.0.0.1",
      operation: "AssumeRole",
      requestParametersJson: JSON.stringify({ roleArn: `arn:aws:iam::${A}:role/deploy`, roleSessionName: "s" }),
      responseElementsJson: "",
      errorCode: "",
      errorName: "",
      ...e,
    },
  },
});
const use = (accessKeyId: string, usedAtMs: number, service = "s3"): RegionAuditRecord => ({
  schemaVersion: 1,
  region: "eu-west-1",
  record: { $case: "accessKeyUse", value: { accessKeyId, usedAtMs, service } },
});

describe("parseRegionAuditRecords", () => {
  it("maps events (empty strings as absent) and keeps each key's latest use once", () => {
    const batch = parseRegionAuditRecords(
      [
        event(),
        use("AKIABBBBBBBBBBBBBBBB", NOW - 5000),
        use("AKIABBBBBBBBBBBBBBBB", NOW - 1000, "sts"),
        use("AKIABBBBBBBBBBBBBBBB", NOW - 3000),
      ],
      NOW,
    );
    expect(batch.rejected).toEqual([]);
    expect(batch.events).toEqual([
      {
        eventId: ID,
        eventTimeMs: NOW - 1000,
        accountId: A,
        principalArn: `arn:aws:iam::${A}:user/alice`,
        userName: "alice",
        accessKeyId: "AKIAAAAAAAAAAAAAAAAA",
        sourceIp: "10.0.0.1",
        operation: "AssumeRole",
        requestParameters: { roleArn: `arn:aws:iam::${A}:role/deploy`, roleSessionName: "s" },
        responseElements: undefined,
        errorCode: undefined,
        errorName: undefined,
        region: "eu-west-1",
      },
    ]);
    expect(batch.keyUses).toEqual([
      { accessKeyId: "AKIABBBBBBBBBBBBBBBB", atMs: NOW - 1000, service: "sts", region: "eu-west-1" },
    ]);
  });

  it("records a cross-account AssumeRole in the role's account too, under a stable derived id", () => {
    const cross = event({ requestParametersJson: JSON.stringify({ roleArn: `arn:aws:iam::${B}:role/shared` }) });
    const [mine, theirs, ...rest] = parseRegionAuditRecords([cross], NOW).events;
    expect(rest).toEqual([]);
    expect(mine?.accountId).toBe(A);
    expect(theirs).toMatchObject({ accountId: B, principalArn: `arn:aws:iam::${A}:user/alice` });
    expect(theirs?.eventId).toBe(eventIdIn(ID, B));
    expect(theirs?.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventIdIn(ID, B)).toBe(theirs?.eventId);
    // GetSessionToken names no role: one row.
    expect(parseRegionAuditRecords([event({ operation: "GetSessionToken" })], NOW).events).toHaveLength(1);
  });

  it("refuses what Postgres could not store or a region must not claim, and pulls future times to now", () => {
    const batch = parseRegionAuditRecords(
      [
        undefined,
        { ...event(), schemaVersion: 2 },
        event({ eventId: "not-a-uuid" }),
        event({ accountId: "12" }),
        event({ operation: "Drop Table" }),
        event({ principalArn: "arn:\u0000" }),
        event({ requestParametersJson: "[1]" }),
        event({ requestParametersJson: `{"x":"${"y".repeat(70_000)}"}` }),
        use("not-a-key", NOW),
        use("AKIACCCCCCCCCCCCCCCC", NOW + 3_600_000),
        { schemaVersion: 1, region: "eu-west-1", record: undefined },
      ],
      NOW,
    );
    expect(batch.events).toEqual([]);
    expect(batch.rejected).toHaveLength(10);
    expect(batch.keyUses).toEqual([
      { accessKeyId: "AKIACCCCCCCCCCCCCCCC", atMs: NOW + 300_000, service: "s3", region: "eu-west-1" },
    ]);
  });
});
