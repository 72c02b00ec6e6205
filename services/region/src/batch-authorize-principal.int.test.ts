import type { TypedEntity } from "@gatehouse/events";
import {
  type AuthorizeRequest,
  AuthorizerServiceClient,
  BatchAuthorizePrincipalRequest,
  BatchAuthorizeRequest,
  type BatchAuthorizeResponse,
  type ContextValue,
  Decision,
  type PrincipalCheck,
} from "@gatehouse/proto";
import { testRedis } from "@gatehouse/testkit";
import { credentials, status } from "@grpc/grpc-js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountEntities, grpcFailure, startTestDecider, type TestDecider } from "./decider-fixture.int-helper.ts";
import { startDeciderServer } from "./decider-server.ts";

const ACCT = "444455556666";
const arnOf = (kind: string, name: string) => `arn:aws:iam::${ACCT}:${kind}/${name}`;
const doc = (statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

const { user, policy } = accountEntities(ACCT);

describe("BatchAuthorizePrincipal (real Redis, gRPC)", () => {
  let fixture: TestDecider;
  let client: AuthorizerServiceClient;
  const apply = (...entities: TypedEntity[]) => fixture.apply(ACCT, ...entities);
  const compact = (r: Partial<BatchAuthorizePrincipalRequest>) =>
    new Promise<BatchAuthorizeResponse>((resolve, reject) =>
      client.batchAuthorizePrincipal(BatchAuthorizePrincipalRequest.fromPartial(r), (err, res) =>
        err === null ? resolve(res) : reject(err),
      ),
    );
  const general = (requests: AuthorizeRequest[]) =>
    new Promise<BatchAuthorizeResponse>((resolve, reject) =>
      client.batchAuthorize(BatchAuthorizeRequest.fromPartial({ requests }), (err, res) =>
        err === null ? resolve(res) : reject(err),
      ),
    );
  /** The compact request spelled out as BatchAuthorize's checks. */
  const expanded = (r: BatchAuthorizePrincipalRequest): AuthorizeRequest[] =>
    r.checks.map((c) => ({
      principal: r.principal,
      context: r.context,
      minRevision: r.minRevision,
      maxStalenessMs: r.maxStalenessMs,
      explain: false,
      sessionToken: "",
      ...c,
    }));
  const failure = grpcFailure;

  beforeAll(async () => {
    fixture = await startTestDecider("batchprincipal");
    client = fixture.client;
    const p = policy(
      "mixed",
      doc([
        { Effect: "Allow", Action: "s3:*", Resource: "arn:aws:s3:::data/*" },
        { Effect: "Deny", Action: "s3:DeleteObject", Resource: "*" },
        {
          Effect: "Allow",
          Action: "sqs:SendMessage",
          Resource: "*",
          Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" }, StringEquals: { "aws:PrincipalTag/team": "red" } },
        },
        {
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: "*",
          Condition: { Bool: { "aws:SecureTransport": "true" } },
        },
      ]),
    );
    await apply(
      p,
      user("ann", {
        tags: [{ key: "team", value: "red" }],
        attachedPolicies: [{ policyId: p.id, policyArn: p.state.arn }],
      }),
      user("bob", {
        tags: [{ key: "team", value: "blue" }],
        attachedPolicies: [{ policyId: p.id, policyArn: p.state.arn }],
      }),
    );
  });
  afterAll(() => fixture?.close());

  const checks: PrincipalCheck[] = [
    {
      action: "s3:GetObject",
      resource: "arn:aws:s3:::data/a",
      resourceAccount: "",
      resourcePolicy: "",
      correlationId: "1",
    },
    {
      action: "s3:DeleteObject",
      resource: "arn:aws:s3:::data/a",
      resourceAccount: "",
      resourcePolicy: "",
      correlationId: "2",
    },
    {
      action: "sqs:SendMessage",
      resource: `arn:aws:sqs:eu-west-1:${ACCT}:q`,
      resourceAccount: "",
      resourcePolicy: "",
      correlationId: "3",
    },
    { action: "kms:Decrypt", resource: "*", resourceAccount: "", resourcePolicy: "", correlationId: "4" },
    { action: "ec2:RunInstances", resource: "*", resourceAccount: "", resourcePolicy: "", correlationId: "5" },
    // Cross-account without a resource policy, then with an inline one naming the principal.
    {
      action: "s3:GetObject",
      resource: "arn:aws:s3:::data/b",
      resourceAccount: "999988887777",
      resourcePolicy: "",
      correlationId: "6",
    },
    {
      action: "s3:GetObject",
      resource: "arn:aws:s3:::data/b",
      resourceAccount: "999988887777",
      resourcePolicy: doc([
        { Effect: "Allow", Principal: { AWS: arnOf("user", "ann") }, Action: "s3:GetObject", Resource: "*" },
      ]),
      correlationId: "7",
    },
    // Per-check errors: a missing action, a bad inline policy, a stored policy that is not there.
    { action: "", resource: "*", resourceAccount: "", resourcePolicy: "", correlationId: "8" },
    { action: "s3:GetObject", resource: "*", resourceAccount: "", resourcePolicy: "{not json", correlationId: "9" },
    {
      action: "s3:GetObject",
      resource: "*",
      resourceAccount: "",
      resourcePolicy: "arn:aws:s3:::nowhere",
      correlationId: "10",
    },
  ];
  const contexts: Record<string, ContextValue>[] = [
    {},
    {
      "aws:SourceIp": { kind: { $case: "stringValue", value: "10.1.2.3" } },
      "aws:SecureTransport": { kind: { $case: "boolValue", value: true } },
    },
    { "aws:SourceIp": { kind: { $case: "stringValue", value: "203.0.113.7" } } },
  ];

  it("answers each check exactly as BatchAuthorize answers the check spelled out in full", async () => {
    for (const name of ["ann", "nobody"]) {
      for (const context of contexts) {
        const r = BatchAuthorizePrincipalRequest.fromPartial({
          principal: { kind: { $case: "arn", value: arnOf("user", name) } },
          context,
          checks,
        });
        const [a, b] = await Promise.all([compact(r), general(expanded(r))]);
        expect(a).toEqual(b);
        expect(a.responses.map((x) => x.correlationId)).toEqual(checks.map((c) => c.correlationId));
      }
    }
    // What the mix covers (so that equality above is not between two empty answers).
    const ann = await compact({
      principal: { kind: { $case: "arn", value: arnOf("user", "ann") } },
      context: contexts[1],
      checks,
    });
    expect(ann.responses.map((x) => x.error?.code ?? x.decision)).toEqual([
      Decision.DECISION_ALLOW,
      Decision.DECISION_EXPLICIT_DENY,
      Decision.DECISION_ALLOW,
      Decision.DECISION_ALLOW,
      Decision.DECISION_IMPLICIT_DENY,
      Decision.DECISION_IMPLICIT_DENY,
      Decision.DECISION_ALLOW,
      status.INVALID_ARGUMENT,
      status.INVALID_ARGUMENT,
      status.NOT_FOUND,
    ]);
  });

  it("BatchAuthorize answers checks sharing principals and contexts exactly as each check alone, errors in place", async () => {
    // Principals and contexts repeated across the batch in no order (what the decider groups), a
    // context setting a key the region fills, a context value without a value, per-check errors.
    const withReserved = { ...contexts[1], "aws:userid": { kind: { $case: "stringValue" as const, value: "x" } } };
    const noValue = { "aws:SourceIp": { kind: undefined } };
    const pool = [...contexts, withReserved, noValue];
    const principals = ["ann", "bob", "nobody"];
    // Every principal × context × check, in an order that interleaves them (37 is prime to 150).
    const all = principals.length * pool.length * checks.length;
    const contextIndex = (i: number) => Math.floor(((i * 37) % all) / principals.length) % pool.length;
    const requests: AuthorizeRequest[] = Array.from({ length: all }, (_, i) => {
      const k = (i * 37) % all;
      return {
        ...expanded(
          BatchAuthorizePrincipalRequest.fromPartial({
            principal: { kind: { $case: "arn", value: arnOf("user", principals[k % principals.length] as string) } },
            context: pool[Math.floor(k / principals.length) % pool.length] as Record<string, ContextValue>,
            checks: [checks[Math.floor(k / (principals.length * pool.length))] as PrincipalCheck],
          }),
        )[0],
        correlationId: `c${i}`,
      } as AuthorizeRequest;
    });
    // Once to compile every principal into the L1 (a miss is answered after a Redis read, alone),
    // then again: answered from memory, with what the checks share done once.
    await general(requests);
    const together = await general(requests);
    const alone = await Promise.all(requests.map((r) => general([r])));
    expect(together.responses).toEqual(alone.map((a) => a.responses[0]));
    // The mix covers answers and errors of each kind.
    const outcomes = new Set(together.responses.map((r) => r.error?.code ?? `d${r.decision}`));
    expect(outcomes).toEqual(
      new Set([
        `d${Decision.DECISION_ALLOW}`,
        `d${Decision.DECISION_EXPLICIT_DENY}`,
        `d${Decision.DECISION_IMPLICIT_DENY}`,
        status.INVALID_ARGUMENT,
        status.NOT_FOUND,
      ]),
    );
    expect(together.responses.filter((r) => r.error?.message.includes("aws:userid")).length).toBeGreaterThan(0);
    // ann and bob differ only by their tag: the sqs check in 10.x tells them apart.
    const sqs = (name: string) =>
      together.responses.filter(
        (r, i) =>
          requests[i]?.principal?.kind?.value === arnOf("user", name) &&
          requests[i]?.action === "sqs:SendMessage" &&
          contextIndex(i) === 1 &&
          r.error === undefined,
      );
    expect(sqs("ann").map((r) => r.decision)).toContain(Decision.DECISION_ALLOW);
    expect(sqs("bob").map((r) => r.decision)).toContain(Decision.DECISION_IMPLICIT_DENY);
  });

  it("BatchAuthorize: aws:CurrentTime and aws:EpochTime move within a batch, with a context shared by the batch", async () => {
    // A clock that moves one second on every reading: the checks of one batch see different times
    // (a batch reads it once per 16 checks, so 640 checks see about 40 readings).
    let at = Date.UTC(2030, 0, 1);
    const ticking = await startDeciderServer({
      view: fixture.view,
      subscriber: testRedis(),
      listen: { host: "127.0.0.1", port: 0 },
      region: "eu-west-1",
      l1MaxBytes: 1 << 20,
      logger: pino({ level: "silent" }),
      clock: {
        now: () => {
          at += 1000;
          return at;
        },
      },
    });
    const c = new AuthorizerServiceClient(`127.0.0.1:${ticking.port}`, credentials.createInsecure());
    try {
      const until = Math.floor(at / 1000) + 20;
      // Cross-account: the identity allows s3:* on data/*, the other account's policy only until then.
      const request = {
        principal: { kind: { $case: "arn" as const, value: arnOf("user", "ann") } },
        action: "s3:GetObject",
        resource: "arn:aws:s3:::data/x",
        resourceAccount: "999988887777",
        resourcePolicy: doc([
          {
            Effect: "Allow",
            Principal: { AWS: arnOf("user", "ann") },
            Action: "s3:GetObject",
            Resource: "*",
            Condition: { NumericLessThan: { "aws:EpochTime": String(until) } },
          },
        ]),
        context: contexts[1],
      };
      // The principal compiled first, so that the batch is answered from memory, sharing its context.
      await new Promise((resolve, reject) =>
        c.batchAuthorize(BatchAuthorizeRequest.fromPartial({ requests: [request] }), (err, res) =>
          err === null ? resolve(res) : reject(err),
        ),
      );
      const out = await new Promise<BatchAuthorizeResponse>((resolve, reject) =>
        c.batchAuthorize(
          BatchAuthorizeRequest.fromPartial({ requests: Array.from({ length: 640 }, () => request) }),
          (err, res) => (err === null ? resolve(res) : reject(err)),
        ),
      );
      const decisions = out.responses.map((r) => r.decision);
      const firstDeny = decisions.indexOf(Decision.DECISION_IMPLICIT_DENY);
      expect(firstDeny).toBeGreaterThan(0);
      expect(decisions.slice(0, firstDeny).every((d) => d === Decision.DECISION_ALLOW)).toBe(true);
      expect(decisions.slice(firstDeny).every((d) => d === Decision.DECISION_IMPLICIT_DENY)).toBe(true);
    } finally {
      c.close();
      await ticking.close();
    }
  });

  it("waits for min_revision like BatchAuthorize, and answers at the revision applied", async () => {
    const r = BatchAuthorizePrincipalRequest.fromPartial({
      principal: { kind: { $case: "arn", value: arnOf("user", "ann") } },
      minRevision: { accountId: ACCT, revision: fixture.revisionOf(ACCT) + 1 },
      checks: checks.slice(0, 3),
    });
    const waiting = Promise.all([compact(r), general(expanded(r))]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const at = await apply(user("ann", { tags: [{ key: "team", value: "red" }] }));
    const [a, b] = await waiting;
    expect(a).toEqual(b);
    expect(a.responses.map((x) => [x.decision, Number(x.evaluatedAt?.revision)])).toEqual([
      [Decision.DECISION_IMPLICIT_DENY, at],
      [Decision.DECISION_IMPLICIT_DENY, at],
      [Decision.DECISION_IMPLICIT_DENY, at],
    ]);
  });

  it("refuses a missing principal and more than 1,000 checks as INVALID_ARGUMENT; a reserved context key per check", async () => {
    const noPrincipal = await failure(compact({ checks: checks.slice(0, 1) }));
    expect(noPrincipal.code).toBe(status.INVALID_ARGUMENT);
    expect(noPrincipal.details).toContain("principal is required");
    // A context key the region fills is each check's error, as in BatchAuthorize.
    const reserved = BatchAuthorizePrincipalRequest.fromPartial({
      principal: { kind: { $case: "arn", value: arnOf("user", "ann") } },
      context: { "aws:PrincipalArn": { kind: { $case: "stringValue", value: "x" } } },
      checks: checks.slice(0, 2),
    });
    const [a, b] = await Promise.all([compact(reserved), general(expanded(reserved))]);
    expect(a).toEqual(b);
    expect(a.responses.map((x) => x.error?.code)).toEqual([status.INVALID_ARGUMENT, status.INVALID_ARGUMENT]);
    const many = await failure(
      compact({
        principal: { kind: { $case: "arn", value: arnOf("user", "ann") } },
        checks: Array.from({ length: 1001 }, () => checks[0] as PrincipalCheck),
      }),
    );
    expect(many.code).toBe(status.INVALID_ARGUMENT);
    expect(many.details).toContain("at most 1000");
  });
});
