import { IamError } from "@gatehouse/core";
import { type Finding, PolicyError, type PolicyKind, validatePolicy } from "@gatehouse/policy";

/** Policy findings carried by an error (a {@link PolicyError}), for the ErrorDetail trailer. */
export function findingsOf(error: IamError): readonly Finding[] {
  return error instanceof PolicyError ? error.findings : [];
}

const NAME = /^[\w+=,.@-]+$/;
const PATH = /^\/([\x21-\x7e]*\/)?$/;
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/** A `ValidationError` naming `field`, its message beginning with the field. */
export function invalid(field: string, message: string): IamError {
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
  return document;
}
