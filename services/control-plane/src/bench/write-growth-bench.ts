// `npm run bench:write-growth`: does a write cost more when the tables are bigger? Runs the busiest
// writes (CreateUser, AttachPolicy, PutInlinePolicy) through the store while the schema is new, so
// that every connection settles its plans on small tables, then adds many managed policies, users
// and groups to another account by SQL (which re-plans nothing) and runs the same writes again.
// A write whose plan scans a table instead of looking rows up by key gets slower with the growth:
// migration 0018 found two, which made a write 3.4× slower after 20,000 policies. Prints the wall
// time and the local Postgres's CPU per write before and after, and writes
// loadtest/results/write-growth-bench.json. Flags: --grow=20000 (rows of each kind added)
// --writes=900 (per phase) --writers=8.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createPostgresStore, type IamStore } from "@gatehouse/store-postgres";
import pg from "pg";
import { benchSettings, hostHmacMicros, serverCpuMs } from "./machine.ts";

const DOC = JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:*", Resource: "*" }] });

/** SQL for an id of `prefix` (AIDA, AGPA, ANPA) and 17 characters of [A-Z2-7], derived from `seed`. */
const idSql = (prefix: string, seed: string) =>
  `'${prefix}' || upper(substr(translate(encode(sha256((${seed})::bytea), 'base64'), '+/=0189', 'ABCDEFG'), 1, 17))`;

interface Phase {
  readonly ms_per_write: number;
  readonly postgres_cpu_ms_per_write: number;
}

async function main(): Promise<void> {
  const { root, pgUrl: url, num } = benchSettings();
  const grow = num("grow", 20_000);
  const writes = num("writes", 900);
  const writers = num("writers", 8);

  const schema = `growth_${randomBytes(4).toString("hex")}`;
  const store: IamStore = createPostgresStore({
    connectionString: url,
    schema,
    secretKey: randomBytes(32),
    poolSize: writers,
    writeConcurrency: Math.min(4, writers),
  });
  const admin = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await admin.connect();
  try {
    await store.migrate();
    const account = (await store.createAccount({})).accountId;
    const policyArn = (await store.createPolicy(account, { policyName: "p", policyDocument: DOC })).value.arn;
    let next = 0;
    // Each writer creates users and gives each an attached and an inline policy.
    const run = async (): Promise<Phase> => {
      const cpu = serverCpuMs().postgres;
      const start = performance.now();
      let done = 0;
      await Promise.all(
        Array.from({ length: writers }, async () => {
          while (done < writes) {
            const user = `u${next++}`;
            await store.createUser(account, { userName: user });
            await store.attachPolicy(account, { kind: "user", name: user }, policyArn);
            await store.putInlinePolicy(account, { kind: "user", name: user }, "inline", DOC);
            done += 3;
          }
        }),
      );
      return {
        ms_per_write: Number(((performance.now() - start) / done).toFixed(3)),
        postgres_cpu_ms_per_write: Number(((serverCpuMs().postgres - cpu) / done).toFixed(3)),
      };
    };
    // The first writes make every connection's plans while the schema is small.
    await run();
    const before = await run();
    const other = (await store.createAccount({})).accountId;
    const rows = (table: string, idColumn: string, nameColumn: string, prefix: string) =>
      admin.query(
        `INSERT INTO ${table} (${idColumn}, account_id, ${nameColumn})
         SELECT ${idSql(prefix, `'${prefix}' || i`)}, $1, 'grown' || i FROM generate_series(1, $2::int) i`,
        [other, grow],
      );
    await rows("managed_policies", "policy_id", "policy_name", "ANPA");
    await rows("users", "user_id", "user_name", "AIDA");
    await rows("groups", "group_id", "group_name", "AGPA");
    const after = await run();
    const result = {
      grown_rows_per_table: grow,
      writes_per_phase: writes,
      writers,
      before,
      after,
      after_over_before: Number((after.ms_per_write / before.ms_per_write).toFixed(2)),
      host_hmac_us: hostHmacMicros(),
    };
    console.log(JSON.stringify(result, null, 2));
    mkdirSync(join(root, "loadtest/results"), { recursive: true });
    writeFileSync(join(root, "loadtest/results/write-growth-bench.json"), `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
    await store.close();
  }
}

await main();
