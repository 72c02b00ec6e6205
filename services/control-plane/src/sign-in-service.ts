import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { createFailureLimiter, type SessionClaimsInput } from "@gatehouse/auth";
import { type Clock, IamError, newId, systemClock } from "@gatehouse/core";
import { type PasswordPolicy, type SignInRequest, type SignInResponse, SignInStatus } from "@gatehouse/proto";
import type { IamStore, PasswordPolicyRecord, SignInAccount } from "@gatehouse/store-postgres";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type { Logger } from "pino";
import { type CallInfo, unary } from "./grpc-handler.ts";
import type { StsKeySet } from "./session-verifier.ts";

/** Options of {@link createSignInService}. */
export interface SignInServiceOptions {
  readonly store: Pick<
    IamStore,
    | "findSignInAccount"
    | "checkConsolePassword"
    | "checkMfaCode"
    | "useMfaStep"
    | "recordPasswordUse"
    | "changePassword"
    | "getAccessKeyCredential"
    | "auditCall"
  >;
  /** The STS key set the session tokens are sealed with (the one the regions verify with). */
  readonly keys: StsKeySet;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly partition: string;
  /** Session length when the request asks for none (users; the root at most 1 h). */
  readonly sessionSeconds: number;
  /** Failed sign-ins per account + user name: a burst, then so many per minute. */
  readonly userFailureBurst: number;
  readonly userFailuresPerMinute: number;
  /** Failed sign-ins per source (calling peer and the address it reports): a burst, then per minute. */
  readonly sourceFailureBurst: number;
  readonly sourceFailuresPerMinute: number;
}

const MFA_CODE = /^\d{6}$/;
const ROOT_MAX_SECONDS = 3600;
const USER_MAX_SECONDS = 129_600;
const MIN_SECONDS = 900;
/** What a failed sign-in's audit row says instead of the user name typed (it may be a password). */
const HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS";

function failed(): IamError {
  return new IamError("SignInFailed", "Your authentication information is incorrect. Please try again.");
}

function invalid(field: string, message: string): IamError {
  return new IamError("ValidationError", message, { field });
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compared at equal length either way, so a wrong length takes the time a wrong value does.
  return timingSafeEqual(x.length === y.length ? x : y, y) && x.length === y.length;
}

/** The wire form of the account's password policy (AWS's defaults when it has none). */
function wirePolicy(p: PasswordPolicyRecord | undefined): PasswordPolicy {
  if (p === undefined) {
    return {
      minimumPasswordLength: 8,
      requireSymbols: false,
      requireNumbers: false,
      requireUppercaseCharacters: false,
      requireLowercaseCharacters: false,
      allowUsersToChangePassword: false,
      expirePasswords: false,
      maxPasswordAge: 0,
      passwordReusePrevention: 0,
      hardExpiry: false,
    };
  }
  return {
    minimumPasswordLength: p.minimumPasswordLength,
    requireSymbols: p.requireSymbols,
    requireNumbers: p.requireNumbers,
    requireUppercaseCharacters: p.requireUppercaseCharacters,
    requireLowercaseCharacters: p.requireLowercaseCharacters,
    allowUsersToChangePassword: p.allowUsersToChangePassword,
    expirePasswords: p.maxPasswordAge > 0,
    maxPasswordAge: p.maxPasswordAge,
    passwordReusePrevention: p.passwordReusePrevention,
    hardExpiry: p.hardExpiry,
  };
}

/** A request's fields, checked for shape only (nothing here depends on what the store holds). */
interface CheckedRequest {
  readonly account: string;
  readonly root: boolean;
  readonly userName: string;
  readonly accessKeyId: string;
  readonly mfaCode: string;
  readonly durationSeconds: number;
}

