import { IamError } from "@gatehouse/core";
import { ChangeEvent } from "@gatehouse/proto";
import { describe, expect, it } from "vitest";
import {
  changeEvent,
  decodeAccountSnapshot,
  decodeChangeEvent,
  decodeWatermark,
  encodeAccountSnapshot,
  encodeChangeEvent,
  encodeWatermark,
} from "./event-codec.ts";

// Bytes written by schema_version 1 (frozen when v1 shipped). They must decode forever: only add
// fields to events.proto, never renumber or retype.
const V1_UPSERT =
  "0801122436663163326134652d303030302d343030302d383030302d3030303030303030303030311a0c313233343536373839303132202a2880d0eab6b733321d0a04757365721215414944414558414d504c454558414d504c453233343a147b22757365724e616d65223a22616c696365227d";
const V1_TOMBSTONE =
  "0801122436663163326134652d303030302d343030302d383030302d3030303030303030303030311a0c313233343536373839303132202b2880d0eab6b733321d0a04757365721215414944414558414d504c454558414d504c453233344200";

describe("change event codec", () => {
  it("still decodes v1 events", () => {
    expect(decodeChangeEvent(Buffer.from(V1_UPSERT, "hex"))).toEqual({
      schemaVersion: 1,
      eventId: "6f1c2a4e-0000-4000-8000-000000000001",
      accountId: "123456789012",
      revision: 42,
      committedAtMs: 1767225600000,
      key: { kind: "user", id: "AIDAEXAMPLEEXAMPLE234" },
      change: { $case: "upsertJson", value: '{"userName":"alice"}' },
      epoch: "", // written before events carried an epoch
      revisionIndex: 0, // and before they said where they stand in their revision
      revisionEvents: 0,
    });
    const tomb = decodeChangeEvent(Buffer.from(V1_TOMBSTONE, "hex"));
    expect(tomb.revision).toBe(43);
    expect(tomb.change).toEqual({ $case: "delete", value: {} });
  });

  it("round-trips and stamps the current schema version", () => {
    const event = ChangeEvent.fromPartial({
      accountId: "1",
      revision: 7,
      key: { kind: "role", id: "AROA" },
      epoch: "7715530534214789252:2",
    });
    const back = decodeChangeEvent(encodeChangeEvent(event));
    expect(back.schemaVersion).toBe(1);
    expect(back.revision).toBe(7);
    expect(back.epoch).toBe("7715530534214789252:2");
  });

  it("rejects unknown envelope versions and garbage without retry", () => {
    const future = Buffer.from(ChangeEvent.encode(ChangeEvent.fromPartial({ schemaVersion: 99 })).finish());
    for (const bytes of [future, Buffer.from([0xff, 0xff, 0xff])]) {
      try {
        decodeChangeEvent(bytes);
        expect.unreachable();
      } catch (e) {
        expect(IamError.is(e) && [e.awsName, e.retriable]).toEqual(["ValidationError", false]);
      }
    }
  });

  it("round-trips account snapshots", () => {
    const snap = {
      schemaVersion: 1,
      accountId: "1",
      revision: 3,
      entities: [ChangeEvent.fromPartial({ revision: 3 })],
    };
    expect(decodeAccountSnapshot(encodeAccountSnapshot(snap)).entities[0]?.revision).toBe(3);
  });

  it("carries an event's place in its revision, and reads events written before it as 0 of 0", () => {
    const event = changeEvent({
      accountId: "111122223333",
      revision: 9,
      kind: "user",
      id: "AIDAEXAMPLE",
      state: { userName: "alice" },
      revisionIndex: 2,
      revisionEvents: 3,
    });
    const back = decodeChangeEvent(encodeChangeEvent(event));
    expect([back.revisionIndex, back.revisionEvents]).toEqual([2, 3]);
    const old = decodeChangeEvent(
      encodeChangeEvent(changeEvent({ accountId: "1", revision: 9, kind: "user", id: "x", state: null })),
    );
    expect([old.revisionIndex, old.revisionEvents]).toEqual([0, 0]);
  });

  it("round-trips watermarks and refuses unknown versions and garbage without retry", () => {
    const mark = {
      schemaVersion: 0,
      committedBeforeMs: 1_700_000_000_123,
      partition: 4,
      epoch: "1:1",
      sentAtMs: 1_700_000_000_200,
    };
    expect(decodeWatermark(encodeWatermark(mark))).toEqual({ ...mark, schemaVersion: 1 });
    for (const bytes of [encodeWatermark({ ...mark, schemaVersion: 99 }), Buffer.from([0xff, 0xff, 0xff])]) {
      try {
        decodeWatermark(bytes);
        expect.unreachable();
      } catch (e) {
        expect(IamError.is(e) && [e.awsName, e.retriable]).toEqual(["ValidationError", false]);
      }
    }
  });
});
