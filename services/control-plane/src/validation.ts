import { IamError } from "@gatehouse/core";
import { type Finding, PolicyError, type PolicyKind, validatePolicy } from "@gatehouse/policy";
import { AUTHORIZATION_DETAILS_ENTITY_TYPES, type AuthorizationDetailsEntityType } from "@gatehouse/store-postgres";

/** Policy findings carried by an error (a {@link PolicyError}), for the ErrorDetail trailer. */
export function findingsOf(error: IamError): readonly Finding[] {
  return error instanceof PolicyError ? error.findings : [];
}

const NAME = /^[\w+=,.@-]+$/;
// AWS: `/` or `/[\x21-\x7e]+/`, so "//" (an empty segment alone) is refused.
const PATH = /^\/([\x21-\x7e]+\/)?$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/** A `ValidationError` naming `field`, its message beginning with the field. */
function invalid(field: string, message: string): IamError {
  return new IamError("ValidationError", `${field} ${message}`, { field });
}

/** AWS IAM name rules: letters, digits and `+=,.@_-`, 1..max characters. */
export function checkName(value: string, field: string, max: number): string {
  if (value.length === 0) throw invalid(field, "is required");
  if (value.length > max) throw invalid(field, `${JSON.stringify(value)} is longer than ${max} characters`);
  if (!NAME.test(value)) throw invalid(field, `${JSON.stringify(value)} may contain only letters, digits and +=,.@_-`);
  return value;
}

/** A path: `/` or `/segments/`, printable ASCII, at most 512 characters; empty means `/`. */
export function checkPath(value: string, field = "path"): string {
  if (value === "") return "/";
  if (value.length > 512 || !PATH.test(value)) {
    throw invalid(
      field,
      `${JSON.stringify(value)} must begin and end with "/" and be at most 512 printable characters`,
    );
  }
  return value;
}

/**
 * The new path of UpdateUser/UpdateGroup: absent keeps the current one, so an empty one is
 * invalid here (AWS's NewPath has a minimum length of 1) instead of meaning `/`.
 */
export function checkNewPath(value: string | undefined, field = "newPath"): string | undefined {
  if (value === undefined) return undefined;
  if (value === "") throw invalid(field, "must not be empty (leave it out to keep the current path)");
  return checkPath(value, field);
}

/** Tag keys beginning with `aws:` (in any case) are reserved to AWS. */
function checkNotReserved(key: string, field: string): void {
  if (/^aws:/i.test(key)) {
    throw new IamError("InvalidInput", `${field} ${JSON.stringify(key)} begins with "aws:", which is reserved`, {
      field,
    });
  }
}

/**
 * At most 50 tags, AWS's characters and lengths, no reserved `aws:` keys, keys unique: compared
 * case-insensitively on users and roles (`keysIgnoreCase`, as AWS does) and exactly on the other
 * taggable entities.
 */
export function checkTags(
  tags: readonly { key: string; value: string }[],
  keysIgnoreCase = true,
): { key: string; value: string }[] {
  if (tags.length > 50)
    throw new IamError("LimitExceeded", `tags has ${tags.length} entries; at most 50`, { field: "tags" });
  const seen = new Set<string>();
  return tags.map((t, i) => {
    if (!TAG_KEY.test(t.key)) throw invalid(`tags[${i}].key`, `${JSON.stringify(t.key)} is not a valid tag key`);
    checkNotReserved(t.key, `tags[${i}].key`);
    if (!TAG_VALUE.test(t.value))
      throw invalid(`tags[${i}].value`, `${JSON.stringify(t.value)} is not a valid tag value`);
    const k = keysIgnoreCase ? t.key.toLowerCase() : t.key;
    if (seen.has(k)) throw invalid(`tags[${i}].key`, `${JSON.stringify(t.key)} is duplicated`);
    seen.add(k);
    return { key: t.key, value: t.value };
  });
}

