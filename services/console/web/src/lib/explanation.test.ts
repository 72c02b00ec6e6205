import type { StatementRef } from "@gatehouse/policy";
import { describe, expect, it } from "vitest";
import { parseExplanation, policySourceOf, statementLabel } from "./explanation.ts";

const ref = (id: string | undefined, sid?: string): StatementRef => ({
  policy: { type: "identity", index: 0, kind: "managed", ...(id === undefined ? {} : { id }) },
  statementIndex: 2,
  effect: "Deny",
  ...(sid === undefined ? {} : { sid }),
});

describe("policySourceOf", () => {
  it("reads managed, inline and pasted ids", () => {
    expect(policySourceOf(ref("arn:aws:iam::123456789012:policy/team/Read"))).toEqual({
      kind: "managed",
      policyArn: "arn:aws:iam::123456789012:policy/team/Read",
    });
    expect(policySourceOf(ref("arn:aws:iam::aws:policy/ReadOnlyAccess")).kind).toBe("managed");
    expect(policySourceOf(ref("arn:aws:iam::123456789012:user/eng/alice#no-delete"))).toEqual({
      kind: "inline",
      entity: "user",
      entityName: "alice",
      policyName: "no-delete",
    });
    expect(policySourceOf(ref("arn:aws:iam::123456789012:group/devs#p"))).toMatchObject({ entity: "group" });
    expect(policySourceOf(ref("extraIdentityPolicies[3]"))).toEqual({ kind: "pasted", index: 3 });
    expect(policySourceOf(ref(undefined))).toEqual({ kind: "unknown", id: "" });
  });
});

describe("parseExplanation", () => {
  it("reads the engine's explanation and refuses other text", () => {
    const e = parseExplanation(
      JSON.stringify({ summary: "Denied", crossAccount: false, decidingStatement: ref("x", "NoDelete") }),
    );
    expect(e?.summary).toBe("Denied");
    expect(e?.matchedStatements).toEqual([]);
    expect(e?.decidingStatement?.sid).toBe("NoDelete");
    expect(parseExplanation("{}")).toBeUndefined();
    expect(parseExplanation("not json")).toBeUndefined();
  });
});

describe("statementLabel", () => {
  it("prefers the Sid", () => {
    expect(statementLabel(ref("x", "NoDelete"))).toBe('"NoDelete"');
    expect(statementLabel(ref("x"))).toBe("Statement[2]");
  });
});
