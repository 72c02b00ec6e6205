// Two decider processes of one region (real child processes over one Redis view): an MFA code
// is accepted once by the region, whichever process each call reaches.
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createSecretBox, createSigningInterceptor, newStsKey } from "@gatehouse/auth";
import type { TypedEntity } from "@gatehouse/events";
import { type GetSessionTokenResponse, StsServiceClient } from "@gatehouse/proto";
import { createTestKeyPrefix, createTestTopic, testRedis } from "@gatehouse/testkit";
import { createRegionView } from "@gatehouse/view-redis";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { generate, generateSecret } from "otplib";
import { describe, expect, it } from "vitest";
import { accountEntities } from "./decider-fixture.int-helper.ts";
import { startRegionProcess } from "./region-process.int-helper.ts";

const A = "620000000001";

describe("MFA codes across the decider processes of one region (real processes, Redis)", () => {
  it("two processes given the same code at once: exactly one accepts it, and neither accepts it again", async () => {
    const secretKey = randomBytes(32);
    const box = createSecretBox(secretKey);
    const keys = createTestKeyPrefix({ prefix: "stsmfa" });
    const topic = await createTestTopic({ prefix: "stsmfa", partitions: 1 });
    const redis = testRedis();
    const view = createRegionView({ redis, keyPrefix: keys.prefix });
    const procs: ChildProcess[] = [];
    const clients: StsServiceClient[] = [];
    try {
      await view.ensureGeneration();
      const stsKey = newStsKey();
      const keySet: TypedEntity = {
        kind: "sts-key-set",
        id: "sts",
        state: {
          keys: [
            {
              keyId: stsKey.keyId,
              sealedKey: box
                .seal(Buffer.from(stsKey.key).toString("base64"), `sts-key:${stsKey.keyId}`)
                .toString("base64"),
              createdAtMs: 0,
              activatesAtMs: 0,
              retiredAtMs: null,
            },
          ],
        },
      };
      expect((await view.applyRevision("000000000000", 1, "e", [keySet])).kind).toBe("applied");
      const seed = generateSecret();
      const serial = `arn:aws:iam::${A}:mfa/dana`;
      const accessKeyId = "AKIADANA000000000000";
      const secretAccessKey = randomBytes(30).toString("base64");
      const userId = "AIDADANA0000000000000";
      const entities: TypedEntity[] = [
        accountEntities(A, "0000000000000").user("dana"),
        {
          kind: "access-key",
          id: accessKeyId,
          state: {
            accessKeyId,
            accountId: A,
            userId,
            userName: "dana",
            principalArn: `arn:aws:iam::${A}:user/dana`,
            status: "Active",
            createdAtMs: 1,
            secretCiphertext: box.seal(secretAccessKey, accessKeyId).toString("base64"),
          },
        },
        {
          kind: "mfa-device",
          id: serial,
          state: {
            serialNumber: serial,
            accountId: A,
            path: "/",
            deviceName: "dana",
            userId,
            userName: "dana",
            enabledAtMs: 1,
            tags: [],
            createdAtMs: 1,
            seedCiphertext: box.seal(seed, serial).toString("base64"),
          },
        },
      ];
      expect((await view.applyRevision(A, 1, "e", entities)).kind).toBe("applied");
      const env = {
        GATEHOUSE_REGION_KEY_PREFIX: keys.prefix,
        GATEHOUSE_REGION_CONSUMER_GROUP: keys.prefix.slice(0, -1),
        GATEHOUSE_KAFKA_BROKERS: topic.brokers.join(","),
        GATEHOUSE_CHANGES_TOPIC: topic.name,
        GATEHOUSE_SECRET_KEY: secretKey.toString("base64"),
      };
      const started = [startRegionProcess("decider", env, 60), startRegionProcess("decider", env, 60)];
      procs.push(...started.map((p) => p.child));
      for (const p of started) {
        const authority = `127.0.0.1:${await p.port}`;
        clients.push(
          new StsServiceClient(authority, credentials.createInsecure(), {
            interceptors: [
              createSigningInterceptor({
                credentials: { accessKeyId, secretAccessKey },
                authority,
                region: "us-east-1",
                service: "sts",
              }),
            ],
          }),
        );
      }
      const getSessionToken = (client: StsServiceClient, tokenCode: string) =>
        new Promise<GetSessionTokenResponse>((resolve, reject) =>
          client.getSessionToken(
            { durationSeconds: 900, serialNumber: serial, tokenCode },
            new Metadata(),
            { deadline: Date.now() + 20_000 },
            (e: ServiceError | null, res: GetSessionTokenResponse) => (e === null ? resolve(res) : reject(e)),
          ),
        );
      // Both processes at once with the same code, then each again.
      const code = await generate({ secret: seed, epoch: Math.floor(Date.now() / 1000) });
      const raced = await Promise.allSettled(clients.map((c) => getSessionToken(c, code)));
      expect(raced.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      const refused = raced.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect((refused.reason as ServiceError).details).toContain("already used");
      for (const c of clients) {
        const again = await getSessionToken(c, code).catch((e: ServiceError) => e);
        expect((again as ServiceError).details).toContain("already used");
      }
      const fulfilled = raced.find((r) => r.status === "fulfilled") as PromiseFulfilledResult<GetSessionTokenResponse>;
      expect(fulfilled.value.credentials?.accessKeyId).toMatch(/^ASIA/);
    } finally {
      for (const c of clients) c.close();
      for (const p of procs) {
        const exited = new Promise((resolve) => p.once("exit", resolve));
        p.kill("SIGTERM");
        await exited;
      }
      await redis.quit();
      await keys.cleanup();
      await topic.delete();
    }
  }, 120_000);
});
