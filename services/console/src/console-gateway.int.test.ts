// The console gateway against a real control plane and a real region (Postgres, Kafka, Redis):
// sign-in through the control plane's SignInService, sessions, CSRF, and the relayed API.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deadPort, type LiveStack, startLiveStack } from "@gatehouse/live-stack";
import { Gatehouse } from "@gatehouse/sdk";
import { generate } from "otplib";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConsoleConfig } from "./config.ts";
import { type ConsoleGateway, SESSION_COOKIE, startConsoleGateway } from "./gateway.ts";

const doc = (...Statement: object[]) => JSON.stringify({ Version: "2012-10-17", Statement });
const IDLE_MS = 60_000;

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

describe("console gateway against a live control plane and region", () => {
  let stack: LiveStack;
  let gateway: ConsoleGateway;
  let web: string;
  let root: Gatehouse;
  let rootKeys: { accessKeyId: string; secretAccessKey: string };
  let accountId: string;
  let mfaSeed: string;
  // The gateway's clock runs this far ahead of the wall clock (the idle-timeout test moves it).
  let skewMs = 0;
  // Every answer the gateway gave, to check no credential ever left it.
  const seen: string[] = [];
  // The audit trail names the session's access key id (as CloudTrail does); kept apart.
  let auditAnswer = "";

  const call = async (
    method: string,
    path: string,
    options: { body?: unknown; cookie?: string; csrf?: string; origin?: string | null; contentType?: string } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (options.body !== undefined) headers["content-type"] = options.contentType ?? "application/json";
    if (options.cookie !== undefined) headers.cookie = `${SESSION_COOKIE}=${options.cookie}`;
    if (options.csrf !== undefined) headers["x-csrf-token"] = options.csrf;
    if (options.origin !== null) headers.origin = options.origin ?? gateway.url;
    const r = await fetch(`${gateway.url}${path}`, {
      method,
      headers,
      ...(options.body === undefined
        ? {}
        : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
    });
    const text = await r.text();
    seen.push(text, JSON.stringify([...r.headers]));
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, text, json };
  };

  const signIn = (body: Record<string, unknown>, origin?: string | null) =>
    call("POST", "/api/session/sign-in", {
      body: { account: accountId, ...body },
      origin: origin === undefined ? gateway.url : origin,
    });

  /** Signs in; returns the cookie's session id and the session (with its CSRF token). */
  const session = async (body: Record<string, unknown>) => {
    const r = await signIn(body);
    expect(r.status, r.text).toBe(200);
    expect(r.json.status).toBe("SIGNED_IN");
    const cookie = /^__Host-gatehouse-console=([A-Za-z0-9_-]{43});/.exec(r.headers.get("set-cookie") ?? "")?.[1];
    expect(cookie).toBeDefined();
    return { cookie: cookie as string, session: r.json.session, csrf: r.json.session.csrfToken as string };
  };

  const totp = (epochSeconds: number) => generate({ secret: mfaSeed, epoch: epochSeconds });

  beforeAll(async () => {
    // Every failure of this file comes from 127.0.0.1: the per-source bucket must not trip first.
    stack = await startLiveStack("console", {
      controlPlaneEnv: { GATEHOUSE_CP_SIGN_IN_SOURCE_FAILURE_BURST: "1000" },
    });
    const operator = new Gatehouse({
      credentials: stack.operator,
      endpoints: { controlPlane: stack.controlPlane },
      env: {},
    });
    const created = await operator.iam.createAccount({ accountAlias: "console-test" });
    operator.close();
    accountId = created.accountId;
    rootKeys = { accessKeyId: created.rootAccessKeyId, secretAccessKey: created.rootSecretAccessKey };
    root = new Gatehouse({
      credentials: rootKeys,
      region: stack.region,
      endpoints: { controlPlane: stack.controlPlane, regions: { [stack.region]: [stack.decider] } },
      env: {},
    });
    // viewer: may list and read users, nothing else.
    await root.iam.createUser({ userName: "viewer" });
    await root.iam.putUserPolicy({
      userName: "viewer",
      policyName: "read-users",
      policyDocument: doc({ Effect: "Allow", Action: ["iam:ListUsers", "iam:GetUser"], Resource: "*" }),
    });
    await root.iam.createLoginProfile({ userName: "viewer", password: "Viewer-pass-1!" });
    for (const userName of ["throttled", "newbie", "mfa-user"]) {
      await root.iam.createUser({ userName });
      await root.iam.createLoginProfile({
        userName,
        password: `${userName}-Pass-1!`,
        passwordResetRequired: userName === "newbie",
      });
    }
    const device = await root.iam.createVirtualMfaDevice({ virtualMfaDeviceName: "phone", path: "/" });
    mfaSeed = device.base32StringSeed;
    const now = Math.floor(Date.now() / 1000);
    await root.iam.enableMfaDevice({
      userName: "mfa-user",
      serialNumber: device.serialNumber,
      authenticationCode1: await totp(now - 30),
      authenticationCode2: await totp(now),
    });
    web = await mkdtemp(join(tmpdir(), "gatehouse-console-web-"));
    await mkdir(join(web, "assets"));
    await writeFile(join(web, "index.html"), "<!doctype html><title>console</title><div id=root></div>");
    await writeFile(join(web, "assets", "app-1a2b3c.js"), "console.log('app')");
    const dead = await deadPort();
    gateway = await startConsoleGateway({
      config: loadConsoleConfig({
        GATEHOUSE_CONSOLE_LISTEN: "127.0.0.1:0",
        GATEHOUSE_CONSOLE_CONTROL_PLANE: stack.controlPlane,
        GATEHOUSE_CONSOLE_REGIONS: `${stack.region}=${stack.decider};eu-west-1=127.0.0.1:${dead}`,
        GATEHOUSE_CONSOLE_IDLE_TIMEOUT_MS: String(IDLE_MS),
        GATEHOUSE_CONSOLE_WEB_DIR: web,
        GATEHOUSE_CONSOLE_CALL_TIMEOUT_MS: "5000",
        GATEHOUSE_CONSOLE_ALLOWED_ORIGINS: "http://localhost:5173",
      }),
      logger: pino({ level: "silent" }),
      now: () => Date.now() + skewMs,
    });
  }, 120_000);

  afterAll(async () => {
    await gateway?.close();
    root?.close();
    await stack?.close();
    if (web !== undefined) await rm(web, { recursive: true, force: true });
  });

  it("signs a user in: the cookie's attributes, the session, IAM calls as the user (AccessDenied for CreateUser), CSRF, operator-only operations refused, sign-out", async () => {
    const r = await signIn({ userName: "viewer", password: "Viewer-pass-1!" });
    expect(r.status, r.text).toBe(200);
    const cookie = r.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Host-gatehouse-console=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/);
    const id = cookie.slice(cookie.indexOf("=") + 1, cookie.indexOf(";"));
    const s = r.json.session;
    expect(s).toMatchObject({
      accountId,
      accountAlias: "console-test",
      principalArn: `arn:aws:iam::${accountId}:user/viewer`,
      userName: "viewer",
      isRoot: false,
      mfaAuthenticated: false,
      idleTimeoutMs: IDLE_MS,
      homeRegion: stack.region,
      regions: [stack.region, "eu-west-1"],
    });
    expect(s.expiresAt).toBeGreaterThan(Date.now() + 11 * 3600_000);
    expect(s.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await call("GET", "/api/session", { cookie: id })).json).toEqual(s);

    const users = await call("POST", "/api/iam/ListUsers", { body: {}, cookie: id, csrf: s.csrfToken });
    expect(users.status, users.text).toBe(200);
    expect(users.json.users.map((u: { userName: string }) => u.userName)).toContain("viewer");
    const denied = await call("POST", "/api/iam/CreateUser", {
      body: { userName: "x" },
      cookie: id,
      csrf: s.csrfToken,
    });
    expect(denied.status).toBe(403);
    expect(denied.json.error).toMatchObject({ code: "AccessDenied" });
    expect(denied.json.error.message).toContain("iam:CreateUser");
    const missing = await call("POST", "/api/iam/GetUser", {
      body: { userName: "nobody" },
      cookie: id,
      csrf: s.csrfToken,
    });
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: "NoSuchEntity", field: "userName" });

    // CSRF: no token, another token, and a token without the cookie.
    for (const csrf of [undefined, "x".repeat(43), s.csrfToken.replace(/^./, (c: string) => (c === "A" ? "B" : "A"))]) {
      const refused = await call("POST", "/api/iam/ListUsers", {
        body: {},
        cookie: id,
        ...(csrf === undefined ? {} : { csrf }),
      });
      expect(refused.status).toBe(403);
      expect(refused.json.error).toEqual({
        code: "CsrfTokenInvalid",
        message: expect.any(String),
        field: "X-CSRF-Token",
      });
    }
    expect((await call("POST", "/api/iam/ListUsers", { body: {}, csrf: s.csrfToken })).json.error.code).toBe(
      "NotSignedIn",
    );
    for (const op of ["CreateAccount", "ListAccounts", "RotateStsKeys", "ExportAccount", "NoSuchThing"]) {
      const refused = await call("POST", `/api/iam/${op}`, { body: {}, cookie: id, csrf: s.csrfToken });
      expect(refused.status).toBe(404);
      expect(refused.json.error.code).toBe("UnknownOperation");
    }

    // The credential report: the sign-in was the password's last use.
    const csv = await call("GET", "/api/credential-report.csv", { cookie: id });
    expect(csv.status).toBe(403); // viewer may not generate it
    expect(csv.json.error.code).toBe("AccessDenied");

    const out = await call("POST", "/api/session/sign-out", { body: {}, cookie: id, csrf: s.csrfToken });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toMatch(
      /^__Host-gatehouse-console=; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=0$/,
    );
    const after = await call("GET", "/api/session", { cookie: id });
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe("NotSignedIn");
    expect((await call("POST", "/api/iam/ListUsers", { body: {}, cookie: id, csrf: s.csrfToken })).status).toBe(401);
  });

  it("gives one answer whether the account, the user or only the password is wrong", async () => {
    const answers = [
      await signIn({ userName: "viewer", password: "Wrong-pass-1!" }),
      await signIn({ userName: "no-such-user", password: "Wrong-pass-1!" }),
      await signIn({ userName: "viewer", password: "Viewer-pass-1!", account: "999999999999" }),
      await signIn({ userName: "viewer", password: "Viewer-pass-1!", account: "no-such-alias" }),
    ];
    for (const a of answers) {
      expect(a.status).toBe(401);
      expect(a.json).toEqual(answers[0]?.json);
      expect(a.headers.get("set-cookie")).toBeNull();
    }
    expect(answers[0]?.json.error.code).toBe("SignInFailed");
  });

  it("throttles failed sign-ins per account and user name: then even the right password waits", async () => {
    for (let i = 0; i < 5; i++) {
      expect((await signIn({ userName: "throttled", password: "Wrong-pass-1!" })).status).toBe(401);
    }
    const throttled = await signIn({ userName: "throttled", password: "throttled-Pass-1!" });
    expect(throttled.status).toBe(429);
    expect(throttled.json.error.code).toBe("Throttled");
    // Another user of the account is not held back.
    await session({ userName: "viewer", password: "Viewer-pass-1!" });
  });

  it("asks for a TOTP code after the password, signs in with it once, and refuses it again", async () => {
    const first = await signIn({ userName: "mfa-user", password: "mfa-user-Pass-1!" });
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ status: "MFA_REQUIRED" });
    expect(first.headers.get("set-cookie")).toBeNull();
    const wrongPassword = await signIn({ userName: "mfa-user", password: "Wrong-pass-1!" });
    expect(wrongPassword.json.error.code).toBe("SignInFailed");
    const now = Math.floor(Date.now() / 1000);
    const code = await totp(now);
    const wrong = code === "000000" ? "111111" : "000000";
    expect((await signIn({ userName: "mfa-user", password: "mfa-user-Pass-1!", mfaCode: wrong })).status).toBe(401);
    const { session: s } = await session({ userName: "mfa-user", password: "mfa-user-Pass-1!", mfaCode: code });
    expect(s.mfaAuthenticated).toBe(true);
    const replay = await signIn({ userName: "mfa-user", password: "mfa-user-Pass-1!", mfaCode: code });
    expect(replay.status).toBe(401);
    expect(replay.json.error.code).toBe("SignInFailed");
  });

  it("makes a user whose password must change set a new one under the password policy, then signs in", async () => {
    const first = await signIn({ userName: "newbie", password: "newbie-Pass-1!" });
    expect(first.status).toBe(200);
    expect(first.json.status).toBe("PASSWORD_CHANGE_REQUIRED");
    expect(first.json.passwordPolicy).toMatchObject({ minimumPasswordLength: 8 });
    const weak = await signIn({ userName: "newbie", password: "newbie-Pass-1!", newPassword: "short" });
    expect(weak.status).toBe(400);
    expect(weak.json.error.code).toBe("PasswordPolicyViolation");
    const same = await signIn({ userName: "newbie", password: "newbie-Pass-1!", newPassword: "newbie-Pass-1!" });
    expect(same.json.error).toMatchObject({ code: "PasswordPolicyViolation", field: "newPassword" });
    await session({ userName: "newbie", password: "newbie-Pass-1!", newPassword: "Brand-new-Pass-2!" });
    expect((await signIn({ userName: "newbie", password: "newbie-Pass-1!" })).json.error.code).toBe("SignInFailed");
    const again = await signIn({ userName: "newbie", password: "Brand-new-Pass-2!" });
    expect(again.json.status).toBe("SIGNED_IN");
    const asked = await signIn({ userName: "viewer", password: "Viewer-pass-1!", newPassword: "Another-pass-3!" });
    expect(asked.json.error).toMatchObject({ code: "ValidationError", field: "newPassword" });
  });

  it("signs the root in with the account's root access key (by alias too), and simulates and reads regions as the root", async () => {
    const wrong = await signIn({ root: true, accessKeyId: rootKeys.accessKeyId, secretAccessKey: "x".repeat(40) });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe("SignInFailed");
    const { cookie, session: s, csrf } = await session({ root: true, ...rootKeys, account: "console-test" });
    expect(s).toMatchObject({ accountId, principalArn: `arn:aws:iam::${accountId}:root`, isRoot: true, userName: "" });
    expect(s.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);

    const created = await call("POST", "/api/iam/CreateUser", { body: { userName: "made-by-root" }, cookie, csrf });
    expect(created.status, created.text).toBe(200);
    expect(created.json.user.arn).toBe(`arn:aws:iam::${accountId}:user/made-by-root`);
    const revision = Number(created.json.revision.revision);

    const sim = await call("POST", "/api/authz/Simulate", {
      body: {
        principal: { arn: `arn:aws:iam::${accountId}:user/viewer` },
        actions: ["iam:ListUsers", "iam:CreateUser"],
        resources: ["*"],
        minRevision: { accountId, revision },
      },
      cookie,
      csrf,
    });
    expect(sim.status, sim.text).toBe(200);
    expect(sim.json.results.map((x: { decision: string }) => x.decision)).toEqual([
      "DECISION_ALLOW",
      "DECISION_IMPLICIT_DENY",
    ]);
    const elsewhere = await call("POST", "/api/authz/Simulate?region=mars-1", { body: {}, cookie, csrf });
    expect(elsewhere.json.error).toMatchObject({ code: "ValidationError", field: "region" });

    const regions = await call("GET", "/api/regions", { cookie });
    expect(regions.status).toBe(200);
    const [home, dead] = regions.json.regions;
    expect(home).toMatchObject({ region: stack.region, endpoint: stack.decider, reachable: true });
    expect(home.appliedRevision).toBeGreaterThanOrEqual(revision);
    expect(home.stalenessMs).toBeGreaterThanOrEqual(0);
    expect(dead).toMatchObject({ region: "eu-west-1", reachable: false, error: { code: "ServiceUnavailable" } });

    const csv = await call("GET", "/api/credential-report.csv", { cookie });
    expect(csv.status, csv.text).toBe(200);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(csv.headers.get("content-disposition")).toBe(`attachment; filename="credential-report-${accountId}.csv"`);
    const viewerRow = csv.text.split("\n").find((l) => l.startsWith("viewer,"));
    // password_last_used: the viewer's sign-ins, no longer `no_information`.
    expect(viewerRow?.split(",")[4]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(
      csv.text
        .split("\n")
        .find((l) => l.startsWith("made-by-root,"))
        ?.split(",")[3],
    ).toBe("false");

    // The audit trail: successes and failures of ConsoleLogin, never a password or a code.
    const events = await call("POST", "/api/iam/LookupEvents", { body: { operation: "ConsoleLogin" }, cookie, csrf });
    expect(events.status, events.text).toBe(200);
    const names = events.json.events.map((e: { errorName?: string }) => e.errorName ?? "");
    expect(names).toContain("");
    expect(names).toContain("SignInFailed");
    expect(names).toContain("Throttling");
    expect(events.text).not.toMatch(/Pass-1|Viewer-pass|Wrong-pass/);
    auditAnswer = events.text;
    seen.splice(seen.indexOf(events.text), 1);
  });

  it("refuses a sign-in from another origin, without one, or not in JSON", async () => {
    const body = { userName: "viewer", password: "Viewer-pass-1!" };
    for (const origin of [null, "http://evil.example"]) {
      const r = await signIn(body, origin);
      expect(r.status).toBe(403);
      expect(r.json.error).toMatchObject({ code: "CsrfTokenInvalid", field: "Origin" });
    }
    // An origin allowed by configuration (the web app's dev server, proxying here) may.
    expect((await signIn(body, "http://localhost:5173")).json.status).toBe("SIGNED_IN");
    const form = await call("POST", "/api/session/sign-in", {
      body: `account=${accountId}&userName=viewer&password=x`,
      contentType: "application/x-www-form-urlencoded",
    });
    expect(form.status).toBe(415);
    const extra = await signIn({ ...body, admin: true });
    expect(extra.json.error).toMatchObject({ code: "ValidationError" });
  });

  it("serves the web app: assets, client-side routes as index.html, nothing outside its directory", async () => {
    const page = await call("GET", "/users/viewer");
    expect(page.status).toBe(200);
    expect(page.text).toContain("<div id=root>");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const asset = await call("GET", "/assets/app-1a2b3c.js");
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toContain("immutable");
    expect((await call("GET", "/assets/gone-000.js")).status).toBe(404);
    expect((await call("GET", "/%2e%2e/%2e%2e/package.json")).status).toBe(404);
    expect((await call("GET", "/api/nothing-here")).json.error.code).toBe("UnknownOperation");
  });

  it("ends a session after the idle timeout", async () => {
    const { cookie } = await session({ userName: "viewer", password: "Viewer-pass-1!" });
    skewMs = IDLE_MS - 5000;
    expect((await call("GET", "/api/session", { cookie })).status).toBe(200);
    skewMs += IDLE_MS - 5000; // active 55 s ago: still in
    expect((await call("GET", "/api/session", { cookie })).status).toBe(200);
    skewMs += IDLE_MS + 1;
    const r = await call("GET", "/api/session", { cookie });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe("SessionExpired");
    expect(r.headers.get("set-cookie")).toContain("Max-Age=0");
  });

  it("never let a credential out: no access key id, secret or session token in any answer", () => {
    const all = seen.join("\n");
    expect(all.length).toBeGreaterThan(10_000);
    expect(all).not.toMatch(/ASIA[A-Z2-7]{16}/);
    expect(all).not.toMatch(/sessionToken|secretAccessKey|accessKeyId/);
    expect(all).not.toContain(rootKeys.secretAccessKey);
    // A session token is some 400 base64url characters; nothing that long travels.
    expect(`${all}\n${auditAnswer}`).not.toMatch(/[A-Za-z0-9_-]{200,}/);
    expect(auditAnswer).not.toMatch(/sessionToken|secretAccessKey/);
  });
});
