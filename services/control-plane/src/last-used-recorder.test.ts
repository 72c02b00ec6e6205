import { createManualClock } from "@gatehouse/core";
import type { AccessKeyUse } from "@gatehouse/store-postgres";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createLastUsedRecorder } from "./last-used-recorder.ts";

const t0 = Date.parse("2026-12-04T12:00:00Z");
const logger = pino({ level: "silent" });

/** A store that keeps every batch it is asked to write; `failNext` makes the next write fail. */
function batchStore() {
  const batches: AccessKeyUse[][] = [];
  let failNext = false;
  return {
    batches,
    failNext: () => {
      failNext = true;
    },
    store: {
      recordAccessKeyUses: async (uses: readonly AccessKeyUse[]) => {
        if (failNext) {
          failNext = false;
          throw new Error("connection refused");
        }
        batches.push([...uses]);
        return uses.length;
      },
    },
  };
}

const byId = (uses: readonly AccessKeyUse[] | undefined) =>
  [...(uses ?? [])].sort((a, b) => a.accessKeyId.localeCompare(b.accessKeyId));

describe("last-used recorder", () => {
  it("coalesces uses in memory: no write per call, one statement per flush with each key's latest use", async () => {
    const clock = createManualClock(t0);
    const { store, batches } = batchStore();
    const recorder = createLastUsedRecorder({ store, logger, clock, flushEveryMs: 60_000 });
    for (let i = 0; i < 1000; i++) {
      recorder.record(i % 2 === 0 ? "AKIAKEYA" : "AKIAKEYB", "iam", "us-east-1");
      clock.advance(1);
    }
    expect(batches).toEqual([]);
    expect(recorder.pending()).toBe(2);
    await recorder.flush();
    expect(batches).toHaveLength(1);
    expect(byId(batches[0])).toEqual([
      { accessKeyId: "AKIAKEYA", atMs: t0 + 998, service: "iam", region: "us-east-1" },
      { accessKeyId: "AKIAKEYB", atMs: t0 + 999, service: "iam", region: "us-east-1" },
    ]);
    // Nothing pending: a flush writes nothing.
    await recorder.flush();
    expect(batches).toHaveLength(1);
  });

  it("keeps a failed batch for the next flush, under any newer use of the same key", async () => {
    const clock = createManualClock(t0);
    const { store, batches, failNext } = batchStore();
    const recorder = createLastUsedRecorder({ store, logger, clock });
    recorder.record("AKIAKEYA", "iam", "us-east-1");
    recorder.record("AKIAKEYB", "iam", "us-east-1");
    failNext();
    await recorder.flush();
    expect(batches).toEqual([]);
    expect(recorder.pending()).toBe(2);
    clock.advance(500);
    recorder.record("AKIAKEYB", "iam", "eu-west-1");
    await recorder.flush();
    expect(byId(batches[0])).toEqual([
      { accessKeyId: "AKIAKEYA", atMs: t0, service: "iam", region: "us-east-1" },
      { accessKeyId: "AKIAKEYB", atMs: t0 + 500, service: "iam", region: "eu-west-1" },
    ]);
  });

  it("flushes on the interval and on stop, and early when maxPending keys wait", async () => {
    const clock = createManualClock(t0);
    const { store, batches } = batchStore();
    const recorder = createLastUsedRecorder({ store, logger, clock, flushEveryMs: 20, maxPending: 3 });
    recorder.start();
    recorder.record("AKIAKEYA", "iam", "us-east-1");
    await new Promise((r) => setTimeout(r, 80));
    expect(batches.map((b) => b.length)).toEqual([1]);
    await recorder.stop();
    // A fourth key flushes the three waiting at once.
    for (const id of ["AKIA1", "AKIA2", "AKIA3"]) recorder.record(id, "iam", "us-east-1");
    expect(batches).toHaveLength(1);
    recorder.record("AKIA4", "iam", "us-east-1");
    await recorder.stop();
    expect(batches.map((b) => b.map((u) => u.accessKeyId))).toEqual([
      ["AKIAKEYA"],
      ["AKIA1", "AKIA2", "AKIA3"],
      ["AKIA4"],
    ]);
    expect(() => createLastUsedRecorder({ store, logger, flushEveryMs: 0 })).toThrow(
      /flushEveryMs must be a positive integer, got 0/,
    );
  });
});
