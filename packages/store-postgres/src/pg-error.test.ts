import { IamError } from "@gatehouse/core";
import { describe, expect, it } from "vitest";
import { translatePgError } from "./pg-error.ts";

function pgError(code: string, extra: Record<string, string> = {}): Error {
  return Object.assign(new Error(`pg says ${code}`), { code, ...extra });
}

describe("translatePgError", () => {
  it("names the field of a unique violation", () => {
    const e = translatePgError(pgError("23505", { constraint: "users_name_key" }), "CreateUser");
    expect([e.awsName, e.field, e.code]).toEqual(["EntityAlreadyExists", "userName", "ALREADY_EXISTS"]);
    expect(e.cause).toBeInstanceOf(Error);
    expect(JSON.stringify(e.toWire())).not.toContain("pg says");
  });
  it("turns a write function's raised AWS error into that error, and an unknown name into ServiceFailure", () => {
    const raised = pgError("GH400", { detail: "LimitExceeded", hint: "policyName" });
    raised.message = "too many inline policies (quota 10)";
    const e = translatePgError(raised, "PutInlinePolicy");
    expect([e.awsName, e.field, e.code, e.message]).toEqual([
      "LimitExceeded",
      "policyName",
      "RESOURCE_EXHAUSTED",
      "too many inline policies (quota 10)",
    ]);
    expect(translatePgError(pgError("GH400", { detail: "toString" }), "x").awsName).toBe("ServiceFailure");
  });
  it("marks serialization failures and deadlocks as retriable ConcurrentModification", () => {
    for (const code of ["40001", "40P01"]) {
      const e = translatePgError(pgError(code), "AttachPolicy");
      expect([e.awsName, e.retriable, e.code]).toEqual(["ConcurrentModification", true, "ABORTED"]);
    }
  });
  it("maps RESTRICT foreign keys to DeleteConflict and the version trigger to LimitExceeded", () => {
    const fk = pgError("23503", { table: "group_memberships" });
    fk.message = 'update or delete on table "users" violates foreign key constraint';
    expect(translatePgError(fk, "DeleteUser").awsName).toBe("DeleteConflict");
    expect(translatePgError(pgError("23514", { constraint: "policy_versions_limit" }), "x").awsName).toBe(
      "LimitExceeded",
    );
  });
  it("treats lost connections as retriable ServiceUnavailable and unknown errors as ServiceFailure", () => {
    const down = translatePgError(new Error("connect ECONNREFUSED 127.0.0.1:5432"), "GetUser");
    expect([down.awsName, down.retriable]).toEqual(["ServiceUnavailable", true]);
    expect(translatePgError(pgError("XX000"), "GetUser").awsName).toBe("ServiceFailure");
    const same = new IamError("NoSuchEntity", "x");
    expect(translatePgError(same, "y")).toBe(same);
  });
});
