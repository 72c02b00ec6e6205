import type { TypedEntityChange } from "@gatehouse/events";
import { entityBuilders } from "@gatehouse/events/testing";
import { describe, expect, it } from "vitest";
import { RevisionAssembler } from "./revision-assembler.ts";

const user = (accountId: string, revision: number, name: string, eventId = ""): TypedEntityChange => {
  const entity = entityBuilders(accountId).user(name, { userId: `AIDA${name}` });
  return { ...entity, id: entity.state.userId, accountId, revision, eventId, committedAtMs: 0, epoch: "e" };
};

describe("RevisionAssembler", () => {
  it("holds a counted revision until all its events arrive, in index order, duplicates once", () => {
    const a = new RevisionAssembler();
    expect(a.add(user("1", 1, "b"), 1, 3, 10n).complete).toEqual([]);
    expect(a.add(user("1", 1, "b"), 1, 3, 11n).complete).toEqual([]);
    expect(a.add(user("1", 1, "a"), 0, 3, 12n).complete).toEqual([]);
    expect(a.committableOffset(13n)).toBe(10n);
    const step = a.add(user("1", 1, "c"), 2, 3, 13n);
    expect(step.complete.map((r) => r.entities.map((e) => e.id))).toEqual([["AIDAa", "AIDAb", "AIDAc"]]);
    expect(a.committableOffset(14n)).toBe(14n);
  });

  it("legacy 0-of-0: complete on the account's next revision or a watermark, not on another account's", () => {
    const a = new RevisionAssembler();
    a.add(user("1", 1, "a", "x1"), 0, 0, 0n);
    a.add(user("1", 1, "b", "x2"), 0, 0, 1n);
    expect(a.add(user("2", 5, "c", "x3"), 0, 0, 2n).complete).toEqual([]);
    const next = a.add(user("1", 2, "d", "x4"), 0, 0, 3n);
    expect(next.complete.map((r) => [r.accountId, r.revision, r.entities.length])).toEqual([["1", 1, 2]]);
    expect(a.committableOffset(4n)).toBe(2n);
    expect(a.flushLegacy().map((r) => [r.accountId, r.revision])).toEqual([
      ["2", 5],
      ["1", 2],
    ]);
    expect(a.pendingCount).toBe(0);
  });

  it("a counted revision overtaken by a later one is reported broken, never completed", () => {
    const a = new RevisionAssembler();
    a.add(user("1", 1, "a"), 0, 2, 0n);
    const step = a.add(user("1", 2, "b"), 0, 1, 1n);
    expect(step.broken).toEqual([{ accountId: "1", revision: 1, held: 1, expected: 2 }]);
    expect(step.complete.map((r) => r.revision)).toEqual([2]);
    expect(a.flushLegacy()).toEqual([]);
  });
});
