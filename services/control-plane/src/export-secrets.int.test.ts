import { createSecretBox, secretKeyId } from "@gatehouse/auth";
import { decodeAccountSnapshot } from "@gatehouse/events";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

/** The access-key states of an ExportAccount snapshot. */
function accessKeys(snapshot: Uint8Array): Record<string, unknown>[] {
  return decodeAccountSnapshot(snapshot)
    .entities.filter((e) => e.key?.kind === "access-key")
    .map((e) => (e.change?.$case === "upsertJson" ? JSON.parse(e.change.value) : null));
}

describe("ExportAccount and sealed secrets (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it("leaves sealed secrets out of every export unless the operator asks for them", async () => {
    const { root, operator, accountId } = f;
    const exporter = await f.aUser("exporter", {
      inline: [policyDoc({ Effect: "Allow", Action: "iam:*", Resource: "*" })],
    });
    const live = await root.call("exportAccount", { accountId: "" });
    const keys = accessKeys(live.snapshot);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const k of keys) {
      expect(k).toMatchObject({ accountId, status: "Active" });
      expect(k).not.toHaveProperty("secretCiphertext");
    }
    const past = await root.call("exportAccount", { accountId: "", atRevision: live.revision.revision - 1 });
    for (const k of accessKeys(past.snapshot)) expect(k).not.toHaveProperty("secretCiphertext");
    for (const k of accessKeys((await operator.call("exportAccount", { accountId })).snapshot)) {
      expect(k).not.toHaveProperty("secretCiphertext");
    }
    // Only the operator may ask.
    for (const caller of [root, exporter]) {
      await expectFailure(caller.call("exportAccount", { accountId: "", includeSealedSecrets: true }), {
        code: status.PERMISSION_DENIED,
        awsName: "AccessDenied",
        field: "includeSealedSecrets",
      });
    }
    const full = accessKeys((await operator.call("exportAccount", { accountId, includeSealedSecrets: true })).snapshot);
    const atRevision = accessKeys(
      (
        await operator.call("exportAccount", {
          accountId,
          includeSealedSecrets: true,
          atRevision: live.revision.revision,
        })
      ).snapshot,
    );
    expect(atRevision).toEqual(full);
    // What the operator gets opens under the control plane's key, and names that key.
    const key = f.h.cp.store.options.secretKey;
    const box = createSecretBox(key);
    for (const k of full) {
      const sealed = Buffer.from(String(k.secretCiphertext), "base64");
      expect(sealed.subarray(4, 12).toString("hex")).toBe(secretKeyId(key));
      expect(box.open(sealed, String(k.accessKeyId))).toHaveLength(40);
    }
  });
});
