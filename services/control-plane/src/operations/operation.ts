import type { ControlServiceServer } from "@gatehouse/proto";
import type { handleUnaryCall } from "@grpc/grpc-js";
import type { AccountContext, AnyCallerContext, OperatorContext, UserContext } from "./call-context.ts";

/**
 * The ControlService RPCs by their generated method names (`createUser`, …). grpc-js's
 * `UntypedServiceImplementation`, which the generated interface extends, adds a string index
 * signature; it is dropped here, or every string would be a method and nothing could be missing.
 */
export type ControlMethod = keyof {
  [K in keyof ControlServiceServer as string extends K ? never : number extends K ? never : K]: unknown;
};

/** The request message of an RPC. */
export type RequestOf<M extends ControlMethod> =
  ControlServiceServer[M] extends handleUnaryCall<infer Q, infer _S> ? Q : never;

/** The response message of an RPC. */
export type ResponseOf<M extends ControlMethod> =
  ControlServiceServer[M] extends handleUnaryCall<infer _Q, infer S> ? S : never;

/**
 * Who may call an operation. The caller-kind layer (`call-layers.ts`) checks it once, before the
 * handler runs, and hands the handler the context of that kind:
 * - `operator`: the operator credential only (administration of accounts from outside);
 * - `account`: an account's principals, its root or an IAM user (and the role sessions to come);
 * - `user`: an IAM user acting on itself (as `account`, and the root gets `InvalidUserType`);
 * - `any`: every authenticated caller; the handler tells them apart (ExportAccount).
 */
export type CallerRule = "operator" | "account" | "user" | "any";

/** The context a handler of each {@link CallerRule} receives. */
export interface ContextOf {
  operator: OperatorContext;
  account: AccountContext;
  user: UserContext;
  any: AnyCallerContext;
}

/** One ControlService operation: its AWS name, who may call it, and its handler. */
export interface Operation<Q, S, R extends CallerRule = CallerRule> {
  /** The AWS operation name (`CreateUser`, `CreateVirtualMFADevice`), used in logs and errors. */
  readonly name: string;
  readonly callers: R;
  readonly handle: (request: Q, ctx: ContextOf[R]) => Promise<S>;
}

/** An operation under any of the rules, its handler's context matching its rule. */
export type AnyOperation<Q, S> = { [R in CallerRule]: Operation<Q, S, R> }[CallerRule];

/**
 * Every ControlService RPC mapped to its operation, as connect-es's `ServiceImpl` maps a service's
 * methods: a table that `satisfies` this type fails `tsc` when an RPC is missing, misspelled, or
 * takes or answers the wrong message.
 */
export type OperationTable = { readonly [M in ControlMethod]: AnyOperation<RequestOf<M>, ResponseOf<M>> };

/** A family's part of the {@link OperationTable} (`satisfies` it to catch misspelled RPC names). */
export type OperationFamily = Partial<OperationTable>;

/**
 * An operation of an account's principals (root or IAM user).
 *
 * @example
 * getRole: forAccount("GetRole", async (r, ctx) => { … }),
 */
export function forAccount<Q, S>(
  name: string,
  handle: (request: Q, ctx: AccountContext) => Promise<S>,
): Operation<Q, S, "account"> {
  return { name, callers: "account", handle };
}

/** An operation only an IAM user may call, about itself (ChangePassword). */
export function forUser<Q, S>(
  name: string,
  handle: (request: Q, ctx: UserContext) => Promise<S>,
): Operation<Q, S, "user"> {
  return { name, callers: "user", handle };
}

/** An operation only the operator credential may call. */
export function forOperator<Q, S>(
  name: string,
  handle: (request: Q, ctx: OperatorContext) => Promise<S>,
): Operation<Q, S, "operator"> {
  return { name, callers: "operator", handle };
}

/** An operation every authenticated caller may call; the handler tells them apart. */
export function forAnyCaller<Q, S>(
  name: string,
  handle: (request: Q, ctx: AnyCallerContext) => Promise<S>,
): Operation<Q, S, "any"> {
  return { name, callers: "any", handle };
}
