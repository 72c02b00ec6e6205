/**
 * Real-service fixtures for Gatehouse's integration tests (`*.int.test.ts`): each suite gets its
 * own database or schema, topic and Redis key prefix on the Postgres, Kafka and Redis the global
 * setup found (env vars, containers, or the local stack), so suites run in parallel and repeat.
 *
 * @example
 * import { createTestSchema, createTestTopic, createTestKeyPrefix } from "@gatehouse/testkit";
 * @packageDocumentation
 */

export { waitForKafka } from "../../../deploy/local/kafka-probe.ts";
export {
  canStartDedicatedKafka,
  type DedicatedKafka,
  type DedicatedKafkaCapability,
  type DedicatedKafkaMode,
  type DedicatedKafkaOptions,
  startDedicatedKafka,
} from "./dedicated-kafka.ts";
export { iamErrorOf } from "./iam-errors.ts";
export type { InfraSource, RegionRedis, TestInfra } from "./infra-settings.ts";
export {
  MIGRATED_TEMPLATE_KEY,
  parseBrokers,
  parsePostgresUrl,
  parseRedisUrls,
  TEST_INFRA_KEY,
} from "./infra-settings.ts";
export { createTestTopic, type TestKafkaOptions, type TestTopic, type TestTopicOptions, testKafka } from "./kafka.ts";
export { type RunLeftovers, removeRunLeftovers } from "./leftovers.ts";
export {
  canRunOwnPostgres,
  createOwnPostgres,
  freePort,
  type OwnPostgres,
  type OwnPostgresServer,
} from "./own-postgres.ts";
export {
  createTestDatabase,
  createTestSchema,
  type MigratedSchemaTemplate,
  type TestDatabase,
  type TestPostgresOptions,
  type TestSchema,
  type TestSchemaOptions,
} from "./postgres.ts";
export {
  createTestKeyPrefix,
  deleteKeysWithPrefix,
  type TestKeyPrefix,
  type TestKeyPrefixOptions,
  type TestRedisOptions,
  testRedis,
} from "./redis.ts";
export {
  databaseUrl,
  type HeldTemplateDatabase,
  holdTemplateDatabase,
  type TemplateDatabaseSpec,
} from "./template-database.ts";
export { regionRedis, testInfra } from "./test-infra.ts";
export { uniqueName } from "./unique-name.ts";
