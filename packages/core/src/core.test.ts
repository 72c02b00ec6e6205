import { describe, expect, it } from "vitest";
import {
  checkArnPartition,
  createManualClock,
  formatArn,
  IamError,
  iamArn,
  idKindOf,
  newId,
  parseArn,
  StatusCode,
  systemClock,
  tryParseArn,
} from "./index.ts";

describe("ARNs", () => {
  it("splits the five fixed parts and keeps colons in the resource", () => {
    const arn = parseArn("arn:aws:logs:us-east-1:123456789012:log-group:app:*");
    expect(arn).toEqual({
      partition: "aws",
      service: "logs",
      region: "us-east-1",
      accountId: "123456789012",
      resource: "log-group:app:*",
    });
    expect(formatArn(arn)).toBe("arn:aws:logs:us-east-1:123456789012:log-group:app:*");
  });
  it("rejects text that is not an ARN, naming the field", () => {
    expect(tryParseArn("arn:aws:s3")).toBeUndefined();
    expect(tryParseArn("urn:aws:s3:::b")).toBeUndefined();
    try {
      parseArn("nope", "roleArn");
      expect.unreachable();
    } catch (e) {
      expect(IamError.is(e) && e.field).toBe("roleArn");
      expect(IamError.is(e) && e.code).toBe("INVALID_ARGUMENT");
    }
  });
  it("refuses an ARN of another partition, naming the field and the partition served", () => {
    checkArnPartition(parseArn("arn:aws-cn:iam::aws:policy/ReadOnlyAccess"), "aws-cn", "policyArn");
    try {
      checkArnPartition(parseArn("arn:aws:iam::aws:policy/ReadOnlyAccess"), "aws-cn", "policyArn");
      expect.unreachable();
    } catch (e) {
      expect(IamError.is(e) && [e.awsName, e.field, e.message]).toEqual([
        "InvalidInput",
        "policyArn",
        'policyArn "arn:aws:iam::aws:policy/ReadOnlyAccess" is in partition "aws"; this endpoint serves partition "aws-cn"',
      ]);
    }
  });
  it("refuses an empty partition or service, and a prefix other than lower-case arn:", () => {
    expect(tryParseArn("arn:aws::us-east-1:123456789012:thing")).toBeUndefined();
    expect(tryParseArn("arn::iam::123456789012:user/alice")).toBeUndefined();
    expect(tryParseArn("ARN:aws:iam::123456789012:user/alice")).toBeUndefined();
    expect(() => parseArn("arn:aws::::x", "policyArn")).toThrow(/^policyArn "arn:aws::::x" is not a valid ARN$/);
  });
  it("takes exactly five colons as the least: region, account and resource may be empty", () => {
    expect(tryParseArn("arn:aws:s3:::")).toEqual({
      partition: "aws",
      service: "s3",
      region: "",
      accountId: "",
      resource: "",
    });
    expect(tryParseArn("arn:aws:s3::")).toBeUndefined();
    expect(tryParseArn("arn:aws:s3:::bucket")?.resource).toBe("bucket");
  });
  it("names the field arn when none is given", () => {
    try {
      parseArn("nope");
      expect.unreachable();
    } catch (e) {
      expect(IamError.is(e) && [e.awsName, e.field, e.message]).toEqual([
        "InvalidInput",
        "arn",
        'arn "nope" is not a valid ARN',
      ]);
    }
    try {
      checkArnPartition(parseArn("arn:aws:iam::aws:policy/ReadOnlyAccess"), "aws-cn");
      expect.unreachable();
    } catch (e) {
      expect(IamError.is(e) && e.field).toBe("arn");
    }
  });
  it("builds IAM ARNs with paths", () => {
    expect(iamArn("123456789012", "user", "/dev/", "alice")).toBe("arn:aws:iam::123456789012:user/dev/alice");
  });
});

describe("unique IDs", () => {
  it("carries AWS prefixes and lengths", () => {
    const user = newId("user");
    expect(user).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(newId("accessKey")).toMatch(/^AKIA[A-Z2-7]{16}$/);
    expect(newId("temporaryAccessKey")).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(idKindOf(user)).toBe("user");
    expect(idKindOf(newId("role"))).toBe("role");
    expect(idKindOf("XXXX123")).toBeUndefined();
    expect(new Set(Array.from({ length: 1000 }, () => newId("group"))).size).toBe(1000);
  });
});

describe("IamError", () => {
  it("maps AWS names to gRPC codes and keeps the cause off the wire", () => {
    const err = new IamError("EntityAlreadyExists", 'user "alice" already exists', {
      field: "userName",
      cause: new Error("23505 secret detail"),
    });
    expect(err.code).toBe("ALREADY_EXISTS");
    expect(err.status).toBe(StatusCode.ALREADY_EXISTS);
    expect(err.retriable).toBe(false);
    expect(JSON.stringify(err.toWire())).not.toContain("secret");
    expect(err.toWire()).toEqual({
      code: "ALREADY_EXISTS",
      awsName: "EntityAlreadyExists",
      message: 'user "alice" already exists',
      field: "userName",
    });
    expect(new IamError("ConcurrentModification", "x").retriable).toBe(true);
  });
  it("is retriable for UNAVAILABLE and ABORTED only, unless told", () => {
    expect(new IamError("ServiceUnavailable", "x").retriable).toBe(true);
    expect(new IamError("ServiceFailure", "x").retriable).toBe(false);
    expect(new IamError("ServiceUnavailable", "x", { retriable: false }).retriable).toBe(false);
    expect(new IamError("NoSuchEntity", "x", { retriable: true }).retriable).toBe(true);
  });
  it("keeps the cause for logs when given, names itself, and sends no field when none is to blame", () => {
    const cause = new Error("ECONNRESET");
    const err = new IamError("ServiceUnavailable", "the store is unreachable", { cause });
    expect(err.cause).toBe(cause);
    expect(err.name).toBe("IamError");
    expect("cause" in new IamError("ServiceUnavailable", "x")).toBe(false);
    expect(err.toWire()).toEqual({
      code: "UNAVAILABLE",
      awsName: "ServiceUnavailable",
      message: "the store is unreachable",
    });
    expect(Object.keys(err.toWire())).not.toContain("field");
  });
  it("recognizes an IamError from another copy of the module by its shape, and nothing less", () => {
    // Two copies of @gatehouse/core in one process (a bundled SDK next to the service's own)
    // make instanceof fail; the shape still tells.
    const copy = Object.assign(new Error("x"), { awsName: "NoSuchEntity", code: "NOT_FOUND", retriable: false });
    expect(IamError.is(copy)).toBe(true);
    expect(IamError.is(new IamError("NoSuchEntity", "x"))).toBe(true);
    expect(IamError.is(new Error("x"))).toBe(false);
    expect(IamError.is({ awsName: "NoSuchEntity", code: "NOT_FOUND", retriable: false })).toBe(false);
    for (const missing of ["awsName", "code", "retriable"]) {
      const partial: Record<string, unknown> = { awsName: "NoSuchEntity", code: "NOT_FOUND", retriable: false };
      delete partial[missing];
      expect(IamError.is(Object.assign(new Error("x"), partial))).toBe(false);
    }
  });
});

describe("system clock", () => {
  it("tells the wall clock's time", () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});

describe("manual clock", () => {
  it("moves only when told", () => {
    const clock = createManualClock(1000);
    clock.advance(500);
    expect(clock.now()).toBe(1500);
    clock.set(10);
    expect(clock.now()).toBe(10);
  });
});
