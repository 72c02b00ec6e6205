import { createManualClock } from "@gatehouse/core";
import type { RegionAuditRecord } from "@gatehouse/proto";
import { pino } from "pino";
import { describe, expect, it, vi } from "vitest";
import { createRegionAuditSink } from "./region-audit-sink.ts";

const logger = pino({ level: "silent" });
const event = (n: number) => ({
  eventId: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
  accountId: "111122223333",
  principalArn: "arn:aws:iam::111122223333:user/alice",
  userName: "alice",
  accessKeyId: "AKIAAAAAAAAAAAAAAAAA",
  sourceIp: "10.0.0.1",
  operation: "AssumeRole",
  requestParametersJson: "{}",
  responseElementsJson: "",
  errorCode: "",
  errorName: "",
});

describe("the region's audit sink", () => {
  it("reports each key's latest use once per interval, and events as they come", async () => {
    const clock = createManualClock(1_000_000);
    const sent: RegionAuditRecord[] = [];
    const sink = createRegionAuditSink({
      region: "eu-west-1",
      publish: async (r) => {
        sent.push(...r);
      },
      logger,
      clock,
      flushMs: 5,
      keyUseIntervalMs: 60_000,
    });
    sink.start();
    for (let i = 0; i < 100; i++) {
      clock.advance(10);
      sink.keyUse("AKIAAAAAAAAAAAAAAAAA", i === 99 ? "sts" : "s3");
      sink.keyUse("AKIABBBBBBBBBBBBBBBB", "s3");
    }
    sink.event(event(1));
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({
      region: "eu-west-1",
      record: { $case: "event", value: { eventTimeMs: 1_001_000 } },
    });
    expect(sink.stats().pendingKeyUses).toBe(2);
    clock.advance(60_000);
    await vi.waitFor(() => expect(sent).toHaveLength(3));
    expect(sent.slice(1).map((r) => r.record)).toEqual([
      { $case: "accessKeyUse", value: { accessKeyId: "AKIAAAAAAAAAAAAAAAAA", usedAtMs: 1_001_000, service: "sts" } },
      { $case: "accessKeyUse", value: { accessKeyId: "AKIABBBBBBBBBBBBBBBB", usedAtMs: 1_001_000, service: "s3" } },
    ]);
    // Used again within the next interval: nothing until it has passed, or until stop.
    sink.keyUse("AKIABBBBBBBBBBBBBBBB", "s3");
    await new Promise((r) => setTimeout(r, 30));
    expect(sent).toHaveLength(3);
    await sink.stop();
    expect(sent).toHaveLength(4);
    expect(sink.stats()).toMatchObject({ sent: 4, dropped: 0, buffered: 0, pendingKeyUses: 0 });
  });

  it("never blocks a caller while Kafka fails: bounded, the overflow dropped and counted, the rest sent once it is back", async () => {
    let up = false;
    const sent: RegionAuditRecord[] = [];
    let attempts = 0;
    const sink = createRegionAuditSink({
      region: "us-east-1",
      publish: (r) => {
        attempts++;
        if (!up) return new Promise((_, reject) => setTimeout(() => reject(new Error("Kafka is down")), 5));
        sent.push(...r);
        return Promise.resolve();
      },
      logger,
      maxBuffered: 100,
      flushMs: 5,
      maxBackoffMs: 20,
      batchSize: 30,
    });
    sink.start();
    // Recording is synchronous (nothing to await, nothing thrown) while every send fails.
    const returned = new Set<unknown>();
    for (let i = 0; i < 250; i++) returned.add(sink.event(event(i)));
    expect([...returned]).toEqual([undefined]);
    expect(sink.stats()).toMatchObject({ buffered: 100, dropped: 150 });
    await vi.waitFor(() => expect(sink.stats().failedSends).toBeGreaterThanOrEqual(3));
    expect(attempts).toBeGreaterThanOrEqual(3);
    up = true;
    await vi.waitFor(() => expect(sent).toHaveLength(100));
    // The first 100 in order, in batches of at most 30.
    expect(sent.map((r) => (r.record?.$case === "event" ? r.record.value.eventId : "")).slice(0, 3)).toEqual([
      event(0).eventId,
      event(1).eventId,
      event(2).eventId,
    ]);
    await sink.stop();
    expect(sink.stats()).toMatchObject({ sent: 100, dropped: 150, buffered: 0 });
  });

  it("stops within its timeout when Kafka hangs, counting what it could not send", async () => {
    const sink = createRegionAuditSink({
      region: "us-east-1",
      publish: () => new Promise(() => {}),
      logger,
      flushMs: 5,
      stopTimeoutMs: 50,
    });
    sink.start();
    sink.event(event(1));
    sink.keyUse("AKIAAAAAAAAAAAAAAAAA", "s3");
    // The loop's own send is in flight (and never returns) when stop is called.
    await new Promise((r) => setTimeout(r, 30));
    await sink.stop();
    expect(sink.stats()).toMatchObject({ sent: 0, dropped: 2, buffered: 0 });
  });
});