function checkRequest(r: SignInRequest, defaultSeconds: number): CheckedRequest {
  const account = r.account.trim();
  if (account === "" || account.length > 63) throw invalid("account", "account must be an account id or alias");
  if (r.mfaCode !== "" && !MFA_CODE.test(r.mfaCode)) throw invalid("mfaCode", "mfaCode must be six digits");
  if (r.root) {
    if (r.userName !== "" || r.password !== "" || r.newPassword !== "") {
      throw invalid("userName", "the root signs in with its access key id and secret, not a user name and password");
    }
    if (!/^AKIA[A-Z2-7]{16}$/.test(r.accessKeyId)) {
      throw invalid("accessKeyId", "accessKeyId must be the account's root access key id (AKIA…)");
    }
    if (r.secretAccessKey === "" || r.secretAccessKey.length > 128) {
      throw invalid("secretAccessKey", "secretAccessKey is required");
    }
  } else {
    if (r.userName === "" || r.userName.length > 64) throw invalid("userName", "userName must be 1-64 characters");
    if (r.password === "" || r.password.length > 128) throw invalid("password", "password must be 1-128 characters");
    if (r.newPassword.length > 128) throw invalid("newPassword", "newPassword must be at most 128 characters");
    if (r.accessKeyId !== "" || r.secretAccessKey !== "") {
      throw invalid("accessKeyId", "an IAM user signs in with a password; access keys are for the root (root: true)");
    }
  }
  const max = r.root ? ROOT_MAX_SECONDS : USER_MAX_SECONDS;
  const durationSeconds = r.durationSeconds === 0 ? Math.min(defaultSeconds, max) : r.durationSeconds;
  if (durationSeconds < MIN_SECONDS || durationSeconds > max) {
    throw invalid("durationSeconds", `durationSeconds ${durationSeconds} is outside ${MIN_SECONDS}..${max}`);
  }
  return {
    account,
    root: r.root,
    userName: r.userName,
    accessKeyId: r.accessKeyId,
    mfaCode: r.mfaCode,
    durationSeconds,
  };
}

/** Who signs in, once the password (or root key) checked out, and what is left to do. */
interface Verified {
  readonly accountId: string;
  readonly alias: string | null;
  readonly principal: SessionClaimsInput["principal"];
  readonly principalArn: string;
  readonly userName: string;
  /** The user's id (for the password's last use), undefined for the root. */
  readonly userId: string | undefined;
  /** The root key signed in with: the session ends when it is deactivated or deleted. */
  readonly sourceAccessKeyId: string | undefined;
  /** MFA_REQUIRED / PASSWORD_CHANGE_REQUIRED, or undefined to sign in. */
  readonly pending: SignInStatus | undefined;
  readonly policy: PasswordPolicyRecord | undefined;
  /** The MFA step to consume before signing in. */
  readonly mfa: { readonly serialNumber: string; readonly step: number } | undefined;
  /** Whether the password must change (then `newPassword` is set at sign-in). */
  readonly passwordChange: boolean;
}

/**
 * The control plane's SignInService: console sign-in for IAM users (password, then a TOTP code
 * when they have an MFA device, then a new password when theirs must change) and for the root
 * (its access key id and secret; the root has no password in Gatehouse). A success is a user
 * session (GetSessionToken's kind) sealed under the STS key set the regions verify, so the
 * control plane and every region accept its calls.
 *
 * Every failure (no such account, no such user, no login profile, wrong password, wrong or
 * replayed code, wrong root key) is the same `SignInFailed`, and a user that does not exist costs
 * the argon2 verify a wrong password does. Failures are throttled per account + user name and
 * per source, in this process (each replica counts its own). Every attempt is in the audit trail
 * as `ConsoleLogin` (never a password, code or secret; a failure hides the user name typed).
 */
