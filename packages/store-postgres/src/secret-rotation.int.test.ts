import { randomBytes } from "node:crypto";
import { secretKeyId } from "@gatehouse/auth";
import { createTestSchema, iamErrorOf, type TestSchema } from "@gatehouse/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresStore, type IamStore } from "./index.ts";

// Rotating the sealing key on real Postgres: the same schema opened by stores configured before,
// during and after a rotation.
describe("secret key rotation (real Postgres)", () => {
  let schema: TestSchema;
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);
  const stores: IamStore[] = [];
  const open = (secretKey: Buffer, previousSecretKeys?: Buffer[]) => {
    const s = createPostgresStore({
      connectionString: schema.databaseUrl,
      schema: schema.name,
      secretKey,
      ...(previousSecretKeys === undefined ? {} : { previousSecretKeys }),
    });
    stores.push(s);
    return s;
  };
  const sealedKeyId = async (s: IamStore, accessKeyId: string) => {
    const r = await s.pool.query<{ c: Buffer }>(
      "SELECT secret_ciphertext AS c FROM access_keys WHERE access_key_id = $1",
      [accessKeyId],
    );
    return r.rows[0]?.c.subarray(4, 12).toString("hex");
  };

  beforeAll(async () => {
    schema = await createTestSchema({ prefix: "rotate", migrated: true });
    await open(oldKey).migrate();
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await schema.drop();
  });

  it("values sealed under the old key open after the rotation; new ones carry the new key's id", async () => {
    const before = open(oldKey);
    const created = await before.createAccount({});
    const oldAccessKey = created.value.rootAccessKey;
    expect(await sealedKeyId(before, oldAccessKey.accessKey.accessKeyId)).toBe(secretKeyId(oldKey));

    const rotated = open(newKey, [oldKey]);
    expect((await rotated.getAccessKeyCredential(oldAccessKey.accessKey.accessKeyId))?.secretAccessKey).toBe(
      oldAccessKey.secretAccessKey,
    );
    await rotated.createUser(created.accountId, { userName: "after" });
    const fresh = await rotated.createAccessKey(created.accountId, "after");
    expect(await sealedKeyId(rotated, fresh.value.accessKey.accessKeyId)).toBe(secretKeyId(newKey));
    expect((await rotated.getAccessKeyCredential(fresh.value.accessKey.accessKeyId))?.secretAccessKey).toBe(
      fresh.value.secretAccessKey,
    );

    // Without the old key, the old value is a clear error naming its key id; the new one opens.
    const newOnly = open(newKey);
    const e = await iamErrorOf(newOnly.getAccessKeyCredential(oldAccessKey.accessKey.accessKeyId));
    expect(e.awsName).toBe("ServiceFailure");
    expect(e.message).toContain(`key id ${secretKeyId(oldKey)}`);
    expect((await newOnly.getAccessKeyCredential(fresh.value.accessKey.accessKeyId))?.secretAccessKey).toBe(
      fresh.value.secretAccessKey,
    );
  });

  it("a legacy value without a key id (sealed before key ids) still opens", async () => {
    const store = open(newKey, [oldKey]);
    const { accountId } = await store.createAccount({});
    await store.createUser(accountId, { userName: "legacy" });
    const key = await store.createAccessKey(accountId, "legacy");
    // The legacy layout is the current one without its 12-byte header (marker and key id).
    await store.pool.query(
      "UPDATE access_keys SET secret_ciphertext = substring(secret_ciphertext FROM 13) WHERE access_key_id = $1",
      [key.value.accessKey.accessKeyId],
    );
    expect((await store.getAccessKeyCredential(key.value.accessKey.accessKeyId))?.secretAccessKey).toBe(
      key.value.secretAccessKey,
    );
  });
});
