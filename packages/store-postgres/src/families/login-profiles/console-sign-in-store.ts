import { iamArn } from "@gatehouse/core";
import { verify } from "@node-rs/argon2";
import { generate } from "otplib";
import type { PasswordPolicyRecord } from "../../records.ts";
import { read, type StoreContext } from "../../tx.ts";
import { findPasswordPolicy } from "../accounts/password-policy.ts";
import { createHashLimiter } from "./hash-limiter.ts";

/** The account a sign-in names (by id or alias), as the store holds it. */
export interface SignInAccount {
  readonly accountId: string;
  /** Its alias, or null. */
  readonly alias: string | null;
}

/**
 * What a console password check found. `passwordOk` is false for a wrong password and for a user
 * without a login profile alike; the user fields are only set when it is true, so a caller cannot
 * tell the two apart by accident.
 */
export type ConsolePasswordCheck =
  | { readonly passwordOk: false }
  | {
      readonly passwordOk: true;
      readonly userId: string;
      readonly userName: string;
      readonly userArn: string;
      readonly passwordResetRequired: boolean;
      readonly passwordChangedAtMs: number;
      /** The account password policy, undefined when the account has none (AWS's defaults). */
      readonly policy: PasswordPolicyRecord | undefined;
      /** Serial numbers of the MFA devices enabled for the user. */
      readonly mfaDevices: readonly string[];
    };

/** How a TOTP code of a sign-in fared against the user's devices. */
export type MfaCodeCheck =
  /** The code is current for one of the devices and newer than its last accepted code. */
  | { readonly kind: "valid"; readonly serialNumber: string; readonly step: number }
  /** Wrong for every device, or of a step at or before the device's last accepted one (a replay). */
  | { readonly kind: "invalid" };

/**
 * The store side of console sign-in (the control plane's SignInService): finding the account by id
 * or alias, checking a console password in constant time whether or not the user or its profile
 * exists, checking and consuming TOTP codes once across every replica, and noting the password's
 * last use for the credential report. None of these is an IAM state change: no revision, no
 * outbox event.
 */
export interface ConsoleSignInStore {
  /** The account with this 12-digit id or alias, or undefined. */
  findSignInAccount(accountOrAlias: string): Promise<SignInAccount | undefined>;
  /**
   * Checks a console password. With no such account, user or login profile the password is still
   * verified, against a dummy hash, so the answer takes the same time (argon2 dominates it).
   */
  checkConsolePassword(
    accountId: string | undefined,
    userName: string,
    password: string,
  ): Promise<ConsolePasswordCheck>;
  /**
   * Checks a TOTP code against the user's enabled devices (one 30 s step either side of now),
   * refusing a code of a step the device already accepted a sign-in code at or after. Consumes
   * nothing: see {@link useMfaStep}.
   */
  checkMfaCode(accountId: string, userId: string, code: string, nowMs: number): Promise<MfaCodeCheck>;
  /**
   * Marks a device's step as used, atomically: false when another sign-in used that step (or a
   * later one) first, so of two concurrent sign-ins with one code only one gets through.
   */
  useMfaStep(serialNumber: string, step: number): Promise<boolean>;
  /** Notes a successful sign-in with the user's console password (credential report). */
  recordPasswordUse(userId: string, atMs: number): Promise<void>;
}

// `Algorithm` is a const enum (not importable as a value under type stripping): 2 is Argon2id.
// Verified against when there is no hash to check, so every failed check costs one argon2 verify.
const DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$9eMnffD8ElTPlOT97pGL0g$ftCIzLitMvnEU2aTmlRXX6E4UPNiTMTGOGYj5iRms2g";
/** TOTP steps either side of now a sign-in code may be of (clock drift between phone and server). */
const TOTP_WINDOW = 1;
const ACCOUNT_ID = /^\d{12}$/;

interface SubjectRow {
  user_id: string;
  user_name: string;
  path: string;
  password_hash: string | null;
  password_reset_required: boolean | null;
  password_changed_at: Date | null;
  mfa_devices: string[];
}

