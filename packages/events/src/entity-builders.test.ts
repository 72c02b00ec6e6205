import { describe, expect, it } from "vitest";
import { decodeEntity } from "./decode-entity.ts";
import { entityBuilders, policyRef } from "./entity-builders.ts";

describe("entityBuilders", () => {
  const acct = entityBuilders("111122223333", { idSuffix: "X" });
  const read = acct.policy("read");
  const alice = acct.user("alice", { attachedPolicies: [policyRef(read)] });
  const built = [alice, acct.group("devs"), acct.role("ops"), read, acct.accessKey("AKIAALICE", alice)];

  it("builds states the strict schemas accept (a field added to a schema must be added here)", () => {
    for (const entity of built) expect(decodeEntity(entity.kind, entity.id, entity.state)).toEqual(entity);
  });

  it("names ids and ARNs after the account, the name and the suffix", () => {
    expect(built.map((e) => e.id)).toEqual(["AIDAALICEX", "AGPADEVSX", "AROAOPSX", "ANPAREADX", "AKIAALICE"]);
    expect(alice.state.arn).toBe("arn:aws:iam::111122223333:user/alice");
    expect(alice.state.attachedPolicies).toEqual([
      { policyId: "ANPAREADX", policyArn: "arn:aws:iam::111122223333:policy/read" },
    ]);
    expect(acct.accessKey("AKIAALICE", alice).state.principalArn).toBe(alice.state.arn);
  });
});
