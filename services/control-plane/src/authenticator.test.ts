import { signGrpcCall } from "@gatehouse/auth";
import { createManualClock } from "@gatehouse/core";
import type { AccessKeyCredential } from "@gatehouse/store-postgres";
import { iamErrorOf } from "@gatehouse/testkit";
import { describe, expect, it } from "vitest";
import { createAuthenticator } from "./authenticator.ts";

const t0 = Date.parse("2026-01-01T00:00:00Z");
const call = { method: "/gatehouse.v1.ControlService/GetUser", authority: "127.0.0.1:50051", body: Buffer.from("x") };
const operator = { accessKeyId: "AKIAOPERATOR00000000", secretAccessKey: "o".repeat(40) };
const alice = { accessKeyId: "AKIAALICE00000000000", secretAccessKey: "a".repeat(40) };
const credential: AccessKeyCredential = {
  accountId: "111122223333",
  accessKeyId: alice.accessKeyId,
  userName: "alice",
  userId: "AIDAALICE",
  status: "Active",
  createdAtMs: t0,
  lastUsed: null,
  secretAccessKey: alice.secretAccessKey,
  principalArn: "arn:aws:iam::111122223333:user/alice",
};

/** The authenticator's two store reads, counted; the keys it knows are alice's only. */
function keyStore() {
  const lookups: string[] = [];
  const known = new Map([[alice.accessKeyId, credential]]);
  return {
    lookups,
    known,
    store: {
      getAccessKeyCredential: async (id: string) => {
        lookups.push(id);
        return known.get(id);
      },
    },
  };
}

describe("authenticator", () => {
  it("notes the last use of accepted account keys only (not the operator's, not a failed signature)", async () => {
    const clock = createManualClock(t0);
    const { store } = keyStore();
    const used: string[][] = [];
    const auth = createAuthenticator({
      store,
      operator,
      region: "us-east-1",
      clock,
      lastUsed: { record: (...use) => used.push(use) },
    });
    await auth.authenticate(call, await signGrpcCall(call, alice, { clock }));
    await auth.authenticate(call, await signGrpcCall(call, operator, { clock }));
    const wrong = { ...alice, secretAccessKey: "w".repeat(40) };
    await iamErrorOf(auth.authenticate(call, await signGrpcCall(call, wrong, { clock })));
    expect(used).toEqual([[alice.accessKeyId, "iam", "us-east-1"]]);
  });

  it("remembers an unknown access key id for unknownKeyCacheMs: one store lookup per window", async () => {
    const clock = createManualClock(t0);
    const { store, lookups, known } = keyStore();
    const auth = createAuthenticator({ store, operator, region: "us-east-1", clock, unknownKeyCacheMs: 5000 });
    const bob = { accessKeyId: "AKIABOB0000000000000", secretAccessKey: "b".repeat(40) };
    for (let i = 0; i < 5; i++) {
      const md = await signGrpcCall(call, bob, { clock });
      expect((await iamErrorOf(auth.authenticate(call, md))).awsName).toBe("InvalidClientTokenId");
      clock.advance(100);
    }
    expect(lookups).toEqual([bob.accessKeyId]);
    // Created meanwhile (another replica): found once the window has passed.
    known.set(bob.accessKeyId, { ...credential, accessKeyId: bob.accessKeyId, secretAccessKey: bob.secretAccessKey });
    clock.advance(4600);
    const caller = await auth.authenticate(call, await signGrpcCall(call, bob, { clock }));
    expect(caller.accessKeyId).toBe(bob.accessKeyId);
    expect(lookups).toEqual([bob.accessKeyId, bob.accessKeyId]);
  });

  it("rate-limits failed authentications per key id with a token bucket; other keys are unaffected", async () => {
    const clock = createManualClock(t0);
    const { store } = keyStore();
    const auth = createAuthenticator({
      store,
      operator,
      region: "us-east-1",
      clock,
      failuresPerSecond: 1,
      failureBurst: 3,
    });
    const wrong = { ...alice, secretAccessKey: "w".repeat(40) };
    const failWith = async () =>
      (await iamErrorOf(auth.authenticate(call, await signGrpcCall(call, wrong, { clock })))).awsName;
    expect([await failWith(), await failWith(), await failWith()]).toEqual(Array(3).fill("SignatureDoesNotMatch"));
    const throttled = await iamErrorOf(auth.authenticate(call, await signGrpcCall(call, alice, { clock })));
    expect([throttled.awsName, throttled.code, throttled.retriable]).toEqual([
      "Throttling",
      "RESOURCE_EXHAUSTED",
      true,
    ]);
    expect(throttled.message).toContain(alice.accessKeyId);
    // Another key id (the operator's) is not slowed by alice's failures.
    expect((await auth.authenticate(call, await signGrpcCall(call, operator, { clock }))).kind).toBe("operator");
    // One failure's worth refills after a second, not before.
    clock.advance(999);
    expect(await failWith()).toBe("Throttling");
    clock.advance(1);
    expect((await auth.authenticate(call, await signGrpcCall(call, alice, { clock }))).kind).toBe("user");
  });
});
