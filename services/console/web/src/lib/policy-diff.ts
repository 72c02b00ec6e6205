/**
 * A line diff of two policy documents that ignores formatting: both are pretty-printed the same
 * way first (a stored version is minified), so only what changed in the JSON shows. Uses jsdiff's
 * `diffLines` (Myers' algorithm).
 */
import { diffLines } from "diff";

/** One line of the diff: kept, added (only in the newer) or removed (only in the older). */
export interface DiffLine {
  kind: "same" | "added" | "removed";
  text: string;
  /** Its line number in the older document (removed and kept lines). */
  oldLine?: number;
  /** Its line number in the newer document (added and kept lines). */
  newLine?: number;
}

/** A document pretty-printed with two spaces (as it is when it parses), else as it is. */
export function normalizeDocument(doc: string): string {
  try {
    return JSON.stringify(JSON.parse(doc), null, 2);
  } catch {
    return doc;
  }
}

/** The diff between `older` and `newer`, line by line, with the counts of added and removed lines. */
export function policyDiff(older: string, newer: string): { lines: DiffLine[]; added: number; removed: number } {
  const lines: DiffLine[] = [];
  let oldLine = 1;
  let newLine = 1;
  let added = 0;
  let removed = 0;
  for (const change of diffLines(normalizeDocument(older), normalizeDocument(newer))) {
    const texts = change.value.replace(/\n$/, "").split("\n");
    for (const text of texts) {
      if (change.added) {
        lines.push({ kind: "added", text, newLine: newLine++ });
        added++;
      } else if (change.removed) {
        lines.push({ kind: "removed", text, oldLine: oldLine++ });
        removed++;
      } else {
        lines.push({ kind: "same", text, oldLine: oldLine++, newLine: newLine++ });
      }
    }
  }
  return { lines, added, removed };
}
