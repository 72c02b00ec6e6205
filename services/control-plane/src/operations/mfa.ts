import { IamError } from "@gatehouse/core";
import { toWire } from "../mappers.ts";
import { checkName, checkPath, checkTags } from "../validation.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";
import { subjectUser } from "./principals.ts";

/**
 * Virtual MFA devices: CreateVirtualMFADevice, EnableMFADevice, DeactivateMFADevice,
 * ListMFADevices, DeleteVirtualMFADevice.
 */
export function mfaOperations({ store, targets, arns }: OperationDeps) {
  return {
    createVirtualMfaDevice: forAccount("CreateVirtualMFADevice", async (r, ctx) => {
      const deviceName = checkName(r.virtualMfaDeviceName, "virtualMfaDeviceName", 226);
      const path = checkPath(r.path);
      // MFA device tag keys compare exactly, as in AWS; tags need iam:TagMFADevice too.
      const tags = checkTags(r.tags, false);
      await ctx.authorizeCreate(
        "CreateVirtualMFADevice",
        "MFADevice",
        arns.of(ctx.accountId, "mfa", path, deviceName),
        tags,
      );
      const m = await store.createVirtualMfaDevice(ctx.accountId, {
        deviceName,
        path,
        tags,
        ...ctx.token(r.clientRequestToken),
      });
      const label = encodeURIComponent(`${ctx.accountId}:${deviceName}`);
      return {
        serialNumber: m.value.serialNumber,
        base32StringSeed: m.value.base32StringSeed,
        // A replayed call has no seed (returned once), hence no URI either.
        otpauthUri:
          m.value.base32StringSeed === ""
            ? ""
            : `otpauth://totp/${label}?secret=${m.value.base32StringSeed}&issuer=Gatehouse`,
        revision: toWire.revision(m),
      };
    }),
    enableMfaDevice: forAccount("EnableMFADevice", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      for (const [field, code] of [
        ["authenticationCode1", r.authenticationCode1],
        ["authenticationCode2", r.authenticationCode2],
      ] as const) {
        if (!/^\d{6}$/.test(code)) {
          throw new IamError("ValidationError", `${field} must be 6 digits`, { field });
        }
      }
      const serialNumber = arns.mfa(r.serialNumber);
      await ctx.authorize("EnableMFADevice", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.enableMfaDevice(
        ctx.accountId,
        userName,
        serialNumber,
        [r.authenticationCode1, r.authenticationCode2],
        ctx.token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
    deactivateMfaDevice: forAccount("DeactivateMFADevice", async (r, ctx) => {
      const userName = checkName(r.userName, "userName", 64);
      const serialNumber = arns.mfa(r.serialNumber);
      await ctx.authorize("DeactivateMFADevice", () => targets.principal(ctx.accountId, "user", userName));
      const m = await store.deactivateMfaDevice(ctx.accountId, userName, serialNumber, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    listMfaDevices: forAccount("ListMFADevices", async (r, ctx) => {
      const userName = subjectUser(ctx, r.userName);
      await ctx.authorize("ListMFADevices", () => targets.principal(ctx.accountId, "user", userName));
      const devices = await store.listMfaDevices(ctx.accountId, userName);
      return {
        mfaDevices: devices.map((d) => ({
          userName: d.userName ?? "",
          serialNumber: d.serialNumber,
          enableDateMs: d.enabledAtMs ?? 0,
        })),
      };
    }),
    deleteVirtualMfaDevice: forAccount("DeleteVirtualMFADevice", async (r, ctx) => {
      // The store matches serial numbers exactly, so an existing device's ARN is the one sent; the
      // target adds its tags (aws:ResourceTag/…).
      const serialNumber = arns.mfa(r.serialNumber);
      await ctx.authorize("DeleteVirtualMFADevice", () => targets.mfaDevice(ctx.accountId, serialNumber));
      const m = await store.deleteVirtualMfaDevice(ctx.accountId, serialNumber, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}
