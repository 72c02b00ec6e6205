import type { PageRequest } from "@gatehouse/proto";
import { checkPath } from "../validation.ts";

/** A list call's page: its marker and size as sent (the store checks them). */
export function pageOf(p: PageRequest | undefined): { marker: string | undefined; maxItems: number | undefined } {
  return { marker: p?.marker, maxItems: p?.maxItems };
}

/** A list call's page and path prefix ("" lists everything, as "/" does). */
export function pathPage(p: PageRequest | undefined, pathPrefix: string) {
  return {
    marker: p?.marker,
    maxItems: p?.maxItems,
    pathPrefix: pathPrefix === "" ? "/" : checkPath(pathPrefix, "pathPrefix"),
  };
}
