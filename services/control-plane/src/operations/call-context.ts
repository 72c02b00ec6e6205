import type { RequestToken } from "@gatehouse/store-postgres";
import type { Authorizer } from "../authorizer.ts";
import type { Caller } from "../caller.ts";
import type { CallInfo } from "../grpc-handler.ts";
import { type RequestContext, requestTags } from "../targets.ts";

/** The operator credential as a caller. */
export type OperatorCaller = Extract<Caller, { kind: "operator" }>;
/** A principal of an account: its root or an IAM user. */
export type AccountCaller = Exclude<Caller, { kind: "operator" }>;
/** An IAM user as a caller. */
export type UserCaller = Extract<Caller, { kind: "user" }>;

/** What a call is authorized on: a resource ARN, or a looked-up entity with its condition keys. */
export type AuthzTarget = string | { readonly arn: string; readonly context?: RequestContext };

/** What every handler gets: the authenticated caller, its address, and its request tokens. */
export interface CallContext<C extends Caller = Caller> {
  readonly caller: C;
  /** The caller's IP address (`aws:SourceIp`), when the transport has one. */
  readonly sourceIp: string | undefined;
  /**
   * The request's client request token, scoped to the calling principal (tokens never cross
   * callers; a rotated access key keeps its principal's). The service's one token normalizer: the
   * proto3 default `""` means "no token".
   */
  token(clientRequestToken: string): RequestToken;
  /** `aws:SourceIp` as a condition key, or nothing when the transport has no address. */
  sourceIpContext(): RequestContext;
}

/** The context of an operator-only operation. */
export type OperatorContext = CallContext<OperatorCaller>;
/** The context of an operation every authenticated caller may call. */
export type AnyCallerContext = CallContext<Caller>;

/** The context of an operation of an account's principals. */
export interface AccountContext<C extends AccountCaller = AccountCaller> extends CallContext<C> {
  /** The caller's account. */
  readonly accountId: string;
  /**
   * Authorizes `iam:<action>` on a target; the target (its canonical ARN and condition keys) is
   * resolved only when evaluation is needed (root is allowed everything in its own account unless
   * the account has guardrails, so its calls usually skip the lookups). `aws:SourceIp` is added.
   */
  authorize(action: string, target: () => Promise<AuthzTarget> | AuthzTarget): Promise<void>;
  /**
   * Authorizes a create call: `iam:<action>` on the new entity's ARN with `aws:RequestTag/…`,
   * `aws:TagKeys` and the `extra` keys, and, as AWS does when the call carries tags, the dependent
   * `iam:Tag<word>` with the same keys.
   */
  authorizeCreate(
    action: string,
    word: string,
    arn: string,
    tags: readonly { key: string; value: string }[],
    extra?: () => Promise<RequestContext> | RequestContext,
  ): Promise<void>;
}

/** The context of an operation an IAM user calls about itself. */
export type UserContext = AccountContext<UserCaller>;

const NO_CONTEXT: RequestContext = Object.freeze({});
const noExtra = (): RequestContext => NO_CONTEXT;

class Context<C extends Caller> implements CallContext<C> {
  readonly caller: C;
  readonly sourceIp: string | undefined;
  #callerId: string | undefined;

  constructor(caller: C, info: CallInfo) {
    this.caller = caller;
    this.sourceIp = info.sourceIp;
  }

  token(clientRequestToken: string): RequestToken {
    // The principal, not its access key, owns a token.
    this.#callerId ??=
      this.caller.kind === "user"
        ? `user:${this.caller.userId}`
        : this.caller.kind === "role-session"
          ? `role:${this.caller.roleId}`
          : this.caller.kind;
    return { clientRequestToken: clientRequestToken === "" ? undefined : clientRequestToken, callerId: this.#callerId };
  }

  sourceIpContext(): RequestContext {
    return this.sourceIp === undefined ? NO_CONTEXT : { "aws:SourceIp": this.sourceIp };
  }
}

class AccountCallContext<C extends AccountCaller> extends Context<C> implements AccountContext<C> {
  readonly accountId: string;
  readonly #authorizer: Authorizer;

  constructor(caller: C, info: CallInfo, authorizer: Authorizer) {
    super(caller, info);
    this.accountId = caller.accountId;
    this.#authorizer = authorizer;
  }

  async authorize(action: string, target: () => Promise<AuthzTarget> | AuthzTarget): Promise<void> {
    const { caller, accountId } = this;
    if (caller.kind === "root" && !(await this.#authorizer.hasGuardrails(accountId))) return;
    const t = await target();
    const resource = typeof t === "string" ? t : t.arn;
    const context = { ...(typeof t === "string" ? NO_CONTEXT : t.context), ...this.sourceIpContext() };
    await this.#authorizer.authorize(caller, { action: `iam:${action}`, resource, accountId, context });
  }

  async authorizeCreate(
    action: string,
    word: string,
    arn: string,
    tags: readonly { key: string; value: string }[],
    extra: () => Promise<RequestContext> | RequestContext = noExtra,
  ): Promise<void> {
    let context: RequestContext | undefined;
    const target = async () => {
      context ??= { ...(tags.length === 0 ? NO_CONTEXT : requestTags(tags)), ...(await extra()) };
      return { arn, context };
    };
    await this.authorize(action, target);
    if (tags.length > 0) await this.authorize(`Tag${word}`, target);
  }
}

/**
 * The context of a call by `caller`: an {@link AccountContext} for an account's principals, a
 * plain {@link CallContext} for the operator.
 */
export function createCallContext(caller: Caller, info: CallInfo, authorizer: Authorizer): CallContext {
  return caller.kind === "operator" ? new Context(caller, info) : new AccountCallContext(caller, info, authorizer);
}
