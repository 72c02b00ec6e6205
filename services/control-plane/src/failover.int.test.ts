// Item 7 of issue 10, on a real failover: a primary and an asynchronous standby of the test's own
// (the run's shared server is never touched). The standby misses the primary's last write, the
// primary dies after that write was published, the standby is promoted and reuses its revision.
import { randomBytes } from "node:crypto";
import { createChangePublisher } from "@gatehouse/bus-kafka";
import { createOutboxSource, createPostgresStore, type IamStore } from "@gatehouse/store-postgres";
import {
  canRunOwnPostgres,
  createOwnPostgres,
  createTestTopic,
  type OwnPostgres,
  type TestTopic,
} from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOutboxRelay } from "./outbox-relay.ts";
import { collectEvents, kafkaBrokers, silentLogger } from "./test-env.int-helper.ts";

const SECRET = randomBytes(32);
const storeOn = (url: string): IamStore =>
  createPostgresStore({ connectionString: url, schema: "gatehouse", secretKey: SECRET, poolSize: 4 });

describe.skipIf(!canRunOwnPostgres)(
  "revisions after an asynchronous failover (a Postgres primary and standby of the test's own)",
  () => {
    let pg: OwnPostgres;
    let topic: TestTopic;
    const stores: IamStore[] = [];
    beforeAll(async () => {
      pg = await createOwnPostgres();
      topic = await createTestTopic({ prefix: "failover", partitions: 2 });
    }, 120_000);
    afterAll(async () => {
      for (const s of stores) await s.close().catch(() => {});
      await pg?.close();
      await topic?.delete();
    });

    async function relayOnce(store: IamStore, until: () => boolean): Promise<void> {
      const publisher = createChangePublisher({ brokers: kafkaBrokers(), topic: topic.name });
      const relay = createOutboxRelay({
        outbox: createOutboxSource(store),
        publisher,
        logger: silentLogger,
        takeoverDelayMs: 0,
        maxBackoffMs: 200,
      });
      relay.start();
      try {
        await expect.poll(until, { timeout: 20_000 }).toBe(true);
      } finally {
        await relay.stop();
        await publisher.disconnect();
      }
    }

    it("a revision reused by the promoted standby carries another epoch than the one published before", async () => {
      const old = storeOn(pg.primary.url);
      stores.push(old);
      await old.migrate();
      const acct = (await old.createAccount({})).accountId;
      await old.createUser(acct, { userName: "replicated" });

      // The standby: a copy of the primary, streaming asynchronously, then stopped (so it misses
      // what comes next, as a lagging standby does).
      await pg.copyToStandby();

      const lost = await old.createUser(acct, { userName: "lost-in-failover" });
      const events = await collectEvents(topic.name);
      try {
        await relayOnce(old, () => events.deduped(acct).some((e) => e.revision === lost.revision));
        await old.close();
        stores.length = 0;
        await pg.primary.stop("immediate");

        const promoted = storeOn((await pg.promoteStandby()).url);
        stores.push(promoted);
        const reused = await promoted.createUser(acct, { userName: "written-after-failover" });
        expect(reused.revision).toBe(lost.revision); // the number is reused: the danger of item 7
        await relayOnce(promoted, () => events.deduped(acct).filter((e) => e.revision === lost.revision).length === 2);

        const [before, after] = events.deduped(acct).filter((e) => e.revision === lost.revision);
        const system = await promoted.pool.query<{ id: string }>(
          "SELECT system_identifier::text AS id FROM pg_control_system()",
        );
        const id = system.rows[0]?.id;
        expect(before?.epoch).toBe(`${id}:1`);
        expect(after?.epoch).toBe(`${id}:2`);
        expect(after?.eventId).not.toBe(before?.eventId);
        // Events the standby had replicated (revision 1..) were published under the first epoch.
        expect(
          events
            .deduped(acct)
            .filter((e) => e.revision < lost.revision)
            .every((e) => e.epoch === `${id}:1`),
        ).toBe(true);
      } finally {
        await events.stop();
      }
    }, 120_000);
  },
);
