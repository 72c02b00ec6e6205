import { randomBytes } from "node:crypto";
import { createSecretBox } from "@gatehouse/auth";
import { decodeAccountSnapshot, decodeEntity, STS_KEY_SET_ID, SYSTEM_ACCOUNT_ID } from "@gatehouse/events";
import type { RotateStsKeysResponse } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

const SECRET_KEY = randomBytes(32);

/** The STS key set as the system account's export carries it (sealed). */
async function keySet(f: AccountFixture) {
  const exported = await f.operator.call("exportAccount", { accountId: SYSTEM_ACCOUNT_ID, includeSealedSecrets: true });
  const snapshot = decodeAccountSnapshot(exported.snapshot);
  const event = snapshot.entities.find((e) => e.key?.kind === "sts-key-set");
  expect(event?.key?.id).toBe(STS_KEY_SET_ID);
  const json = event?.change?.$case === "upsertJson" ? event.change.value : "null";
  const entity = decodeEntity("sts-key-set", STS_KEY_SET_ID, JSON.parse(json));
  if (entity.kind !== "sts-key-set" || entity.state === null) throw new Error("no key set");
  return { json, keys: entity.state.keys, revision: Number(exported.revision.revision) };
}

describe("STS key set (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({ GATEHOUSE_SECRET_KEY: SECRET_KEY.toString("base64") });
  });
  afterAll(async () => {
    await f.close();
  });

  it("starts with one key, sealed under the secret box, never in clear", async () => {
    const { keys, json } = await keySet(f);
    expect(keys).toHaveLength(1);
    const k = keys[0];
    if (k === undefined) throw new Error("no key");
    expect(k.retiredAtMs).toBeNull();
    const clear = createSecretBox(SECRET_KEY).open(Buffer.from(k.sealedKey, "base64"), `sts-key:${k.keyId}`);
    expect(Buffer.from(clear, "base64")).toHaveLength(32);
    expect(json).not.toContain(clear);
    // Without sealed secrets, the export carries no key at all.
    const bare = await f.operator.call("exportAccount", { accountId: SYSTEM_ACCOUNT_ID });
    const e = decodeAccountSnapshot(bare.snapshot).entities.find((x) => x.key?.kind === "sts-key-set");
    expect(e?.change?.$case === "upsertJson" ? JSON.parse(e.change.value) : null).toEqual({ keys: [] });
  });

  it("rotates (operator only): a new key, the old one retired but still listed, a new system revision", async () => {
    const before = await keySet(f);
    const r = await f.operator.call<RotateStsKeysResponse>("rotateStsKeys", { activationDelaySeconds: 30 });
    expect(r.revision?.accountId).toBe(SYSTEM_ACCOUNT_ID);
    expect(Number(r.revision?.revision)).toBe(before.revision + 1);
    expect(r.keys).toHaveLength(2);
    const [old, fresh] = r.keys;
    expect(old?.keyId).toBe(before.keys[0]?.keyId);
    expect(Number(old?.retiredAtMs)).toBe(Number(fresh?.activatesAtMs));
    expect(Number(fresh?.activatesAtMs) - Number(fresh?.createdAtMs)).toBe(30_000);
    expect(Number(fresh?.retiredAtMs)).toBe(0);
    const after = await keySet(f);
    expect(after.keys.map((k) => k.keyId)).toEqual(r.keys.map((k) => k.keyId));

    const admin = await f.aUser("sts-admin", { inline: [policyDoc({ Effect: "Allow", Action: "*", Resource: "*" })] });
    for (const caller of [f.root, admin]) {
      await expectFailure(caller.call("rotateStsKeys", {}), {
        code: status.PERMISSION_DENIED,
        awsName: "AccessDenied",
      });
    }
    await expectFailure(f.operator.call("rotateStsKeys", { activationDelaySeconds: 86_401 }), {
      awsName: "InvalidInput",
      field: "activationDelaySeconds",
    });
  });
});
