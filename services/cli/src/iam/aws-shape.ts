/**
 * Turns a response message (ts-proto, lowerCamelCase, epoch milliseconds) into the JSON the AWS
 * CLI prints for the same operation: PascalCase keys with AWS's acronyms (`OpenIDConnectProviderArn`,
 * `MFADevices`), `…DateMs` as ISO-8601 `…Date` (and `passwordLastUsedMs` as `PasswordLastUsed`), policy documents as JSON objects, and the empty
 * defaults proto3 fills in (`""`, a zero date) left out, as AWS leaves out absent fields.
 */

/** AWS's spelling of the words ts-proto camel-cases (`Mfa` → `MFA`). */
const ACRONYMS: readonly [RegExp, string][] = [
  [/OpenId/g, "OpenID"],
  [/Mfa/g, "MFA"],
  [/ClientId/g, "ClientID"],
  [/Jwks/g, "JWKS"],
];

/** `userName` → `UserName`, `mfaDevices` → `MFADevices`. */
export function awsKey(key: string): string {
  let out = key.charAt(0).toUpperCase() + key.slice(1);
  for (const [re, to] of ACRONYMS) out = out.replace(re, to);
  return out;
}

/**
 * Epoch-ms fields AWS prints as ISO dates under a name without `Ms` and without `Date` in it
 * (`passwordLastUsedMs` → `PasswordLastUsed`); `…DateMs` fields are handled by their suffix.
 */
const TIME_FIELDS = new Set(["passwordLastUsedMs"]);

/** Fields whose values are maps with the server's keys (never renamed). */
const MAP_FIELDS = new Set(["summaryMap"]);

function isDocumentKey(key: string): boolean {
  return key === "document" || key.endsWith("Document") || key === "jwksJson";
}

/** The AWS CLI's rendering of a response (see the module comment). */
export function toAwsShape(value: unknown, key = ""): unknown {
  if (Array.isArray(value)) return value.map((v) => toAwsShape(v));
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (value === null || typeof value !== "object") {
    if (typeof value === "string" && isDocumentKey(key) && value.startsWith("{")) {
      try {
        return JSON.parse(value);
      } catch {
        return value;
      }
    }
    return value;
  }
  if (MAP_FIELDS.has(key)) return { ...(value as object) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined || v === "") continue;
    if (k.endsWith("DateMs") || TIME_FIELDS.has(k)) {
      if (typeof v === "number" && v > 0) out[awsKey(k.slice(0, -2))] = new Date(v).toISOString();
      continue;
    }
    out[awsKey(k)] = toAwsShape(v, k);
  }
  return out;
}
