/** A request-context value. Arrays are multivalued keys (e.g. `aws:TagKeys`). */
export type ContextValue = string | number | boolean | readonly string[];

/**
 * Who is asking. Used only to match resource-policy `Principal`/`NotPrincipal` and to decide
 * same-account vs cross-account; nothing is derived from it into the request context.
 */
export interface PrincipalInfo {
  /**
   * The principal's ARN: `arn:aws:iam::111122223333:user/alice`,
   * `arn:aws:sts::111122223333:assumed-role/Role/session`, `arn:aws:iam::111122223333:root`, … For
   * `type: "Service"` the service principal name (`ec2.amazonaws.com`), for `"Federated"` the provider.
   */
  arn: string;
  accountId: string;
  /** Informational; the request context (`aws:PrincipalTag/…`) is what conditions see. */
  tags?: Record<string, string>;
  /** Defaults to `"AWS"`. Non-AWS principals have no identity side: only the resource policy decides. */
  type?: "AWS" | "Service" | "Federated" | "CanonicalUser";
  /**
   * For an assumed-role session, the role's ARN including its path. Without it the role ARN is
   * derived from the session ARN (`arn:aws:iam::ACCOUNT:role/NAME`), which misses roles with a path.
   */
  roleArn?: string;
}

/** One authorization question. */
export interface AuthzRequest {
  /** `service:Action`, matched case-insensitively. */
  action: string;
  /** The resource ARN (or `*`), matched case-sensitively. */
  resource: string;
  /** The account owning the resource; defaults to the principal's account. */
  resourceAccount?: string;
  /** The request context, used exactly as given. Keys match case-insensitively. */
  context?: Record<string, ContextValue>;
}
