import { IamError } from "@gatehouse/core";
import type { ContextValue } from "@gatehouse/policy";
import type { JWTPayload } from "jose";

/*
 * What STS sets on a session besides its principal and policies, checked one way for every call
 * that sets it (AssumeRole, AssumeRoleWithWebIdentity): session tags and transitive keys, and the
 * source identity (AWS's "Pass session tags in AWS STS" and "Monitor and control actions taken
 * with assumed roles").
 */

/** AWS's limit on session tags per call. */
export const MAX_TAGS = 50;

function validation(field: string, message: string): IamError {
  return new IamError("ValidationError", message, { field });
}

/** AWS's SourceIdentity: the pattern `[\w+=,.@-]*`, 2..64 characters. */
const SOURCE_IDENTITY = /^[\w+=,.@-]{2,64}$/;
/** A web identity token's claims AWS reads session tags and the source identity from. */
const TAGS_CLAIM = "https://aws.amazon.com/tags";
/** The web identity token claim that sets the source identity. */
export const SOURCE_IDENTITY_CLAIM = "https://aws.amazon.com/source_identity";
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

/** A session tag. */
export type SessionTag = { readonly key: string; readonly value: string };

/** Checks a source identity as AWS does, naming `field` (AWS's prefix `aws:` is reserved). */
export function checkSourceIdentity(field: string, value: string): void {
  if (value.toLowerCase().startsWith("aws:")) {
    throw validation(field, `${field} ${JSON.stringify(value)} begins with "aws:", which is reserved`);
  }
  if (!SOURCE_IDENTITY.test(value)) {
    throw validation(field, `${field} must be 2-64 characters of [A-Za-z0-9_+=,.@-]`);
  }
}

/**
 * Checks session tags and transitive keys as AWS does for every tagging STS call (at most 50
 * tags, keys 1-128 characters, values at most 256; no key twice, in any case, nor over an
 * inherited transitive tag; each transitive key among the tags). `at` names the fields.
 */
export function checkSessionTags(
  tags: readonly SessionTag[],
  transitiveTagKeys: readonly string[],
  inherited: readonly SessionTag[],
  at: { readonly tags: string; readonly transitiveTagKeys: string },
): void {
  if (tags.length > MAX_TAGS) throw validation(at.tags, `${at.tags} has ${tags.length} tags, at most ${MAX_TAGS}`);
  const seen = new Set(inherited.map((t) => t.key.toLowerCase()));
  for (const [i, t] of tags.entries()) {
    if (!TAG_KEY.test(t.key)) throw validation(`${at.tags}[${i}].key`, "a tag key must be 1-128 characters");
    if (t.value.length > 256) throw validation(`${at.tags}[${i}].value`, "a tag value must be at most 256 characters");
    if (seen.has(t.key.toLowerCase())) {
      throw validation(
        `${at.tags}[${i}].key`,
        `tag key ${JSON.stringify(t.key)} is given twice or overrides a transitive tag`,
      );
    }
    seen.add(t.key.toLowerCase());
  }
  for (const [i, k] of transitiveTagKeys.entries()) {
    if (!tags.some((t) => t.key.toLowerCase() === k.toLowerCase())) {
      throw validation(
        `${at.transitiveTagKeys}[${i}]`,
        `transitive tag key ${JSON.stringify(k)} is not among the tags`,
      );
    }
  }
}

/** The trust policy context keys of session tags being set (as AssumeRole's request carries them). */
export function tagRequestContext(
  context: Record<string, ContextValue>,
  tags: readonly SessionTag[],
  transitiveTagKeys: readonly string[],
): void {
  if (tags.length > 0) {
    for (const t of tags) context[`aws:RequestTag/${t.key}`] = t.value;
    context["aws:TagKeys"] = tags.map((t) => t.key);
  }
  if (transitiveTagKeys.length > 0) context["sts:TransitiveTagKeys"] = [...transitiveTagKeys];
}

/**
 * A web identity token's session tags: its `https://aws.amazon.com/tags` claim, an object with
 * `principal_tags` (each key to one value: a one-string array, as AWS's examples give it, or a
 * string) and `transitive_tag_keys` (strings). Anything else is an invalid token.
 */
export function webIdentityTags(
  payload: JWTPayload,
  invalidToken: (message: string) => IamError,
): { tags: SessionTag[]; transitiveTagKeys: string[] } {
  const claim = payload[TAGS_CLAIM];
  if (claim === undefined) return { tags: [], transitiveTagKeys: [] };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isObject(claim)) throw invalidToken(`the ${TAGS_CLAIM} claim must be an object`);
  const principalTags = claim.principal_tags ?? {};
  const transitive = claim.transitive_tag_keys ?? [];
  if (!isObject(principalTags)) throw invalidToken(`${TAGS_CLAIM}: principal_tags must be an object`);
  if (!Array.isArray(transitive) || !transitive.every((k) => typeof k === "string")) {
    throw invalidToken(`${TAGS_CLAIM}: transitive_tag_keys must be an array of strings`);
  }
  const tags: SessionTag[] = [];
  for (const [key, v] of Object.entries(principalTags)) {
    const value = Array.isArray(v) && v.length === 1 ? v[0] : v;
    if (typeof value !== "string") {
      throw invalidToken(`${TAGS_CLAIM}: principal_tags.${key} must be one string value`);
    }
    tags.push({ key, value });
  }
  return { tags, transitiveTagKeys: transitive as string[] };
}
