// The Fastify example against a live control plane and region.

import { createLiveAccount, deadPort, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gatehouse } from "../gatehouse.ts";
import { gatehouseAuthorizer, type RouteAuthorization } from "./fastify-authorizer.ts";

function service(gh: Gatehouse) {
  const app = Fastify();
  app.addHook("preHandler", gatehouseAuthorizer(gh, { principal: (r) => r.headers["x-principal-arn"] as string }));
  const getReport: RouteAuthorization = {
    action: "reports:GetReport",
    resource: (r) => `arn:aws:reports:::report/${(r.params as { id: string }).id}`,
  };
  app.get("/reports/:id", { config: { gatehouse: getReport } }, async (r) => ({ id: (r.params as { id: string }).id }));
  app.get("/health", async () => "ok");
  return app;
}

describe("Fastify authorizer example", () => {
  let stack: LiveStack;
  let gh: Gatehouse;
  let aliceArn: string;

  beforeAll(async () => {
    stack = await startLiveStack("sdkfast");
    const account = await createLiveAccount(stack);
    gh = account.root;
    aliceArn = (await gh.iam.createUser({ userName: "alice" })).user?.arn ?? "";
    await gh.iam.putUserPolicy({
      userName: "alice",
      policyName: "reports",
      policyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Action: "reports:GetReport",
            Resource: "arn:aws:reports:::report/1",
            Condition: { IpAddress: { "aws:SourceIp": "127.0.0.0/8" } },
          },
        ],
      }),
    });
    // The session's next check waits for this write; warm the region up with it.
    await gh.authz.authorize({ principalArn: aliceArn, action: "reports:GetReport", resource: "x" });
  });
  afterAll(async () => {
    gh?.close();
    await stack?.close();
  });

  it("allows, denies, and refuses an unknown caller, with one call per request", async () => {
    const app = service(gh);
    const as = (url: string, who?: string) =>
      app.inject({ method: "GET", url, headers: who === undefined ? {} : { "x-principal-arn": who } });
    expect((await as("/reports/1", aliceArn)).statusCode).toBe(200);
    const denied = await as("/reports/2", aliceArn);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toEqual({ error: "AccessDenied", decision: "ImplicitDeny" });
    expect((await as("/reports/1")).statusCode).toBe(401);
    expect((await as("/health")).statusCode).toBe(200);
    await app.close();
  });

  it("fails closed when no decider answers", async () => {
    const dead = await deadPort();
    const offline = new Gatehouse({
      credentials: { accessKeyId: "AKIAEXAMPLE", secretAccessKey: "x" },
      region: "us-east-1",
      endpoints: { regions: { "us-east-1": [`127.0.0.1:${dead}`] } },
      retry: { maxAttempts: 1 },
      env: {},
    });
    const app = service(offline);
    const response = await app.inject({ method: "GET", url: "/reports/1", headers: { "x-principal-arn": aliceArn } });
    expect(response.statusCode).toBe(503);
    await app.close();
    offline.close();
  });
});
