/**
 * The JSON forms of the ControlService and AuthorizerService messages the pages read (ts-proto's
 * `toJSON`: lowerCamelCase names, int64 as numbers, enums by name). Messages without enums are
 * the generated interfaces themselves; those with enums are restated with the names.
 */
import type {
  AccessKeyMetadata,
  AttachedPolicy,
  AuditEvent,
  Group,
  InstanceProfile,
  LoginProfile,
  ManagedPolicy,
  MFADevice,
  PageResponse,
  PolicyVersion,
  ResourcePolicyListEntry,
  Revision,
  Role,
  Tag,
  User,
} from "@gatehouse/proto";

// ts-proto's JSON leaves out fields at their default ("", 0, false, []): read every field of an
// answer as possibly absent.
export type {
  AccessKeyMetadata,
  AttachedPolicy,
  AuditEvent,
  Group,
  InstanceProfile,
  LoginProfile,
  ManagedPolicy,
  MFADevice,
  PageResponse,
  PolicyVersion,
  ResourcePolicyListEntry,
  Revision,
  Role,
  Tag,
  User,
};

/** EntityType by name, as the JSON form carries it. */
export type EntityTypeName = "ENTITY_TYPE_USER" | "ENTITY_TYPE_GROUP" | "ENTITY_TYPE_ROLE";

/** The three kinds of principal-like entity pages share sections for. */
export type EntityKind = "user" | "group" | "role";

/** EntityType of an entity kind. */
export const ENTITY_TYPE: Record<EntityKind, EntityTypeName> = {
  user: "ENTITY_TYPE_USER",
  group: "ENTITY_TYPE_GROUP",
  role: "ENTITY_TYPE_ROLE",
};

/** Decision by name. */
export type DecisionName =
  | "DECISION_UNSPECIFIED"
  | "DECISION_ALLOW"
  | "DECISION_EXPLICIT_DENY"
  | "DECISION_IMPLICIT_DENY";

/** SimulateResult's JSON form. */
export interface SimulateResultJson {
  action: string;
  resource: string;
  decision: DecisionName;
  explanationJson: string;
}

/** ContextValue's JSON form (a oneof: one of the fields). */
export type ContextValueJson =
  | { stringValue: string }
  | { numberValue: number }
  | { boolValue: boolean }
  | { listValue: { values: string[] } };

/** Responses are partial in JSON: ts-proto leaves out nothing, but a gateway may; read defensively. */
export type Json<T> = { [K in keyof T]?: T[K] };
