// Test-only helper until @gatehouse/testkit lands: a random schema on the local Postgres.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_PG_URL = process.env.GATEHOUSE_PG_TEST_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export function randomSchema(prefix = "t"): string {
  return `${prefix}_${randomBytes(6).toString("hex")}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_PG_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
