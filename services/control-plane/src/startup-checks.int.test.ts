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
