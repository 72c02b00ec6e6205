// SignInService against a real control plane (Postgres + Kafka) on a clock the test moves: password
// expiry under the policy, HardExpiry, the session's calls, the root's key, per-source throttling,
// one TOTP code raced by two sign-ins, and what the audit trail keeps.
import { createManualClock } from "@gatehouse/core";
import {
  type SignInRequest,
  type SignInResponse,
  SignInServiceClient,
  SignInStatus,
  type User,
} from "@gatehouse/proto";
import { credentials as grpcCredentials, type ServiceError } from "@grpc/grpc-js";
import { generate } from "otplib";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AccountFixture, startAccountFixture } from "./test-account.int-helper.ts";
import { failureOf, signedClient } from "./test-client.int-helper.ts";

const DAY = 86_400_000;

describe("console sign-in (SignInService, real Postgres + Kafka)", () => {
  const clock = createManualClock(Date.now());
  let f: AccountFixture;
  let client: InstanceType<typeof SignInServiceClient>;

  /** One sign-in; every test reports its own source address, so their failures never add up. */
  const signIn = (source: string, r: Partial<SignInRequest>) =>
    new Promise<SignInResponse>((resolve, reject) => {
      client.signIn(
        {
          account: f.accountId,
          userName: "",
          password: "",
          mfaCode: "",
          newPassword: "",
          root: false,
          accessKeyId: "",
          secretAccessKey: "",
          durationSeconds: 0,
          sourceIp: source,
          ...r,
        },
        (err: ServiceError | null, response) => (err === null ? resolve(response) : reject(err)),
      );
    });
  const failure = async (p: Promise<unknown>) => {
    const e = (await p.then(
      () => undefined,
      (x: unknown) => x,
    )) as (ServiceError & { metadata: { get(k: string): unknown[] } }) | undefined;
    expect(e, "the sign-in succeeded").toBeDefined();
    return e?.details ?? "";
  };

  beforeAll(async () => {
    f = await startAccountFixture({ GATEHOUSE_CP_SIGN_IN_SOURCE_FAILURE_BURST: "3" }, clock);
    client = new SignInServiceClient(f.h.address, grpcCredentials.createInsecure());
    for (const userName of ["aging", "racer"]) {
      await f.root.call("createUser", { userName });
      await f.root.call("createLoginProfile", { userName, password: `${userName}-Pass-1!` });
    }
  });
  afterAll(async () => {
    client?.close();
    await f?.close();
  });

  it("asks for a new password once the policy's MaxPasswordAge passed, refuses under HardExpiry, and the session acts as the user", async () => {
    await f.root.call("updateAccountPasswordPolicy", { maxPasswordAge: 1 });
    const fresh = await signIn("198.51.100.1", { userName: "aging", password: "aging-Pass-1!" });
    expect(fresh.status).toBe(SignInStatus.SIGN_IN_STATUS_SIGNED_IN);
    expect(fresh.credentials?.accessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(fresh.credentials?.expirationMs).toBe(clock.now() + 43_200_000);
    // The session's calls: as the user, in its account (no MFA needed: a console session).
    const session = signedClient(
      f.h.address,
      {
        accessKeyId: fresh.credentials?.accessKeyId ?? "",
        secretAccessKey: fresh.credentials?.secretAccessKey ?? "",
        sessionToken: fresh.credentials?.sessionToken ?? "",
      },
      clock,
    );
    expect((await failureOf(session.call("listUsers", {}))).awsName).toBe("AccessDenied");
    await f.root.call("putInlinePolicy", {
      entityType: 1,
      entityName: "aging",
      policyName: "list",
      policyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Action: "iam:ListUsers", Resource: "*" }],
      }),
    });
    expect((await session.call("listUsers", {})).users.length).toBeGreaterThan(0);

    clock.advance(2 * DAY);
    const expired = await signIn("198.51.100.1", { userName: "aging", password: "aging-Pass-1!" });
    expect(expired.status).toBe(SignInStatus.SIGN_IN_STATUS_PASSWORD_CHANGE_REQUIRED);
    expect(expired.credentials).toBeUndefined();
    expect(expired.passwordPolicy).toMatchObject({ maxPasswordAge: 1, expirePasswords: true });
    await f.root.call("updateAccountPasswordPolicy", { maxPasswordAge: 1, hardExpiry: true });
    expect(await failure(signIn("198.51.100.1", { userName: "aging", password: "aging-Pass-1!" }))).toContain(
      "HardExpiry",
    );
    await f.root.call("updateAccountPasswordPolicy", { maxPasswordAge: 1 });
    const changed = await signIn("198.51.100.1", {
      userName: "aging",
      password: "aging-Pass-1!",
      newPassword: "aging-Pass-2!",
    });
    expect(changed.status).toBe(SignInStatus.SIGN_IN_STATUS_SIGNED_IN);
    // The first session's credentials (12 h) expired on the control plane's clock meanwhile.
    expect((await failureOf(session.call("listUsers", {}))).awsName).toBe("ExpiredToken");
    await f.root.call("deleteAccountPasswordPolicy", {});
  });

  it("signs the root in with its access key; the session ends when the key is deactivated", async () => {
    const keys = await f.root.call("createAccessKey", {});
    const root = { accessKeyId: keys.accessKey.accessKeyId, secretAccessKey: keys.secretAccessKey };
    const r = await signIn("198.51.100.2", { root: true, ...root });
    expect(r).toMatchObject({ status: SignInStatus.SIGN_IN_STATUS_SIGNED_IN, isRoot: true, userName: "" });
    expect(r.credentials?.expirationMs).toBe(clock.now() + 3600_000);
    const session = signedClient(
      f.h.address,
      {
        accessKeyId: r.credentials?.accessKeyId ?? "",
        secretAccessKey: r.credentials?.secretAccessKey ?? "",
        sessionToken: r.credentials?.sessionToken ?? "",
      },
      clock,
    );
    await session.call("listUsers", {});
    await f.root.call("updateAccessKey", { accessKeyId: root.accessKeyId, status: "Inactive" });
    // The authenticator may reuse the key it read for up to 2 s.
    clock.advance(3000);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect((await failureOf(session.call("listUsers", {}))).awsName).toBe("InvalidClientTokenId");
    expect(await failure(signIn("198.51.100.2", { root: true, ...root }))).toContain("authentication information");
  });

  it("throttles one source's failures across user names; another reported source is not held back", async () => {
    for (const userName of ["a1", "a2", "a3"]) {
      await failure(signIn("203.0.113.9", { userName, password: "Wrong-pass-1!" }));
    }
    const held = await failure(signIn("203.0.113.9", { userName: "racer", password: "racer-Pass-1!" }));
    expect(held).toContain("too many failed sign-ins");
    const other = await signIn("203.0.113.10", { userName: "racer", password: "racer-Pass-1!" });
    expect(other.status).toBe(SignInStatus.SIGN_IN_STATUS_SIGNED_IN);
  });

  it("lets one of two sign-ins racing with one TOTP code through", async () => {
    const device = await f.root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "racer-phone", path: "/" });
    const seed = device.base32StringSeed as string;
    const now = Math.floor(clock.now() / 1000);
    await f.root.call("enableMfaDevice", {
      userName: "racer",
      serialNumber: device.serialNumber,
      authenticationCode1: await generate({ secret: seed, epoch: now - 30 }),
      authenticationCode2: await generate({ secret: seed, epoch: now }),
    });
    const mfaCode = await generate({ secret: seed, epoch: now });
    const both = await Promise.allSettled(
      ["198.51.100.4", "198.51.100.5"].map((s) => signIn(s, { userName: "racer", password: "racer-Pass-1!", mfaCode })),
    );
    const won = both.filter((b) => b.status === "fulfilled");
    expect(won).toHaveLength(1);
    expect((won[0] as PromiseFulfilledResult<SignInResponse>).value.mfaAuthenticated).toBe(true);
    // A code of an earlier step than the last accepted one is refused too.
    const earlier = await generate({ secret: seed, epoch: now - 30 });
    await failure(signIn("198.51.100.6", { userName: "racer", password: "racer-Pass-1!", mfaCode: earlier }));
  });

  it("answers PasswordLastUsed in GetUser and ListUsers: 0 until a console sign-in, then its time", async () => {
    await f.root.call("createUser", { userName: "lastused" });
    await f.root.call("createLoginProfile", { userName: "lastused", password: "lastused-Pass-1!" });
    await f.root.call("createUser", { userName: "noprofile" });
    const listed = async () =>
      Object.fromEntries(
        (await f.root.call("listUsers", { page: { marker: "", maxItems: 1000 } })).users.map((u: User) => [
          u.userName,
          u.passwordLastUsedMs,
        ]),
      );
    expect((await f.root.call("getUser", { userName: "lastused" })).user?.passwordLastUsedMs).toBe(0);
    expect((await listed()).lastused).toBe(0);
    // A wrong password is no use of the password.
    await failure(signIn("198.51.100.20", { userName: "lastused", password: "Wrong-pass-1!" }));
    expect((await f.root.call("getUser", { userName: "lastused" })).user?.passwordLastUsedMs).toBe(0);

    clock.advance(60_000);
    const at = clock.now();
    const r = await signIn("198.51.100.20", { userName: "lastused", password: "lastused-Pass-1!" });
    expect(r.status).toBe(SignInStatus.SIGN_IN_STATUS_SIGNED_IN);
    // The stamp is written off the answer's path: wait (bounded) until it shows.
    await vi.waitFor(
      async () => expect((await f.root.call("getUser", { userName: "lastused" })).user?.passwordLastUsedMs).toBe(at),
      { timeout: 5000, interval: 50 },
    );
    const all = await listed();
    expect(all.lastused).toBe(at);
    expect(all.noprofile).toBe(0);
  });

  it("keeps every attempt in the audit trail without a password, code or secret", async () => {
    const rows = await f.h.cp.store.pool.query<{
      account_id: string | null;
      user_name: string | null;
      error_name: string | null;
      request_parameters: Record<string, unknown>;
    }>(
      "SELECT account_id, user_name, error_name, request_parameters FROM audit_events WHERE operation = 'ConsoleLogin'",
    );
    expect(rows.rows.length).toBeGreaterThanOrEqual(12);
    const text = JSON.stringify(rows.rows);
    expect(text).not.toMatch(/Pass-1|Pass-2|Wrong-pass/);
    expect(rows.rows.every((r) => r.account_id === f.accountId)).toBe(true);
    // A failure before the password is verified hides the typed name. The racing sign-ins' loser
    // may fail after it (both verified the password and the code, then one consumed the code):
    // its row names the user its password proved, as CloudTrail names a user failing MFA.
    expect(
      rows.rows
        .filter((r) => r.error_name === "SignInFailed")
        .every((r) => r.user_name === "HIDDEN_DUE_TO_SECURITY_REASONS" || r.user_name === "racer"),
    ).toBe(true);
    expect(rows.rows.filter((r) => r.error_name === "SignInFailed" && r.user_name !== "racer").length).toBeGreaterThan(
      0,
    );
    expect(rows.rows.some((r) => r.error_name === null && r.user_name === "aging")).toBe(true);
    expect(rows.rows.some((r) => r.error_name === "Throttling")).toBe(true);
    const used = await f.h.cp.store.pool.query<{ password_last_used_at: Date | null }>(
      "SELECT l.password_last_used_at FROM login_profiles l JOIN users u USING (user_id) WHERE u.user_name = 'racer'",
    );
    expect(used.rows[0]?.password_last_used_at).not.toBeNull();
  });
});