/** Tag keys to remove: 1..50 valid keys, none reserved. */
export function checkTagKeys(keys: readonly string[]): string[] {
  if (keys.length === 0 || keys.length > 50) throw invalid("tagKeys", `has ${keys.length} entries; 1..50 allowed`);
  return keys.map((k, i) => {
    if (!TAG_KEY.test(k)) throw invalid(`tagKeys[${i}]`, `${JSON.stringify(k)} is not a valid tag key`);
    checkNotReserved(k, `tagKeys[${i}]`);
    return k;
  });
}

/** Free text up to `max` characters. */
export function checkText(value: string, field: string, max: number): string {
  if (value.length > max) throw invalid(field, `is longer than ${max} characters`);
  return value;
}

/**
 * Validates a policy document with the policy engine for its kind ("managed", "inline-user",
 * "trust", …). Errors become a {@link PolicyError} carrying every finding: `LimitExceeded` when the
 * document is only too large for its kind (as IAM reports it), `MalformedPolicyDocument` otherwise.
 *
 * Returns the document without insignificant whitespace, which is what gets stored and relayed.
 * The size quota does not count whitespace (as AWS's does not), so padding would otherwise pass
 * through to storage, the change stream and the deciders' caches at up to the gRPC message limit.
 * AWS returns a document as it was sent; Gatehouse returns it minified (README, "Policy size").
 */
export function checkPolicyDocument(document: string, kind: PolicyKind, field: string): string {
  if (document === "") throw new IamError("MalformedPolicyDocument", `${field} is required`, { field });
  const findings = validatePolicy(document, { kind });
  const errors = findings.filter((f) => f.severity === "error");
  if (errors.length > 0) {
    const first = errors[0] as Finding;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    throw new PolicyError(`${field}: ${first.path}: ${first.message}${more}`, findings, { field });
  }
  return withoutInsignificantWhitespace(document);
}

/**
 * JSON text with the whitespace between tokens removed, every token kept byte for byte (numbers
 * are not re-formatted, escapes not re-encoded, duplicate keys not merged, as a parse and
 * re-serialization would). Only called on text the policy engine has parsed as JSON.
 */
function withoutInsignificantWhitespace(text: string): string {
  let out = "";
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) {
      inString = true;
    } else if (c === 32 || c === 9 || c === 10 || c === 13) {
      out += text.slice(from, i);
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

/** Role session length: 0 means the default 3600; otherwise 3600..43200 seconds. */
export function checkMaxSessionDuration(seconds: number): number {
  if (seconds === 0) return 3600;
  if (!Number.isInteger(seconds) || seconds < 3600 || seconds > 43_200) {
    throw invalid("maxSessionDuration", `${seconds} must be between 3600 and 43200 seconds`);
  }
  return seconds;
}

/**
 * GetAccountAuthorizationDetails' entity types: each one of AWS's values, spelled as AWS spells
 * them (`User`, `Role`, `Group`, `LocalManagedPolicy`, `AWSManagedPolicy`), duplicates dropped;
 * none means all.
 */
export function checkEntityFilter(values: readonly string[], field = "filter"): AuthorizationDetailsEntityType[] {
  const allowed: readonly string[] = AUTHORIZATION_DETAILS_ENTITY_TYPES;
  const checked = values.map((v, i) => {
    if (!allowed.includes(v)) {
      throw invalid(`${field}[${i}]`, `${JSON.stringify(v)} must be one of ${allowed.join(", ")}`);
    }
    return v as AuthorizationDetailsEntityType;
  });
  return [...new Set(checked)];
}

const ACCOUNT_ALIAS = /^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$/;

/** AWS's account alias rules: 3..63 of a-z, 0-9 and single hyphens inside; not a 12-digit account id. */
export function checkAccountAlias(value: string): string {
  if (!ACCOUNT_ALIAS.test(value)) {
    throw invalid(
      "accountAlias",
      `${JSON.stringify(value)} must be 3..63 lower-case letters, digits and single hyphens, not starting or ending with a hyphen`,
    );
  }
  if (/^\d{12}$/.test(value))
    throw invalid("accountAlias", `${JSON.stringify(value)} must not look like an account id`);
  return value;
}

/** An access key id as AWS checks it in a request: 16..128 letters, digits or `_` (`[\w]+`). */
export function checkAccessKeyId(value: string, field = "accessKeyId"): string {
  if (value.length === 0) throw invalid(field, "is required");
  if (value.length < 16 || value.length > 128 || !/^\w+$/.test(value)) {
    throw invalid(field, `${JSON.stringify(value)} must be 16..128 letters, digits or _`);
  }
  return value;
}

/** An integer setting: 0 means `zero`, anything else must be in min..max. */
export function checkSetting(value: number, field: string, min: number, max: number, zero: number): number {
  if (value === 0) return zero;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(field, `${value} must be between ${min} and ${max}`);
  }
  return value;
}

