import { IamError } from "@gatehouse/core";
import { decodeChangeEvent, decodeEntityChange, decodeWatermark, MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import { TELEMETRY_DISABLED, type Telemetry, TRACEPARENT_HEADER } from "@gatehouse/telemetry";
import type { RegionView, ViewBootstrap } from "@gatehouse/view-redis";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "pino";
import { type AccountHealer, createAccountHealer, type HealingAccount } from "./account-healer.ts";
import { type BootstrapMode, bootstrapView } from "./bootstrap.ts";
import type { AccountSource } from "./control-plane-source.ts";
import { type CompleteRevision, RevisionAssembler } from "./revision-assembler.ts";

/** Options of {@link startApplier}. */
export interface ApplierOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /**
   * One consumer group per region: every region reads the whole topic. The view's generation is
   * appended, so a Redis that lost the view is rebuilt from the topic's start by a new group.
   */
  readonly groupId: string;
  /** Called when the view was lost under a running applier (it has stopped; restart it). */
  readonly onViewLost?: () => void;
  /** Called when another applier took the region's lease (this one has stopped writing). */
  readonly onFenced?: () => void;
  /**
   * Called when the Kafka consumer crashed with an error kafkajs does not restart it after (a
   * heartbeat answered "unknown member" once the group expired this member during a partition):
   * the consumer has stopped; start the applier again.
   */
  readonly onCrashed?: () => void;
  readonly view: RegionView;
  /**
   * Where gapped accounts are healed from (the control plane's export). Without it a gap is only
   * reported and the account stays at its applied revision.
   */
  readonly source?: AccountSource;
  /** How an empty view is filled (default `auto`; see {@link bootstrapView}). */
  readonly bootstrap?: BootstrapMode;
  /** How often the consumer lag is recorded in the view for GetRegionStatus (default 1000 ms). */
  readonly lagIntervalMs?: number;
  /** Backoff of a failed heal (default 200 ms doubling to 30 s). */
  readonly healRetry?: { readonly initialMs: number; readonly maxMs: number };
  readonly logger: Logger;
  /**
   * Partitions applied at once (each still in order, so each account in order). Default 16: one
   * partition's Redis apply and offset commit do not hold up the changes of the others, which is
   * most of a change's way to visible when many partitions carry writes.
   */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Traces: a revision whose events carry a `traceparent` header (the relay's, continuing the
   * write's trace) is applied in a CONSUMER span, child of it. Default off.
   */
  readonly telemetry?: Telemetry;
}

/** What the applier has seen, for status and tests. */
export interface ApplierStats {
  appliedRevisions: number;
  duplicateRevisions: number;
  /** Accounts whose next revision did not follow the applied one, as met (healed when a source is set). */
  gaps: { accountId: string; appliedRevision: number; seenRevision: number }[];
  /** Heals completed (an account replaced from its export, then its held revisions applied). */
  healed: number;
  /** Accounts whose stream went back to an applied revision with another epoch (need a resync). */
  epochMismatches: { accountId: string; revision: number }[];
  /** Events that could not be decoded (skipped: no dead-letter topic yet). */
  undecodable: number;
  /** Latest watermark (`committed_before_ms`) per partition, recorded once all before it was applied. */
  watermarks: Map<number, number>;
}

/** A running applier. */
export interface Applier {
  readonly stats: ApplierStats;
  /** Accounts being healed now (empty without a source). */
  healing(): HealingAccount[];
  /** How the view this applier writes was filled. */
  readonly bootstrap: ViewBootstrap;
  stop(): Promise<void>;
}

/**
 * Consumes the change topic and applies it to the region's view, one whole revision at a time,
 * in order per partition (hence per account). Offsets are committed by hand, only up to what is
 * applied, so a process killed at any point resumes without losing an event; anything re-read is
 * refused by the view as a duplicate, so nothing is applied twice.
 */
export async function startApplier(options: ApplierOptions): Promise<Applier> {
  const { kafka, topic, groupId, view, logger } = options;
  const stats: ApplierStats = {
    appliedRevisions: 0,
    duplicateRevisions: 0,
    gaps: [],
    healed: 0,
    epochMismatches: [],
    undecodable: 0,
    watermarks: new Map(),
  };
  const assemblers = new Map<number, RevisionAssembler>();
  const telemetry = options.telemetry ?? TELEMETRY_DISABLED;
  /** The traceparent of each revision being assembled (`account:revision`), while telemetry is on. */
  const traceOf = new Map<string, string>();
  let viewLost = false;
  let fenced = false;
  const generation = await view.ensureGeneration();
  const fullGroupId = `${groupId}.${generation}`;
  const bootstrap = await bootstrapView({
    kafka,
    topic,
    groupId: fullGroupId,
    view,
    mode: options.bootstrap ?? "auto",
    logger,
    ...(options.source === undefined ? {} : { source: options.source }),
  });
  const consumer: Consumer = kafka.consumer({
    groupId: fullGroupId,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 50,
    allowAutoTopicCreation: false,
  });

  const stopFor = (why: "view-lost" | "fenced") => {
    if (viewLost || fenced) return;
    if (why === "view-lost") {
      logger.fatal("the Redis view was lost under the applier: stopping; a restart rebuilds it from the topic");
      viewLost = true;
    } else {
      logger.error("another applier holds the region's lease: this one stops writing");
      fenced = true;
    }
    // Stop consuming; nothing past this revision may be committed, and the process restarts.
    const done = why === "view-lost" ? options.onViewLost : options.onFenced;
    setImmediate(() => {
      void healer?.stop();
      consumer.stop().then(done, done);
    });
  };
  const healer: AccountHealer | undefined =
    options.source === undefined
      ? undefined
      : createAccountHealer({
          view,
          source: options.source,
          logger,
          ...(options.healRetry === undefined ? {} : { retry: options.healRetry }),
          onFatal: stopFor,
          onHealed: () => {
            stats.healed++;
          },
        });

  const apply = async (partition: number, r: CompleteRevision) => {
    if (healer?.isHealing(r.accountId)) {
      healer.hold(partition, r);
      return;
    }
    let out: Awaited<ReturnType<RegionView["applyRevision"]>>;
    if (!telemetry.enabled) out = await view.applyRevision(r.accountId, r.revision, r.epoch, r.entities);
    else {
      const key = `${r.accountId}:${r.revision}`;
      const span = telemetry.startSpan("gatehouse.apply", {
        kind: "consumer",
        parent: traceOf.get(key),
        attributes: {
          "messaging.system": "kafka",
          "messaging.operation.type": "process",
          "messaging.destination.partition.id": String(partition),
          "gatehouse.account_id": r.accountId,
          "gatehouse.revision": r.revision,
          "gatehouse.entities": r.entities.length,
        },
      });
      traceOf.delete(key);
      try {
        out = await view.applyRevision(r.accountId, r.revision, r.epoch, r.entities);
      } catch (e) {
        span.end(e);
        throw e;
      }
      span.end(out.kind === "applied" || out.kind === "duplicate" ? undefined : { name: out.kind });
    }
    switch (out.kind) {
      case "applied":
        stats.appliedRevisions++;
        break;
      case "duplicate":
        stats.duplicateRevisions++;
        break;
      case "gap":
      case "gapped":
        if (out.kind === "gap" || healer === undefined) {
          stats.gaps.push({ accountId: r.accountId, appliedRevision: out.appliedRevision, seenRevision: r.revision });
          logger.error(
            { accountId: r.accountId, appliedRevision: out.appliedRevision, revision: r.revision },
            healer === undefined
              ? "revision gap: the account stays at its applied revision (no control plane to heal from)"
              : "revision gap: healing the account from the control plane's export",
          );
        }
        healer?.hold(partition, r);
        break;
      case "view-lost":
      case "fenced":
        stopFor(out.kind);
        throw new IamError("ServiceUnavailable", `the applier cannot write to the region's view (${out.kind})`);
      case "epoch-mismatch":
        stats.epochMismatches.push({ accountId: r.accountId, revision: r.revision });
        logger.error(
          { accountId: r.accountId, revision: r.revision, epoch: r.epoch },
          healer === undefined ? "history rewound: resync needed" : "history rewound: healing from the export",
        );
        healer?.hold(partition, r);
        break;
    }
  };

  const handle = async (partition: number, message: KafkaMessage) => {
    const assembler = assemblers.get(partition) ?? new RevisionAssembler();
    assemblers.set(partition, assembler);
    if (message.value === null) return;
    if (headerOf(message, MESSAGE_TYPE_HEADER) === "watermark") {
      const wm = decodeWatermark(message.value);
      if (wm.partition !== partition) {
        logger.warn({ partition, watermarkPartition: wm.partition }, "watermark read on another partition: ignored");
        return;
      }
      for (const r of assembler.flushLegacy()) await apply(partition, r);
      // Only a partition with nothing held is as fresh as its watermark.
      if (assembler.pendingCount === 0) {
        const recorded = await view.setWatermark(partition, wm.committedBeforeMs);
        if (recorded !== "recorded") {
          stopFor(recorded);
          throw new IamError("ServiceUnavailable", `the applier cannot write to the region's view (${recorded})`);
        }
        stats.watermarks.set(partition, wm.committedBeforeMs);
      }
      return;
    }
    let step: ReturnType<RevisionAssembler["add"]>;
    try {
      const event = decodeChangeEvent(message.value);
      const change = decodeEntityChange(event);
      if (telemetry.enabled) {
        const tp = headerOf(message, TRACEPARENT_HEADER);
        // Bounded: revisions that never complete here (broken, held for a heal) are forgotten.
        if (traceOf.size > 10_000) traceOf.clear();
        if (tp !== undefined) traceOf.set(`${event.accountId}:${event.revision}`, tp);
      }
      step = assembler.add(change, event.revisionIndex, event.revisionEvents, BigInt(message.offset));
    } catch (e) {
      if (!IamError.is(e) || e.code !== "INVALID_ARGUMENT") throw e;
      stats.undecodable++;
      logger.error({ err: e, partition, offset: message.offset }, "undecodable change event skipped");
      return;
    }
    for (const b of step.broken) logger.error(b, "revision left incomplete by a later one: not applied");
    for (const r of step.complete) await apply(partition, r);
  };

  /** Per partition, the next offset to handle and the offset last committed. */
  const handledUpTo = new Map<number, bigint>();
  const committedAt = new Map<number, bigint>();

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    let next: bigint | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || viewLost || fenced) break;
      await handle(batch.partition, message);
      resolveOffset(message.offset);
      next = BigInt(message.offset) + 1n;
      await heartbeat();
    }
    if (next === undefined) return;
    const assembler = assemblers.get(batch.partition);
    const held = assembler === undefined ? next : assembler.committableOffset(next);
    const offset = healer === undefined ? held : healer.committableOffset(batch.partition, held);
    handledUpTo.set(batch.partition, next);
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: offset.toString() }]);
    committedAt.set(batch.partition, offset);
  };

  // Consumer lag, recorded in the view so every decider reports it: the topic's end offsets
  // against what this applier handled (or, for a partition it has not read yet, the group's
  // committed offset).
  const admin = kafka.admin();
  await admin.connect();
  const recordLag = async () => {
    const [ends, groups] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId: fullGroupId, topics: [topic] }),
    ]);
    const committed = new Map(
      (groups.find((g) => g.topic === topic)?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
    );
    const now = Date.now();
    await view.setConsumerLag(
      ends.map((e) => {
        const end = BigInt(e.high);
        const group = committedAt.get(e.partition) ?? committed.get(e.partition) ?? -1n;
        const start = group < 0n ? BigInt(e.low) : group;
        const applied = handledUpTo.get(e.partition) ?? start;
        return {
          partition: e.partition,
          endOffset: Number(end),
          appliedOffset: Number(applied),
          committedOffset: Number(group),
          lag: Number(end > applied ? end - applied : 0n),
          recordedAtMs: now,
        };
      }),
    );
  };
  let lagRunning = false;
  const lagTimer = setInterval(() => {
    if (lagRunning || viewLost || fenced) return;
    lagRunning = true;
    recordLag()
      .catch((e: unknown) => logger.warn({ err: e }, "consumer lag not recorded"))
      .finally(() => {
        lagRunning = false;
      });
  }, options.lagIntervalMs ?? 1000);
  lagTimer.unref();
  const stopLag = async () => {
    clearInterval(lagTimer);
    await admin.disconnect().catch(() => {});
  };

  // Accounts left gapped by an earlier run (or another member) are healed from the start.
  if (healer !== undefined) {
    for (const accountId of await view.gappedAccounts())
      healer.heal(accountId, (await view.appliedRevision(accountId)).epoch);
  }
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    // After a rebalance, what was held for a partition now read by another member is dropped: if
    // the partition comes back, it is re-read from the committed offset, below anything held.
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = new Set(e.payload.memberAssignment[topic] ?? []);
      for (const partition of assemblers.keys()) if (!assigned.has(partition)) assemblers.delete(partition);
      healer?.keepPartitions(assigned);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart) {
        logger.warn({ err: e.payload.error }, "the Kafka consumer crashed: kafkajs restarts it");
        return;
      }
      logger.error(
        { err: e.payload.error },
        "the Kafka consumer crashed and kafkajs does not restart it: starting the applier again",
      );
      options.onCrashed?.();
    });
    const joined = new Promise<void>((resolve) => {
      const off = consumer.on(consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 16,
    });
    await joined;
  } catch (e) {
    await stopLag();
    await healer?.stop();
    await consumer.disconnect().catch(() => {});
    throw e;
  }
  return {
    stats,
    bootstrap,
    healing: () => healer?.healing() ?? [],
    async stop() {
      await stopLag();
      await healer?.stop();
      await consumer.disconnect();
    },
  };
}

function headerOf(message: KafkaMessage, name: string): string | undefined {
  const v = message.headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}
