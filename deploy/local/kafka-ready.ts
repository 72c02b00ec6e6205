/**
 * Readiness probe for the local Kafka broker, run by `infra.sh up`:
 *
 *   node deploy/local/kafka-ready.ts 127.0.0.1:9092 [timeoutMs]
 *
 * Exits 0 once a fresh message made a real round trip (topic creation, idempotent producer,
 * consumer group: see waitForKafka), 1 with the last error when the deadline passes.
 */
import { waitForKafka } from "./kafka-probe.ts";

const brokers = (process.argv[2] ?? "127.0.0.1:9092").split(",").filter((b) => b.length > 0);
const timeoutMs = Number(process.argv[3] ?? "90000");
try {
  await waitForKafka(brokers, timeoutMs);
} catch (error) {
  console.error(`kafka-ready: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
