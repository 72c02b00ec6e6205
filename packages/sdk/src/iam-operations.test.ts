import { ControlServiceService, EntityType } from "@gatehouse/proto";
import { describe, expect, it } from "vitest";
import { buildRequest, iamOperations, inputFieldsOf, isWrite } from "./iam-operations.ts";

describe("iamOperations", () => {
  it("reaches every ControlService RPC", () => {
    const rpcs = new Set(Object.values(iamOperations).map((s) => s.rpc as string));
    const missing = Object.keys(ControlServiceService).filter((m) => !rpcs.has(m));
    expect(missing).toEqual([]);
  });

  it("takes AWS's field names for the generic RPCs", () => {
    expect(inputFieldsOf(iamOperations.putRolePolicy)).toEqual(["roleName", "policyName", "policyDocument"]);
    expect(inputFieldsOf(iamOperations.tagPolicy)).toEqual(["policyArn", "tags"]);
    expect(inputFieldsOf(iamOperations.deleteUserPermissionsBoundary)).toEqual(["userName"]);
  });

  it("builds requests: renamed and fixed fields, the page, a token for writes only", () => {
    const put = buildRequest(iamOperations.putGroupPolicy, { groupName: "g", policyName: "p" }, () => "tok");
    expect(put).toMatchObject({
      entityType: EntityType.ENTITY_TYPE_GROUP,
      entityName: "g",
      policyName: "p",
      clientRequestToken: "tok",
    });
    const list = buildRequest(iamOperations.listUsers, { maxItems: 5 }, () => "tok");
    expect(list).toEqual({ pathPrefix: "", page: { marker: "", maxItems: 5 } });
    expect(buildRequest(iamOperations.createUser, { clientRequestToken: "mine" }, () => "tok").clientRequestToken).toBe(
      "mine",
    );
    expect(() => buildRequest(iamOperations.getUser, { entityName: "x" }, () => "t")).toThrow(
      /unknown input field "entityName"/,
    );
    // A fixed field cannot be overridden by the caller.
    expect(() =>
      buildRequest(iamOperations.deleteRolePermissionsBoundary, { permissionsBoundaryArn: "arn" }, () => "t"),
    ).toThrow(/unknown input field/);
  });

  it("treats exactly the RPCs with a client request token as writes", () => {
    expect(isWrite("createUser")).toBe(true);
    expect(isWrite("deletePolicyVersion")).toBe(true);
    expect(isWrite("getUser")).toBe(false);
    expect(isWrite("listAccounts")).toBe(false);
  });
});
