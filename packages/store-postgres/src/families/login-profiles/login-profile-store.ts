import { IamError } from "@gatehouse/core";
import { type Algorithm, hash, verify } from "@node-rs/argon2";
import type { LoginProfileRecord, Mutation, RequestToken } from "../../records.ts";
import { loginProfileState } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import {
  type MutationOutcome,
  mutate,
  replayToken,
  requestHash,
  requestTokenOf,
  tokenSpec,
  type WriteSpec,
} from "../../write-path.ts";
import { checkPasswordAgainstPolicy, findPasswordPolicy } from "../accounts/password-policy.ts";
import type { UserRow } from "../users/user-rows.ts";
import { createHashLimiter } from "./hash-limiter.ts";

/** Input of {@link LoginProfileStore.updateLoginProfile}: absent fields keep their value. */
export interface UpdateLoginProfileInput extends RequestToken {
  readonly password?: string | undefined;
  readonly passwordResetRequired?: boolean | undefined;
}

/**
 * Console passwords. Passwords are checked against the account password policy, hashed with
 * argon2id, and never stored, logged or returned in clear. Client request tokens cover the
 * password through a keyed digest (HMAC under a server key, never the password or a plain hash):
 * a retry with the same password gets the first call's result without a new check, one with
 * another password is a different request. argon2 work is bounded
 * (`PostgresStoreOptions.passwordHashing`): so many hashes at once, served round-robin between
 * accounts, and so many password writes in progress per account (Throttling beyond).
 *
 * The check (policy, reuse of the last N hashes) runs before the write transaction; the write
 * goes through only while the user's password history is still the one checked against, so
 * concurrent writes never slip a reused password past the check nor overwrite each other unseen.
 * A write that lost such a race checks again (ConcurrentModification, retriable, if it keeps
 * losing).
 */
