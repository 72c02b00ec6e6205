// A real control plane (Postgres, outbox relay to its own Kafka topic) and regions reading a topic
// of the test's choice, for the heal, bootstrap and standby tests.
import { randomBytes } from "node:crypto";
import { createSigningInterceptor } from "@gatehouse/auth";
import { type JwksRefreshSummary, loadControlPlaneConfig, startControlPlane } from "@gatehouse/control-plane";
import { decodeAccountSnapshot, decodeEntityChange, type TypedEntity } from "@gatehouse/events";
import {
  AuthorizeRequest,
  type AuthorizeResponse,
  AuthorizerServiceClient,
  ControlServiceClient,
  ControlServiceService,
  type GetRegionStatusResponse,
} from "@gatehouse/proto";
import type { Telemetry } from "@gatehouse/telemetry";
import {
  createTestKeyPrefix,
  createTestSchema,
  createTestTopic,
  regionRedis,
  type TestKeyPrefix,
  testInfra,
} from "@gatehouse/testkit";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { pino } from "pino";
import { loadRegionConfig } from "./config.ts";
import { type Region, startRegion } from "./region.ts";

const logger = pino({ level: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? "silent" });

/** The operator credential of every test control plane. */
export const OPERATOR = {
  accessKeyId: "AKIAOPERATORREGION00",
  secretAccessKey: randomBytes(30).toString("base64"),
};

type Unary = Record<string, (req: unknown, md: Metadata, cb: (e: ServiceError | null, res: unknown) => void) => void>;

/** A SigV4-signing ControlService client with one generic call. */
export function controlClient(
  address: string,
  creds: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
) {
  const client = new ControlServiceClient(address, credentials.createInsecure(), {
    interceptors: [createSigningInterceptor({ credentials: creds, authority: address })],
  });
  return {
    // biome-ignore lint/suspicious/noExplicitAny: a test's generic call over every ControlService method
    call<T = any>(method: string, request: object): Promise<T> {
      const def = (ControlServiceService as unknown as Record<string, { requestDeserialize(b: Buffer): object }>)[
        method
      ];
      const full = { ...def?.requestDeserialize(Buffer.alloc(0)), ...request };
      return new Promise((resolve, reject) =>
        (client as unknown as Unary)[method]?.(full, new Metadata(), (e, res) =>
          e === null ? resolve(res as T) : reject(e),
        ),
      );
    },
    close: () => client.close(),
  };
}

/** The entities of an ExportAccount snapshot as the region keeps them, sorted like `readAccount`. */
export function exportedEntities(snapshot: Uint8Array): TypedEntity[] {
  return decodeAccountSnapshot(snapshot)
    .entities.map((e): TypedEntity => {
      const { kind, id, state } = decodeEntityChange(e);
      return { kind, id, state } as TypedEntity;
    })
    .sort((x, y) => (x.kind === y.kind ? (x.id < y.id ? -1 : x.id > y.id ? 1 : 0) : x.kind < y.kind ? -1 : 1));
}

/** A running test control plane; `stop` and `start` again keep its database, topic and port. */
export interface TestControlPlane {
  readonly address: string;
  readonly topic: string;
  readonly partitions: number;
  /** GATEHOUSE_SECRET_KEY of the control plane (a region needs it for Authenticate and STS). */
  readonly secretKey: string;
  /** The running control plane (undefined while stopped). */
  readonly current: Awaited<ReturnType<typeof startControlPlane>> | undefined;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
  /** One pass of the refresher of OIDC keys fetched from issuers, now. */
  refreshOidcKeys(): Promise<JwksRefreshSummary>;
}

