import { IamError } from "@gatehouse/core";
import { describe, expect, it } from "vitest";
import { createHashLimiter } from "./hash-limiter.ts";

/** A unit of work the test finishes by hand, recording when it started. */
function gate(log: string[], name: string) {
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    work: async () => {
      log.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const settle = () => new Promise((r) => setImmediate(r));

describe("hash limiter", () => {
  it("runs at most `concurrency` hashes at once; the rest wait and start as slots free", async () => {
    const limiter = createHashLimiter({ concurrency: 2, writesPerAccount: 10 });
    const started: string[] = [];
    const gates = Array.from({ length: 5 }, (_, i) => gate(started, `h${i}`));
    const results = gates.map((g) => limiter.run("111122223333", g.work));
    await settle();
    expect(started).toEqual(["h0", "h1"]);
    expect(limiter.stats()).toEqual({ running: 2, waiting: 3 });
    gates[0]?.finish();
    await settle();
    expect(started).toEqual(["h0", "h1", "h2"]);
    expect(limiter.stats()).toEqual({ running: 2, waiting: 2 });
    for (const g of gates) g.finish();
    expect(await Promise.all(results)).toEqual(["h0", "h1", "h2", "h3", "h4"]);
    expect(limiter.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it("serves waiting accounts round-robin: a busy account does not hold another behind its queue", async () => {
    const limiter = createHashLimiter({ concurrency: 1, writesPerAccount: 10 });
    const started: string[] = [];
    const busy = Array.from({ length: 4 }, (_, i) => gate(started, `busy${i}`));
    const quiet = gate(started, "quiet");
    const all = busy.map((g) => limiter.run("busy", g.work));
    await settle();
    all.push(limiter.run("quiet", quiet.work));
    for (const g of [...busy, quiet]) {
      g.finish();
      await settle();
    }
    await Promise.all(all);
    // quiet arrived after busy had queued three behind its running one: it waits for one more
    // of busy's (busy's turn in the rotation came first), not for all of them.
    expect(started).toEqual(["busy0", "busy1", "quiet", "busy2", "busy3"]);
  });

  it("a failing hash frees its slot", async () => {
    const limiter = createHashLimiter({ concurrency: 1, writesPerAccount: 10 });
    await expect(limiter.run("a", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(await limiter.run("a", async () => 7)).toBe(7);
    expect(limiter.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it("admits at most `writesPerAccount` writes per account; more are Throttling, other accounts unaffected", () => {
    const limiter = createHashLimiter({ concurrency: 1, writesPerAccount: 2 });
    const r1 = limiter.admit("a");
    const r2 = limiter.admit("a");
    let refused: unknown;
    try {
      limiter.admit("a");
    } catch (e) {
      refused = e;
    }
    expect(IamError.is(refused) && [refused.awsName, refused.code, refused.retriable]).toEqual([
      "Throttling",
      "RESOURCE_EXHAUSTED",
      true,
    ]);
    const other = limiter.admit("b");
    r1();
    r1(); // releasing twice frees one place only
    const r3 = limiter.admit("a");
    expect(() => limiter.admit("a")).toThrow(/2 password writes in progress/);
    for (const r of [r2, r3, other]) r();
    limiter.admit("a");
  });
});
