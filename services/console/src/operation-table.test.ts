import { AuthorizerServiceClient, ControlServiceClient } from "@gatehouse/proto";
import { describe, expect, it } from "vitest";
import { authzOperations, controlOperations } from "./operation-table.ts";

describe("operation table", () => {
  it("names each relayed RPC as the generated client does (ts-proto camel-cases acronyms: listMfaDevices)", () => {
    const control = controlOperations();
    expect(control.get("ListMFADevices")?.method).toBe("listMfaDevices");
    expect(control.get("CreateOpenIDConnectProvider")?.method).toBe("createOpenIdConnectProvider");
    for (const [name, op] of control) {
      expect(typeof (ControlServiceClient.prototype as unknown as Record<string, unknown>)[op.method], name).toBe(
        "function",
      );
    }
    for (const [name, op] of authzOperations()) {
      expect(typeof (AuthorizerServiceClient.prototype as unknown as Record<string, unknown>)[op.method], name).toBe(
        "function",
      );
    }
  });
});
