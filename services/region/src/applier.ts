import { IamError } from "@gatehouse/core";
import { decodeChangeEvent, decodeEntityChange, decodeWatermark, MESSAGE_TYPE_HEADER } from "@gatehouse/events";
import type { RegionView } from "@gatehouse/view-redis";
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Logger } from "pino";
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
  readonly view: RegionView;
  readonly logger: Logger;
  /**
   * Partitions applied at once (each still in order, so each account in order). Default 16: one
   * partition's Redis apply and offset commit do not hold up the changes of the others, which is
   * most of a change's way to visible when many partitions carry writes.
   */
  readonly partitionsConsumedConcurrently?: number;
}

/** What the applier has seen, for status and tests. */
export interface ApplierStats {
  appliedRevisions: number;
  duplicateRevisions: number;
  /** Accounts whose next revision did not follow the applied one (not healed yet: see README). */
  gaps: { accountId: string; appliedRevision: number; seenRevision: number }[];
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
    epochMismatches: [],
    undecodable: 0,
    watermarks: new Map(),
  };
  const assemblers = new Map<number, RevisionAssembler>();
  let viewLost = false;
  const generation = await view.ensureGeneration();
  const consumer: Consumer = kafka.consumer({
    groupId: `${groupId}.${generation}`,
    sessionTimeout: 10_000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 50,
    allowAutoTopicCreation: false,
  });

  const apply = async (r: CompleteRevision) => {
    const out = await view.applyRevision(r.accountId, r.revision, r.epoch, r.entities);
    switch (out.kind) {
      case "applied":
        stats.appliedRevisions++;
        break;
      case "duplicate":
        stats.duplicateRevisions++;
        break;
      case "gap":
      case "gapped":
        stats.gaps.push({ accountId: r.accountId, appliedRevision: out.appliedRevision, seenRevision: r.revision });
        logger.error(
          { accountId: r.accountId, appliedRevision: out.appliedRevision, revision: r.revision },
          "revision gap: the account stays at its applied revision until it is resynchronized",
        );
        break;
      case "view-lost":
        logger.fatal("the Redis view was lost under the applier: stopping; a restart rebuilds it from the topic");
        viewLost = true;
        // Stop consuming; nothing past this revision may be committed, and the process restarts.
        setImmediate(() => {
          consumer.stop().then(options.onViewLost, options.onViewLost);
        });
        throw new IamError("ServiceUnavailable", "the region's Redis view was lost: restart the applier");
      case "epoch-mismatch":
        stats.epochMismatches.push({ accountId: r.accountId, revision: r.revision });
        logger.error(
          { accountId: r.accountId, revision: r.revision, epoch: r.epoch },
          "history rewound: resync needed",
        );
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
      for (const r of assembler.flushLegacy()) await apply(r);
      // Only a partition with nothing held is as fresh as its watermark.
      if (assembler.pendingCount === 0) {
        await view.setWatermark(partition, wm.committedBeforeMs);
        stats.watermarks.set(partition, wm.committedBeforeMs);
      }
      return;
    }
    let step: ReturnType<RevisionAssembler["add"]>;
    try {
      const event = decodeChangeEvent(message.value);
      const change = decodeEntityChange(event);
      step = assembler.add(change, event.revisionIndex, event.revisionEvents, BigInt(message.offset));
    } catch (e) {
      if (!IamError.is(e) || e.code !== "INVALID_ARGUMENT") throw e;
      stats.undecodable++;
      logger.error({ err: e, partition, offset: message.offset }, "undecodable change event skipped");
      return;
    }
    for (const b of step.broken) logger.error(b, "revision left incomplete by a later one: not applied");
    for (const r of step.complete) await apply(r);
  };

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    let next: bigint | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || viewLost) break;
      await handle(batch.partition, message);
      resolveOffset(message.offset);
      next = BigInt(message.offset) + 1n;
      await heartbeat();
    }
    if (next === undefined) return;
    const assembler = assemblers.get(batch.partition);
    const offset = assembler === undefined ? next : assembler.committableOffset(next);
    await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: offset.toString() }]);
  };

  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    // After a rebalance, what was held for a partition now read by another member is dropped: if
    // the partition comes back, it is re-read from the committed offset, below anything held.
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const assigned = new Set(e.payload.memberAssignment[topic] ?? []);
      for (const partition of assemblers.keys()) if (!assigned.has(partition)) assemblers.delete(partition);
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
    await consumer.disconnect().catch(() => {});
    throw e;
  }
  return {
    stats,
    stop: () => consumer.disconnect(),
  };
}

function headerOf(message: KafkaMessage, name: string): string | undefined {
  const v = message.headers?.[name];
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : first.toString();
}
