import { IamError } from "@gatehouse/core";
import type { ChangeEvent } from "@gatehouse/proto";
import type { z } from "zod";
import {
  AccessKeyStateSchema,
  AccountStateSchema,
  ENTITY_KINDS,
  EntityKind,
  GroupStateSchema,
  InstanceProfileStateSchema,
  LoginProfileStateSchema,
  MfaDeviceStateSchema,
  OidcProviderStateSchema,
  PolicyStateSchema,
  ResourcePolicyStateSchema,
  RoleStateSchema,
  StsKeySetStateSchema,
  type TypedEntity,
  UserStateSchema,
} from "./entity-state.ts";

/** A change event whose entity state is decoded and validated against its kind's type. */
export type TypedEntityChange = TypedEntity & {
  readonly accountId: string;
  readonly revision: number;
  readonly eventId: string;
  readonly committedAtMs: number;
  readonly epoch: string;
};

/**
 * Checks one entity's state document (already parsed from JSON) against its kind's type and
 * returns it typed; `null` is a tombstone. Throws a non-retriable `ValidationError` naming the
 * entity and the offending field for an unknown kind, a missing or mistyped field, or a field the
 * type does not have, so consumers dead-letter such an event rather than apply half of it.
 * @example
 * const entity = decodeEntity(e.kind, e.id, e.state);
 * if (entity.kind === "role" && entity.state !== null) trust(entity.state.assumeRolePolicyDocument);
 */
export function decodeEntity(kind: string, id: string, state: unknown): TypedEntity {
  switch (kind) {
    case EntityKind.account:
      return { kind, id, state: check(AccountStateSchema, kind, id, state) };
    case EntityKind.user:
      return { kind, id, state: check(UserStateSchema, kind, id, state) };
    case EntityKind.group:
      return { kind, id, state: check(GroupStateSchema, kind, id, state) };
    case EntityKind.role:
      return { kind, id, state: check(RoleStateSchema, kind, id, state) };
    case EntityKind.policy:
      return { kind, id, state: check(PolicyStateSchema, kind, id, state) };
    case EntityKind.accessKey:
      return { kind, id, state: check(AccessKeyStateSchema, kind, id, state) };
    case EntityKind.loginProfile:
      return { kind, id, state: check(LoginProfileStateSchema, kind, id, state) };
    case EntityKind.mfaDevice:
      return { kind, id, state: check(MfaDeviceStateSchema, kind, id, state) };
    case EntityKind.instanceProfile:
      return { kind, id, state: check(InstanceProfileStateSchema, kind, id, state) };
    case EntityKind.oidcProvider:
      return { kind, id, state: check(OidcProviderStateSchema, kind, id, state) };
    case EntityKind.resourcePolicy:
      return { kind, id, state: check(ResourcePolicyStateSchema, kind, id, state) };
    case EntityKind.stsKeySet:
      return { kind, id, state: check(StsKeySetStateSchema, kind, id, state) };
    default:
      throw new IamError(
        "ValidationError",
        `entity kind ${JSON.stringify(kind)} (id ${JSON.stringify(id)}) is not one of ${ENTITY_KINDS.join(", ")}`,
        { field: "key.kind" },
      );
  }
}

/**
 * Decodes the entity a change event carries (its `upsert_json` state, or its tombstone) into the
 * typed union, keeping the envelope's fields. Throws like {@link decodeEntity}, and for an event
 * without a key or a change, or whose `upsert_json` is not JSON.
 */
export function decodeEntityChange(event: ChangeEvent): TypedEntityChange {
  if (event.key === undefined) {
    throw new IamError("ValidationError", `change event ${event.eventId || "(no id)"} has no key`, { field: "key" });
  }
  const { kind, id } = event.key;
  let state: unknown;
  switch (event.change?.$case) {
    case "delete":
      state = null;
      break;
    case "upsertJson":
      try {
        state = JSON.parse(event.change.value);
      } catch (e) {
        throw new IamError("ValidationError", `${kind} ${JSON.stringify(id)}: upsert_json is not JSON`, {
          field: "upsertJson",
          cause: e,
        });
      }
      // JSON null is no state at all; a tombstone is the `delete` case, never an upsert.
      if (state === null) {
        throw new IamError("ValidationError", `${kind} ${JSON.stringify(id)}: upsert_json is null`, {
          field: "upsertJson",
        });
      }
      break;
    default:
      throw new IamError("ValidationError", `${kind} ${JSON.stringify(id)}: the change event carries no change`, {
        field: "change",
      });
  }
  return {
    ...decodeEntity(kind, id, state),
    accountId: event.accountId,
    revision: event.revision,
    eventId: event.eventId,
    committedAtMs: event.committedAtMs,
    epoch: event.epoch,
  };
}

function check<T>(schema: z.ZodType<T>, kind: string, id: string, state: unknown): T | null {
  if (state === null) return null;
  const r = schema.safeParse(state);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const at = issue === undefined ? "" : pathOf(issue.path);
  const field = issue?.code === "unrecognized_keys" ? `${at}${at === "" ? "" : "."}${issue.keys[0] ?? ""}` : at;
  throw new IamError(
    "ValidationError",
    `${kind} ${JSON.stringify(id)} state: ${at === "" ? "" : `field ${at}: `}${issue?.message ?? "invalid"}` +
      (r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more)` : ""),
    { field: field === "" ? "state" : `state.${field}` },
  );
}

function pathOf(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}
