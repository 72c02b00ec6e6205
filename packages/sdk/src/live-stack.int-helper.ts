// Test-only: a real control plane (own schema and topic) and one real region (applier + decider,
// own Redis key prefix) on port 0, the operator credential, and a free port nothing listens on.
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { loadControlPlaneConfig, startControlPlane } from "@gatehouse/control-plane";
import { loadRegionConfig, startRegion } from "@gatehouse/region";
import { createTestKeyPrefix, createTestSchema, createTestTopic, regionRedis, testInfra } from "@gatehouse/testkit";
import { pino } from "pino";

export interface LiveStack {
  readonly controlPlane: string;
  readonly region: string;
  readonly decider: string;
  readonly operator: { accessKeyId: string; secretAccessKey: string };
  close(): Promise<void>;
}

/** A port that was free a moment ago (bound, then released): calls to it are refused. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startLiveStack(prefix: string): Promise<LiveStack> {
  const logger = pino({ level: "silent" });
  const operator = { accessKeyId: "AKIAOPERATORSDKTEST0", secretAccessKey: randomBytes(30).toString("base64") };
  // Shared by the control plane (it seals secrets and the STS key set) and the region (it opens
  // them for Authenticate and STS).
  const secretKey = randomBytes(32).toString("base64");
  const schema = await createTestSchema({ prefix });
  const topic = await createTestTopic({ prefix, partitions: 2 });
  // The regional audit topic of this stack alone (STS issuance and keys' last use, region → control plane).
  const auditTopic = await createTestTopic({ prefix: `${prefix}audit`, partitions: 2 });
  const cp = await startControlPlane({
    config: loadControlPlaneConfig({
      GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
      GATEHOUSE_PG_URL: schema.databaseUrl,
      GATEHOUSE_PG_SCHEMA: schema.name,
      GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
      GATEHOUSE_CHANGES_TOPIC: topic.name,
      GATEHOUSE_CHANGES_PARTITIONS: "2",
      GATEHOUSE_SECRET_KEY: secretKey,
      GATEHOUSE_OPERATOR_ACCESS_KEY_ID: operator.accessKeyId,
      GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: operator.secretAccessKey,
      GATEHOUSE_CP_RELAY_WATERMARK_MS: "200",
      GATEHOUSE_CP_REGION_AUDIT_TOPIC: auditTopic.name,
    }),
    logger,
  });
  const keys = createTestKeyPrefix({ prefix });
  const region = await startRegion({
    config: loadRegionConfig(
      {
        GATEHOUSE_REGION: "us-east-1",
        GATEHOUSE_REGION_REDIS_URL: regionRedis("us-east-1", testInfra()).url,
        GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
        GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
        GATEHOUSE_REGION_LISTEN: "127.0.0.1:0",
        GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
        GATEHOUSE_CHANGES_TOPIC: topic.name,
        GATEHOUSE_REGION_AUDIT_TOPIC: auditTopic.name,
        GATEHOUSE_REGION_AUDIT_FLUSH_MS: "50",
        GATEHOUSE_SECRET_KEY: secretKey,
      },
      ["--role", "all"],
    ),
    logger,
  });
  return {
    controlPlane: `127.0.0.1:${cp.port}`,
    region: "us-east-1",
    decider: `127.0.0.1:${region.decider?.port}`,
    operator,
    async close() {
      await region.close();
      await keys.cleanup();
      await cp.close();
      await schema.drop();
      await topic.delete();
      await auditTopic.delete();
    },
  };
}
