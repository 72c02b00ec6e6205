import { pino } from "pino";
import { expect, it } from "vitest";
import { startHarness } from "./test-client.int-helper.ts";

it("warns at start-up when the Postgres server's autovacuum is off, and only then", async () => {
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
  const h = await startHarness({}, undefined, logger);
  try {
    const r = await h.cp.store.pool.query<{ autovacuum: string }>("SHOW autovacuum");
    const warned = lines.filter((l) => l.includes("autovacuum is off"));
    expect(warned).toHaveLength(r.rows[0]?.autovacuum === "on" ? 0 : 1);
  } finally {
    await h.close();
  }
});

it("warns at start-up when the existing change topic has less replication than configured, and only then", async () => {
  const lines: string[] = [];
  const logger = pino({ level: "warn" }, { write: (line: string) => lines.push(line) });
  // The harness's topic exists already, with one replica and the broker's min.insync.replicas (1).
  const h = await startHarness(
    { GATEHOUSE_CHANGES_REPLICATION_FACTOR: "3", GATEHOUSE_CHANGES_MIN_INSYNC_REPLICAS: "2" },
    undefined,
    logger,
  );
  const matching = (): string[] => lines.filter((l) => l.includes("lower min.insync.replicas than configured"));
  try {
    expect(matching()).toHaveLength(1);
    expect(JSON.parse(matching()[0] ?? "{}")).toMatchObject({
      found: { created: false, replicationFactor: 1, minInsyncReplicas: 1 },
      wanted: { replicationFactor: 3, minInsyncReplicas: 2 },
    });
  } finally {
    await h.close();
  }
  lines.length = 0;
  const quiet = await startHarness({}, undefined, logger);
  await quiet.close();
  expect(matching()).toHaveLength(0);
});
