import { IamError } from "@gatehouse/core";
import { type CompiledResourcePolicy, compileResourcePolicy } from "@gatehouse/policy";
import type { RegionView } from "@gatehouse/view-redis";

/*
 * Resource-based policies as a decider finds them: inline in a request (compiled once per text)
 * or stored in the region's view for a resource ARN (looked up once per revision, kept exact by
 * the view's notifications).
 */

const compiledTexts = new Map<string, CompiledResourcePolicy>();
const MAX_COMPILED_TEXTS = 1024;

/** A resource policy's text compiled, once per distinct text (the most recent 1,024 kept). */
export function resourcePolicyOf(text: string): CompiledResourcePolicy {
  const hit = compiledTexts.get(text);
  if (hit !== undefined) return hit;
  const compiled = compileResourcePolicy(text);
  if (compiledTexts.size >= MAX_COMPILED_TEXTS) compiledTexts.delete(compiledTexts.keys().next().value as string);
  compiledTexts.set(text, compiled);
  return compiled;
}

/** Compiles a caller's inline resource policy; a bad one is the caller's error, naming the field. */
export function compileInlineResourcePolicy(text: string): CompiledResourcePolicy {
  try {
    return resourcePolicyOf(text);
  } catch (e) {
    if (IamError.is(e)) throw new IamError(e.awsName, e.message, { field: "resourcePolicy", cause: e });
    throw e;
  }
}

/** {@link bucketOf}'s answers by resource (`null`: not an S3 object), emptied when full. */
const buckets = new Map<string, string | null>();
const MAX_BUCKETS = 4096;

/**
 * The bucket ARN of an S3 object ARN (`arn:aws:s3:::bucket/key` → `arn:aws:s3:::bucket`), else
 * undefined. Remembered per resource: a batch asks it of every check on an object without a policy
 * of its own, and the same bucket string each time is a Map key whose hash V8 has already computed.
 */
export function bucketOf(resource: string): string | undefined {
  const known = buckets.get(resource);
  if (known !== undefined) return known ?? undefined;
  const m = /^(arn:[a-z-]+:s3:::)([^/]+)\/./.exec(resource);
  const bucket = m === null ? null : `${m[1]}${m[2]}`;
  if (buckets.size >= MAX_BUCKETS) buckets.clear();
  buckets.set(resource, bucket);
  return bucket ?? undefined;
}

/** A stored resource policy lookup: the compiled policy, or none, as of `revision` of its account. */
export interface StoredResource {
  readonly compiled?: CompiledResourcePolicy;
  readonly revision: number;
}

const MAX_STORED_RESOURCES = 10_000;

/**
 * The stored resource policies a decider looked up, present or absent, by account and ARN, at
 * the revision read; an applied revision naming an ARN drops it. Kept by account, then ARN (no
 * key string is built per lookup: a batch looks up every check's resource).
 */
export class StoredResourcePolicies {
  readonly #view: RegionView;
  readonly #notified: ReadonlyMap<string, number>;
  readonly #countL2: (found: boolean) => void;
  readonly #byAccount = new Map<string, Map<string, StoredResource>>();
  #size = 0;
  /** The highest revision that named each `account\nARN`. */
  readonly #invalidatedAt = new Map<string, number>();
  /**
   * What was looked up when the notification stream broke: used instead of a read from the view
   * only while the view is older than it or unreachable (see the decider's reconnect handling).
   */
  readonly #suspects = new Map<string, StoredResource>();
  /** Bumped by every account replace: a read begun before one is not kept. */
  #replacements = 0;

  /**
   * @param notified per account, the highest applied revision whose notification was processed
   * @param countL2 told of every read from the view, and whether it found a policy
   */
  constructor(view: RegionView, notified: ReadonlyMap<string, number>, countL2: (found: boolean) => void) {
    this.#view = view;
    this.#notified = notified;
    this.#countL2 = countL2;
  }

  /** The lookup of `arn` in `accountId` held in memory, current or not (see {@link StoredResourcePolicies.isCurrent}). */
  peek(accountId: string, arn: string): StoredResource | undefined {
    return this.#byAccount.get(accountId)?.get(arn);
  }