export function createSignInService(options: SignInServiceOptions): UntypedServiceImplementation {
  const { store, keys, partition } = options;
  const clock = options.clock ?? systemClock;
  const log = options.logger.child({ component: "sign-in" });
  const perUser = createFailureLimiter(options.userFailuresPerMinute / 60, options.userFailureBurst);
  const perSource = createFailureLimiter(options.sourceFailuresPerMinute / 60, options.sourceFailureBurst);

  const verifyUser = async (
    r: SignInRequest,
    c: CheckedRequest,
    account: SignInAccount | undefined,
  ): Promise<Verified> => {
    const check = await store.checkConsolePassword(account?.accountId, c.userName, r.password);
    if (account === undefined || !check.passwordOk) throw failed();
    const now = clock.now();
    let mfa: Verified["mfa"];
    let pending: SignInStatus | undefined;
    if (check.mfaDevices.length > 0) {
      if (c.mfaCode === "") pending = SignInStatus.SIGN_IN_STATUS_MFA_REQUIRED;
      else {
        const code = await store.checkMfaCode(account.accountId, check.userId, c.mfaCode, now);
        if (code.kind !== "valid") throw failed();
        mfa = { serialNumber: code.serialNumber, step: code.step };
      }
    }
    const maxAge = check.policy?.maxPasswordAge ?? 0;
    const expired = maxAge > 0 && check.passwordChangedAtMs + maxAge * 86_400_000 <= now;
    if (expired && check.policy?.hardExpiry === true) {
      // The password was right, so saying why is safe: only an administrator can reset it now.
      throw new IamError(
        "AccessDenied",
        "the password has expired and the account password policy's HardExpiry keeps users from setting a new one; an administrator must reset it (UpdateLoginProfile)",
        { field: "password" },
      );
    }
    const passwordChange = expired || check.passwordResetRequired;
    if (pending === undefined && passwordChange && r.newPassword === "") {
      pending = SignInStatus.SIGN_IN_STATUS_PASSWORD_CHANGE_REQUIRED;
    }
    if (pending === undefined && !passwordChange && r.newPassword !== "") {
      throw invalid("newPassword", "no password change is required; change it with ChangePassword once signed in");
    }
    if (pending === undefined && passwordChange && r.newPassword === r.password) {
      throw new IamError("PasswordPolicyViolation", "the new password must differ from the current one", {
        field: "newPassword",
      });
    }
    return {
      accountId: account.accountId,
      alias: account.alias,
      principal: { kind: "user", userArn: check.userArn, userId: check.userId, userName: check.userName },
      principalArn: check.userArn,
      userName: check.userName,
      userId: check.userId,
      sourceAccessKeyId: undefined,
      pending,
      policy: check.policy,
      mfa,
      passwordChange,
    };
  };

  const verifyRoot = async (
    r: SignInRequest,
    c: CheckedRequest,
    account: SignInAccount | undefined,
  ): Promise<Verified> => {
    const key = await store.getAccessKeyCredential(c.accessKeyId);
    // Compared whether or not the key exists, so the answer's time does not tell.
    const secretOk = sameText(key?.secretAccessKey ?? randomBytes(30).toString("base64"), r.secretAccessKey);
    if (
      account === undefined ||
      key === undefined ||
      !secretOk ||
      key.status !== "Active" ||
      key.accountId !== account.accountId ||
      key.userId !== null
    ) {
      throw failed();
    }
    return {
      accountId: account.accountId,
      alias: account.alias,
      principal: { kind: "root" },
      principalArn: `arn:${partition}:iam::${account.accountId}:root`,
      userName: "",
      userId: undefined,
      sourceAccessKeyId: c.accessKeyId,
      pending: undefined,
      policy: undefined,
      mfa: undefined,
      passwordChange: false,
    };
  };

  /** The last steps of a verified sign-in, inside its audit scope (a password change is its write). */
  const complete = async (r: SignInRequest, c: CheckedRequest, v: Verified): Promise<SignInResponse> => {
    const base = {
      accountId: v.accountId,
      accountAlias: v.alias ?? "",
      principalArn: v.principalArn,
      userName: v.userName,
      isRoot: v.userId === undefined,
      credentials: undefined,
      passwordPolicy: undefined,
    };
    if (v.pending !== undefined) {
      return {
        ...base,
        status: v.pending,
        mfaAuthenticated: false,
        ...(v.pending === SignInStatus.SIGN_IN_STATUS_PASSWORD_CHANGE_REQUIRED
          ? { passwordPolicy: wirePolicy(v.policy) }
          : {}),
      };
    }
    // A code is good once, in every replica: of two sign-ins racing with one code, one wins.
    if (v.mfa !== undefined && !(await store.useMfaStep(v.mfa.serialNumber, v.mfa.step))) throw failed();
    if (v.passwordChange) {
      // Checked against the policy and its reuse prevention; the reset flag is cleared with it.
      await store.changePassword(v.accountId, v.userName, r.password, r.newPassword);
    }
    const codec = await keys.codec();
    if (codec === undefined) {
      throw new IamError("ServiceUnavailable", "the STS key set is empty; the control plane makes one at start-up", {
        retriable: true,
      });
    }
    const now = clock.now();
    const accessKeyId = newId("temporaryAccessKey");
    const secretAccessKey = randomBytes(30).toString("base64");
    const sessionToken = codec.seal({
      principal: v.principal,
      accountId: v.accountId,
      accessKeyId,
      secretAccessKey,
      issuedAtMs: now,
      expiresAtMs: now + c.durationSeconds * 1000,
      ...(v.mfa === undefined ? {} : { mfaAuthTimeMs: now }),
      source: "console",
      ...(v.sourceAccessKeyId === undefined ? {} : { sourceAccessKeyId: v.sourceAccessKeyId }),
    });
    if (v.userId !== undefined) {
      // Off the answer's path: a lost stamp only makes the credential report older.
      store
        .recordPasswordUse(v.userId, now)
        .catch((e: unknown) => log.warn({ err: e }, "could not note a password's use"));
    }
    return {
      ...base,
      status: SignInStatus.SIGN_IN_STATUS_SIGNED_IN,
      credentials: { accessKeyId, secretAccessKey, sessionToken, expirationMs: now + c.durationSeconds * 1000 },
      mfaAuthenticated: v.mfa !== undefined,
    };
  };

  const signIn = async (r: SignInRequest, info: CallInfo): Promise<SignInResponse> => {
    const c = checkRequest(r, options.sessionSeconds);
    const now = clock.now();
    const who = `${c.account.toLowerCase()}|${c.root ? `root:${c.accessKeyId}` : c.userName.toLowerCase()}`;
    const source = `${info.sourceIp ?? ""}|${r.sourceIp}`;
    // The account's administrators see its failed sign-ins too (the user name typed stays hidden).
    const account = await store.findSignInAccount(c.account);
    const audited = (v: Verified | undefined, outcome: () => Promise<SignInResponse>) =>
      store.auditCall(
        {
          eventId: randomUUID(),
          eventTimeMs: now,
          accountId: account?.accountId,
          principalArn: v?.principalArn ?? "",
          userName: v === undefined ? HIDDEN : v.userName === "" ? undefined : v.userName,
          accessKeyId: c.root && v !== undefined ? c.accessKeyId : "",
          sourceIp: r.sourceIp === "" ? info.sourceIp : r.sourceIp,
          operation: "ConsoleLogin",
          requestParameters: {
            account: c.account,
            root: c.root,
            mfaCode: c.mfaCode === "" ? "" : "[REDACTED]",
            newPassword: r.newPassword === "" ? "" : "[REDACTED]",
          },
        },
        outcome,
      );
    if (perUser.exhausted(who, now) || perSource.exhausted(source, now)) {
      const throttled = new IamError("Throttling", "too many failed sign-ins; wait a minute and try again", {
        retriable: true,
      });
      return audited(undefined, () => Promise.reject(throttled));
    }
    let verified: Verified;
    try {
      verified = c.root ? await verifyRoot(r, c, account) : await verifyUser(r, c, account);
    } catch (e) {
      if (IamError.is(e) && e.awsName === "SignInFailed") {
        perUser.fail(who, now);
        perSource.fail(source, now);
      }
      return audited(undefined, () => Promise.reject(e));
    }
    try {
      return await audited(verified, () => complete(r, c, verified));
    } catch (e) {
      if (IamError.is(e) && e.awsName === "SignInFailed") {
        perUser.fail(who, now);
        perSource.fail(source, now);
      }
      throw e;
    }
  };

  return { signIn: unary("SignIn", log, signIn) };
}
