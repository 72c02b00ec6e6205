import { randomUUID } from "node:crypto";
import { IamError } from "@gatehouse/core";
import type { AuditStore } from "@gatehouse/store-postgres";
import { redactRequest } from "../audit-redaction.ts";
import type { Authenticator } from "../authenticator.ts";
import type { Authorizer } from "../authorizer.ts";
import type { Caller } from "../caller.ts";
import type { CallInfo } from "../grpc-handler.ts";
import { type CallContext, createCallContext } from "./call-context.ts";
import type { CallerRule } from "./operation.ts";

/**
 * An operation as the layers see it. The table's entries are typed per RPC and per caller rule;
 * the layers below only move them along, and {@link admitCallers} is what makes a handler's
 * context match its rule.
 */
export interface RoutedOperation {
  readonly name: string;
  readonly callers: CallerRule;
  readonly handle: (request: unknown, ctx: CallContext) => Promise<unknown>;
}

/** A call on its way from the transport to its operation. */
export interface IncomingCall {
  readonly info: CallInfo;
  readonly operation: RoutedOperation;
}

/** A call whose signature checked out. */
export interface AuthenticatedCall extends IncomingCall {
  readonly caller: Caller;
}

/** The rest of the way to the handler. */
export type Next<C> = (request: unknown, call: C) => Promise<unknown>;

/**
 * A step wrapped around every operation, as connect-es's interceptors are: it gets the next step
 * and returns the step to run before it. Layers are composed once, when the service is made.
 */
export type Layer<In, Out = In> = (next: Next<Out>) => Next<In>;

/** SigV4: turns the raw call into its {@link Caller}, or fails UNAUTHENTICATED before anything else. */
export function authenticate(authenticator: Authenticator): Layer<IncomingCall, AuthenticatedCall> {
  return (next) => async (request, call) => {
    const { info, operation } = call;
    const caller = await authenticator.authenticate(
      { method: info.method, authority: info.authority, body: info.raw },
      info.metadata,
    );
    return next(request, { info, operation, caller });
  };
}

/**
 * The audit trail (Gatehouse's CloudTrail): every authenticated call, admitted or refused,
 * successful or not, is recorded once with its caller, source address, operation and redacted
 * request (`audit-redaction.ts`). A write's event commits in the write's own transaction with the
 * revision it produced; any other call's event is inserted alone when it ends (`AuditStore.auditCall`).
 * Runs before the caller-kind rules so that their refusals are recorded too.
 */
export function recordAudit(audit: Pick<AuditStore, "auditCall">): Layer<AuthenticatedCall> {
  return (next) => (request, call) => {
    const { caller, info, operation } = call;
    return audit.auditCall(
      {
        eventId: randomUUID(),
        eventTimeMs: Date.now(),
        accountId: caller.kind === "operator" ? undefined : caller.accountId,
        principalArn: caller.arn,
        userName: caller.kind === "user" ? caller.userName : undefined,
        accessKeyId: caller.accessKeyId,
        sourceIp: info.sourceIp,
        operation: operation.name,
        requestParameters: redactRequest(request),
      },
      () => next(request, call),
    );
  };
}

/** Why `caller` may not call an operation with `rule`, or undefined when it may. */
function refusal(rule: CallerRule, caller: Caller, operation: string): IamError | undefined {
  switch (rule) {
    case "any":
      return undefined;
    case "operator":
      return caller.kind === "operator"
        ? undefined
        : new IamError("AccessDenied", `${caller.arn} is not authorized to perform ${operation} (operator only)`);
    case "account":
    case "user":
      if (caller.kind === "operator") {
        return new IamError(
          "AccessDenied",
          `the operator credential cannot call ${operation}; use an account's credentials`,
        );
      }
      if (rule === "user" && caller.kind !== "user") {
        // As AWS answers the root calling ChangePassword: the call is about the calling IAM user.
        return new IamError(
          "InvalidUserType",
          `${operation} acts on the calling IAM user; call it as that user, not with root credentials`,
          { field: "userName" },
        );
      }
      return undefined;
  }
}

/**
 * The caller-kind rules (operator only, an account's principals, an IAM user, anyone), checked
 * once for every operation before its handler and its input checks run.
 */
export function admitCallers(): Layer<AuthenticatedCall> {
  return (next) => (request, call) => {
    const refused = refusal(call.operation.callers, call.caller, call.operation.name);
    return refused === undefined ? next(request, call) : Promise.reject(refused);
  };
}

/** The last step: the handler, with the context of the caller's kind (which the rules matched). */
export function dispatch(authorizer: Authorizer): Next<AuthenticatedCall> {
  return (request, call) => call.operation.handle(request, createCallContext(call.caller, call.info, authorizer));
}

/** Options of {@link createCallPipeline}. */
export interface CallPipelineOptions {
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  /** Where the audit trail is recorded. */
  readonly audit: Pick<AuditStore, "auditCall">;
}

/**
 * Authentication, then the audit trail, then the caller-kind rules, then the operation: every
 * call takes this path.
 */
export function createCallPipeline(options: CallPipelineOptions): Next<IncomingCall> {
  return authenticate(options.authenticator)(recordAudit(options.audit)(admitCallers()(dispatch(options.authorizer))));
}