  /** Whether `stored` (of `accountId`) is valid at `atLeast`: read there, or unchanged since. */
  isCurrent(stored: StoredResource, accountId: string, atLeast: number): boolean {
    return Math.max(stored.revision, this.#notified.get(accountId) ?? 0) >= atLeast;
  }

  /** The stored resource policy of `arn` at `atLeast` or later: from memory (exactly invalidated), else the view. */
  async at(accountId: string, arn: string, atLeast: number): Promise<StoredResource> {
    const hit = this.peek(accountId, arn);
    if (hit !== undefined && this.isCurrent(hit, accountId, atLeast)) return hit;
    const key = `${accountId}\n${arn}`;
    const suspect = this.#suspects.get(key);
    const replacements = this.#replacements;
    let read: Awaited<ReturnType<RegionView["readResourcePolicy"]>>;
    try {
      read = await this.#view.readResourcePolicy(accountId, arn);
    } catch (e) {
      if (suspect !== undefined && suspect.revision >= atLeast) return suspect;
      throw e;
    }
    this.#countL2(read.document !== undefined);
    if (suspect !== undefined) {
      if (read.revision < suspect.revision) return suspect;
      this.#suspects.delete(key);
    }
    const entry: StoredResource = {
      revision: read.revision,
      ...(read.document === undefined ? {} : { compiled: resourcePolicyOf(read.document) }),
    };
    if (replacements === this.#replacements && read.revision >= (this.#invalidatedAt.get(key) ?? 0)) {
      this.#set(accountId, arn, entry);
    }
    return entry;
  }

  /** An applied revision of `accountId` named `arns`: their lookups below it are dropped. */
  invalidate(accountId: string, revision: number, arns: readonly string[]): void {
    for (const arn of arns) {
      const key = `${accountId}\n${arn}`;
      this.#invalidatedAt.set(key, Math.max(revision, this.#invalidatedAt.get(key) ?? 0));
      const hit = this.peek(accountId, arn);
      if (hit !== undefined && hit.revision < revision) this.#delete(accountId, arn);
    }
  }

  /**
   * `accountId`'s view was replaced (possibly by another history reusing revision numbers): every
   * lookup of the account, kept or set aside, is dropped, whatever its revision, and no read begun
   * before now is kept.
   */
  replaceAccount(accountId: string): void {
    const byArn = this.#byAccount.get(accountId);
    if (byArn !== undefined) {
      this.#size -= byArn.size;
      this.#byAccount.delete(accountId);
    }
    const prefix = `${accountId}\n`;
    for (const key of this.#suspects.keys()) if (key.startsWith(prefix)) this.#suspects.delete(key);
    this.#replacements++;
  }

  /**
   * Notifications may have been lost: every lookup is set aside as a suspect (still a true
   * snapshot at its revision, served only while the view holds nothing newer) and forgotten.
   */
  suspectAll(): void {
    for (const [accountId, byArn] of this.#byAccount) {
      for (const [arn, r] of byArn) this.#suspects.set(`${accountId}\n${arn}`, r);
    }
    this.#byAccount.clear();
    this.#size = 0;
  }

  #set(accountId: string, arn: string, entry: StoredResource): void {
    let byArn = this.#byAccount.get(accountId);
    if (byArn === undefined) {
      byArn = new Map();
      this.#byAccount.set(accountId, byArn);
    }
    if (!byArn.has(arn)) {
      if (this.#size >= MAX_STORED_RESOURCES) this.#evictOne();
      this.#size++;
    }
    byArn.set(arn, entry);
  }

  #delete(accountId: string, arn: string): void {
    const byArn = this.#byAccount.get(accountId);
    if (byArn?.delete(arn) !== true) return;
    this.#size--;
    if (byArn.size === 0) this.#byAccount.delete(accountId);
  }

  /** Drops the oldest lookup of the account looked up first (the maps keep insertion order). */
  #evictOne(): void {
    for (const [accountId, byArn] of this.#byAccount) {
      const arn = byArn.keys().next().value;
      if (arn !== undefined) this.#delete(accountId, arn);
      return;
    }
  }
}
