// bench:sts — issue 14's STS figures in one region process: AssumeRole/s (trust policy decided by
// the decider, the role read from the region's Redis view, the session token sealed) and session
// credential verifications/s (a token opened with the key set and checked against the view, as
// Authorize and the region's SigV4 verifier do for ASIA keys). In process, without gRPC: the
// transport's cost is bench:region's subject. Writes `loadtest/results/sts-bench.json`
// (`assume_role_per_s`, `session_verify_per_s`). Uses the Redis at GATEHOUSE_BENCH_REDIS_URL
// (default redis://127.0.0.1:6380) under a key prefix of its own, deleted at the end.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createSecretBox, newStsKey } from "@gatehouse/auth";
import { systemClock } from "@gatehouse/core";
import type { TypedEntity } from "@gatehouse/events";
import { entityBuilders } from "@gatehouse/events/testing";
import { createRegionView } from "@gatehouse/view-redis";
import { Redis } from "ioredis";
import { pino } from "pino";
import { createDecider } from "../decider.ts";
import { createStsIssuer, type StsCaller } from "../sts-issuer.ts";
import { createStsKeyring } from "../sts-keyring.ts";

const url = process.env.GATEHOUSE_BENCH_REDIS_URL ?? "redis://127.0.0.1:6380";
const seconds = Number(process.env.GATEHOUSE_BENCH_SECONDS ?? "3");
const A = "123456789012";
const prefix = `gatehouse:bench-sts-${randomBytes(4).toString("hex")}:`;
const logger = pino({ level: "silent" });
const redis = new Redis(url);
const subscriber = new Redis(url);
const view = createRegionView({ redis, keyPrefix: prefix });
const box = createSecretBox(randomBytes(32));
const doc = (s: object) => JSON.stringify({ Version: "2012-10-17", Statement: [s] });

async function main() {
  await view.ensureGeneration();
  const key = newStsKey();
  const sys: TypedEntity = {
    kind: "sts-key-set",
    id: "sts",
    state: {
      keys: [
        {
          keyId: key.keyId,
          sealedKey: box.seal(Buffer.from(key.key).toString("base64"), `sts-key:${key.keyId}`).toString("base64"),
          createdAtMs: 0,
          activatesAtMs: 0,
          retiredAtMs: null,
        },
      ],
    },
  };
  await view.applyRevision("000000000000", 1, "bench", [sys]);
  const acct = entityBuilders(A);
  const alice = acct.user("alice");
  const userArn = alice.state.arn;
  await view.applyRevision(A, 1, "bench", [
    alice,
    acct.accessKey("AKIAALICEBENCH000000", alice),
    acct.role("app", {
      assumeRolePolicyDocument: doc({ Effect: "Allow", Principal: { AWS: userArn }, Action: "sts:AssumeRole" }),
      inlinePolicies: [{ policyName: "p", policyDocument: doc({ Effect: "Allow", Action: "s3:*", Resource: "*" }) }],
    }),
  ]);
  const keyring = await createStsKeyring({ view, box, clock: systemClock, logger });
  const decider = await createDecider({ view, subscriber, region: "us-east-1", l1MaxBytes: 1 << 26, logger, keyring });
  const sts = createStsIssuer({ decider, view, keyring, box, clock: systemClock });
  const caller: StsCaller = {
    kind: "long-term",
    accessKeyId: "AKIAALICEBENCH000000",
    accountId: A,
    principalArn: userArn,
    userId: "AIDAALICE",
    userName: "alice",
  };
  const assume = () =>
    sts.assumeRole(caller, {
      roleArn: `arn:aws:iam::${A}:role/app`,
      roleSessionName: "bench",
      durationSeconds: 900,
      externalId: "",
      serialNumber: "",
      tokenCode: "",
      policy: "",
      policyArns: [],
      tags: [],
      transitiveTagKeys: [],
      deadlineMs: Date.now() + 10_000,
    });

  /** Runs `op` from `concurrency` loops for `seconds`; returns completed operations per second. */
  const rate = async (op: () => Promise<unknown>, concurrency: number): Promise<number> => {
    const until = performance.now() + seconds * 1000;
    let done = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          await op();
          done++;
        }
      }),
    );
    return done / ((performance.now() - start) / 1000);
  };

  // Another decider of the region (its own keyring): it never opened these tokens, so its
  // first pass over them is the cold figure (decryption and checks), later ones the warm figure.
  const otherSubscriber = new Redis(url);
  const otherKeyring = await createStsKeyring({ view, box, clock: systemClock, logger });
  const other = await createDecider({
    view,
    subscriber: otherSubscriber,
    region: "us-east-1",
    l1MaxBytes: 1 << 26,
    logger,
    keyring: otherKeyring,
  });
  const coldRuns: number[] = [];
  for (let r = 0; r < 3; r++) {
    const fresh = await Promise.all(Array.from({ length: 5000 }, assume));
    let k = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (k < fresh.length) {
          const s = fresh[k++] as (typeof fresh)[number];
          await other.openSession(s.accessKeyId, s.sessionToken);
        }
      }),
    );
    coldRuns.push(fresh.length / ((performance.now() - start) / 1000));
  }
  await other.close();
  const sessions = await Promise.all(Array.from({ length: 1000 }, assume));
  let i = 0;
  const verify = () => {
    const s = sessions[i++ % sessions.length] as (typeof sessions)[number];
    return decider.openSession(s.accessKeyId, s.sessionToken);
  };
  // Warm both paths, then measure.
  await rate(assume, 32);
  await rate(verify, 16);
  const runs: { assume_role_per_s: number; session_verify_per_s: number }[] = [];
  for (let r = 0; r < 3; r++) {
    runs.push({ assume_role_per_s: await rate(assume, 32), session_verify_per_s: await rate(verify, 16) });
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const report = {
    when: new Date().toISOString(),
    seconds_per_run: seconds,
    assume_role_per_s: Math.round(median(runs.map((r) => r.assume_role_per_s))),
    session_verify_per_s: Math.round(median(runs.map((r) => r.session_verify_per_s))),
    session_verify_cold_per_s: Math.round(median(coldRuns)),
    runs: runs.map((r) => ({
      assume_role_per_s: Math.round(r.assume_role_per_s),
      session_verify_per_s: Math.round(r.session_verify_per_s),
    })),
    session_verify_cold_runs: coldRuns.map(Math.round),
    targets: { assume_role_per_s: 2000, session_verify_per_s: 50_000 },
  };
  console.log("figure                 median      runs");
  console.log(
    `AssumeRole/s           ${report.assume_role_per_s.toLocaleString("en").padEnd(11)} ${report.runs.map((r) => r.assume_role_per_s).join(", ")}`,
  );
  console.log(
    `session verifications/s ${report.session_verify_per_s.toLocaleString("en").padEnd(10)} ${report.runs.map((r) => r.session_verify_per_s).join(", ")}`,
  );
  console.log(
    `first verification/s    ${report.session_verify_cold_per_s.toLocaleString("en").padEnd(10)} ${report.session_verify_cold_runs.join(", ")}`,
  );
  const dir = new URL("../../../../loadtest/results/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL("sts-bench.json", dir), `${JSON.stringify(report, null, 2)}\n`);
  await decider.close();
}

try {
  await main();
} finally {
  // Only this run's keys: never a flush of a shared Redis.
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== "0");
  await redis.quit();
}
