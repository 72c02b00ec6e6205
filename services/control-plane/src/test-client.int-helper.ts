// Test-only: a started control plane on port 0 and promise-returning signed clients.
import { randomBytes } from "node:crypto";
import { type Credentials, createSigningInterceptor, signGrpcCall } from "@gatehouse/auth";
import type { Clock } from "@gatehouse/core";
import { ControlServiceClient, ControlServiceService, ErrorDetail } from "@gatehouse/proto";
import { createTestSchema, createTestTopic } from "@gatehouse/testkit";
import { credentials as grpcCredentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { expect } from "vitest";
import { loadControlPlaneConfig } from "./config.ts";
import { type ControlPlane, startControlPlane } from "./control-plane.ts";
import { ERROR_DETAIL_TRAILER } from "./grpc-handler.ts";
import { kafkaBrokers, silentLogger } from "./test-env.int-helper.ts";

export const OPERATOR: Credentials = {
  accessKeyId: "AKIAOPERATORTEST0000",
  secretAccessKey: randomBytes(30).toString("base64"),
};

export interface Harness {
  readonly cp: ControlPlane;
  readonly address: string;
  readonly topic: string;
  readonly schema: string;
  /** The database holding `schema` (the suite's own: the schema is a clone of the migrated template). */
  readonly databaseUrl: string;
  close(): Promise<void>;
}

/**
 * A control plane on port 0 with its own schema and change topic; `clock` drives its time, and
 * `logger` gets its logs (none by default).
 */
export async function startHarness(
  extraEnv: Record<string, string> = {},
  clock?: Clock,
  logger: Logger = silentLogger,
): Promise<Harness> {
  const schema = await createTestSchema({ prefix: "cp", migrated: true });
  const topic = await createTestTopic({ prefix: "cp", partitions: 4 });
  const config = loadControlPlaneConfig({
    GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
    GATEHOUSE_PG_URL: schema.databaseUrl,
    GATEHOUSE_PG_SCHEMA: schema.name,
    GATEHOUSE_KAFKA_BROKERS: kafkaBrokers().join(","),
    GATEHOUSE_CHANGES_TOPIC: topic.name,
    GATEHOUSE_CHANGES_PARTITIONS: "4",
    GATEHOUSE_SECRET_KEY: randomBytes(32).toString("base64"),
    GATEHOUSE_OPERATOR_ACCESS_KEY_ID: OPERATOR.accessKeyId,
    GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
    // Not consumed unless a test names its own regional audit topic (no group per test on a shared one).
    GATEHOUSE_CP_REGION_AUDIT_TOPIC: "",
    ...extraEnv,
  });
  const cp = await startControlPlane({ config, logger, ...(clock === undefined ? {} : { clock }) });
  return {
    cp,
    address: `127.0.0.1:${cp.port}`,
    topic: topic.name,
    schema: schema.name,
    databaseUrl: schema.databaseUrl,
    async close() {
      await cp.close();
      await schema.drop();
      await topic.delete();
    },
  };
}

/** Fills the fields a test left out with the message's defaults (ts-proto encodes what it is given). */
function complete(method: string, request: object): object {
  const def = (ControlServiceService as unknown as Record<string, { requestDeserialize(b: Buffer): object }>)[method];
  return { ...def?.requestDeserialize(Buffer.alloc(0)), ...request };
}

type Unary = Record<string, (req: unknown, md: Metadata, cb: (e: ServiceError | null, res: unknown) => void) => void>;

/** A signed client whose methods return promises: `await c.call("createUser", {...})`. */
export function signedClient(address: string, creds: Credentials | null, clock?: Clock) {
  const client = new ControlServiceClient(address, grpcCredentials.createInsecure(), {
    interceptors:
      creds === null
        ? []
        : [
            createSigningInterceptor({
              credentials: creds,
              authority: address,
              ...(clock === undefined ? {} : { clock }),
            }),
          ],
  });
  return {
    // biome-ignore lint/suspicious/noExplicitAny: responses are checked by the assertions that use them
    call<T = any>(method: string, request: object, metadata = new Metadata()): Promise<T> {
      const full = complete(method, request);
      return new Promise((resolve, reject) => {
        (client as unknown as Unary)[method]?.(full, metadata, (e, res) =>
          e === null ? resolve(res as T) : reject(e),
        );
      });
    },
    close: () => client.close(),
  };
}

/** Signs `signed` but sends `sent` (a tampered body), for negative tests. */
export async function callWithForeignSignature(
  address: string,
  creds: Credentials,
  method: "createUser",
  signed: object,
  sent: object,
): Promise<unknown> {
  const def = ControlServiceService[method];
  const headers = await signGrpcCall(
    { method: def.path, authority: address, body: def.requestSerialize(complete(method, signed) as never) },
    creds,
  );
  const md = new Metadata();
  for (const [k, v] of Object.entries(headers)) md.set(k, v);
  const c = signedClient(address, null);
  try {
    return await c.call(method, sent, md);
  } finally {
    c.close();
  }
}

/** The gRPC code, AWS name, field and findings of a failed call. */
export async function failureOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (e) {
    const err = e as ServiceError;
    const raw = err.metadata?.get(ERROR_DETAIL_TRAILER)[0];
    const detail = raw instanceof Buffer ? ErrorDetail.decode(raw) : undefined;
    return {
      code: err.code,
      details: err.details,
      awsName: detail?.awsName,
      field: detail?.field,
      findings: detail?.findings ?? [],
    };
  }
  throw new Error("expected the call to fail");
}

/** What {@link failureOf} reports of a failed call. */
export type CallFailure = Awaited<ReturnType<typeof failureOf>>;

/** The parts of a {@link CallFailure} a test expects; {@link expectFailure} asserts only these. */
export type ExpectedFailure = Partial<Pick<CallFailure, "code" | "details" | "awsName" | "field">>;

/**
 * Awaits a call that must fail and asserts exactly the fields named in `expected` (one or more);
 * a field left out is not checked. Returns the failure, for tests that go on to check its message
 * or findings; `label` names the case when an assertion in a loop fails.
 *
 * @example
 * await expectFailure(root.call("getUser", { userName: "nobody" }), { code: status.NOT_FOUND, awsName: "NoSuchEntity" });
 * const e = await expectFailure(call, { awsName: "LimitExceeded", field: "tags" });
 * expect(e.details).toContain("quota 50");
 */
export async function expectFailure(
  call: Promise<unknown>,
  expected: ExpectedFailure,
  label?: string,
): Promise<CallFailure> {
  const fields = Object.keys(expected) as (keyof ExpectedFailure)[];
  // An empty expectation would pass for any failure at all, so it is refused rather than allowed by accident.
  if (fields.length === 0) throw new Error("expectFailure: name at least one of code, details, awsName, field");
  const failure = await failureOf(call);
  expect(Object.fromEntries(fields.map((f) => [f, failure[f]])), label).toEqual(expected);
  return failure;
}
