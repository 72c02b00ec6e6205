import { IamError, IamErrorName, type IamErrorNameValue } from "@gatehouse/core";

/** Unique indexes and the request field a clash on each one is about. */
const UNIQUE_FIELDS: Record<string, { field: string; what: string }> = {
  accounts_pkey: { field: "accountId", what: "account" },
  accounts_alias_key: { field: "accountAlias", what: "account alias" },
  users_name_key: { field: "userName", what: "user" },
  groups_name_key: { field: "groupName", what: "group" },
  roles_name_key: { field: "roleName", what: "role" },
  managed_policies_name_key: { field: "policyName", what: "managed policy" },
  group_memberships_pkey: { field: "userName", what: "group membership" },
  policy_attachments_user: { field: "policyArn", what: "policy attachment" },
  policy_attachments_group: { field: "policyArn", what: "policy attachment" },
  policy_attachments_role: { field: "policyArn", what: "policy attachment" },
  inline_policies_user: { field: "policyName", what: "inline policy" },
  inline_policies_group: { field: "policyName", what: "inline policy" },
  inline_policies_role: { field: "policyName", what: "inline policy" },
  mfa_devices_pkey: { field: "virtualMfaDeviceName", what: "virtual MFA device" },
  mfa_devices_name_key: { field: "virtualMfaDeviceName", what: "virtual MFA device" },
  instance_profiles_name_key: { field: "instanceProfileName", what: "instance profile" },
  oidc_providers_pkey: { field: "url", what: "OpenID Connect provider" },
  idempotency_tokens_pkey: { field: "clientRequestToken", what: "client request token" },
};

interface PgLikeError {
  code?: string;
  constraint?: string;
  detail?: string;
  hint?: string;
  table?: string;
}

/** The SQLSTATE of `gh_fail` (migration 0013): an AWS error raised by a write function. */
const RAISED_BY_WRITE_FUNCTION = "GH400";

function isIamErrorName(name: string | undefined): name is IamErrorNameValue {
  return name !== undefined && Object.hasOwn(IamErrorName, name);
}

function isPgError(e: unknown): e is Error & PgLikeError {
  return e instanceof Error && typeof (e as PgLikeError).code === "string";
}

/**
 * Translates a node-postgres error into an {@link IamError}, once, at the edge of the store.
 * IamErrors pass through unchanged; anything unknown becomes `ServiceFailure` with the cause kept
 * for the logs. `context` says what was being done ("createUser") and appears in the message.
 */
export function translatePgError(e: unknown, context: string): IamError {
  if (IamError.is(e)) return e;
  if (!isPgError(e)) {
    // Network errors from the driver (ECONNREFUSED, connection terminated) carry no SQLSTATE.
    const message = e instanceof Error ? e.message : String(e);
    if (/ECONNREFUSED|ECONNRESET|terminated|timeout|Connection/i.test(message)) {
      return new IamError("ServiceUnavailable", `${context}: the database is unavailable`, { cause: e });
    }
    return new IamError("ServiceFailure", `${context} failed`, { cause: e });
  }
  const code = e.code ?? "";
  const constraint = e.constraint ?? "";
  switch (code) {
    case RAISED_BY_WRITE_FUNCTION:
      return isIamErrorName(e.detail)
        ? new IamError(e.detail, e.message, e.hint === undefined || e.hint === "" ? {} : { field: e.hint })
        : new IamError("ServiceFailure", `${context} failed`, { cause: e });
    case "23505": {
      const known = UNIQUE_FIELDS[constraint];
      if (known === undefined) {
        return new IamError("EntityAlreadyExists", `${context}: the entity already exists`, { cause: e });
      }
      if (known.field === "clientRequestToken") {
        return new IamError(
          "ConcurrentModification",
          `${context}: a call with the same clientRequestToken is running`,
          {
            field: known.field,
            cause: e,
          },
        );
      }
      return new IamError("EntityAlreadyExists", `${context}: the ${known.what} already exists`, {
        field: known.field,
        cause: e,
      });
    }
    case "23503":
      // RESTRICT foreign keys fire when deleting something still referenced.
      return /still referenced|is still/.test(e.detail ?? "") || /update or delete/.test(e.message)
        ? new IamError("DeleteConflict", `${context}: the entity is still in use (${e.table ?? constraint})`, {
            cause: e,
          })
        : new IamError("NoSuchEntity", `${context}: a referenced entity does not exist`, { cause: e });
    case "23514":
      if (constraint === "policy_versions_limit") {
        return new IamError("LimitExceeded", `${context}: a managed policy can have at most 5 versions`, {
          field: "policyArn",
          cause: e,
        });
      }
      return new IamError("InvalidInput", `${context}: a value breaks rule ${constraint || "(check)"}`, { cause: e });
    case "22001":
    case "22P02":
    case "23502":
      return new IamError("InvalidInput", `${context}: a value is malformed`, { cause: e });
    case "40001":
    case "40P01":
    case "55P03":
      return new IamError("ConcurrentModification", `${context}: a concurrent change conflicted; retry`, {
        retriable: true,
        cause: e,
      });
    case "53300":
    case "57P01":
    case "57P02":
    case "57P03":
      return new IamError("ServiceUnavailable", `${context}: the database is unavailable`, { cause: e });
    default:
      if (code.startsWith("08")) {
        return new IamError("ServiceUnavailable", `${context}: the database is unavailable`, { cause: e });
      }
      return new IamError("ServiceFailure", `${context} failed`, { cause: e });
  }
}
