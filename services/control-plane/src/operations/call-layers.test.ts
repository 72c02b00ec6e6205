import { IamError } from "@gatehouse/core";
import type { AuditEventInput } from "@gatehouse/store-postgres";
import { describe, expect, it } from "vitest";
import type { Authenticator } from "../authenticator.ts";
import type { ApiRequest, Authorizer } from "../authorizer.ts";
import type { Caller } from "../caller.ts";
import type { CallInfo } from "../grpc-handler.ts";
import type { AccountContext, CallContext } from "./call-context.ts";
import { createCallPipeline, type RoutedOperation } from "./call-layers.ts";
import type { CallerRule } from "./operation.ts";

const operator: Caller = { kind: "operator", accessKeyId: "AKOP", arn: "arn:aws:iam::operator" };
const root: Caller = {
  kind: "root",
  accessKeyId: "AKROOT",
  accountId: "111122223333",
  arn: "arn:aws:iam::111122223333:root",
};
const user: Caller = {
  kind: "user",
  accessKeyId: "AKUSER",
  accountId: "111122223333",
  arn: "arn:aws:iam::111122223333:user/alice",
  userId: "AIDAALICE",
  userName: "alice",
};
const info: CallInfo = { method: "/m", authority: "a", raw: Buffer.alloc(0), metadata: {}, sourceIp: "203.0.113.7" };

/** A pipeline whose authenticator answers `caller` and whose authorizer records what it was asked. */
function pipelineFor(caller: Caller | Error) {
  const asked: ApiRequest[] = [];
  const authenticator: Authenticator = {
    authenticate: async () => {
      if (caller instanceof Error) throw caller;
      return caller;
    },
    forget: () => {},
  };
  const authorizer: Authorizer = {
    authorize: async (_c, request) => {
      asked.push(request);
    },
    hasGuardrails: async () => true,
    forgetGuardrails: () => {},
  };
  // The layer's contract with the store (auditCall wraps the rest of the call); the store's own
  // behaviour is covered against Postgres in audit-trail.int.test.ts.
  const audited: { event: AuditEventInput; outcome: string }[] = [];
  const audit = {
    auditCall: async <T>(event: AuditEventInput, body: () => Promise<T>): Promise<T> => {
      const entry = { event, outcome: "running" };
      audited.push(entry);
      try {
        const value = await body();
        entry.outcome = "ok";
        return value;
      } catch (e) {
        entry.outcome = IamError.is(e) ? e.awsName : "error";
        throw e;
      }
    },
  };
  return { pipeline: createCallPipeline({ authenticator, authorizer, audit }), asked, audited };
}

function operation(callers: CallerRule, handle: (ctx: CallContext) => Promise<unknown> = async (ctx) => ctx) {
  const op: RoutedOperation = { name: "DoThing", callers, handle: (_request, ctx) => handle(ctx) };
  return op;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!IamError.is(e)) throw new Error(`expected an IamError, got ${String(e)}`);
  return `${e.awsName}:${e.field ?? ""}`;
}

describe("the caller-kind layer", () => {
  it.each([
    ["operator", operator, "ok"],
    ["operator", root, "AccessDenied:"],
    ["operator", user, "AccessDenied:"],
    ["account", operator, "AccessDenied:"],
    ["account", root, "ok"],
    ["account", user, "ok"],
    ["user", operator, "AccessDenied:"],
    ["user", root, "InvalidUserType:userName"],
    ["user", user, "ok"],
    ["any", operator, "ok"],
    ["any", root, "ok"],
    ["any", user, "ok"],
  ] as const)("%s operations: %o gets %s", async (rule, caller, expected) => {
    let ran = false;
    const { pipeline } = pipelineFor(caller);
    const call = pipeline(
      {},
      {
        info,
        operation: operation(rule, async () => {
          ran = true;
        }),
      },
    );
    if (expected === "ok") {
      await call;
      expect(ran).toBe(true);
    } else {
      expect(await refusal(call)).toBe(expected);
      expect(ran).toBe(false);
    }
  });

  it("runs nothing when authentication fails", async () => {
    let ran = false;
    const { pipeline } = pipelineFor(new IamError("InvalidClientTokenId", "unknown key"));
    const call = pipeline(
      {},
      {
        info,
        operation: operation("any", async () => {
          ran = true;
        }),
      },
    );
    expect(await refusal(call)).toBe("InvalidClientTokenId:");
    expect(ran).toBe(false);
  });
});

describe("the handler's context", () => {
  it("scopes client request tokens to the principal and reads an empty token as none", async () => {
    for (const [caller, callerId] of [
      [operator, "operator"],
      [root, "root"],
      [user, "user:AIDAALICE"],
    ] as const) {
      const { pipeline } = pipelineFor(caller);
      const ctx = (await pipeline({}, { info, operation: operation("any") })) as CallContext;
      expect(ctx.token("t-1")).toEqual({ clientRequestToken: "t-1", callerId });
      expect(ctx.token("")).toEqual({ clientRequestToken: undefined, callerId });
    }
  });

  it("authorizes iam:<action> in the caller's account with aws:SourceIp added", async () => {
    const { pipeline, asked } = pipelineFor(user);
    const ctx = (await pipeline({}, { info, operation: operation("account") })) as AccountContext;
    expect(ctx.accountId).toBe("111122223333");
    await ctx.authorize("GetUser", () => ({ arn: "arn:aws:iam::111122223333:user/bob", context: { "iam:X": "y" } }));
    expect(asked).toEqual([
      {
        action: "iam:GetUser",
        resource: "arn:aws:iam::111122223333:user/bob",
        accountId: "111122223333",
        context: { "iam:X": "y", "aws:SourceIp": "203.0.113.7" },
      },
    ]);
  });
});

describe("the audit layer", () => {
  it("records a refused call once, with its caller and a redacted request", async () => {
    const { pipeline, audited } = pipelineFor(root);
    const call = pipeline({ userName: "bob", password: "hunter2-hunter2" }, { info, operation: operation("operator") });
    expect(await refusal(call)).toBe("AccessDenied:");
    expect(audited).toHaveLength(1);
    const [entry] = audited;
    expect(entry?.outcome).toBe("AccessDenied");
    expect(entry?.event).toMatchObject({
      accountId: "111122223333",
      principalArn: root.arn,
      accessKeyId: "AKROOT",
      sourceIp: "203.0.113.7",
      operation: "DoThing",
      requestParameters: { userName: "bob", password: "[REDACTED]" },
    });
  });

  it("does not record a call whose signature failed", async () => {
    const { pipeline, audited } = pipelineFor(new IamError("SignatureDoesNotMatch", "bad"));
    await refusal(pipeline({}, { info, operation: operation("any") }));
    expect(audited).toHaveLength(0);
  });
});
