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
    policies.forEach((policy, index) => {
      const id = policy.id ?? policy.policyId;
      const ref: PolicyRef = { type, index, kind: policy.kind, ...(id === undefined ? {} : { id }) };
      statements.push(...compileStatements(policy, ref, statements.length, shared(policy)));
    });
    this.statements = statements;
    for (const s of statements) (s.deny ? this.denies : this.allows).add(s);
  }

  /** Whether the slot holds any policy (absent guardrails, boundary, session policies don't apply). */
  get present(): boolean {
    return this.policies.length > 0;
  }
}
