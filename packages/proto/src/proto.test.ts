import { describe, expect, it } from "vitest";
import { ChangeEvent, ControlServiceService, CreateUserRequest, Decision } from "./index.ts";

describe("generated wire contract", () => {
  it("round-trips a change event through the binary encoding", () => {
    const event = ChangeEvent.fromPartial({
      schemaVersion: 1,
      eventId: "e-1",
      accountId: "123456789012",
      revision: 42,
      committedAtMs: 1_700_000_000_000,
      key: { kind: "user", id: "AIDAEXAMPLE" },
      change: { $case: "upsertJson", value: '{"userName":"alice"}' },
    });
    const decoded = ChangeEvent.decode(ChangeEvent.encode(event).finish());
    expect(decoded).toEqual(event);
  });
  it("exposes grpc-js service definitions with the full method paths", () => {
    expect(ControlServiceService.createUser.path).toBe("/gatehouse.v1.ControlService/CreateUser");
    const bytes = ControlServiceService.createUser.requestSerialize(CreateUserRequest.fromPartial({ userName: "bob" }));
    expect(CreateUserRequest.decode(bytes).userName).toBe("bob");
  });
  it("generates enums as erasable const objects", () => {
    expect(Decision.DECISION_ALLOW).toBe(1);
  });
});