export interface LoginProfileStore {
  createLoginProfile(
    accountId: string,
    userName: string,
    input: { password: string; passwordResetRequired: boolean } & RequestToken,
  ): Promise<Mutation<LoginProfileRecord>>;
  updateLoginProfile(accountId: string, userName: string, input: UpdateLoginProfileInput): Promise<Mutation<null>>;
  deleteLoginProfile(accountId: string, userName: string, token?: RequestToken): Promise<Mutation<null>>;
  getLoginProfile(accountId: string, userName: string): Promise<LoginProfileRecord>;
  /**
   * A user's own password change: the old password is verified (argon2 verify, constant time)
   * against the very hash the write replaces, the new one checked against the policy and its reuse
   * prevention. The loser of two concurrent changes gets InvalidInput (field `oldPassword`): its old
   * password is no longer the current one.
   */
  changePassword(
    accountId: string,
    userName: string,
    oldPassword: string,
    newPassword: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
}

// `Algorithm` is a const enum (not importable as a value under type stripping): 2 is Argon2id.
const ARGON2 = { algorithm: 2 as Algorithm.Argon2id } as const;
// Verified against when the user has no profile, so a missing profile costs the same time.
const DUMMY_HASH = "$argon2id$v=19$m=19456,t=2,p=1$9eMnffD8ElTPlOT97pGL0g$ftCIzLitMvnEU2aTmlRXX6E4UPNiTMTGOGYj5iRms2g";
// A password write whose check went stale re-checks this many times in all before giving up.
const MAX_CHECKS = 3;

interface ProfileRow {
  user_id: string;
  password_hash: string;
  password_reset_required: boolean;
  created_at: Date;
}

/**
 * What a new password was checked against. Every password write stores a freshly salted hash and
 * moves the replaced one to the history, so the current hash and the newest history entry name
 * the whole history: equal values later mean nothing was written in between.
 */
interface PasswordState {
  readonly userId: string;
  readonly currentHash: string | null;
  readonly newestHistoryHash: string | null;
}

/** A {@link PasswordState} the new password passed, and the reuse prevention it was checked with. */
interface CheckedPassword extends PasswordState {
  readonly reuse: number;
}

/** A write rolled back because its password check went stale; it is checked again. */
const STALE = Symbol("stale password check");

async function findProfile(q: Queryable, user: UserRow): Promise<ProfileRow> {
  const r = await q.query<ProfileRow>("SELECT * FROM login_profiles WHERE user_id = $1", [user.user_id]);
  const row = r.rows[0];
  if (row === undefined) throw noProfile(user.user_name);
  return row;
}

function noProfile(userName: string): IamError {
  return new IamError("NoSuchEntity", `user ${JSON.stringify(userName)} has no login profile`, {
    field: "userName",
  });
}

/** The user's password history, newest first; `limit` entries besides the current hash. */
async function passwordState(
  q: Queryable,
  userId: string,
  limit: number,
): Promise<{ current: string | null; history: string[] }> {
  // One statement, one snapshot: the current hash and the history belong together.
  const r = await q.query<{ current: string | null; history: string[] }>(
    `SELECT (SELECT password_hash FROM login_profiles WHERE user_id = $1) AS current,
       ARRAY(SELECT password_hash FROM password_history WHERE user_id = $1
             ORDER BY created_at DESC, password_hash DESC LIMIT $2) AS history`,
    [userId, limit],
  );
  return { current: r.rows[0]?.current ?? null, history: r.rows[0]?.history ?? [] };
}

/** Copies the user's current password hash, if any, into the password history. */
async function keepInHistory(q: Queryable, userId: string): Promise<void> {
  await q.query(
    "INSERT INTO password_history (user_id, password_hash) SELECT user_id, password_hash FROM login_profiles WHERE user_id = $1",
    [userId],
  );
}

/** A password write's idempotency description (nothing to save: no secret is ever returned). */
type PasswordWriteSpec = Pick<WriteSpec<unknown>, "operation" | "request" | "clientRequestToken" | "callerId">;

/** How a password write expects the user's login profile to be. */
type ProfileExpectation = "absent" | "present";

/** The {@link LoginProfileStore} part of the store. */
export function createLoginProfileStore(ctx: StoreContext): LoginProfileStore {
  const limiter = createHashLimiter(ctx.options.passwordHashing);

  /**
   * Checks a new password against the policy and its reuse prevention (the last N hashes, the
   * current one included). Runs outside any transaction: argon2 is slow on purpose and must not
   * hold the account lock; no connection is held while it verifies. `verifyOld` sees the hash
   * the check is about before anything else is checked (ChangePassword's old password).
   */
  const check = async (
    accountId: string,
    userName: string,
    password: string,
    verifyOld?: (currentHash: string | null) => Promise<void>,
  ): Promise<CheckedPassword> => {
    const { user, policy, state } = await read(ctx, "CheckPassword", async (q) => {
      const user = await ctx.find.user(q, accountId, userName);
      const policy = await findPasswordPolicy(q, accountId);
      const reuse = policy?.passwordReusePrevention ?? 0;
      return { user, policy, state: await passwordState(q, user.user_id, Math.max(reuse, 1)) };
    });
    await verifyOld?.(state.current);
    checkPasswordAgainstPolicy(policy, password, user.user_name);
    const reuse = policy?.passwordReusePrevention ?? 0;
    const recent = [...(state.current === null ? [] : [state.current]), ...state.history].slice(0, reuse);
    for (const earlier of recent) {
      if (await limiter.run(accountId, () => verify(earlier, password))) {
        throw new IamError(
          "PasswordPolicyViolation",
          `the password does not meet the account password policy: not one of the last ${reuse} passwords`,
          { field: "PasswordReusePrevention" },
        );
      }
    }
    return {
      userId: user.user_id,
      currentHash: state.current,
      newestHistoryHash: state.history[0] ?? null,
      reuse,
    };
  };

  /**
   * Writes a new password in the account's write transaction, but only if what it was checked
   * against is still current there: the profile row is locked and the current hash, the newest
   * history entry and the policy compared with the check's. If a concurrent write changed them,
   * the transaction rolls back and the password is checked again, outside the lock, against the
   * new state (the hash is kept); after {@link MAX_CHECKS} checks the caller gets
   * ConcurrentModification, which is retriable.
   */
  const writePassword = async <T>(
    accountId: string,
    userName: string,
    password: string,
    spec: PasswordWriteSpec,
    expect: ProfileExpectation,
    body: (
      q: Queryable,
      user: UserRow,
      passwordHash: string,
      profile: ProfileRow | undefined,
    ) => Promise<MutationOutcome<T>>,
    verifyOld?: (currentHash: string | null, attempt: number) => Promise<void>,
  ): Promise<Mutation<T>> => {
    // A retry of a call that went through gets its result, not a check: its new password may be
    // the current one by now (reuse prevention) and its old one no longer current.
    const token = requestTokenOf(spec);
    if (token !== undefined) {
      const hashed = requestHash(spec.operation, spec.request);
      const replay = await read(ctx, spec.operation, (q) => replayToken<T>(q, accountId, token, spec, hashed));
      if (replay !== undefined) return replay;
    }
    // Admitted after the replay check: a retry of a call that went through hashes nothing.
    const release = limiter.admit(accountId);
    try {
      let passwordHash: string | undefined;
      for (let attempt = 1; ; attempt++) {
        const expected = await check(accountId, userName, password, verifyOld && ((h) => verifyOld(h, attempt)));
        // The hash does not depend on the state checked against: computed once.
        passwordHash ??= await limiter.run(accountId, () => hash(password, ARGON2));
        const newHash = passwordHash;
        const m = await mutate<T | typeof STALE>(ctx, accountId, spec, async (q) => {
          const user = await ctx.find.user(q, accountId, userName);
          const locked = await q.query<ProfileRow>("SELECT * FROM login_profiles WHERE user_id = $1 FOR UPDATE", [
            user.user_id,
          ]);
          const profile = locked.rows[0];
          if (expect === "present" && profile === undefined) throw noProfile(user.user_name);
          if (expect === "absent" && profile !== undefined) {
            const message = `user ${JSON.stringify(user.user_name)} already has a login profile`;
            throw new IamError("EntityAlreadyExists", message, { field: "userName" });
          }
          const history = (await passwordState(q, user.user_id, 1)).history;
          const policy = await findPasswordPolicy(q, accountId);
          if (
            user.user_id !== expected.userId ||
            (profile?.password_hash ?? null) !== expected.currentHash ||
            (history[0] ?? null) !== expected.newestHistoryHash ||
            (policy?.passwordReusePrevention ?? 0) > expected.reuse
          ) {
            return { value: STALE, events: [] };
          }
          // Cheap, so checked again here against the policy as it is now.
          checkPasswordAgainstPolicy(policy, password, user.user_name);
          return body(q, user, newHash, profile);
        });
        const value = m.value;
        if (value !== STALE) return { value, accountId: m.accountId, revision: m.revision, epoch: m.epoch };
        if (attempt === MAX_CHECKS) {
          throw new IamError(
            "ConcurrentModification",
            `the login profile of user ${JSON.stringify(userName)} kept changing while the password was checked; retry`,
            { field: "userName", retriable: true },
          );
        }
      }
    } finally {
      release();
    }
  };

  /** Replaces the hash, keeping the old one in the history. */
  const setHash = async (q: Queryable, userId: string, newHash: string, resetRequired: boolean) => {
    await keepInHistory(q, userId);
    await q.query(
      `UPDATE login_profiles SET password_hash = $2, password_reset_required = $3, password_changed_at = now()
       WHERE user_id = $1`,
      [userId, newHash, resetRequired],
    );
  };

  return {
    createLoginProfile: (accountId, userName, input) =>
      writePassword(
        accountId,
        userName,
        input.password,
        {
          operation: "CreateLoginProfile",
          // The password enters the request hash only as a keyed digest: a reused token with another
          // password is a different request, and the token table never holds the password.
          request: {
            userName,
            passwordResetRequired: input.passwordResetRequired,
            password: ctx.secretDigest(input.password),
          },
          ...tokenSpec(input),
        },
        "absent",
        async (q, user, passwordHash) => {
          const r = await q.query<{ created_at: Date }>(
            `INSERT INTO login_profiles (user_id, account_id, password_hash, password_reset_required)
             VALUES ($1, $2, $3, $4) RETURNING created_at`,
            [user.user_id, accountId, passwordHash, input.passwordResetRequired],
          );
          return {
            value: {
              userName: user.user_name,
              createdAtMs: r.rows[0]?.created_at.getTime() ?? ctx.options.clock.now(),
              passwordResetRequired: input.passwordResetRequired,
            },
            events: [await loginProfileState(q, user.user_id)],
          };
        },
      ),

    async updateLoginProfile(accountId, userName, input) {
      const spec = {
        operation: "UpdateLoginProfile",
        request: {
          userName,
          passwordResetRequired: input.passwordResetRequired,
          password: input.password === undefined ? null : ctx.secretDigest(input.password),
        },
        ...tokenSpec(input),
      };
      if (input.password !== undefined) {
        return writePassword(
          accountId,
          userName,
          input.password,
          spec,
          "present",
          async (q, user, passwordHash, profile) => {
            const reset = input.passwordResetRequired ?? profile?.password_reset_required ?? false;
            await setHash(q, user.user_id, passwordHash, reset);
            return { value: null, events: [await loginProfileState(q, user.user_id)] };
          },
        );
      }
      return mutate(ctx, accountId, spec, async (q) => {
        const user = await ctx.find.user(q, accountId, userName);
        const profile = await findProfile(q, user);
        const reset = input.passwordResetRequired ?? profile.password_reset_required;
        if (reset === profile.password_reset_required) return { value: null, events: [] };
        await q.query("UPDATE login_profiles SET password_reset_required = $2 WHERE user_id = $1", [
          user.user_id,
          reset,
        ]);
        return { value: null, events: [await loginProfileState(q, user.user_id)] };
      });
    },

    deleteLoginProfile: (accountId, userName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteLoginProfile", request: { userName }, ...tokenSpec(token) },
        async (q) => {
          const user = await ctx.find.user(q, accountId, userName);
          await findProfile(q, user);
          // Kept in the history, so deleting and re-creating the profile cannot dodge reuse prevention.
          await keepInHistory(q, user.user_id);
          await q.query("DELETE FROM login_profiles WHERE user_id = $1", [user.user_id]);
          return { value: null, events: [await loginProfileState(q, user.user_id)] };
        },
      ),

    getLoginProfile: (accountId, userName) =>
      read(ctx, "GetLoginProfile", async (q) => {
        const user = await ctx.find.user(q, accountId, userName);
        const p = await findProfile(q, user);
        return {
          userName: user.user_name,
          createdAtMs: p.created_at.getTime(),
          passwordResetRequired: p.password_reset_required,
        };
      }),

    changePassword: (accountId, userName, oldPassword, newPassword, token) =>
      writePassword(
        accountId,
        userName,
        newPassword,
        {
          operation: "ChangePassword",
          request: {
            userName,
            oldPassword: ctx.secretDigest(oldPassword),
            newPassword: ctx.secretDigest(newPassword),
          },
          ...tokenSpec(token),
        },
        "present",
        // The write goes through only while the profile still holds the hash verified here.
        async (q, user, passwordHash) => {
          await setHash(q, user.user_id, passwordHash, false);
          return { value: null, events: [await loginProfileState(q, user.user_id)] };
        },
        async (currentHash, attempt) => {
          const matches = await limiter.run(accountId, () => verify(currentHash ?? DUMMY_HASH, oldPassword));
          if (currentHash === null) throw noProfile(userName);
          if (!matches) {
            // AWS documents no specific name for a wrong old password (InvalidUserType is about the
            // caller's kind, handled by the service), so the generic InvalidInput stays.
            throw new IamError(
              "InvalidInput",
              attempt === 1
                ? "oldPassword is not the user's current password"
                : "oldPassword is not the user's current password: a concurrent request changed it",
              { field: "oldPassword" },
            );
          }
        },
      ),
  };
}
