import {
  AuthorizeRequest,
  AuthorizeResponse,
  BatchAuthorizeRequest,
  BatchAuthorizeResponse,
  type ContextValue,
  Decision,
} from "@gatehouse/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BatchAnswers,
  decodeAuthorizeRequest,
  decodeBatchAuthorizeCall,
  decodeBatchAuthorizeRequest,
  encodeAuthorizeResponse,
  encodeBatchAuthorizeResponse,
} from "./authorize-codec.ts";

// Mostly ASCII (the fast path), sometimes any text (ts-proto's path), sometimes empty (omitted on the wire).
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constant("") },
);
const revision = fc.oneof(fc.nat({ max: 300 }), fc.nat(), fc.maxSafeNat());
const contextValue: fc.Arbitrary<ContextValue> = fc.oneof(
  fc.record({ kind: fc.record({ $case: fc.constant("stringValue" as const), value: text }) }),
  fc.record({ kind: fc.record({ $case: fc.constant("numberValue" as const), value: fc.double() }) }),
  fc.record({ kind: fc.record({ $case: fc.constant("boolValue" as const), value: fc.boolean() }) }),
  fc.record({
    kind: fc.record({
      $case: fc.constant("listValue" as const),
      value: fc.record({ values: fc.array(text, { maxLength: 4 }) }),
    }),
  }),
  fc.constant({ kind: undefined }),
);
const request: fc.Arbitrary<AuthorizeRequest> = fc.record({
  principal: fc.option(
    fc.record({
      kind: fc.option(
        fc.oneof(
          fc.record({ $case: fc.constant("arn" as const), value: text }),
          fc.record({ $case: fc.constant("accessKeyId" as const), value: text }),
        ),
        { nil: undefined },
      ),
    }),
    { nil: undefined },
  ),
  action: text,
  resource: text,
  resourceAccount: text,
  context: fc.dictionary(text, contextValue, { maxKeys: 5 }),
  resourcePolicy: text,
  minRevision: fc.option(fc.record({ accountId: text, revision, epoch: text }), { nil: undefined }),
  explain: fc.boolean(),
  maxStalenessMs: fc.oneof(fc.nat({ max: 100_000 }), fc.nat({ max: 0xffffffff })),
  correlationId: text,
  sessionToken: text,
});
const response: fc.Arbitrary<AuthorizeResponse> = fc.record({
  decision: fc.constantFrom(
    Decision.DECISION_UNSPECIFIED,
    Decision.DECISION_ALLOW,
    Decision.DECISION_EXPLICIT_DENY,
    Decision.DECISION_IMPLICIT_DENY,
  ),
  explanationJson: text,
  evaluatedAt: fc.option(fc.record({ accountId: text, revision, epoch: text }), { nil: undefined }),
  correlationId: text,
  error: fc.option(
    fc.record({
      code: fc.nat({ max: 16 }),
      message: text,
      detail: fc.option(fc.record({ awsName: text, field: text, findings: fc.constant([]) }), { nil: undefined }),
    }),
    { freq: 8, nil: undefined },
  ),
});

/** ts-proto's outcome and ours: the same message, or both throw. */
function same<T>(decode: (b: Uint8Array) => T, reference: (b: Uint8Array) => T, bytes: Uint8Array): void {
  let expected: { value: T } | { error: unknown };
  try {
    expected = { value: reference(bytes) };
  } catch (error) {
    expected = { error };
  }
  if ("error" in expected) expect(() => decode(bytes)).toThrow();
  else expect(decode(bytes)).toStrictEqual(expected.value);
}

