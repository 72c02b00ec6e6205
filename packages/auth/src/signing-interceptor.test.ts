import { type Clock, createManualClock, IamError } from "@gatehouse/core";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningInterceptor, type SigningInterceptorOptions, verifyGrpcCall } from "./index.ts";

// A one-method service over raw bytes: what the client serializes is exactly what the server
// receives, so the server can verify the signature over the body as the control plane does.
const method = "/test.Echo/Echo";
const echoService: grpc.ServiceDefinition = {
  echo: {
    path: method,
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (s: string) => Buffer.from(s),
    responseDeserialize: (b: Buffer) => b.toString(),
    originalName: "echo",
  },
};
const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");
type Echo = (body: Buffer, callback: (e: grpc.ServiceError | null, r?: string) => void) => void;

const t0 = Date.parse("2026-01-01T00:00:00Z");
const secrets = new Map([
  ["AKIAFIRST00000000000", "first-secret-first-secret-first-secret00"],
  ["AKIASECOND0000000000", "second-secret-second-secret-second-secr0"],
]);
const creds = (id: string) => ({ accessKeyId: id, secretAccessKey: secrets.get(id) ?? "" });

describe("createSigningInterceptor", () => {
  let server: grpc.Server;
  let address = "";
  // The scope the server verifies with, set per test.
  let scope: { region?: string; service?: string } = {};

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(echoService, {
      echo: (call: grpc.ServerUnaryCall<Buffer, string>, callback: grpc.sendUnaryData<string>) => {
        const md: Record<string, string> = {};
        for (const [k, v] of Object.entries(call.metadata.getMap())) md[k] = String(v);
        if (md.authorization === undefined) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: "unsigned" });
          return;
        }
        verifyGrpcCall({ method, authority: address, body: call.request }, md, {
          ...scope,
          clock: createManualClock(t0),
          lookup: async (id) => {
            const secret = secrets.get(id);
            return secret === undefined ? undefined : { secretAccessKey: secret, active: true };
          },
        }).then(
          (r) => callback(null, `${r.accessKeyId} ${md["x-amz-date"]} ${call.request.toString()}`),
          (e: unknown) =>
            callback({ code: grpc.status.UNAUTHENTICATED, details: IamError.is(e) ? e.awsName : String(e) }),
        );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    address = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  async function call(options: Omit<SigningInterceptorOptions, "authority">, body: string): Promise<string> {
    const client = new EchoClient(address, grpc.credentials.createInsecure(), {
      interceptors: [createSigningInterceptor({ authority: address, clock: createManualClock(t0), ...options })],
    });
    try {
      return await new Promise<string>((resolve, reject) =>
        (client as unknown as { echo: Echo }).echo(Buffer.from(body), (e, r) => (e ? reject(e) : resolve(r ?? ""))),
      );
    } finally {
      client.close();
    }
  }

  it("signs each call over the serialized message, so the server verifies it", async () => {
    scope = {};
    expect(await call({ credentials: creds("AKIAFIRST00000000000") }, "hello")).toBe(
      "AKIAFIRST00000000000 20260101T000000Z hello",
    );
  });

  it("asks a credentials function before every call, so rotated keys take effect at once", async () => {
    scope = {};
    let current = "AKIAFIRST00000000000";
    const credentials = () => creds(current);
    expect(await call({ credentials }, "a")).toMatch(/^AKIAFIRST00000000000 /);
    current = "AKIASECOND0000000000";
    expect(await call({ credentials }, "b")).toMatch(/^AKIASECOND0000000000 /);
  });

  it("signs with the given clock, region and service", async () => {
    scope = { region: "eu-west-1", service: "gatehouse" };
    const options = { credentials: creds("AKIAFIRST00000000000"), region: "eu-west-1", service: "gatehouse" };
    expect(await call(options, "x")).toBe("AKIAFIRST00000000000 20260101T000000Z x");
    // Signed for the default scope, the same call is refused by a server of another.
    await expect(call({ credentials: creds("AKIAFIRST00000000000") }, "x")).rejects.toMatchObject({
      details: "SignatureDoesNotMatch",
    });
    scope = {};
    const late: Clock = createManualClock(t0 + 10 * 60_000);
    await expect(call({ credentials: creds("AKIAFIRST00000000000"), clock: late }, "x")).rejects.toMatchObject({
      details: "RequestExpired",
    });
  });

  it("still sends the call when signing fails, unsigned, for the server to refuse", async () => {
    scope = {};
    const broken: Clock = { now: () => Number.NaN };
    await expect(call({ credentials: creds("AKIAFIRST00000000000"), clock: broken }, "x")).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
      details: "unsigned",
    });
  });
});
