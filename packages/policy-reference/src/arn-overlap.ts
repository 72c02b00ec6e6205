/**
 * Whether a policy's Resource ARN can name a resource of a type whose ARN format the service
 * reference gives (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`).
 *
 * Both sides become a sequence of tokens: literal characters, `?` (one character) and stars (any
 * run of characters, possibly excluding `/` or `:`). Two such patterns share a string exactly when
 * the product of their automata reaches both ends, which a search over position pairs decides.
 * The answer errs towards "fits" wherever the policy is vaguer than AWS is, because a false
 * warning on a working policy is worse than a missed one:
 * - a policy `*` matches any text, colons included (AWS lets it cross a colon only as the last
 *   character of a segment), and a policy variable `${…}` is a `*`, whatever the Version;
 * - letters compare case-insensitively;
 * - a format placeholder before the resource part (`${Partition}`, `${Region}`, `${Account}`)
 *   matches any text without a colon, possibly empty; one in the resource part matches any text,
 *   except the few whose AWS naming rules forbid `/` and `:` ({@link SEGMENT_PLACEHOLDERS}).
 */

type Token =
  | { readonly kind: "char"; readonly char: string }
  | { readonly kind: "one" }
  | { readonly kind: "star"; readonly noSlash: boolean; readonly noColon: boolean };

/**
 * Placeholders whose values can contain neither `/` nor `:` even in the resource part: S3 bucket
 * names are lower-case letters, digits, dots and hyphens (S3 User Guide, "Bucket naming rules").
 * This is what tells `arn:aws:s3:::bucket/*` (objects) from a bucket.
 */
const SEGMENT_PLACEHOLDERS = new Set(["BucketName"]);

const ANY: Token = { kind: "star", noSlash: false, noColon: false };
const NO_COLON: Token = { kind: "star", noSlash: false, noColon: true };
const SEGMENT: Token = { kind: "star", noSlash: true, noColon: true };
const ONE: Token = { kind: "one" };

const charTokens = new Map<string, Token>();
function charToken(c: string): Token {
  const lower = c.toLowerCase();
  let t = charTokens.get(lower);
  if (t === undefined) {
    t = { kind: "char", char: lower };
    charTokens.set(lower, t);
  }
  return t;
}

/** Tokens of a policy Resource: `*`, `?` and `${…}` are wildcards, the rest literal. */
function policyArnTokens(arn: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < arn.length; i++) {
    const c = arn[i] as string;
    if (c === "*") tokens.push(ANY);
    else if (c === "?") tokens.push(ONE);
    else if (c === "$" && arn[i + 1] === "{") {
      const end = arn.indexOf("}", i + 2);
      if (end < 0) {
        tokens.push(charToken(c));
        continue;
      }
      tokens.push(ANY);
      i = end;
    } else tokens.push(charToken(c));
  }
  return tokens;
}

/** Tokens of a reference ARN format: `${Name}` placeholders (and a literal `*`) are wildcards. */
function formatArnTokens(format: string): Token[] {
  const tokens: Token[] = [];
  let colons = 0;
  for (let i = 0; i < format.length; i++) {
    const c = format[i] as string;
    if (c === ":") colons++;
    if (c === "*") tokens.push(ANY);
    else if (c === "$" && format[i + 1] === "{") {
      const end = format.indexOf("}", i + 2);
      if (end < 0) {
        tokens.push(charToken(c));
        continue;
      }
      const name = format.slice(i + 2, end);
      tokens.push(colons < 5 ? NO_COLON : SEGMENT_PLACEHOLDERS.has(name) ? SEGMENT : ANY);
      i = end;
    } else tokens.push(charToken(c));
  }
  return tokens;
}

function starAccepts(star: Token & { kind: "star" }, other: Token): boolean {
  if (other.kind !== "char") return true;
  return !((star.noSlash && other.char === "/") || (star.noColon && other.char === ":"));
}

/** Whether some string matches both token sequences. */
function tokensOverlap(a: readonly Token[], b: readonly Token[]): boolean {
  const width = b.length + 1;
  const seen = new Uint8Array((a.length + 1) * width);
  const stack: number[] = [0, 0];
  const push = (i: number, j: number) => {
    const k = i * width + j;
    if (seen[k] === 0) {
      seen[k] = 1;
      stack.push(i, j);
    }
  };
  seen[0] = 1;
  while (stack.length > 0) {
    const j = stack.pop() as number;
    const i = stack.pop() as number;
    if (i === a.length && j === b.length) return true;
    const x = a[i];
    const y = b[j];
    // A star may match nothing.
    if (x?.kind === "star") push(i + 1, j);
    if (y?.kind === "star") push(i, j + 1);
    if (x === undefined || y === undefined) continue;
    if (x.kind === "star" && y.kind !== "star") {
      // The star absorbs the character y stands for.
      if (starAccepts(x, y)) push(i, j + 1);
    } else if (y.kind === "star" && x.kind !== "star") {
      if (starAccepts(y, x)) push(i + 1, j);
    } else if (x.kind !== "star" && y.kind !== "star") {
      if (x.kind === "one" || y.kind === "one" || (x.kind === "char" && y.kind === "char" && x.char === y.char)) {
        push(i + 1, j + 1);
      }
    }
    // Two stars absorbing one character together leave both where they are: nothing to explore.
  }
  return false;
}

/**
 * Whether the policy Resource `arn` can name a resource whose ARN has the reference `format`.
 *
 * @example
 * arnFitsFormat("arn:aws:s3:::reports/*", "arn:${Partition}:s3:::${BucketName}/${ObjectName}"); // true
 * arnFitsFormat("arn:aws:s3:::reports/*", "arn:${Partition}:s3:::${BucketName}"); // false
 */
export function arnFitsFormat(arn: string, format: string): boolean {
  let formatTokens = formatTokenCache.get(format);
  if (formatTokens === undefined) {
    formatTokens = formatArnTokens(format);
    formatTokenCache.set(format, formatTokens);
  }
  return tokensOverlap(policyArnTokens(arn), formatTokens);
}

/** Formats come from the dataset (a few thousand), so the cache is bounded by it. */
const formatTokenCache = new Map<string, Token[]>();
