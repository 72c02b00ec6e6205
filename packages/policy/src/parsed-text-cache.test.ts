import { describe, expect, it } from "vitest";
import { ParsedTextCache, textFingerprint } from "./parsed-text-cache.ts";

/** A new string object with the same contents (no shared hash, as a region receives text). */
function copy(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** Texts of one length whose only difference (position 1) no fingerprint sample reads. */
function colliding(n: number): string[] {
  const body = "x".repeat(998);
  return Array.from({ length: n }, (_, i) => `a${String.fromCharCode(65 + i)}${body}`);
}

describe("ParsedTextCache", () => {
  it("finds a text by its contents, whatever the string object", () => {
    const cache = new ParsedTextCache<number>(8);
    const text = '{"Version":"2012-10-17","Statement":[]}';
    cache.set(text, 1);
    expect(cache.get(copy(text))).toBe(1);
    expect(cache.get(`${text} `)).toBeUndefined();
    expect(cache.get(text.replace("2012", "2008"))).toBeUndefined();
  });

  it("keeps texts apart that share a fingerprint", () => {
    const texts = colliding(5);
    expect(new Set(texts.map(textFingerprint)).size).toBe(1);
    const cache = new ParsedTextCache<number>(8);
    cache.set(texts[0] as string, 0);
    expect(cache.get(copy(texts[1] as string))).toBeUndefined();
    texts.slice(1).forEach((t, i) => {
      cache.set(t, i + 1);
    });
    texts.forEach((t, i) => {
      expect(cache.get(copy(t))).toBe(i);
    });
    expect(cache.size).toBe(5);
  });

  it("evicts the oldest entry first, also out of a shared bucket", () => {
    const texts = colliding(3);
    const cache = new ParsedTextCache<string>(3);
    cache.set(texts[0] as string, "0");
    cache.set("other", "other");
    cache.set(texts[1] as string, "1");
    cache.set(texts[2] as string, "2"); // evicts texts[0]
    expect(cache.get(texts[0] as string)).toBeUndefined();
    expect(cache.get(texts[1] as string)).toBe("1");
    cache.set("more", "more"); // evicts "other"
    cache.set("again", "again"); // evicts texts[1]
    expect(cache.get("other")).toBeUndefined();
    expect(cache.get(texts[1] as string)).toBeUndefined();
    expect(cache.get(texts[2] as string)).toBe("2");
    expect(cache.size).toBe(3);
    for (let i = 0; i < 100; i++) cache.set(`t${i}`, String(i));
    expect(cache.size).toBe(3);
    expect(cache.get("t99")).toBe("99");
    expect(cache.get("t96")).toBeUndefined();
  });

  it("forgets everything on clear", () => {
    const cache = new ParsedTextCache<number>(4);
    cache.set("a", 1);
    cache.clear();
    expect(cache.get("a")).toBeUndefined();
    expect(cache.size).toBe(0);
    cache.set("a", 2);
    expect(cache.get("a")).toBe(2);
  });
});
