/**
 * AWS-style unique identifiers. IAM unique IDs are 21 characters: a four-letter prefix naming the
 * entity type and 17 characters of upper-case letters and digits; access key IDs are 20.
 */
export const IdPrefix = Object.freeze({
  user: "AIDA",
  group: "AGPA",
  role: "AROA",
  managedPolicy: "ANPA",
  instanceProfile: "AIPA",
  accessKey: "AKIA",
  temporaryAccessKey: "ASIA",
  serverCertificate: "ASCA",
} as const);

/** The kinds of entity that get a prefixed unique ID. */
export type IdKind = keyof typeof IdPrefix;

// AWS uses upper-case base32 (A-Z, 2-7) in its IDs; doing the same keeps ours recognisable.
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** Random base32 characters from the platform CSPRNG (`globalThis.crypto`, no I/O import). */
export function randomBase32(length: number): string {
  const bytes = new Uint8Array(length);
  globalThis.crypto.getRandomValues(bytes);
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}

/**
 * A new unique ID for an entity kind: `newId("user")` → `AIDA` + 17 characters; access keys get 16.
 */
export function newId(kind: IdKind): string {
  const prefix = IdPrefix[kind];
  const bodyLength = kind === "accessKey" || kind === "temporaryAccessKey" ? 16 : 17;
  return prefix + randomBase32(bodyLength);
}

/** The entity kind an ID's prefix announces, or `undefined` for an unknown prefix. */
export function idKindOf(id: string): IdKind | undefined {
  const prefix = id.slice(0, 4);
  for (const [kind, p] of Object.entries(IdPrefix)) if (p === prefix) return kind as IdKind;
  return undefined;
}
