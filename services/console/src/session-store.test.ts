import { describe, expect, it } from "vitest";
import { createSessionStore, csrfMatches, type SessionInfo } from "./session-store.ts";

const info = (expiresAt: number): SessionInfo => ({
  accountId: "111122223333",
  accountAlias: "",
  principalArn: "arn:aws:iam::111122223333:user/alice",
  userName: "alice",
  isRoot: false,
  mfaAuthenticated: false,
  expiresAt,
});
const keys = { accessKeyId: "ASIAAAAAAAAAAAAAAAAA", secretAccessKey: "s", sessionToken: "t" };

function store(idleTimeoutMs = 1000, maxSessions = 10) {
  let t = 0;
  const ended: string[] = [];
  const s = createSessionStore<string>({
    idleTimeoutMs,
    maxSessions,
    now: () => t,
    onEnd: (x) => ended.push(x.client),
  });
  const at = (ms: number) => {
    t = ms;
  };
  return { s, ended, at };
}

describe("createSessionStore", () => {
  it("keeps a session while it is used, ends it after the idle timeout and tells it expired", () => {
    const { s, ended, at } = store();
    const a = s.create(info(10_000_000), keys, "a");
    expect(a.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.csrfToken).not.toBe(a.id);
    at(999);
    expect(s.touch(a.id).kind).toBe("active");
    at(1998);
    expect(s.touch(a.id).kind).toBe("active");
    at(2998);
    expect(s.touch(a.id)).toEqual({ kind: "expired" });
    expect(ended).toEqual(["a"]);
    expect(s.touch(a.id)).toEqual({ kind: "expired" });
    expect(s.touch("nope").kind).toBe("none");
    expect(s.touch(undefined).kind).toBe("none");
  });

  it("ends a session when its credentials expire, however active", () => {
    const { s, at } = store(60_000);
    const a = s.create(info(500), keys, "a");
    at(499);
    expect(s.touch(a.id).kind).toBe("active");
    at(500);
    expect(s.touch(a.id).kind).toBe("expired");
  });

  it("ends the least recently used session at the cap, and everything on sweep, end and clear", () => {
    const { s, ended, at } = store(1000, 2);
    const a = s.create(info(1e9), keys, "a");
    const b = s.create(info(1e9), keys, "b");
    s.touch(a.id);
    s.create(info(1e9), keys, "c");
    expect(ended).toEqual(["b"]);
    expect(s.touch(b.id).kind).toBe("none");
    s.end(a.id);
    expect(ended).toEqual(["b", "a"]);
    at(5000);
    s.sweep();
    expect(ended).toEqual(["b", "a", "c"]);
    expect(s.size()).toBe(0);
  });

  it("compares CSRF tokens whole", () => {
    const session = { csrfToken: "abcdef" };
    expect(csrfMatches(session, "abcdef")).toBe(true);
    for (const wrong of [undefined, "", "abcde", "abcdefg", "abcdeF"]) expect(csrfMatches(session, wrong)).toBe(false);
  });
});
