import { IamError } from "@gatehouse/core";
import { type Algorithm, hash, verify } from "@node-rs/argon2";
import { findUser, type UserRow } from "./lookups.ts";
import { checkPasswordAgainstPolicy, findPasswordPolicy } from "./password-policy.ts";
import type { LoginProfileRecord, Mutation, RequestToken } from "./records.ts";
import { loginProfileState } from "./state.ts";
import { mutate, type Queryable, read, type StoreContext } from "./tx.ts";

/** Input of {@link LoginProfileStore.updateLoginProfile}: absent fields keep their value. */
export interface UpdateLoginProfileInput extends RequestToken {
  readonly password?: string | undefined;
  readonly passwordResetRequired?: boolean | undefined;
}

/**
 * Console passwords. Passwords are checked against the account password policy, hashed with
 * argon2id, and never stored, logged or returned in clear. Client request tokens do not cover the
 * password (nothing derived from it is kept outside the hash): a retry is matched on the rest.
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
   * A user's own password change: the old password is verified (argon2 verify, constant time),
   * the new one checked against the policy and its reuse prevention.
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

interface ProfileRow {
  user_id: string;
  password_hash: string;
  password_reset_required: boolean;
  created_at: Date;
}

async function findProfile(q: Queryable, user: UserRow): Promise<ProfileRow> {
  const r = await q.query<ProfileRow>("SELECT * FROM login_profiles WHERE user_id = $1", [user.user_id]);
  const row = r.rows[0];
  if (row === undefined) {
    throw new IamError("NoSuchEntity", `user ${JSON.stringify(user.user_name)} has no login profile`, {
      field: "userName",
    });
  }
  return row;
}

/** The {@link LoginProfileStore} part of the store. */
export function createLoginProfileStore(ctx: StoreContext): LoginProfileStore {
  const partition = ctx.options.partition;

  /**
   * Checks a new password (policy, then reuse against the last N hashes) and hashes it. Runs
   * before the write transaction: argon2 is slow on purpose and must not hold the account lock.
   */
  const prepare = async (accountId: string, userName: string, password: string): Promise<string> =>
    read(ctx, "CheckPassword", async (q) => {
      const user = await findUser(q, partition, accountId, userName);
      const policy = await findPasswordPolicy(q, accountId);
      checkPasswordAgainstPolicy(policy, password, user.user_name);
      const reuse = policy?.passwordReusePrevention ?? 0;
      if (reuse > 0) {
        const r = await q.query<{ password_hash: string }>(
          `SELECT password_hash FROM login_profiles WHERE user_id = $1
           UNION ALL (SELECT password_hash FROM password_history WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2)`,
          [user.user_id, reuse],
        );
        for (const row of r.rows.slice(0, reuse)) {
          if (await verify(row.password_hash, password)) {
            throw new IamError(
              "PasswordPolicyViolation",
              `the password does not meet the account password policy: not one of the last ${reuse} passwords`,
              { field: "PasswordReusePrevention" },
            );
          }
        }
      }
      return hash(password, ARGON2);
    });

  /** Replaces the hash, keeping the old one in the history. */
  const setHash = async (q: Queryable, userId: string, newHash: string, resetRequired: boolean) => {
    await q.query(
      "INSERT INTO password_history (user_id, password_hash) SELECT user_id, password_hash FROM login_profiles WHERE user_id = $1",
      [userId],
    );
    await q.query(
      `UPDATE login_profiles SET password_hash = $2, password_reset_required = $3, password_changed_at = now()
       WHERE user_id = $1`,
      [userId, newHash, resetRequired],
    );
  };

  return {
    async createLoginProfile(accountId, userName, input) {
      const passwordHash = await prepare(accountId, userName, input.password);
      return mutate(
        ctx,
        accountId,
        {
          operation: "CreateLoginProfile",
          request: { userName, passwordResetRequired: input.passwordResetRequired },
          clientRequestToken: input.clientRequestToken,
        },
        async (q) => {
          const user = await findUser(q, partition, accountId, userName);
          const r = await q.query<{ created_at: Date }>(
            `INSERT INTO login_profiles (user_id, account_id, password_hash, password_reset_required)
             VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING RETURNING created_at`,
            [user.user_id, accountId, passwordHash, input.passwordResetRequired],
          );
          const row = r.rows[0];
          if (row === undefined) {
            throw new IamError("EntityAlreadyExists", `user ${JSON.stringify(userName)} already has a login profile`, {
              field: "userName",
            });
          }
          return {
            value: {
              userName: user.user_name,
              createdAtMs: row.created_at.getTime(),
              passwordResetRequired: input.passwordResetRequired,
            },
            events: [await loginProfileState(q, user.user_id)],
          };
        },
      );
    },

    async updateLoginProfile(accountId, userName, input) {
      const passwordHash =
        input.password === undefined ? undefined : await prepare(accountId, userName, input.password);
      return mutate(
        ctx,
        accountId,
        {
          operation: "UpdateLoginProfile",
          request: {
            userName,
            passwordResetRequired: input.passwordResetRequired,
            password: passwordHash !== undefined,
          },
          clientRequestToken: input.clientRequestToken,
        },
        async (q) => {
          const user = await findUser(q, partition, accountId, userName);
          const profile = await findProfile(q, user);
          const reset = input.passwordResetRequired ?? profile.password_reset_required;
          if (passwordHash !== undefined) {
            await setHash(q, user.user_id, passwordHash, reset);
          } else if (reset !== profile.password_reset_required) {
            await q.query("UPDATE login_profiles SET password_reset_required = $2 WHERE user_id = $1", [
              user.user_id,
              reset,
            ]);
          } else {
            return { value: null, events: [] };
          }
          return { value: null, events: [await loginProfileState(q, user.user_id)] };
        },
      );
    },

    deleteLoginProfile: (accountId, userName, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteLoginProfile", request: { userName }, clientRequestToken: token?.clientRequestToken },
        async (q) => {
          const user = await findUser(q, partition, accountId, userName);
          await findProfile(q, user);
          await q.query("DELETE FROM login_profiles WHERE user_id = $1", [user.user_id]);
          return { value: null, events: [await loginProfileState(q, user.user_id)] };
        },
      ),

    getLoginProfile: (accountId, userName) =>
      read(ctx, "GetLoginProfile", async (q) => {
        const user = await findUser(q, partition, accountId, userName);
        const p = await findProfile(q, user);
        return {
          userName: user.user_name,
          createdAtMs: p.created_at.getTime(),
          passwordResetRequired: p.password_reset_required,
        };
      }),

    async changePassword(accountId, userName, oldPassword, newPassword, token) {
      const current = await read(ctx, "ChangePassword", async (q) => {
        const user = await findUser(q, partition, accountId, userName);
        const r = await q.query<{ password_hash: string }>(
          "SELECT password_hash FROM login_profiles WHERE user_id = $1",
          [user.user_id],
        );
        return { user, hash: r.rows[0]?.password_hash };
      });
      const matches = await verify(current.hash ?? DUMMY_HASH, oldPassword);
      if (current.hash === undefined) {
        throw new IamError("NoSuchEntity", `user ${JSON.stringify(userName)} has no login profile`, {
          field: "userName",
        });
      }
      if (!matches) {
        // AWS documents no specific name for a wrong old password (InvalidUserType is about the
        // caller's kind, handled by the service), so the generic InvalidInput stays.
        throw new IamError("InvalidInput", "oldPassword is not the user's current password", { field: "oldPassword" });
      }
      const passwordHash = await prepare(accountId, userName, newPassword);
      return mutate(
        ctx,
        accountId,
        { operation: "ChangePassword", request: { userName }, clientRequestToken: token?.clientRequestToken },
        async (q) => {
          const profile = await findProfile(q, current.user);
          // A concurrent change won: the old password this call verified is no longer current.
          if (profile.password_hash !== current.hash) {
            throw new IamError("ConcurrentModification", "the password changed concurrently; retry", {
              field: "oldPassword",
              retriable: true,
            });
          }
          await setHash(q, current.user.user_id, passwordHash, false);
          return { value: null, events: [await loginProfileState(q, current.user.user_id)] };
        },
      );
    },
  };
}
