import { IamError, iamArn } from "@gatehouse/core";
import { generate, generateSecret } from "otplib";
import { checkTagQuota, tagsJson } from "../../checks.ts";
import type { Mutation, RequestToken, TagRecord } from "../../records.ts";
import { mfaDeviceState } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";

/** A virtual MFA device as listed (never its seed). */
export interface MfaDeviceRecord {
  readonly serialNumber: string;
  readonly userName: string | null;
  readonly enabledAtMs: number | null;
  readonly createdAtMs: number;
  readonly tags: readonly TagRecord[];
}

/** A created virtual MFA device: the only time its seed leaves the store. */
export interface NewMfaDevice {
  readonly serialNumber: string;
  /** The seed, returned by the creating call only: empty when a client request token replays it. */
  readonly base32StringSeed: string;
}

/** Virtual MFA devices: seeds sealed with the store's secret box, enabled with two consecutive codes. */
export interface MfaStore {
  createVirtualMfaDevice(
    accountId: string,
    input: { deviceName: string; path: string; tags?: readonly TagRecord[] | undefined } & RequestToken,
  ): Promise<Mutation<NewMfaDevice>>;
  enableMfaDevice(
    accountId: string,
    userName: string,
    serialNumber: string,
    codes: readonly [string, string],
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  deactivateMfaDevice(
    accountId: string,
    userName: string,
    serialNumber: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** The devices enabled for a user. */
  listMfaDevices(accountId: string, userName: string): Promise<MfaDeviceRecord[]>;
  /** One device of the account by serial number (matched exactly), or NoSuchEntity (field `field`). */
  getMfaDevice(accountId: string, serialNumber: string, field?: string): Promise<MfaDeviceRecord>;
  /** Only an unassigned device can be deleted (DeleteConflict otherwise). */
  deleteVirtualMfaDevice(accountId: string, serialNumber: string, token?: RequestToken): Promise<Mutation<null>>;
}

/** TOTP time steps either side of now in which the first of the two codes may fall. */
const STEPS_BACK = 4;
const STEPS_AHEAD = 1;

/** An `mfa_devices` row. */
export interface DeviceRow {
  serial_number: string;
  account_id: string;
  seed_ciphertext: Buffer;
  user_id: string | null;
  enabled_at: Date | null;
  created_at: Date;
  tags: TagRecord[];
}

/** The account's MFA device with this serial number (matched exactly), or NoSuchEntity naming `field`. */
export async function findDevice(
  q: Queryable,
  accountId: string,
  serialNumber: string,
  field = "serialNumber",
): Promise<DeviceRow> {
  const r = await q.query<DeviceRow>("SELECT * FROM mfa_devices WHERE serial_number = $1 AND account_id = $2", [
    serialNumber,
    accountId,
  ]);
  const row = r.rows[0];
  if (row === undefined) {
    throw new IamError("NoSuchEntity", `MFA device ${JSON.stringify(serialNumber)} does not exist`, { field });
  }
  return row;
}

/** Whether `first` and `second` are the codes of two consecutive 30 s steps near `nowMs`. */
async function consecutiveCodes(secret: string, first: string, second: string, nowMs: number): Promise<boolean> {
  const now = Math.floor(nowMs / 1000);
  for (let step = -STEPS_BACK; step <= STEPS_AHEAD; step++) {
    const epoch = now + step * 30;
    if ((await generate({ secret, epoch })) === first && (await generate({ secret, epoch: epoch + 30 })) === second) {
      return true;
    }
  }
  return false;
}

/** The {@link MfaStore} part of the store. */
export function createMfaStore(ctx: StoreContext): MfaStore {
  const partition = ctx.options.partition;
  return {
    createVirtualMfaDevice: (accountId, input) =>
      mutate<NewMfaDevice>(
        ctx,
        accountId,
        {
          operation: "CreateVirtualMFADevice",
          request: { deviceName: input.deviceName, path: input.path, tags: input.tags ?? [] },
          ...tokenSpec(input),
          // The seed is neither kept with the token nor re-opened: a replay answers the device's
          // serial number with an empty seed, as a replayed CreateAccessKey has an empty secret.
          save: (v) => ({ serialNumber: v.serialNumber }),
          restore: async (q, saved) => {
            const row = await findDevice(q, accountId, (saved as { serialNumber: string }).serialNumber);
            return { serialNumber: row.serial_number, base32StringSeed: "" };
          },
        },
        async (q) => {
          checkTagQuota(input.tags, ctx.options.quotas.tagsPerEntity);
          const serialNumber = iamArn(accountId, "mfa", input.path, input.deviceName, partition);
          const seed = generateSecret();
          await q.query(
            `INSERT INTO mfa_devices (serial_number, account_id, device_name, path, seed_ciphertext, tags)
             VALUES ($1, $2, $3, $4, $5, $6::jsonb)`,
            [
              serialNumber,
              accountId,
              input.deviceName,
              input.path,
              ctx.box.seal(seed, serialNumber),
              tagsJson(input.tags),
            ],
          );
          return {
            value: { serialNumber, base32StringSeed: seed },
            events: [await mfaDeviceState(q, serialNumber)],
          };
        },
      ),

    enableMfaDevice: (accountId, userName, serialNumber, codes, token) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "EnableMFADevice",
          // The codes are secrets for the moment they are valid: in the hash only through the keyed digest.
          request: { userName, serialNumber, codes: codes.map(ctx.secretDigest) },
          ...tokenSpec(token),
        },
        async (q) => {
          const user = await ctx.find.user(q, accountId, userName);
          const device = await findDevice(q, accountId, serialNumber);
          if (device.user_id !== null) {
            throw new IamError("EntityAlreadyExists", `MFA device ${serialNumber} is already enabled for a user`, {
              field: "serialNumber",
            });
          }
          const enabled = await q.query<{ n: number }>(
            "SELECT count(*)::int AS n FROM mfa_devices WHERE user_id = $1",
            [user.user_id],
          );
          const max = ctx.options.quotas.mfaDevicesPerUser;
          if ((enabled.rows[0]?.n ?? 0) >= max) {
            throw new IamError(
              "LimitExceeded",
              `user ${JSON.stringify(userName)} already has ${max} MFA devices (quota ${max})`,
              { field: "userName" },
            );
          }
          const seed = ctx.box.open(device.seed_ciphertext, serialNumber);
          if (!(await consecutiveCodes(seed, codes[0], codes[1], ctx.options.clock.now()))) {
            throw new IamError(
              "InvalidAuthenticationCode",
              "the authentication codes are not valid consecutive codes",
              {
                field: "authenticationCode1",
              },
            );
          }
          await q.query("UPDATE mfa_devices SET user_id = $2, enabled_at = now() WHERE serial_number = $1", [
            serialNumber,
            user.user_id,
          ]);
          return { value: null, events: [await mfaDeviceState(q, serialNumber)] };
        },
      ),

    deactivateMfaDevice: (accountId, userName, serialNumber, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeactivateMFADevice", request: { userName, serialNumber }, ...tokenSpec(token) },
        async (q) => {
          const user = await ctx.find.user(q, accountId, userName);
          const device = await findDevice(q, accountId, serialNumber);
          if (device.user_id !== user.user_id) {
            throw new IamError(
              "NoSuchEntity",
              `MFA device ${serialNumber} is not enabled for user ${JSON.stringify(userName)}`,
              {
                field: "serialNumber",
              },
            );
          }
          await q.query("UPDATE mfa_devices SET user_id = NULL, enabled_at = NULL WHERE serial_number = $1", [
            serialNumber,
          ]);
          return { value: null, events: [await mfaDeviceState(q, serialNumber)] };
        },
      ),

    listMfaDevices: (accountId, userName) =>
      read(ctx, "ListMFADevices", async (q) => {
        const user = await ctx.find.user(q, accountId, userName);
        const r = await q.query<{ serial_number: string; enabled_at: Date; created_at: Date; tags: TagRecord[] }>(
          "SELECT serial_number, enabled_at, created_at, tags FROM mfa_devices WHERE user_id = $1 ORDER BY serial_number",
          [user.user_id],
        );
        return r.rows.map((x) => ({
          serialNumber: x.serial_number,
          userName: user.user_name,
          enabledAtMs: x.enabled_at.getTime(),
          createdAtMs: x.created_at.getTime(),
          tags: x.tags,
        }));
      }),

    getMfaDevice: (accountId, serialNumber, field) =>
      read(ctx, "GetMFADevice", async (q) => {
        const d = await findDevice(q, accountId, serialNumber, field);
        const u = await q.query<{ user_name: string }>("SELECT user_name FROM users WHERE user_id = $1", [d.user_id]);
        return {
          serialNumber: d.serial_number,
          userName: u.rows[0]?.user_name ?? null,
          enabledAtMs: d.enabled_at?.getTime() ?? null,
          createdAtMs: d.created_at.getTime(),
          tags: d.tags,
        };
      }),

    deleteVirtualMfaDevice: (accountId, serialNumber, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteVirtualMFADevice", request: { serialNumber }, ...tokenSpec(token) },
        async (q) => {
          const device = await findDevice(q, accountId, serialNumber);
          if (device.user_id !== null) {
            const u = await q.query<{ user_name: string }>("SELECT user_name FROM users WHERE user_id = $1", [
              device.user_id,
            ]);
            throw new IamError(
              "DeleteConflict",
              `MFA device ${serialNumber} is enabled for user ${JSON.stringify(u.rows[0]?.user_name)}; deactivate it first`,
              { field: "serialNumber" },
            );
          }
          await q.query("DELETE FROM mfa_devices WHERE serial_number = $1", [serialNumber]);
          return { value: null, events: [await mfaDeviceState(q, serialNumber)] };
        },
      ),
  };
}