/** The {@link ConsoleSignInStore} part of the store. */
export function createConsoleSignInStore(ctx: StoreContext): ConsoleSignInStore {
  const partition = ctx.options.partition;
  // Sign-ins verify one hash each; they share the process's bound on argon2 work with password
  // writes' own limiter settings (a flood of sign-ins queues rather than starving the CPU).
  const limiter = createHashLimiter(ctx.options.passwordHashing);
  return {
    findSignInAccount: (accountOrAlias) =>
      read(ctx, "ConsoleLogin", async (q) => {
        const byId = ACCOUNT_ID.test(accountOrAlias);
        const r = await q.query<{ account_id: string; alias: string | null }>(
          `SELECT account_id, alias FROM accounts WHERE ${byId ? "account_id = $1" : "alias = lower($1)"}`,
          [accountOrAlias],
        );
        const row = r.rows[0];
        return row === undefined ? undefined : { accountId: row.account_id, alias: row.alias };
      }),

    async checkConsolePassword(accountId, userName, password) {
      const row =
        accountId === undefined
          ? undefined
          : await read(ctx, "ConsoleLogin", async (q) => {
              const r = await q.query<SubjectRow>(
                `SELECT u.user_id, u.user_name, u.path, l.password_hash, l.password_reset_required, l.password_changed_at,
                        ARRAY(SELECT d.serial_number FROM mfa_devices d WHERE d.user_id = u.user_id
                              ORDER BY d.enabled_at, d.serial_number) AS mfa_devices
                   FROM users u LEFT JOIN login_profiles l ON l.user_id = u.user_id
                  WHERE u.account_id = $1 AND lower(u.user_name) = lower($2)`,
                [accountId, userName],
              );
              return r.rows[0];
            });
      const hash = row?.password_hash ?? null;
      const matches = await limiter.run(accountId ?? "", () => verify(hash ?? DUMMY_HASH, password).catch(() => false));
      if (!matches || row === undefined || hash === null || accountId === undefined) return { passwordOk: false };
      const policy = await read(ctx, "ConsoleLogin", (q) => findPasswordPolicy(q, accountId));
      return {
        passwordOk: true,
        userId: row.user_id,
        userName: row.user_name,
        userArn: iamArn(accountId, "user", row.path, row.user_name, partition),
        passwordResetRequired: row.password_reset_required === true,
        passwordChangedAtMs: row.password_changed_at?.getTime() ?? 0,
        policy,
        mfaDevices: row.mfa_devices,
      };
    },

    async checkMfaCode(accountId, userId, code, nowMs) {
      const devices = await read(ctx, "ConsoleLogin", async (q) => {
        const r = await q.query<{ serial_number: string; seed_ciphertext: Buffer; last_sign_in_step: string | null }>(
          `SELECT serial_number, seed_ciphertext, last_sign_in_step FROM mfa_devices
            WHERE account_id = $1 AND user_id = $2 ORDER BY enabled_at, serial_number`,
          [accountId, userId],
        );
        return r.rows;
      });
      const now = Math.floor(nowMs / 1000);
      for (const d of devices) {
        const seed = ctx.box.open(d.seed_ciphertext, d.serial_number);
        const last = d.last_sign_in_step === null ? Number.NEGATIVE_INFINITY : Number(d.last_sign_in_step);
        for (let s = -TOTP_WINDOW; s <= TOTP_WINDOW; s++) {
          const epoch = now + s * 30;
          const step = Math.floor(epoch / 30);
          if (step > last && (await generate({ secret: seed, epoch })) === code) {
            return { kind: "valid", serialNumber: d.serial_number, step };
          }
        }
      }
      return { kind: "invalid" };
    },

    useMfaStep: (serialNumber, step) =>
      read(ctx, "ConsoleLogin", async (q) => {
        const r = await q.query(
          `UPDATE mfa_devices SET last_sign_in_step = $2
            WHERE serial_number = $1 AND (last_sign_in_step IS NULL OR last_sign_in_step < $2)`,
          [serialNumber, step],
        );
        return r.rowCount === 1;
      }),

    recordPasswordUse: (userId, atMs) =>
      read(ctx, "ConsoleLogin", async (q) => {
        await q.query(
          `UPDATE login_profiles SET password_last_used_at = to_timestamp($2::double precision / 1000)
            WHERE user_id = $1 AND (password_last_used_at IS NULL OR password_last_used_at < to_timestamp($2::double precision / 1000))`,
          [userId, atMs],
        );
      }),
  };
}
