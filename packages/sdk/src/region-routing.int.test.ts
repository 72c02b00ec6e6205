// Region routing against two real region processes: `nearest` picks the region with the shorter
// round trip (the other sits behind a proxy that delays every byte), and when that region's
// process is killed, checks and STS calls fail over to the other; `ordered` does the same in the
// configured order; `home` (one region) has nothing to fail over to.
import { connect, createServer, type Server, type Socket } from "node:net";
import { createLiveAccount, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gatehouse, type GatehouseError, type GatehouseOptions } from "./index.ts";

/** A TCP proxy to `target` that holds every chunk `delayMs` each way, and counts what it carried. */
async function delayingProxy(target: string, delayMs: number) {
  const [host, port] = target.split(":") as [string, string];
  const sockets = new Set<Socket>();
  let bytes = 0;
  const server: Server = createServer((client) => {
    const upstream = connect(Number(port), host);
    sockets.add(client).add(upstream);
    const pipe = (from: Socket, to: Socket) => {
      from.on("data", (chunk) => {
        bytes += chunk.length;
        setTimeout(() => to.writable && to.write(chunk), delayMs);
      });
      from.on("close", () => setTimeout(() => to.destroy(), delayMs));
      from.on("error", () => to.destroy());
    };
    pipe(client, upstream);
    pipe(upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    address: `127.0.0.1:${(server.address() as { port: number }).port}`,
    bytes: () => bytes,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("region routing across real region processes", () => {
  let stack: LiveStack;
  let proxy: Awaited<ReturnType<typeof delayingProxy>>;
  let root: { accessKeyId: string; secretAccessKey: string };
  let aliceArn: string;
  let revision: { accountId: string; revision: number };
  const clients: Gatehouse[] = [];
  const client = (options: GatehouseOptions) => {
    const gh = new Gatehouse({ credentials: root, env: {}, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options });
    clients.push(gh);
    return gh;
  };
  const check = (gh: Gatehouse) =>
    gh.authz.authorize({
      principalArn: aliceArn,
      action: "s3:GetObject",
      resource: "arn:aws:s3:::b/k",
      minRevision: revision,
    });

  beforeAll(async () => {
    stack = await startLiveStack("sdkroute", { regions: ["us-east-1", "eu-west-1"], processes: true });
    const account = await createLiveAccount(stack);
    account.root.close();
    root = account.rootCredentials;
    const admin = client({ endpoints: { controlPlane: stack.controlPlane } });
    aliceArn = (await admin.iam.createUser({ userName: "alice" })).user?.arn ?? "";
    const put = await admin.iam.putUserPolicy({
      userName: "alice",
      policyName: "read",
      policyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/*" }],
      }),
    });
    revision = { accountId: account.accountId, revision: put.revision?.revision ?? 0 };
    // Both regions have applied the policy before routing is tested.
    for (const r of stack.regions) {
      const direct = client({ region: r.name, endpoints: { regions: { [r.name]: [r.decider] } } });
      expect((await check(direct)).allowed).toBe(true);
    }
    const us = stack.regions.find((r) => r.name === "us-east-1");
    proxy = await delayingProxy(us?.decider ?? "", 40);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await proxy?.close();
    await stack?.close();
  });

  it("nearest picks the shorter round trip; a killed region fails over to the next, for checks and STS", async () => {
    const eu = stack.regions.find((r) => r.name === "eu-west-1");
    const endpoints = { regions: { "us-east-1": [proxy.address], "eu-west-1": [eu?.decider ?? ""] } };
    // us-east-1 is the configured region (it would win a tie) but 80 ms further away.
    const nearest = client({ region: "us-east-1", regionOrder: "nearest", endpoints, routing: { probeIntervalMs: 0 } });
    expect((await check(nearest)).allowed).toBe(true);
    const [first, second] = nearest.regionHealth();
    expect(first).toMatchObject({ region: "eu-west-1", serving: true });
    expect(second?.region).toBe("us-east-1");
    expect(second?.rttMs).toBeGreaterThan(80);
    expect(first?.rttMs).toBeLessThan(second?.rttMs ?? 0);
    // Checks go to eu-west-1: nothing more crosses the proxy, and each answer says so.
    const carried = proxy.bytes();
    for (let i = 0; i < 5; i++) {
      expect(await check(nearest)).toMatchObject({ allowed: true, region: "eu-west-1", endpoint: eu?.decider });
    }
    expect(proxy.bytes()).toBe(carried);

    await eu?.kill();
    // The nearest region is gone: the same client answers from us-east-1, through the proxy,
    // and the answer names the region and endpoint that gave it.
    expect(await check(nearest)).toMatchObject({ allowed: true, region: "us-east-1", endpoint: proxy.address });
    expect(proxy.bytes()).toBeGreaterThan(carried);
    const batch = await nearest.authz.batchAuthorize([
      { principalArn: aliceArn, action: "s3:GetObject", resource: "arn:aws:s3:::b/k" },
      { principalArn: aliceArn, action: "s3:GetObject", resource: "arn:aws:s3:::b/k", resourcePolicy: "{not json" },
    ]);
    expect(batch[0]).toMatchObject({ decision: "Allow", region: "us-east-1", endpoint: proxy.address });
    expect(batch[1]).toMatchObject({
      awsName: "MalformedPolicyDocument",
      region: "us-east-1",
      endpoint: proxy.address,
    });
    const simulated = await nearest.authz.simulate({
      principalArn: aliceArn,
      actions: ["s3:GetObject"],
      resources: ["arn:aws:s3:::b/k"],
    });
    expect(simulated).toEqual([
      expect.objectContaining({ decision: "Allow", region: "us-east-1", endpoint: proxy.address }),
    ]);
    // An error a region answered with names it too.
    const unknown = await nearest.authz
      .authorize({
        principalArn: `arn:aws:iam::${revision.accountId}:user/nobody`,
        action: "s3:GetObject",
        resource: "*",
      })
      .catch((e: unknown) => e as GatehouseError);
    expect(unknown).toMatchObject({ code: "NOT_FOUND", region: "us-east-1", endpoint: proxy.address });
    expect(nearest.regionHealth().map((h) => h.region)).toEqual(["us-east-1", "eu-west-1"]);
    expect(nearest.regionHealth()[1]?.demotedUntil).toBeGreaterThan(Date.now());
    // STS fails over too, signed for the region that answers.
    expect((await nearest.sts.getCallerIdentity()).arn).toBe(`arn:aws:iam::${revision.accountId}:root`);

    // An explicit order fails over the same way; one region alone has nothing to fail over to.
    const ordered = client({ regionOrder: ["eu-west-1", "us-east-1"], endpoints });
    expect(ordered.config.region).toBe("eu-west-1");
    expect((await check(ordered)).allowed).toBe(true);
    const home = client({ region: "eu-west-1", endpoints, timeoutMs: 3_000 });
    const down = await check(home).catch((e: unknown) => e as GatehouseError);
    expect(down).toMatchObject({ code: "UNAVAILABLE", retriable: true, region: "eu-west-1", endpoint: eu?.decider });
  });
});
