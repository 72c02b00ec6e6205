import { describe, expect, it } from "vitest";
import { toCedarStatement } from "./cedar-translate.ts";
import { prepareCedar, prepareGatehouse, prepareIamSimulate } from "./engines.ts";
import { createWorkload, workloadShapes } from "./workloads.ts";

describe("createWorkload", () => {
  it("is deterministic for a seed and has the documented shape", () => {
    for (const name of ["small", "typical", "large"] as const) {
      const a = createWorkload(name, { requests: 50 });
      expect(createWorkload(name, { requests: 50 })).toEqual(a);
      expect(a.policies).toHaveLength(workloadShapes[name].policies);
      expect(a.policies.flatMap((p) => p.Statement)).toHaveLength(workloadShapes[name].statements);
    }
    expect(createWorkload("small", { seed: 1 })).not.toEqual(createWorkload("small", { seed: 2 }));
  });
});

describe("the benchmark's engines agree", () => {
  // The benchmark checks this on its whole mix before timing; this keeps the translation honest in CI.
  it("on a sample of each workload's requests", { timeout: 60_000 }, () => {
    for (const name of ["small", "typical", "large"] as const) {
      const w = createWorkload(name, { requests: name === "large" ? 20 : 100 });
      const engines = [prepareGatehouse(w), prepareCedar(w), prepareIamSimulate(w)];
      const decisions = new Set<string>();
      w.requests.forEach((request, i) => {
        const [g, c, s] = engines.map((e) => e.decide(i));
        expect({ request, cedar: c, iamSimulate: s }).toEqual({ request, cedar: g, iamSimulate: g });
        decisions.add(g as string);
      });
      if (name !== "large") expect(decisions.size).toBe(3);
    }
  });
});

describe("toCedarStatement", () => {
  it("translates negated operators with IAM's missing-key rule", () => {
    expect(
      toCedarStatement({
        Effect: "Deny",
        Action: ["s3:Get*", "s3:PutObject"],
        Resource: "arn:aws:s3:::b/*",
        Condition: { StringNotEquals: { "aws:PrincipalTag/team": ["red", "blue"] } },
      }),
    ).toBe(
      'forbid(principal, action, resource) when { ((context.action like "s3:get*") || (action == Action::"s3:putobject")) && ' +
        'context.resource like "arn:aws:s3:::b/*" && (!(context has "aws:principaltag/team") || ' +
        '!(((context["aws:principaltag/team"] == "red") || (context["aws:principaltag/team"] == "blue")))) };',
    );
  });

  it("refuses what Cedar cannot express the same way", () => {
    expect(() => toCedarStatement({ Effect: "Allow", Action: "s3:?etObject", Resource: "*" })).toThrow(/\?/);
    expect(() =>
      toCedarStatement({ Effect: "Allow", Action: "s3:*", Resource: "arn:aws:sqs:us-*:111122223333:q" }),
    ).toThrow();
    expect(() =>
      toCedarStatement({
        Effect: "Allow",
        Action: "s3:*",
        Resource: "*",
        Condition: { DateLessThan: { "aws:CurrentTime": "x" } },
      }),
    ).toThrow();
  });
});
