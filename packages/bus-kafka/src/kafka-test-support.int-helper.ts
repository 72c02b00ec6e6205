// Test-only helper until @gatehouse/testkit lands: the local broker and random topic names.
import { randomBytes } from "node:crypto";

export const TEST_KAFKA_BROKERS = (process.env.GATEHOUSE_KAFKA_BROKERS ?? "127.0.0.1:9092").split(",");

export function randomTopic(prefix = "test"): string {
  return `${prefix}.${randomBytes(6).toString("hex")}`;
}
