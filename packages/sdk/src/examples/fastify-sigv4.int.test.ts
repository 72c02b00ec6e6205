// The SigV4 example against a live control plane and region: a real HTTP server, clients signing
// with Gatehouse keys (long-term and temporary) for the service's own signing name.
import { type Credentials, signRequest } from "@gatehouse/auth";
import { createLiveAccount, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gatehouse } from "../gatehouse.ts";
import { registerSigV4, type SignedRouteAuthorization } from "./fastify-sigv4.ts";

describe("Fastify SigV4 example", () => {
  let stack: LiveStack;
  let gh: Gatehouse;
  let app: FastifyInstance;
  let base: string;
  let host: string;
  let alice: Credentials;
  let accountId: string;

  /** Sends a request signed (or not) with `creds` for `service`; `sendBody` replaces the body after signing. */
  async function send(
    method: string,
    path: string,
    body: string,
    creds: Credentials | undefined,
    extra: { service?: string; sendBody?: string } = {},
  ) {
    const headers: Record<string, string> = { host, "content-type": "application/json" };
    const added =
      creds === undefined
        ? {}
        : await signRequest({ method, path, headers, body }, creds, {
            region: stack.region,
            service: extra.service ?? "queues",
          });
    const { host: _host, ...rest } = headers;
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { ...rest, ...added },
      ...(method === "GET" ? {} : { body: extra.sendBody ?? body }),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    stack = await startLiveStack("sdksigv4");
    const account = await createLiveAccount(stack);
    accountId = account.accountId;
    gh = account.root;
    await gh.iam.createUser({ userName: "alice" });
    await gh.iam.putUserPolicy({
      userName: "alice",
      policyName: "send",
      policyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "queues:SendMessage", Resource: "arn:aws:queues:::queue/orders" }],
      }),
    });
    const key = await gh.iam.createAccessKey({ userName: "alice" });
    alice = { accessKeyId: key.accessKey?.accessKeyId ?? "", secretAccessKey: key.secretAccessKey };
    // The session waits for the region to have applied the key and the policy.
    await gh.authz.authorize({ principalArn: `arn:aws:iam::${accountId}:user/alice`, action: "x:Y", resource: "*" });

    app = Fastify();
    registerSigV4(app, gh, { service: "queues" });
    const send: SignedRouteAuthorization = {
      action: "queues:SendMessage",
      resource: (r) => `arn:aws:queues:::queue/${(r.params as { name: string }).name}`,
    };
    app.post("/queues/:name/messages", { config: { gatehouse: send } }, async (r) => ({
      queue: (r.params as { name: string }).name,
      body: r.body,
      sentBy: r.gatehouse?.arn,
    }));
    app.get("/whoami", async (r) => ({ arn: r.gatehouse?.arn, type: r.gatehouse?.principalType }));
    base = await app.listen({ host: "127.0.0.1", port: 0 });
    host = new URL(base).host;
  });
  afterAll(async () => {
    await app?.close();
    gh?.close();
    await stack?.close();
  });

  it("authenticates and authorizes in one call: allowed, denied, unsigned, tampered, wrong service", async () => {
    const ok = await send("POST", "/queues/orders/messages", '{"id":1}', alice);
    expect(ok).toEqual({
      status: 200,
      json: { queue: "orders", body: { id: 1 }, sentBy: `arn:aws:iam::${accountId}:user/alice` },
    });
    expect(await send("POST", "/queues/audit/messages", '{"id":1}', alice)).toEqual({
      status: 403,
      json: { error: "AccessDenied", decision: "ImplicitDeny" },
    });
    expect(await send("POST", "/queues/orders/messages", '{"id":1}', undefined)).toEqual({
      status: 401,
      json: { error: "MissingAuthenticationToken" },
    });
    // The body the service received is not the body that was signed.
    expect(await send("POST", "/queues/orders/messages", '{"id":1}', alice, { sendBody: '{"id":2}' })).toEqual({
      status: 401,
      json: { error: "SignatureDoesNotMatch" },
    });
    const otherService = await send("POST", "/queues/orders/messages", '{"id":1}', alice, { service: "s3" });
    expect(otherService.status).toBe(401);
    const wrongSecret = await send("GET", "/whoami", "", { ...alice, secretAccessKey: "x".repeat(40) });
    expect(wrongSecret).toEqual({ status: 401, json: { error: "SignatureDoesNotMatch" } });
  });

  it("authenticates temporary credentials (with their session token) on routes that only authenticate", async () => {
    expect(await send("GET", "/whoami", "", alice)).toEqual({
      status: 200,
      json: { arn: `arn:aws:iam::${accountId}:user/alice`, type: "user" },
    });
    const asAlice = new Gatehouse({
      credentials: alice,
      region: stack.region,
      endpoints: { regions: { [stack.region]: [stack.decider] } },
      env: {},
    });
    const session = await asAlice.sts.getSessionToken({ durationSeconds: 900 });
    asAlice.close();
    const temporary = {
      accessKeyId: session.credentials?.accessKeyId ?? "",
      secretAccessKey: session.credentials?.secretAccessKey ?? "",
      sessionToken: session.credentials?.sessionToken ?? "",
    };
    const who = await send("GET", "/whoami", "", temporary);
    expect(who.status).toBe(200);
    expect(who.json.arn).toBe(`arn:aws:iam::${accountId}:user/alice`);
  });
});
