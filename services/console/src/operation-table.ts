import { join } from "node:path";
import * as messages from "@gatehouse/proto";
import { PROTO_DIR } from "@gatehouse/proto";
import protobuf from "protobufjs";

/** ts-proto's JSON functions of one message (`CreateUserRequest.fromJSON`, `UserResponse.toJSON`). */
export interface JsonMessage {
  fromJSON(object: unknown): unknown;
  toJSON(message: unknown): unknown;
}

/** One RPC the gateway relays: its generated method name and its messages' JSON functions. */
export interface RelayedOperation {
  /** The generated (lowerCamelCase) method name the SDK calls (`createUser`). */
  readonly method: string;
  readonly request: JsonMessage;
  readonly response: JsonMessage;
}

/**
 * ControlService methods the console never relays: the operator's (accounts, the STS key set) and
 * ExportAccount (the whole account with its sealed secrets' metadata; the console has no use for it).
 */
export const OPERATOR_ONLY_OPERATIONS: ReadonlySet<string> = new Set([
  "CreateAccount",
  "ListAccounts",
  "ExportAccount",
  "RotateStsKeys",
]);

/** The AuthorizerService methods `/api/authz/{Operation}` relays (API.md). */
export const AUTHZ_OPERATIONS: ReadonlySet<string> = new Set(["Simulate", "Authorize", "BatchAuthorizePrincipal"]);

const lowerFirst = (s: string) => `${s.charAt(0).toLowerCase()}${s.slice(1)}`;

function jsonMessage(typeName: string): JsonMessage {
  const found = (messages as Record<string, unknown>)[typeName] as Partial<JsonMessage> | undefined;
  if (typeof found?.fromJSON !== "function" || typeof found.toJSON !== "function") {
    throw new Error(`the generated code has no message ${typeName}; run npm run gen`);
  }
  return found as JsonMessage;
}

/**
 * The operations of a gatehouse.v1 service by their proto names (`CreateUser`), read from the
 * `.proto` sources the generated code was made from (ts-proto's service definitions do not name
 * their message types at run time), each tied to the generated message's `fromJSON`/`toJSON`.
 * A message the generated code lacks fails here, at start-up.
 */
export function loadOperations(
  file: string,
  service: string,
  keep: (name: string) => boolean,
): Map<string, RelayedOperation> {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith("/") ? target : join(PROTO_DIR, target));
  root.loadSync(file, { keepCase: true });
  const definition = root.lookupService(`gatehouse.v1.${service}`);
  const table = new Map<string, RelayedOperation>();
  const generated = (messages as Record<string, unknown>)[`${service}Service`] as Record<string, { path: string }>;
  const byPath = new Map(Object.entries(generated).map(([k, v]) => [v.path.slice(v.path.lastIndexOf("/") + 1), k]));
  for (const [name, method] of Object.entries(definition.methods)) {
    if (!keep(name)) continue;
    table.set(name, {
      method: byPath.get(name) ?? lowerFirst(name),
      request: jsonMessage(method.requestType.replace(/^.*\./, "")),
      response: jsonMessage(method.responseType.replace(/^.*\./, "")),
    });
  }
  return table;
}

/** `/api/iam/{Operation}`: every ControlService method but the operator's. */
export function controlOperations(): Map<string, RelayedOperation> {
  return loadOperations("gatehouse/v1/control.proto", "ControlService", (n) => !OPERATOR_ONLY_OPERATIONS.has(n));
}

/** `/api/authz/{Operation}`: {@link AUTHZ_OPERATIONS} of AuthorizerService. */
export function authzOperations(): Map<string, RelayedOperation> {
  return loadOperations("gatehouse/v1/authorizer.proto", "AuthorizerService", (n) => AUTHZ_OPERATIONS.has(n));
}
