import kafkajs from "kafkajs";
import pg from "pg";

const { Kafka, logLevel } = kafkajs;

/** What a run created on the shared Postgres and Kafka under names of its own. */
export interface RunLeftovers {
  /** A connection URL of the database holding `schemas`. */
  readonly postgresUrl?: string;
  /** Schemas to drop, with everything in them. */
  readonly schemas?: readonly string[];
  /** Bootstrap brokers holding `topics` and `groups`. */
  readonly brokers?: readonly string[];
  /** Topics to delete (their consumer groups' offsets go with them). */
  readonly topics?: readonly string[];
  /** Consumer groups to delete (their members must have left). */
  readonly groups?: readonly string[];
}

/** Whether kafkajs's DeleteGroups error says the group is not there. */
function gone(e: unknown, type: string): boolean {
  const groups = (e as { groups?: { error?: { type?: string } }[] }).groups;
  return groups !== undefined && groups.length > 0 && groups.every((g) => g.error?.type === type);
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/**
 * Drops a run's schemas and deletes its topics and consumer groups; what is already gone is
 * skipped, so it is safe in an `afterAll` that runs after success and failure alike. A run that
 * spawns a whole stack under names of its own (the load-test scenarios, `deploy/stack`) calls it
 * once its processes have stopped.
 *
 * @example
 * afterAll(() => removeRunLeftovers({ postgresUrl, schemas: [schema], brokers, topics: [topic] }));
 */
export async function removeRunLeftovers(leftovers: RunLeftovers): Promise<void> {
  const schemas = leftovers.schemas ?? [];
  if (schemas.length > 0) {
    if (leftovers.postgresUrl === undefined) throw new Error("removeRunLeftovers: schemas need postgresUrl");
    const client = new pg.Client({ connectionString: leftovers.postgresUrl, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
    } finally {
      await client.end();
    }
  }
  const topics = leftovers.topics ?? [];
  const groups = leftovers.groups ?? [];
  if (topics.length + groups.length === 0) return;
  if (leftovers.brokers === undefined) throw new Error("removeRunLeftovers: topics and groups need brokers");
  const kafka = new Kafka({
    clientId: "testkit-leftovers",
    brokers: [...leftovers.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Groups one by one and unlisted (listing groups re-reads the metadata of every topic the
    // client has seen, which a topic deleted a moment ago fails), before the topics.
    for (const groupId of groups) {
      try {
        await admin.deleteGroups([groupId]);
      } catch (e) {
        if (!gone(e, "GROUP_ID_NOT_FOUND")) throw e;
      }
    }
    const existing = new Set(await admin.listTopics());
    const doomed = topics.filter((t) => existing.has(t));
    if (doomed.length > 0) await admin.deleteTopics({ topics: doomed, timeout: 15_000 });
  } finally {
    await admin.disconnect();
  }
}
