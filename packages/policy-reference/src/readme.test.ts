import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { validateAgainstServiceReference } from "./index.ts";

describe("README", () => {
  it("prints what its example returns", async () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const [finding, ...more] = await validateAgainstServiceReference({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "s3:GetObjekt", Resource: "arn:aws:s3:::reports/*" }],
    });
    expect(more).toEqual([]);
    expect(block).toContain(
      'Statement: [{ Effect: "Allow", Action: "s3:GetObjekt", Resource: "arn:aws:s3:::reports/*" }]',
    );
    expect(block).toContain(`path: "${finding?.path}", code: "${finding?.code}", severity: "${finding?.severity}"`);
    expect(block).toContain(`message: '${finding?.message}'`);
  });
});