/** A password as sent: 1..128 characters. The message never echoes it. */
export function checkPasswordInput(value: string, field: string): string {
  if (value.length === 0 || value.length > 128) throw invalid(field, "must be 1..128 characters");
  return value;
}

/**
 * An OpenID Connect issuer URL: `https://`, a host, an optional path, no query or fragment, at most
 * 255 characters. Returns it without the scheme and trailing slash, as AWS stores and returns it.
 */
export function checkOidcUrl(value: string, field = "url"): string {
  if (value.length === 0 || value.length > 255) throw invalid(field, "must be 1..255 characters");
  const bad = (why: string) => new IamError("InvalidInput", `${field} ${JSON.stringify(value)} ${why}`, { field });
  if (!/^https:\/\//i.test(value)) throw bad("must begin with https://");
  if (/[?#\s]/.test(value)) throw bad("must not have a query, a fragment or white space");
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw bad("is not a URL");
  }
  // An https URL always has a host, but the parser skips extra slashes before it ("https:///host"
  // has the host "host"), which would leave the stored URL beginning with "/".
  if (value.charAt("https://".length) === "/" || parsed.username !== "" || parsed.password !== "") {
    throw bad("must name a host and carry no credentials");
  }
  return value.slice("https://".length).replace(/\/+$/, "");
}

/** One client id (audience): 1..255 characters. */
export function checkClientId(value: string, field = "clientId"): string {
  if (value.length === 0 || value.length > 255) throw invalid(field, "must be 1..255 characters");
  return value;
}

/**
 * Client ids, duplicates dropped (order kept). How many a provider may have is the store's
 * `clientIdsPerOidcProvider` quota.
 */
export function checkClientIds(values: readonly string[], field = "clientIdList"): string[] {
  return [...new Set(values.map((v, i) => checkClientId(v, `${field}[${i}]`)))];
}

/**
 * Thumbprints: SHA-1 fingerprints of 40 hex characters, kept lower-case, duplicates dropped. How
 * many a provider may have is the store's `thumbprintsPerOidcProvider` quota.
 */
export function checkThumbprints(values: readonly string[], field = "thumbprintList"): string[] {
  return [
    ...new Set(
      values.map((v, i) => {
        if (!/^[0-9a-fA-F]{40}$/.test(v))
          throw invalid(`${field}[${i}]`, `${JSON.stringify(v)} must be 40 hex characters`);
        return v.toLowerCase();
      }),
    ),
  ];
}

/**
 * An optional JWKS document: JSON, at most 64 KiB, an object whose `keys` is an array of 1..100
 * objects each with a string `kty`. Empty means none.
 */
export function checkJwks(value: string, field = "jwksJson"): string | null {
  if (value === "") return null;
  const bad = (why: string) => new IamError("InvalidInput", `${field} ${why}`, { field });
  if (value.length > 65_536) throw bad("is larger than 64 KiB");
  let doc: unknown;
  try {
    doc = JSON.parse(value);
  } catch (e) {
    throw bad(`is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  // Only an object can have a `keys` array (an array's `keys` is a method).
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    throw bad('must be a JSON object with a "keys" array');
  }
  if (keys.length === 0 || keys.length > 100) throw bad(`must have 1..100 keys, has ${keys.length}`);
  keys.forEach((k: unknown, i) => {
    if (typeof (k as { kty?: unknown } | null)?.kty !== "string") {
      throw bad(`keys[${i}] must be an object with a string "kty"`);
    }
  });
  return value;
}
