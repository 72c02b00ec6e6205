import { createManualClock } from "@gatehouse/core";
import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AccountFixture, startAccountFixture, totp } from "./test-account.int-helper.ts";
import { expectFailure, failureOf } from "./test-client.int-helper.ts";

describe("virtual MFA devices (real Postgres + Kafka)", () => {
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture();
    await f.root.call("createUser", { userName: "mfa-user" });
  });
  afterAll(async () => {
    await f.close();
  });

  it("create (seed once, sealed at rest), enable with two consecutive codes, list, deactivate, delete", async () => {
    const { root, accountId } = f;
    const created = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "phone", path: "/" });
    expect(created.serialNumber).toBe(`arn:aws:iam::${accountId}:mfa/phone`);
    expect(created.base32StringSeed).toMatch(/^[A-Z2-7]{16,}$/);
    expect(created.otpauthUri).toContain(`secret=${created.base32StringSeed}`);
    const stored = await f.h.cp.store.pool.query("SELECT seed_ciphertext FROM mfa_devices");
    expect(stored.rows[0].seed_ciphertext.toString("latin1")).not.toContain(created.base32StringSeed);
    await expectFailure(root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "PHONE", path: "/" }), {
      code: status.ALREADY_EXISTS,
      awsName: "EntityAlreadyExists",
    });

    const now = Math.floor(Date.now() / 1000);
    const enable = { userName: "mfa-user", serialNumber: created.serialNumber };
    await expectFailure(
      root.call("enableMfaDevice", { ...enable, authenticationCode1: "000000", authenticationCode2: "000000" }),
      { code: status.INVALID_ARGUMENT, awsName: "InvalidAuthenticationCode", field: "authenticationCode1" },
    );
    await expectFailure(
      root.call("enableMfaDevice", {
        ...enable,
        authenticationCode1: totp(created.base32StringSeed, now),
        authenticationCode2: totp(created.base32StringSeed, now + 90),
      }),
      { code: status.INVALID_ARGUMENT, awsName: "InvalidAuthenticationCode" },
    );
    await expectFailure(
      root.call("enableMfaDevice", { ...enable, authenticationCode1: "12", authenticationCode2: "123456" }),
      { awsName: "ValidationError", field: "authenticationCode1" },
    );
    await root.call("enableMfaDevice", {
      ...enable,
      authenticationCode1: totp(created.base32StringSeed, now - 30),
      authenticationCode2: totp(created.base32StringSeed, now),
    });
    const listed = await root.call("listMfaDevices", { userName: "mfa-user" });
    expect(listed.mfaDevices).toHaveLength(1);
    expect(listed.mfaDevices[0]).toMatchObject({ userName: "mfa-user", serialNumber: created.serialNumber });
    await expectFailure(root.call("deleteVirtualMfaDevice", { serialNumber: created.serialNumber }), {
      code: status.FAILED_PRECONDITION,
      awsName: "DeleteConflict",
    });
    const userInUse = await failureOf(root.call("deleteUser", { userName: "mfa-user" }));
    expect(userInUse.awsName).toBe("DeleteConflict");
    await root.call("deactivateMfaDevice", enable);
    expect((await failureOf(root.call("deactivateMfaDevice", enable))).awsName).toBe("NoSuchEntity");
    expect((await root.call("listMfaDevices", { userName: "mfa-user" })).mfaDevices).toEqual([]);
    await root.call("deleteVirtualMfaDevice", { serialNumber: created.serialNumber });
    await expectFailure(root.call("deleteVirtualMfaDevice", { serialNumber: created.serialNumber }), {
      code: status.NOT_FOUND,
      awsName: "NoSuchEntity",
    });
  });

  it("authorizes iam:<Operation>", async () => {
    const nobody = await f.aUser("no-mfa-rights");
    const denied = await failureOf(nobody.call("createVirtualMfaDevice", { virtualMfaDeviceName: "x", path: "/" }));
    expect(denied.awsName).toBe("AccessDenied");
    expect((await failureOf(nobody.call("listMfaDevices", {}))).awsName).toBe("AccessDenied");
  });
});

describe("the TOTP window follows the control plane's clock", () => {
  // 10 s into a 30 s step, years away from the wall clock: only the injected clock can accept.
  const t0 = Date.parse("2031-03-04T05:06:10Z");
  const clock = createManualClock(t0);
  let f: AccountFixture;
  beforeAll(async () => {
    f = await startAccountFixture({}, clock);
    await f.root.call("createUser", { userName: "clocked" });
  });
  afterAll(async () => {
    await f.close();
  });

  it("accepts the previous and current step's codes up to 4 steps later, refuses them after", async () => {
    const { root } = f;
    const device = await root.call("createVirtualMfaDevice", { virtualMfaDeviceName: "clocked", path: "/" });
    const t = t0 / 1000;
    const enable = {
      userName: "clocked",
      serialNumber: device.serialNumber,
      authenticationCode1: totp(device.base32StringSeed, t - 30),
      authenticationCode2: totp(device.base32StringSeed, t),
    };
    // Four steps on, the first code's step is five back: outside the window.
    clock.set(t0 + 120_000);
    await expectFailure(root.call("enableMfaDevice", enable), {
      code: status.INVALID_ARGUMENT,
      awsName: "InvalidAuthenticationCode",
      field: "authenticationCode1",
    });
    expect((await root.call("listMfaDevices", { userName: "clocked" })).mfaDevices).toEqual([]);
    // Three steps on, it is four back: the oldest step still accepted.
    clock.set(t0 + 90_000);
    await root.call("enableMfaDevice", enable);
    const listed = await root.call("listMfaDevices", { userName: "clocked" });
    expect(listed.mfaDevices.map((d: { serialNumber: string }) => d.serialNumber)).toEqual([device.serialNumber]);
  });
});
