import type { Tag } from "../api/types.ts";

/** Reads `key=value` lines (or comma-separated pairs) into tags; a line without `=` is a key with an empty value. */
export function parseTags(text: string): Tag[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const eq = s.indexOf("=");
      return eq === -1 ? { key: s, value: "" } : { key: s.slice(0, eq).trim(), value: s.slice(eq + 1).trim() };
    });
}

/** Reads a comma- or newline-separated list (client ids, thumbprints), dropping blanks. */
export function parseList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
