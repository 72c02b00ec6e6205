import { ActionIndex } from "./action-index.ts";
import { type CompiledStatement, compileStatements } from "./compiled-statement.ts";
import type { PolicyRef, PolicyType } from "./evaluation-result.ts";
import type { Policy } from "./policy.ts";

/** The compiled policies of one slot of a policy set (identity, boundary, …). */
export class PolicySlot {
  readonly type: PolicyType;
  readonly policies: readonly Policy[];
  /** All statements in policy order, then statement order. */
  readonly statements: readonly CompiledStatement[];
  readonly denies = new ActionIndex();
  readonly allows = new ActionIndex();

  /**
   * @param shared whether a policy outlives this slot (parsed by the caller, or cached from JSON
   *   text); only those have their compiled statements cached for reuse.
   */
  constructor(type: PolicyType, policies: readonly Policy[], shared: (p: Policy) => boolean) {
    this.type = type;
    this.policies = policies;
    const statements: CompiledStatement[] = [];
    for (let index = 0; index < policies.length; index++) {
      const policy = policies[index] as Policy;
      const id = policy.id ?? policy.policyId;
      const ref: PolicyRef =
        id === undefined ? { type, index, kind: policy.kind } : { type, index, kind: policy.kind, id };
      const compiled = compileStatements(policy, ref, statements.length, shared(policy));
      for (let i = 0; i < compiled.length; i++) {
        const s = compiled[i] as CompiledStatement;
        statements.push(s);
        (s.deny ? this.denies : this.allows).add(s);
      }
    }
    this.statements = statements;
  }

  /** Whether the slot holds any policy (absent guardrails, boundary, session policies don't apply). */
  get present(): boolean {
    return this.policies.length > 0;
  }
}
