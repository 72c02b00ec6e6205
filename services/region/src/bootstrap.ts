import { IamError } from "@gatehouse/core";
import type { RegionView, ViewBootstrap } from "@gatehouse/view-redis";
import type { Admin, Kafka } from "kafkajs";
import type { Logger } from "pino";
import type { AccountSource } from "./control-plane-source.ts";

/**
 * How an empty view is filled: `auto` reads the topic from its start when the topic still holds
 * everything ever published (every partition's earliest offset is 0) and exports every account
 * otherwise; `topic` and `export` force one way.
 */
export type BootstrapMode = "auto" | "topic" | "export";

/** Options of {@link bootstrapView}. */
export interface BootstrapOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  /** The applier's consumer group (generation included): export mode sets its offsets. */
  readonly groupId: string;
  readonly view: RegionView;
  readonly source?: AccountSource;
  readonly mode: BootstrapMode;
  readonly logger: Logger;
  /** Accounts exported at once. */
  readonly concurrency?: number;
}

/**
 * Fills a view no applier has bootstrapped yet (a new region, or one whose Redis lost its data),
 * before the applier starts consuming; a view already bootstrapped is left alone.
 *
 * Export mode: the topic's end offsets are read first, then every account is listed
 * (ListAccounts) and exported (ExportAccount with sealed secrets) and replaced into the view at
 * its exported revision, then the consumer group's offsets are set to those end offsets. Every
 * event before them was published before the exports began, so it is at or below the exported
 * revision (the relay publishes committed revisions only); every event after them is read. An
 * interrupted bootstrap stays `pending` and is done again on the next start (replacing at a
 * revision the view already has changes nothing).
 */
export async function bootstrapView(options: BootstrapOptions): Promise<ViewBootstrap> {
  const { kafka, topic, groupId, view, source, logger } = options;
  const existing = await view.readBootstrap();
  if (existing?.state === "done") return existing;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await fetchOffsets(admin, topic);
    const truncated = offsets.filter((o) => BigInt(o.low) > 0n).map((o) => o.partition);
    let mode: "topic" | "export" = options.mode === "auto" ? (truncated.length > 0 ? "export" : "topic") : options.mode;
    if (mode === "export" && source === undefined) {
      if (options.mode === "export") {
        throw new IamError(
          "ValidationError",
          "bootstrap mode export needs the control plane (GATEHOUSE_REGION_CONTROL_PLANE)",
          {
            field: "GATEHOUSE_REGION_BOOTSTRAP",
          },
        );
      }
      logger.error(
        { partitions: truncated },
        "the topic no longer holds its start and no control plane is configured: the view is rebuilt from what the topic holds and may miss accounts",
      );
      mode = "topic";
    }
    if (mode === "topic") {
      const done: ViewBootstrap = { mode, state: "done", accounts: 0, atMs: Date.now() };
      await view.writeBootstrap(done);
      logger.info("bootstrap: the view is built from the topic's start");
      return done;
    }
    await view.writeBootstrap({ mode, state: "pending", accounts: 0, atMs: Date.now() });
    const from = offsets.map((o) => ({ partition: o.partition, offset: o.high }));
    const { epoch, accounts } = await (source as AccountSource).listAccounts();
    const concurrency = options.concurrency ?? 4;
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < accounts.length; i = next++) {
        const { accountId } = accounts[i] as { accountId: string };
        const exported = await (source as AccountSource).exportAccount(accountId);
        const out = await view.replaceAccount(
          accountId,
          exported.revision,
          exported.epoch !== "" ? exported.epoch : epoch,
          exported.entities,
        );
        if (out.kind === "view-lost" || out.kind === "fenced") {
          throw new IamError("ServiceUnavailable", `bootstrap could not write account ${accountId}: ${out.kind}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, accounts.length) }, worker));
    await admin.setOffsets({ groupId, topic, partitions: from });
    const done: ViewBootstrap = { mode, state: "done", accounts: accounts.length, atMs: Date.now() };
    await view.writeBootstrap(done);
    logger.info(
      { accounts: accounts.length, offsets: from },
      "bootstrap: every account exported; the topic is read from the offsets it had before",
    );
    return done;
  } finally {
    await admin.disconnect();
  }
}

/** The topic's offsets, retried while Kafka says to (a partition without a leader yet, a new topic). */
async function fetchOffsets(admin: Admin, topic: string) {
  const until = Date.now() + 30_000;
  for (let pause = 100; ; pause = Math.min(2000, pause * 2)) {
    try {
      return await admin.fetchTopicOffsets(topic);
    } catch (e) {
      const retriable = typeof e === "object" && e !== null && (e as { retriable?: unknown }).retriable === true;
      if (!retriable || Date.now() + pause > until) throw e;
      await new Promise((r) => setTimeout(r, pause));
    }
  }
}
