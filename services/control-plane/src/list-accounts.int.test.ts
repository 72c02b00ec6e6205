import { decodeAccountSnapshot } from "@gatehouse/events";
import type { ListAccountsResponse } from "@gatehouse/proto";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, policyDoc, startAccountFixture } from "./test-account.int-helper.ts";
import { expectFailure } from "./test-client.int-helper.ts";

describe("ListAccounts: a new region's bootstrap (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
  });
  afterAll(async () => {
    await f.close();
  });

  it("the operator pages through every account with its revision and epoch, and exports each", async () => {
    const { operator, root, accountId } = f;
    const others = [await f.anotherAccount(), await f.anotherAccount()];
    await root.call("createUser", { userName: "bootstrap" });
    await others[0]?.root.call("createGroup", { groupName: "g", path: "" });

    const listed = new Map<string, number>();
    const epochs = new Set<string>();
    let marker = "";
    let pages = 0;
    do {
      const page = await operator.call<ListAccountsResponse>("listAccounts", { page: { marker, maxItems: 1 } });
      expect(page.accounts.length).toBeLessThanOrEqual(1);
      for (const a of page.accounts) {
        expect(listed.has(a.accountId)).toBe(false);
        listed.set(a.accountId, a.revision);
      }
      epochs.add(page.epoch);
      marker = page.page?.isTruncated === true ? page.page.marker : "";
      pages++;
    } while (marker !== "" && pages < 100);
    expect([...listed.keys()]).toEqual([...listed.keys()].sort());
    expect([...epochs]).toHaveLength(1);
    expect([...epochs][0]).toMatch(/^\d+:\d+$/);

    // What the region does next: export every account it found, at least at the listed revision.
    for (const id of [accountId, ...others.map((o) => o.accountId)]) {
      const revision = listed.get(id);
      expect(revision, `account ${id} listed`).toBeGreaterThanOrEqual(1);
      const exported = await operator.call("exportAccount", { accountId: id, includeSealedSecrets: true });
      expect(exported.revision).toEqual({ accountId: id, revision, epoch: exported.epoch });
      // Read under the same history as the listing (a region labels the state it replaces with it).
      expect(exported.epoch).toBe([...epochs][0]);
      const snapshot = decodeAccountSnapshot(exported.snapshot);
      expect(snapshot.revision).toBe(revision);
      const keys = snapshot.entities.filter((e) => e.key?.kind === "access-key");
      expect(keys.length).toBeGreaterThanOrEqual(1);
      for (const k of keys)
        expect(k.change?.$case === "upsertJson" ? k.change.value : "").toContain("secretCiphertext");
    }
    expect(listed.get(accountId)).toBe((await operator.call("exportAccount", { accountId })).revision.revision);

    // A larger page holds them all at once, and a write moves the listed revision.
    const all = await operator.call<ListAccountsResponse>("listAccounts", { page: { marker: "", maxItems: 1000 } });
    expect(all.page?.isTruncated).toBe(false);
    const before = all.accounts.find((a) => a.accountId === accountId)?.revision ?? 0;
    await root.call("createUser", { userName: "later" });
    const after = await operator.call<ListAccountsResponse>("listAccounts", {});
    expect(after.accounts.find((a) => a.accountId === accountId)?.revision).toBe(before + 1);
  });

  it("is the operator's only, and names bad paging fields", async () => {
    const { operator, root } = f;
    const admin = await f.aUser("lister", { inline: [policyDoc({ Effect: "Allow", Action: "*", Resource: "*" })] });
    for (const caller of [root, admin]) {
      await expectFailure(caller.call("listAccounts", {}), { code: status.PERMISSION_DENIED, awsName: "AccessDenied" });
    }
    await expectFailure(operator.call("listAccounts", { page: { marker: "", maxItems: 1001 } }), {
      awsName: "InvalidInput",
      field: "maxItems",
    });
    await expectFailure(operator.call("listAccounts", { page: { marker: "bm90LWEtbWFya2Vy", maxItems: 0 } }), {
      awsName: "InvalidInput",
      field: "marker",
    });
  });
});
