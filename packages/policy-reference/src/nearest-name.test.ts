import { describe, expect, it } from "vitest";
import { editDistance, nearestName } from "./nearest-name.ts";

describe("editDistance", () => {
  it.each([
    ["GetObject", "GetObject", 0],
    ["getobject", "GetObject", 0],
    ["GetObjekt", "GetObject", 1],
    ["GetObjet", "GetObject", 1],
    ["PutObject", "GetObject", 2],
    ["", "abc", 3],
  ])("%s → %s: %i", (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
  });
});

describe("nearestName", () => {
  const s3 = ["GetObject", "GetObjectAcl", "PutObject", "ListBucket"];
  it("suggests the nearest candidate within a third of the name's length", () => {
    expect(nearestName("GetObjekt", s3)).toBe("GetObject");
    expect(nearestName("ListBuckets", s3)).toBe("ListBucket");
    expect(nearestName("s4", ["s3", "sqs", "sns"])).toBe("s3");
  });
  it("suggests nothing when nothing is near", () => {
    expect(nearestName("DeleteEverything", s3)).toBeUndefined();
    expect(nearestName("xyz", ["s3", "sqs"])).toBeUndefined();
  });
});
