import {
  type AuditPublisher,
  type ChangePublisher,
  createAuditPublisher,
  createChangePublisher,
  ensureTopic,
} from "@gatehouse/bus-kafka";
import { type Clock, systemClock } from "@gatehouse/core";
import { createHealth, type Health, limitHttp2StreamRetention, type ProbeResult } from "@gatehouse/lifecycle";
import {
  createOutboxSource,
  createPostgresStore,
  type IamStore,
  loadMigrations,
  type StoreQuotas,
} from "@gatehouse/store-postgres";
import { METRIC_NAMES, TELEMETRY_DISABLED, type Telemetry } from "@gatehouse/telemetry";
import type { Logger } from "pino";
import { type AuditRelay, createAuditRelay } from "./audit-relay.ts";
import { createAuthenticator } from "./authenticator.ts";
import { createAuthorizer } from "./authorizer.ts";
import type { ControlPlaneConfig } from "./config.ts";
import { createControlService } from "./control-service.ts";
import { type RunningServer, serveControlService } from "./grpc-server.ts";
import { createLastUsedRecorder } from "./last-used-recorder.ts";
import { createJwksRefresher, type JwksRefresher } from "./oidc-keys.ts";
import { createOutboxCompactor, type OutboxCompactor } from "./outbox-compactor.ts";
import { createOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "./outbox-relay.ts";
import { createRegionAuditIngest, type RegionAuditIngest } from "./region-audit-ingest.ts";
import { createSessionVerifier, createStsKeySet } from "./session-verifier.ts";
import { createSignInService } from "./sign-in-service.ts";

/**
 * The readiness name the control plane reports on `grpc.health.v1.Health`: SERVING while
 * Postgres answers and its schema has every migration this build ships. `""` (liveness) stays
 * SERVING while the process runs, Kafka or not (the outbox keeps writes while Kafka is down).
 */
export const CONTROL_PLANE_READINESS = "gatehouse.v1.ControlService";

/** A running control plane: gRPC server, store, outbox relay and outbox compaction. */
export interface ControlPlane {
  readonly port: number;
  /** The health service (liveness `""` and {@link CONTROL_PLANE_READINESS}). */
  readonly health: Health;
  readonly store: IamStore;
  readonly relay: OutboxRelay;
  readonly compactor: OutboxCompactor;
  /** Moves the audit trail to its topic. */
  readonly auditRelay: AuditRelay;
  /** Consumes what the regions report (STS issuance, keys' last use); absent when not configured. */
  readonly regionAudit?: RegionAuditIngest;
  /** Refreshes the JWKS documents fetched from OIDC issuers (periodically; `refreshAll` on demand). */
  readonly jwksRefresher: JwksRefresher;
  /**
   * Reports NOT_SERVING, stops taking calls and lets in-flight ones finish (up to the configured
   * grace period), writes the access keys' last uses still in memory, stops the relay and
   * compaction, closes Kafka and Postgres, in that order. Calling it again waits for the first.
   */
  close(): Promise<void>;
}

/** Options of {@link startControlPlane}: the validated config plus injectables. */
export interface StartControlPlaneOptions {
  config: ControlPlaneConfig;
  logger: Logger;
  /** Time for SigV4 checks, authorization and the store (TOTP windows); defaults to the wall clock. */
  clock?: Clock;
  /** Hook for benchmarks and metrics. */
  onPublished?: OutboxRelayOptions["onPublished"];
  /** Hook for metrics and alerts: an event was parked (README, "Parked events"). */
  onParked?: OutboxRelayOptions["onParked"];
  /** The process's telemetry (`startTelemetry(config.telemetry)`); default off. */
  telemetry?: Telemetry;
}

/**
 * Composes the control plane's adapters: migrates the schema, makes sure the change topic
 * exists, starts the outbox relay and outbox compaction, and serves ControlService.
 *
 * @example
 * const cp = await startControlPlane({ config: loadControlPlaneConfig(process.env), logger });
 */
export async function startControlPlane(options: StartControlPlaneOptions): Promise<ControlPlane> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const telemetry = options.telemetry ?? TELEMETRY_DISABLED;
  const store = createPostgresStore({
    connectionString: config.postgres.url,
    schema: config.postgres.schema,
    poolSize: config.postgres.poolSize,
    writeConcurrency: config.postgres.writeConcurrency,
    secretKey: config.secretKey,
    previousSecretKeys: config.previousSecretKeys,
    clientTokenTtlSeconds: config.clientTokenTtlSeconds,
    passwordHashing: config.passwordHashing,
    partition: config.partition,
    quotas: config.quotas as Partial<StoreQuotas>,
    clock,
    // Traced writes store their trace context with their outbox rows (the relay continues it).
    ...(telemetry.enabled ? { traceContext: () => telemetry.traceparent() } : {}),
  });
  let publisher: ChangePublisher | undefined;
  let relay: OutboxRelay | undefined;
  const compactor = createOutboxCompactor({
    store,
    logger,
    retentionSeconds: config.outbox.retentionSeconds,
    intervalMs: config.outbox.compactionIntervalMs,
    batchSize: config.outbox.compactionBatchSize,
    auditRetentionDays: config.audit.retentionDays,
  });
  let auditPublisher: AuditPublisher | undefined;
  let auditRelay: AuditRelay | undefined;
  const regions = config.audit.regions;
  const regionAudit =
    regions === undefined
      ? undefined
      : createRegionAuditIngest({
          store,
          brokers: config.kafka.brokers,
          topic: regions.topic,
          groupId: regions.groupId,
          logger,
        });
  // Last use of access keys: noted in memory by the authenticator, written in batches.
  const lastUsed = createLastUsedRecorder({ store, logger, flushEveryMs: config.auth.lastUsedFlushMs, clock });
  const jwksRefresher = createJwksRefresher({
    store,
    logger: logger.child({ part: "oidc-keys" }),
    fetch: config.oidc.fetch,
    intervalMs: config.oidc.refreshIntervalMs,
  });
  const latest = loadMigrations().at(-1)?.version ?? 0;
  const health = createHealth({
    readiness: { [CONTROL_PLANE_READINESS]: () => postgresReady(store.pool, config.postgres.schema, latest) },
    intervalMs: config.healthIntervalMs,
    logger: logger.child({ part: "health" }),
  });
  let server: RunningServer | undefined;
  let topicTimer: NodeJS.Timeout | undefined;
  try {
    const applied = await store.migrate();
    if (applied.length > 0) logger.info({ applied }, "applied migrations");
    await warnWithoutAutovacuum(store.pool, logger);
    // The regions' STS key set starts with one key (published sealed, like every change).
    const stsKeys = await store.ensureStsKey();
    logger.info({ stsKeys: stsKeys.value.map((k) => k.keyId) }, "STS key set ready");
    const outbox = createOutboxSource(store);
    const parked = await outbox.parked();
    if (parked.length > 0) {
      logger.error(
        { parked },
        `${parked.length} account(s) have a parked change event: their changes do not reach the regions until released (gh_outbox_release)`,
      );
    }
    const kafka = { brokers: [...config.kafka.brokers], clientId: "gatehouse-control-plane" };
    // Kafka being down must not stop writes: the outbox keeps them. Creating the topic is retried
    // in the background until it works; the relay's sends fail (and retry) until then.
    const topicReady = async (): Promise<void> => {
      const wanted = {
        replicationFactor: config.kafka.replicationFactor,
        minInsyncReplicas: config.kafka.minInsyncReplicas,
      };
      const found = await ensureTopic({
        ...kafka,
        topic: config.kafka.topic,
        partitions: config.kafka.partitions,
        ...wanted,
      });
      await ensureTopic({ ...kafka, topic: config.audit.topic, partitions: config.kafka.partitions, ...wanted });
      if (regions !== undefined) {
        await ensureTopic({ ...kafka, topic: regions.topic, partitions: config.kafka.partitions, ...wanted });
      }
      // An existing topic keeps its replication: say so when it is weaker than configured.
      if (found.replicationFactor < wanted.replicationFactor || found.minInsyncReplicas < wanted.minInsyncReplicas) {
        logger.warn(
          { topic: config.kafka.topic, found, wanted },
          "the change topic has fewer replicas or a lower min.insync.replicas than configured; reassign its partitions and set min.insync.replicas (kafka-reassign-partitions, kafka-configs)",
        );
      }
    };
    await topicReady().catch((e: unknown) => {
      logger.warn({ err: e }, "could not make sure the change topic exists; retrying in the background");
      const retry = (): void => {
        topicTimer = setTimeout(() => {
          topicReady().then(
            () => logger.info("change topic is ready"),
            () => retry(),
          );
        }, 5000);
        topicTimer.unref();
      };
      retry();
    });
    publisher = createChangePublisher({ ...kafka, topic: config.kafka.topic });
    relay = createOutboxRelay({
      outbox,
      publisher,
      logger,
      batchSize: config.relay.batchSize,
      fallbackPollMs: config.relay.fallbackPollMs,
      maxBatchBytes: config.relay.maxBatchBytes,
      maxEventBytes: config.relay.maxEventBytes,
      leaseCheckMs: config.relay.leaseCheckMs,
      lockQueryTimeoutMs: config.relay.lockQueryTimeoutMs,
      takeoverDelayMs: config.relay.takeoverDelayMs,
      watermarkMs: config.relay.watermarkMs,
      ...(options.onPublished === undefined ? {} : { onPublished: options.onPublished }),
      ...(options.onParked === undefined ? {} : { onParked: options.onParked }),
      telemetry,
    });
    relay.start();
    telemetry.gauge(METRIC_NAMES.outboxBacklog, "Outbox rows not yet published to Kafka", "{event}", async () => [
      [await outbox.backlog()],
    ]);
    auditPublisher = createAuditPublisher({ ...kafka, topic: config.audit.topic });
    auditRelay = createAuditRelay({
      store,
      publisher: auditPublisher,
      logger,
      batchSize: config.audit.relayBatchSize,
      pollMs: config.audit.relayPollMs,
    });
    auditRelay.start();
    // After the topics: the ingest's first join attempt finds its topic (it retries otherwise).
    regionAudit?.start();
    compactor.start();
    lastUsed.start();
    jwksRefresher.start();
    // One view of the STS key set: signed-in sessions are sealed under the key it verifies with.
    const stsKeySet = createStsKeySet({ store, clock });
    const service = createControlService({
      store,
      authenticator: createAuthenticator({
        store,
        operator: config.operator,
        region: config.region,
        clock,
        unknownKeyCacheMs: config.auth.unknownKeyCacheMs,
        failuresPerSecond: config.auth.failuresPerSecond,
        failureBurst: config.auth.failureBurst,
        lastUsed,
        sessions: createSessionVerifier({ store, clock, keys: stsKeySet }),
      }),
      authorizer: createAuthorizer({ store, logger, region: config.region, clock }),
      logger,
      partition: config.partition,
      telemetry,
      oidcFetch: config.oidc.fetch,
    });
    const signIn = createSignInService({
      store,
      keys: stsKeySet,
      logger,
      clock,
      partition: config.partition,
      ...config.signIn,
    });
    // What finished calls keep alive past V8's scavenges, limited (see @gatehouse/lifecycle).
    limitHttp2StreamRetention((reason) =>
      logger.warn({ reason }, "http2 stream tables are not renewed: expect longer GC pauses"),
    );
    server = await serveControlService(service, config.listen, health, signIn);
    health.start();
    logger.info({ port: server.port }, "control plane listening");
  } catch (e) {
    health.shutdown();
    await server?.close(0);
    await lastUsed.stop();
    await jwksRefresher.stop();
    await relay?.stop();
    await auditRelay?.stop();
    await regionAudit?.stop();
    await compactor.stop();
    await publisher?.disconnect();
    await auditPublisher?.disconnect();
    await store.close();
    throw e;
  }
  const running = { server, relay, publisher, auditRelay, auditPublisher };
  let closing: Promise<void> | undefined;
  return {
    port: running.server.port,
    health,
    store,
    relay: running.relay,
    compactor,
    auditRelay: running.auditRelay,
    ...(regionAudit === undefined ? {} : { regionAudit }),
    jwksRefresher,
    close() {
      closing ??= (async () => {
        clearTimeout(topicTimer);
        // Load balancers and Watch clients see NOT_SERVING before the listener goes away.
        health.shutdown();
        await running.server.close(config.shutdownGraceMs);
        // After the server: the last calls' uses are in memory by now.
        await lastUsed.stop();
        await jwksRefresher.stop();
        await running.relay.stop();
        await regionAudit?.stop();
        await running.auditRelay.stop();
        await compactor.stop();
        await running.publisher.disconnect();
        await running.auditPublisher.disconnect();
        await store.close();
      })();
      return closing;
    },
  };
}

/** Ready when Postgres answers and the schema is at the newest migration this build knows. */
async function postgresReady(pool: IamStore["pool"], schema: string, latest: number): Promise<ProbeResult> {
  const r = await pool.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${schema}.schema_migrations`,
  );
  const version = r.rows[0]?.version ?? 0;
  return version >= latest
    ? { ready: true }
    : { ready: false, reason: `schema ${schema} is at migration ${version}, this build needs ${latest}` };
}

/**
 * The outbox gets a row and an update for every change, and the account rows an update: without
 * vacuums their tables and indexes only grow, and reads that pass dead rows slow down. Autovacuum
 * is the server's business, so say once, at start-up, when it is off.
 */
async function warnWithoutAutovacuum(pool: IamStore["pool"], logger: Logger): Promise<void> {
  const r = await pool.query<{ autovacuum: string }>("SHOW autovacuum");
  if (r.rows[0]?.autovacuum !== "on") {
    logger.warn(
      "the Postgres server's autovacuum is off: vacuum and analyze the Gatehouse schema regularly, or the outbox and account tables will keep growing and their writes slow down",
    );
  }
}
