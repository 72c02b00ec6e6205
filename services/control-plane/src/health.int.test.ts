// grpc.health.v1 and reflection on a real control-plane process: liveness and readiness SERVING
// once Postgres answers and the schema is migrated; readiness NOT_SERVING while the schema lacks
// the newest migration and SERVING again once it has it; SIGTERM sends NOT_SERVING and exits 0.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { createHealthClient, type HealthStatus, LIVENESS } from "@gatehouse/lifecycle";
import { createTestSchema, createTestTopic, testInfra } from "@gatehouse/testkit";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { CONTROL_PLANE_READINESS } from "./control-plane.ts";

const main = fileURLToPath(new URL("./main.ts", import.meta.url));

describe("control-plane health and reflection (real process, Postgres and Kafka)", () => {
  it("SERVING when migrated, NOT_SERVING while a migration is missing, NOT_SERVING on SIGTERM, then exit 0", async () => {
    const schema = await createTestSchema({ prefix: "cphealth" });
    const topic = await createTestTopic({ prefix: "cphealth", partitions: 1 });
    const child = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        GATEHOUSE_CP_LISTEN: "127.0.0.1:0",
        GATEHOUSE_PG_URL: schema.databaseUrl,
        GATEHOUSE_PG_SCHEMA: schema.name,
        GATEHOUSE_KAFKA_BROKERS: testInfra().kafkaBrokers.join(","),
        GATEHOUSE_CHANGES_TOPIC: topic.name,
        GATEHOUSE_CHANGES_PARTITIONS: "1",
        GATEHOUSE_SECRET_KEY: randomBytes(32).toString("base64"),
        GATEHOUSE_OPERATOR_ACCESS_KEY_ID: "AKIAOPERATORHEALTH00",
        GATEHOUSE_OPERATOR_SECRET_ACCESS_KEY: randomBytes(30).toString("base64"),
        GATEHOUSE_CP_HEALTH_INTERVAL_MS: "200",
        GATEHOUSE_LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      let buffered = "";
      child.stdout?.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const entry = JSON.parse(buffered.slice(0, nl)) as { msg?: string; port?: number };
          buffered = buffered.slice(nl + 1);
          if (entry.msg === "control plane listening") resolve(entry.port ?? 0);
        }
      });
      child.once("exit", (code) => reject(new Error(`control plane exited with ${code}`)));
    });
    const pool = new pg.Pool({ connectionString: schema.databaseUrl, max: 1 });
    const health = createHealthClient(`127.0.0.1:${port}`);
    try {
      expect(await health.check(LIVENESS)).toBe("SERVING");
      await expect.poll(() => health.check(CONTROL_PLANE_READINESS), { timeout: 10_000 }).toBe("SERVING");
      expect(await health.listServices()).toEqual(
        expect.arrayContaining(["gatehouse.v1.ControlService", "grpc.health.v1.Health"]),
      );
      const seen: HealthStatus[] = [];
      let ended = false;
      health.watch(
        CONTROL_PLANE_READINESS,
        (s) => seen.push(s),
        () => {
          ended = true;
        },
      );
      // The schema loses its newest migration (as a database restored from an older backup).
      const removed = await pool.query<{ version: number; name: string }>(
        `DELETE FROM ${schema.name}.schema_migrations WHERE version = (SELECT max(version) FROM ${schema.name}.schema_migrations) RETURNING version, name`,
      );
      await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toBe("NOT_SERVING");
      expect(await health.check(LIVENESS)).toBe("SERVING");
      const [row] = removed.rows;
      await pool.query(`INSERT INTO ${schema.name}.schema_migrations (version, name) VALUES ($1, $2)`, [
        row?.version,
        row?.name,
      ]);
      await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toBe("SERVING");
      expect(seen).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);

      child.kill("SIGTERM");
      await expect.poll(() => seen.at(-1), { timeout: 10_000 }).toBe("NOT_SERVING");
      expect(await exited).toBe(0);
      expect(ended).toBe(true);
    } finally {
      child.kill("SIGKILL");
      health.close();
      await pool.end();
      await schema.drop();
      await topic.delete();
    }
  }, 60_000);
});
