import { describe, expect, it } from "vitest";
import { bucketOf } from "./resource-policies.ts";

describe("bucketOf", () => {
  it("names an S3 object's bucket, and nothing for a bucket or another service, asked once or again", () => {
    for (let round = 0; round < 2; round++) {
      expect(bucketOf("arn:aws:s3:::data-1/reports/q3.csv")).toBe("arn:aws:s3:::data-1");
      expect(bucketOf("arn:aws-cn:s3:::logs/a")).toBe("arn:aws-cn:s3:::logs");
      expect(bucketOf("arn:aws:s3:::data-1")).toBeUndefined();
      expect(bucketOf("arn:aws:s3:::data-1/")).toBeUndefined();
      expect(bucketOf("arn:aws:sqs:us-east-1:123456789012:queue/x")).toBeUndefined();
    }
  });
});