/** Starts a control plane on its own schema and topic (port 0 unless given). */
export async function startTestControlPlane(
  options: { partitions?: number; port?: number; telemetry?: Telemetry; extraEnv?: Record<string, string> } = {},
) {
  const partitions = options.partitions ?? 2;
  const schema = await createTestSchema({ prefix: "regcp", migrated: true });
  const topic = await createTestTopic({ prefix: "regcp", partitions });
  const config = (port: number) =>
    loadControlPlaneConfig({
      GATEHOUSE_CP_LISTEN: `127.0.0.1:${port}`,
      GATEHOUSE_PG_URL: schema.databaseUrl,
      GATEHOUSE_PG_SCHEMA: schema.name,
      GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
      GATEHOUSE_CHANGES_TOPIC: topic.name,
      GATEHOUSE_CHANGES_PARTITIONS: String(partitions),
      GATEHOUSE_SECRET_KEY: secretKey,
      GATEHOUSE_OPERATOR_ACCESS_KEY_ID: OPERATOR.accessKeyId,
      GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
      GATEHOUSE_CP_RELAY_WATERMARK_MS: "200",
      // Tests that want the regional audit topic name their own.
      GATEHOUSE_CP_REGION_AUDIT_TOPIC: "",
      ...options.extraEnv,
    });
  const secretKey = randomBytes(32).toString("base64");
  const telemetry = options.telemetry === undefined ? {} : { telemetry: options.telemetry };
  let cp: Awaited<ReturnType<typeof startControlPlane>> | undefined = await startControlPlane({
    config: config(options.port ?? 0),
    logger,
    ...telemetry,
  });
  const port = cp.port;
  const self: TestControlPlane = {
    address: `127.0.0.1:${port}`,
    topic: topic.name,
    partitions,
    secretKey,
    get current() {
      return cp;
    },
    async stop() {
      await cp?.close();
      cp = undefined;
    },
    async start() {
      cp = await startControlPlane({ config: config(port), logger, ...telemetry });
    },
    async close() {
      await self.stop();
      await schema.drop();
      await topic.delete();
    },
    refreshOidcKeys() {
      if (cp === undefined) throw new Error("the test control plane is stopped");
      return cp.jwksRefresher.refreshAll();
    },
  };
  return self;
}

/** A region (applier + decider) on its own key prefix, reading `topic`. */
export interface TestRegion {
  readonly region: Region;
  readonly decider: AuthorizerServiceClient;
  readonly keyPrefix: string;
  readonly keys: TestKeyPrefix;
  authorize(request: Partial<AuthorizeRequest>): Promise<AuthorizeResponse>;
  status(): Promise<GetRegionStatusResponse>;
  /** Stops the region; its keys are deleted unless `keepKeys`. */
  close(keepKeys?: boolean): Promise<void>;
}

/** Starts a region; with `controlPlane` it heals and bootstraps from it. */
export async function startTestRegion(options: {
  topic: string;
  controlPlane?: TestControlPlane;
  name?: string;
  role?: "all" | "applier";
  extraEnv?: Record<string, string>;
  /** Reuse a region's keys (a restart); a new prefix otherwise. */
  keys?: TestKeyPrefix;
  telemetry?: Telemetry;
}): Promise<TestRegion> {
  const name = options.name ?? "us-east-1";
  const keys = options.keys ?? createTestKeyPrefix({ prefix: "regtest" });
  const region = await startRegion({
    config: loadRegionConfig(
      {
        GATEHOUSE_REGION: name,
        GATEHOUSE_REGION_REDIS_URL: regionRedis(name, testInfra()).url,
        GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
        GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
        GATEHOUSE_REGION_LISTEN: "127.0.0.1:0",
        GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
        GATEHOUSE_CHANGES_TOPIC: options.topic,
        // Tests that check the regional audit topic name their own.
        GATEHOUSE_REGION_AUDIT_TOPIC: "",
        ...(options.controlPlane === undefined
          ? {}
          : {
              GATEHOUSE_REGION_CONTROL_PLANE: options.controlPlane.address,
              GATEHOUSE_REGION_OPERATOR_ACCESS_KEY_ID: OPERATOR.accessKeyId,
              GATEHOUSE_REGION_OPERATOR_SECRET_ACCESS_KEY: OPERATOR.secretAccessKey,
            }),
        ...options.extraEnv,
      },
      ["--role", options.role ?? "all"],
    ),
    logger,
    ...(options.telemetry === undefined ? {} : { telemetry: options.telemetry }),
  });
  const decider = new AuthorizerServiceClient(`127.0.0.1:${region.decider?.port ?? 1}`, credentials.createInsecure());
  return {
    region,
    decider,
    keyPrefix: keys.prefix,
    keys,
    authorize: (r) =>
      new Promise<AuthorizeResponse>((resolve, reject) =>
        decider.authorize(AuthorizeRequest.create(r), new Metadata(), { deadline: Date.now() + 20_000 }, (err, res) =>
          err === null ? resolve(res) : reject(err),
        ),
      ),
    status: () =>
      new Promise<GetRegionStatusResponse>((resolve, reject) =>
        decider.getRegionStatus({ pageSize: 1000, pageToken: "" }, (err, res) =>
          err === null ? resolve(res) : reject(err),
        ),
      ),
    async close(keepKeys = false) {
      decider.close();
      await region.close();
      if (!keepKeys) await keys.cleanup();
    },
  };
}
