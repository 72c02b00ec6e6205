import { IamError } from "@gatehouse/core";
import type { Page, PageInput } from "./records.ts";

// Paging of every List call: an opaque marker holding the last item's sort key, and one extra row
// fetched to tell whether more follow.

const MAX_ITEMS_DEFAULT = 100;

/** Parsed pagination input: sort-key marker, limit and LIKE pattern for the path prefix. */
export interface PageQuery {
  readonly after: string | null;
  readonly limit: number;
  readonly pathLike: string;
}

/** Validates marker, maxItems and pathPrefix. */
export function pageQuery(page: PageInput): PageQuery {
  const limit = page.maxItems === undefined || page.maxItems === 0 ? MAX_ITEMS_DEFAULT : page.maxItems;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new IamError("InvalidInput", `maxItems must be 1..1000, got ${page.maxItems}`, { field: "maxItems" });
  }
  let after: string | null = null;
  if (page.marker !== undefined && page.marker !== "") {
    after = Buffer.from(page.marker, "base64url").toString("utf8");
    if (!after.startsWith("m:")) {
      throw new IamError("InvalidInput", `marker ${JSON.stringify(page.marker)} is not valid`, { field: "marker" });
    }
    after = after.slice(2);
  }
  const prefix = page.pathPrefix === undefined || page.pathPrefix === "" ? "/" : page.pathPrefix;
  if (!prefix.startsWith("/") || prefix.length > 512) {
    throw new IamError("InvalidInput", `pathPrefix ${JSON.stringify(prefix)} must start with "/"`, {
      field: "pathPrefix",
    });
  }
  return { after, limit, pathLike: `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
}

/** Cuts one extra fetched row into a page with its marker. */
export function toPage<T>(rows: T[], limit: number, sortKey: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows, isTruncated: false, marker: "" };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const marker = last === undefined ? "" : Buffer.from(`m:${sortKey(last)}`, "utf8").toString("base64url");
  return { items, isTruncated: true, marker };
}