describe("the decider's Authorize codec", () => {
  it("decodes every AuthorizeRequest as ts-proto does", () => {
    fc.assert(
      fc.property(request, (r) => {
        const bytes = AuthorizeRequest.encode(r).finish();
        same(decodeAuthorizeRequest, (b) => AuthorizeRequest.decode(b), bytes);
        same(decodeAuthorizeRequest, (b) => AuthorizeRequest.decode(b), Buffer.from(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it("decodes every BatchAuthorizeRequest as ts-proto does", () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 6 }), (requests) => {
        const bytes = Buffer.from(BatchAuthorizeRequest.encode({ requests }).finish());
        same(decodeBatchAuthorizeRequest, (b) => BatchAuthorizeRequest.decode(b), bytes);
      }),
      { numRuns: 1000 },
    );
  });

  it("decodes batches that repeat principals, contexts and strings as ts-proto does, sharing what repeats", () => {
    // A few principals, contexts and actions, reused across the checks of a batch (as services send).
    const pools = fc.record({
      principals: fc.array(
        request.map((r) => r.principal),
        { minLength: 1, maxLength: 3 },
      ),
      contexts: fc.array(fc.dictionary(text, contextValue, { maxKeys: 4 }), { minLength: 1, maxLength: 3 }),
      actions: fc.array(text, { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(
        pools,
        fc.array(fc.tuple(request, fc.nat(), fc.nat(), fc.nat()), { maxLength: 12 }),
        ({ principals, contexts, actions }, picks) => {
          const requests = picks.map(([r, p, c, a]) => ({
            ...r,
            principal: principals[p % principals.length],
            context: contexts[c % contexts.length] as AuthorizeRequest["context"],
            action: actions[a % actions.length] as string,
          }));
          const bytes = Buffer.from(BatchAuthorizeRequest.encode({ requests }).finish());
          same(decodeBatchAuthorizeRequest, (b) => BatchAuthorizeRequest.decode(b), bytes);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("gives checks with equal principal or context bytes the very same object (what the decider groups by)", () => {
    const principal = (arn: string) => ({ kind: { $case: "arn" as const, value: arn } });
    const context = (ip: string): AuthorizeRequest["context"] => ({
      "aws:SourceIp": { kind: { $case: "stringValue", value: ip } },
      "aws:SecureTransport": { kind: { $case: "boolValue", value: true } },
    });
    const base = AuthorizeRequest.decode(new Uint8Array());
    const requests = [0, 1, 2, 3, 4, 5].map((i) => ({
      ...base,
      principal: principal(`arn:aws:iam::123456789012:user/u${i % 2}`),
      context: context(i % 3 === 0 ? "10.0.0.1" : "10.0.0.2"),
      action: "s3:GetObject",
      resource: `arn:aws:s3:::b/${i % 2}`,
      correlationId: `c${i}`,
    }));
    const bytes = Buffer.from(BatchAuthorizeRequest.encode({ requests }).finish());
    const [r0, r1, r2, r3] = decodeBatchAuthorizeRequest(bytes).requests as AuthorizeRequest[];
    expect(decodeBatchAuthorizeRequest(bytes)).toStrictEqual(BatchAuthorizeRequest.decode(bytes));
    expect(r2?.principal).toBe(r0?.principal);
    expect(r1?.principal).not.toBe(r0?.principal);
    expect(r3?.context).toBe(r0?.context);
    expect(r2?.context).toBe(r1?.context);
    expect(r1?.context).not.toBe(r0?.context);
    expect(r2?.resource).toBe(r0?.resource);
    // One Authorize call shares nothing with another.
    const one = Buffer.from(AuthorizeRequest.encode(requests[0] as AuthorizeRequest).finish());
    expect(decodeAuthorizeRequest(one).context).not.toBe(decodeAuthorizeRequest(one).context);
  });

  it("never takes one interned string for another whose bytes hash alike", () => {
    // The codec interns actions, resources and resource accounts by a 30-bit FNV-1a of their
    // length and last 24 bytes: two resources of one length that differ only before those, so
    // that the second is looked up in the slot the first took (and, in a batch, the principals'
    // and contexts' shared parts are keyed the same way).
    const hash = (s: string) => {
      let h = 0x811c9dc5 ^ s.length;
      for (let i = Math.max(0, s.length - 24); i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
      return h & 0x3fffffff;
    };
    const pair = [
      "arn:aws:s3:::bucket-a/reports/2026/12/06/summary.csv",
      "arn:aws:s3:::bucket-b/reports/2026/12/06/summary.csv",
    ] as const;
    expect(hash(pair[0])).toBe(hash(pair[1]));
    const base = AuthorizeRequest.decode(new Uint8Array());
    const principal = { kind: { $case: "arn" as const, value: "arn:aws:iam::123456789012:user/ann" } };
    for (const [first, second] of [pair, [pair[1], pair[0]]] as const) {
      const bytes = BatchAuthorizeRequest.encode({
        requests: [first, second, first, second].map((resource, i) => ({
          ...base,
          principal,
          action: "s3:GetObject",
          resource,
          resourceAccount: resource,
          correlationId: `c${i}`,
        })),
      }).finish();
      const decoded = decodeBatchAuthorizeRequest(bytes);
      expect(decoded).toStrictEqual(BatchAuthorizeRequest.decode(bytes));
      expect(decoded.requests.map((r) => r.resource)).toEqual([first, second, first, second]);
    }
  });

  it("remembers nothing from a single Authorize into the next batch (offsets are per buffer)", () => {
    const base = AuthorizeRequest.decode(new Uint8Array());
    const p = (name: string) => ({ kind: { $case: "arn" as const, value: `arn:aws:iam::123456789012:user/${name}` } });
    const batch = BatchAuthorizeRequest.encode({
      requests: [
        { ...base, principal: p("bob"), action: "s3:GetObject", resource: "*" },
        { ...base, principal: p("bob"), action: "s3:PutObject", resource: "*" },
      ],
    }).finish();
    const bobBytes = AuthorizeRequest.encode({ ...base, principal: p("bob") })
      .finish()
      .subarray(2);
    // Where the second check's principal starts in the batch's buffer.
    const at = Buffer.from(batch).indexOf(Buffer.from(bobBytes), 5);
    // A single Authorize whose principal (amy: as long as bob) starts at that same offset, the
    // action written first (any field order is valid protobuf).
    const amy = Buffer.from(AuthorizeRequest.encode({ ...base, principal: p("amy") }).finish());
    const action = "x".repeat(at - 4);
    const single = Buffer.concat([Buffer.from([0x12, action.length]), Buffer.from(action), amy]);
    expect(decodeAuthorizeRequest(single).principal).toEqual(p("amy"));
    expect(decodeBatchAuthorizeRequest(batch)).toStrictEqual(BatchAuthorizeRequest.decode(batch));
    expect(decodeBatchAuthorizeRequest(batch).requests[0]?.principal).toEqual(p("bob"));
  });

  it("agrees with ts-proto on damaged and arbitrary bytes (the same message or both refuse)", () => {
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 3 }),
        fc.nat(),
        (requests, edits, cut) => {
          const bytes = Buffer.from(BatchAuthorizeRequest.encode({ requests }).finish());
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const damaged = bytes.subarray(0, bytes.length - (cut % 3));
          same(decodeBatchAuthorizeRequest, (b) => BatchAuthorizeRequest.decode(b), damaged);
          const one = damaged.subarray(2);
          same(decodeAuthorizeRequest, (b) => AuthorizeRequest.decode(b), one);
        },
      ),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        same(decodeBatchAuthorizeRequest, (b) => BatchAuthorizeRequest.decode(b), Buffer.from(bytes));
        same(decodeAuthorizeRequest, (b) => AuthorizeRequest.decode(b), Buffer.from(bytes));
      }),
      { numRuns: 3000 },
    );
  });

  it("encodes every AuthorizeResponse and BatchAuthorizeResponse to ts-proto's bytes", () => {
    fc.assert(
      fc.property(response, (r) => {
        expect(encodeAuthorizeResponse(r)).toEqual(Buffer.from(AuthorizeResponse.encode(r).finish()));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(response, { maxLength: 6 }), (responses) => {
        expect(encodeBatchAuthorizeResponse({ responses })).toEqual(
          Buffer.from(BatchAuthorizeResponse.encode({ responses }).finish()),
        );
      }),
      { numRuns: 1000 },
    );
  });

  it("answers a call with each check's correlation id copied as bytes, multi-byte UTF-8 included, as ts-proto would", () => {
    const id = fc.oneof(
      text,
      fc.string({ unit: "grapheme", maxLength: 12 }),
      fc.constantFrom("déjà-vu/1", "要求-7", "🙂🙃", "\uFEFFbom-first"),
    );
    // Per check: a plain answer, one with an explanation, or its own error.
    const outcome = fc.oneof(
      fc.constantFrom(Decision.DECISION_ALLOW, Decision.DECISION_EXPLICIT_DENY, Decision.DECISION_IMPLICIT_DENY),
      fc.constant("explained" as const),
      fc.constant("error" as const),
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(request, id, outcome, fc.boolean()), { minLength: 1, maxLength: 8 }),
        fc.constantFrom(
          { accountId: "111122223333", revision: 7, epoch: "" },
          { accountId: "", revision: 0, epoch: "" },
          { accountId: "111122223333", revision: 7, epoch: "7301234567890123456:2" },
        ),
        (checks, shared) => {
          // Answers at one shared evaluatedAt, or at another account's (runs of either, as a
          // batch's runs of checks of one principal).
          const other = { accountId: "444455556666", revision: 300, epoch: "" };
          const requests = checks.map(([r, correlationId]) => ({ ...r, correlationId }));
          const bytes = Buffer.from(BatchAuthorizeRequest.encode({ requests }).finish());
          const decoded = BatchAuthorizeRequest.decode(bytes);
          const call = decodeBatchAuthorizeCall(bytes);
          const answers = new BatchAnswers(call);
          const expected: AuthorizeResponse[] = [];
          checks.forEach(([, , o, own], i) => {
            const evaluatedAt = own ? other : shared;
            const correlationId = (decoded.requests[i] as AuthorizeRequest).correlationId;
            expect(answers.correlationId(i)).toBe(correlationId);
            if (typeof o === "number") {
              answers.plain(i, o, evaluatedAt);
              expected.push({ decision: o, explanationJson: "", evaluatedAt, correlationId });
            } else {
              const r: AuthorizeResponse =
                o === "explained"
                  ? { decision: Decision.DECISION_ALLOW, explanationJson: '{"why":"é"}', evaluatedAt, correlationId }
                  : {
                      decision: Decision.DECISION_UNSPECIFIED,
                      explanationJson: "",
                      correlationId,
                      error: {
                        code: 3,
                        message: `requests[${i}].action is required`,
                        detail: { awsName: "InvalidInput", field: `requests[${i}].action`, findings: [] },
                      },
                    };
              answers.set(i, r);
              expected.push(r);
            }
          });
          const encoded = encodeBatchAuthorizeResponse(answers);
          expect(encoded).toEqual(Buffer.from(BatchAuthorizeResponse.encode({ responses: expected }).finish()));
          expect(BatchAuthorizeResponse.decode(encoded).responses).toStrictEqual(
            BatchAuthorizeResponse.decode(BatchAuthorizeResponse.encode({ responses: expected }).finish()).responses,
          );
          expect(answers.responses).toStrictEqual(expected);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it("keeps a call's correlation ids as bytes on the fast path, and refuses damaged bytes as ts-proto does", () => {
    const bytes = Buffer.from(
      BatchAuthorizeRequest.encode({
        requests: [
          { ...AuthorizeRequest.fromPartial({ action: "s3:GetObject", resource: "*" }), correlationId: "ünï-1" },
          { ...AuthorizeRequest.fromPartial({ action: "s3:GetObject", resource: "*" }), correlationId: "" },
        ],
      }).finish(),
    );
    const call = decodeBatchAuthorizeCall(bytes);
    expect(call.correlationIds).toBeDefined();
    expect(call.requests.map((r) => r.correlationId)).toEqual(["", ""]);
    expect([0, 1].map((i) => new BatchAnswers(call).correlationId(i))).toEqual(["ünï-1", ""]);
    // Invalid UTF-8 in a correlation id: ts-proto's path (its replacement characters), never the raw bytes.
    const bad = Buffer.from(bytes);
    bad[bad.indexOf(Buffer.from("ünï-1"))] = 0xff;
    const fallback = decodeBatchAuthorizeCall(bad);
    expect(fallback.correlationIds).toBeUndefined();
    expect(fallback).toStrictEqual(BatchAuthorizeRequest.decode(bad));
    fc.assert(
      fc.property(
        fc.array(request, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 3 }),
        (requests, edits) => {
          const damaged = Buffer.from(BatchAuthorizeRequest.encode({ requests }).finish());
          for (const [at, value] of edits) damaged[at % damaged.length] = value;
          same(
            (b) => {
              const c = decodeBatchAuthorizeCall(b);
              const answers = new BatchAnswers(c);
              return { requests: c.requests.map((r, i) => ({ ...r, correlationId: answers.correlationId(i) })) };
            },
            (b) => BatchAuthorizeRequest.decode(b),
            damaged,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
