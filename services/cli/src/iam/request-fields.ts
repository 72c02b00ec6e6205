import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

/** A request field as the proto describes it, under the generated (lowerCamelCase) name. */
export interface RequestField {
  readonly name: string;
  /** The proto type: `string`, `uint32`, `bool`, a message (`Tag`, `PageRequest`) or an enum. */
  readonly type: string;
  readonly repeated: boolean;
  /** `optional` in the proto: absent means "keep" (UpdateUser's new_path). */
  readonly optional: boolean;
  /** The field's comment in the proto, for `--help`. */
  readonly comment: string | undefined;
}

/** Where the wire contract lives (the CLI runs from the repository, like `./gw`). */
const CONTROL_PROTO = fileURLToPath(new URL("../../../../proto/gatehouse/v1/control.proto", import.meta.url));

let cached: Map<string, { fields: RequestField[]; comment: string | undefined }> | undefined;

/**
 * The ControlService's RPCs, by their lower-cased name (`createvirtualmfadevice`), with their
 * request fields and comments, read from `proto/gatehouse/v1/control.proto`: the command table
 * is generated from the service descriptor, so a field added to the proto is a flag at once.
 */
export function controlRpcs(): Map<string, { fields: RequestField[]; comment: string | undefined }> {
  if (cached !== undefined) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith("gatehouse/") ? fileURLToPath(new URL(`../../../../proto/${target}`, import.meta.url)) : target;
  root.loadSync(CONTROL_PROTO, { keepCase: false, alternateCommentMode: true });
  root.resolveAll();
  const service = root.lookupService("gatehouse.v1.ControlService");
  cached = new Map();
  for (const method of service.methodsArray) {
    const type = root.lookupType(`gatehouse.v1.${method.requestType}`);
    cached.set(method.name.toLowerCase(), {
      comment: method.comment ?? undefined,
      fields: type.fieldsArray.map((f) => ({
        name: f.name,
        type: f.type,
        repeated: f.repeated,
        optional: f.options?.proto3_optional === true || (f as { proto3Optional?: boolean }).proto3Optional === true,
        comment: f.comment ?? undefined,
      })),
    });
  }
  return cached;
}

/** The fields of an RPC's request (`createUser` → CreateUserRequest's fields). */
export function requestFieldsOf(rpc: string): readonly RequestField[] {
  const found = controlRpcs().get(rpc.toLowerCase());
  if (found === undefined) throw new Error(`ControlService has no RPC ${rpc}`);
  return found.fields;
}

/** The RPC's comment in the proto. */
export function rpcComment(rpc: string): string | undefined {
  return controlRpcs().get(rpc.toLowerCase())?.comment;
}
