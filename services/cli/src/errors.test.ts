import { GatehouseConfigError, GatehouseError } from "@gatehouse/sdk";
import { describe, expect, it } from "vitest";
import { describeFailure, OperationError } from "./errors.ts";
import { FlagValueError } from "./iam/flag-values.ts";

const failure = (awsName: string, code: GatehouseError["code"] = "UNAUTHENTICATED") =>
  new OperationError("ListUsers", new GatehouseError({ code, awsName, message: "m", retriable: false }));

describe("describeFailure", () => {
  it("gives a hint for the usual mistakes", () => {
    expect(describeFailure(failure("RequestExpired")).text).toContain("clock skew");
    expect(describeFailure(failure("ExpiredToken")).text).toContain("expired");
    expect(describeFailure(failure("InvalidClientTokenId")).text).toContain("does not know the access key id");
    expect(describeFailure(failure("ServiceUnavailable", "UNAVAILABLE")).text).toContain("is the stack running");
    expect(describeFailure(failure("NoSuchEntity", "NOT_FOUND")).text).not.toContain("hint:");
  });

  it("picks the exit status by kind: 254 service, 253 configuration, 2 misuse", () => {
    expect(describeFailure(failure("AccessDenied", "PERMISSION_DENIED"))).toMatchObject({
      exitCode: 254,
      text: expect.stringContaining("An error occurred (AccessDenied) when calling the ListUsers operation: m"),
    });
    expect(describeFailure(new GatehouseConfigError("no region", "set one")).exitCode).toBe(253);
    expect(describeFailure(new FlagValueError("--x", "bad")).exitCode).toBe(2);
  });
});
