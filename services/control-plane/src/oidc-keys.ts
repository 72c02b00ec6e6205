import type { IamStore } from "@gatehouse/store-postgres";
import type { Logger } from "pino";
import { checkJwks } from "./validation.ts";

/**
 * The OpenID Connect keys the control plane fetches itself, as AWS does when a provider is created
 * without a JWKS document: `<issuer>/.well-known/openid-configuration` → `jwks_uri` → the JWKS
 * document, checked as an inline document is. The refresher re-reads every fetched document so a
 * key rotation at the issuer reaches the regions (through the provider's event, as any change).
 * Regions never fetch: issuance keeps working with the control plane and the issuer down.
 */

/** How the control plane reaches issuers. */
export interface OidcFetchOptions {
  /** The whole fetch (discovery and JWKS, redirects, bodies) must finish within this (ms). */
  readonly timeoutMs: number;
  /** Plain http, for issuers on a loopback address only (tests, local stacks); https otherwise. */
  readonly allowHttpLoopback: boolean;
}

/** Largest discovery document read; a JWKS document is bounded as an inline one (64 KiB). */
const MAX_DISCOVERY_BYTES = 65_536;
const MAX_JWKS_BYTES = 65_536;
const MAX_REDIRECTS = 3;

/** Why a fetch failed: a message naming the URL and the reason, never a body or a header. */
export class JwksFetchError extends Error {
  override readonly name = "JwksFetchError";
}

const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);

/** The URL an issuer's document is read from: https, or http on loopback when allowed. */
function checkFetchUrl(url: URL, options: OidcFetchOptions): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && options.allowHttpLoopback && isLoopback(url.hostname)) return;
  throw new JwksFetchError(`${url.href} must be https`);
}

/** Reads at most `limit` bytes of a response body; more is an error. */
async function boundedText(response: Response, limit: number, href: string): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > limit) throw new JwksFetchError(`${href} is larger than ${limit} bytes`);
  const reader = response.body?.getReader();
  if (reader === undefined) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new JwksFetchError(`${href} is larger than ${limit} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** GETs `start`, following at most 3 redirects to the same host (never another), bounded in size. */
async function getBounded(start: URL, limit: number, options: OidcFetchOptions, signal: AbortSignal): Promise<string> {
  let url = start;
  for (let hop = 0; ; hop++) {
    checkFetchUrl(url, options);
    let response: Response;
    try {
      response = await fetch(url, { redirect: "manual", signal, headers: { accept: "application/json" } });
    } catch (e) {
      const why = signal.aborted ? `timed out after ${options.timeoutMs} ms` : errorMessage(e);
      throw new JwksFetchError(`${url.href}: ${why}`);
    }
    if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
      await response.body?.cancel();
      const next = new URL(response.headers.get("location") ?? "", url);
      if (next.host !== url.host) throw new JwksFetchError(`${url.href} redirects to another host (${next.host})`);
      if (hop >= MAX_REDIRECTS) throw new JwksFetchError(`${start.href}: more than ${MAX_REDIRECTS} redirects`);
      url = next;
      continue;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new JwksFetchError(`${url.href} answered HTTP ${response.status}`);
    }
    try {
      return await boundedText(response, limit, url.href);
    } catch (e) {
      if (e instanceof JwksFetchError) throw e;
      throw new JwksFetchError(
        `${url.href}: ${signal.aborted ? `timed out after ${options.timeoutMs} ms` : errorMessage(e)}`,
      );
    }
  }
}

const errorMessage = (e: unknown): string => {
  const cause = (e as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof cause === "string" ? cause : e instanceof Error ? e.message : String(e);
};

/**
 * The issuer's JWKS document: `url` is the issuer URL as stored (without `https://`). Throws a
 * {@link JwksFetchError} saying what failed (unreachable, not 200, too large, not JSON, no
 * `jwks_uri`, a redirect to another host, not https, not a valid JWKS document).
 */
export async function fetchIssuerJwks(url: string, options: OidcFetchOptions): Promise<string> {
  const issuer = new URL(`https://${url}`);
  if (options.allowHttpLoopback && isLoopback(issuer.hostname)) issuer.protocol = "http:";
  const discovery = new URL(`${issuer.href.replace(/\/+$/, "")}/.well-known/openid-configuration`);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let jwksUri: URL;
  try {
    const doc = JSON.parse(await getBounded(discovery, MAX_DISCOVERY_BYTES, options, signal)) as unknown;
    const raw = (doc as { jwks_uri?: unknown } | null)?.jwks_uri;
    if (typeof raw !== "string") throw new JwksFetchError(`${discovery.href} has no "jwks_uri"`);
    jwksUri = new URL(raw);
  } catch (e) {
    if (e instanceof JwksFetchError) throw e;
    throw new JwksFetchError(`${discovery.href} is not a discovery document (${errorMessage(e)})`);
  }
  const jwks = await getBounded(jwksUri, MAX_JWKS_BYTES, options, signal);
  try {
    if (checkJwks(jwks.trim(), "jwks_uri") === null) throw new Error("jwks_uri is empty");
  } catch (e) {
    throw new JwksFetchError(`${jwksUri.href}: ${errorMessage(e)}`);
  }
  return canonicalJwks(jwks);
}

/** The document re-serialized: the same keys always compare equal, whatever the issuer's spacing. */
function canonicalJwks(text: string): string {
  return JSON.stringify(JSON.parse(text));
}

/**
 * For CreateOpenIDConnectProvider without a JWKS document: the issuer's keys, or `null` when they
 * cannot be read now (logged with the reason). The provider is created either way, as in AWS
 * (which reads the keys when a token arrives); the refresher keeps trying, and tokens are refused
 * (InvalidIdentityToken) until keys are stored.
 */
export async function fetchJwksForCreate(
  url: string,
  options: OidcFetchOptions,
  logger: Logger,
): Promise<string | null> {
  try {
    return await fetchIssuerJwks(url, options);
  } catch (e) {
    if (!(e instanceof JwksFetchError)) throw e;
    logger.warn({ url, reason: e.message }, "could not read a new OIDC provider's keys; the refresher will retry");
    return null;
  }
}

/** Outcome of one refresh pass. */
export interface JwksRefreshSummary {
  /** Fetched providers looked at. */
  readonly checked: number;
  /** Whose document changed (a new revision of the provider, on its way to the regions). */
  readonly updated: number;
  /** Whose fetch failed: their last good keys stay. */
  readonly failed: number;
}

/** The periodic refresher of fetched JWKS documents. */
export interface JwksRefresher {
  start(): void;
  /** One pass now (after the pass in progress, if any). */
  refreshAll(): Promise<JwksRefreshSummary>;
  stop(): Promise<void>;
}

/** Options of {@link createJwksRefresher}. */
export interface JwksRefresherOptions {
  readonly store: Pick<IamStore, "listFetchedJwksProviders" | "refreshFetchedJwks">;
  readonly logger: Logger;
  readonly fetch: OidcFetchOptions;
  /** Mean pause between passes (ms; each pause is jittered ±20%); 0 turns the timer off. */
  readonly intervalMs: number;
  /** Providers fetched at once; a slow one holds one slot, never the pass. */
  readonly concurrency?: number;
}

/** Creates the refresher; `start` arms its jittered timer. */
export function createJwksRefresher(options: JwksRefresherOptions): JwksRefresher {
  const { store, logger } = options;
  const concurrency = options.concurrency ?? 4;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<JwksRefreshSummary> = Promise.resolve({ checked: 0, updated: 0, failed: 0 });

  const pass = async (): Promise<JwksRefreshSummary> => {
    const providers = await store.listFetchedJwksProviders();
    let updated = 0;
    let failed = 0;
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < providers.length && !stopped; i = next++) {
        const p = providers[i];
        if (p === undefined) continue;
        try {
          const jwks = await fetchIssuerJwks(p.url, options.fetch);
          if ((await store.refreshFetchedJwks(p.accountId, p.arn, jwks)) !== null) {
            updated++;
            logger.info({ arn: p.arn }, "OIDC provider's keys changed at the issuer; new keys stored");
          }
        } catch (e) {
          failed++;
          // The message names the URL and the reason only (no body, no header): the last good keys stay.
          logger.warn(
            { arn: p.arn, reason: e instanceof Error ? e.message : String(e) },
            "could not refresh an OIDC provider's keys; keeping the last good ones",
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, providers.length) }, worker));
    return { checked: providers.length, updated, failed };
  };

  const refreshAll = (): Promise<JwksRefreshSummary> => {
    running = running.catch(() => undefined).then(pass);
    return running;
  };

  const arm = (): void => {
    if (stopped || options.intervalMs === 0) return;
    const delay = options.intervalMs * (0.8 + 0.4 * Math.random());
    timer = setTimeout(() => {
      refreshAll()
        .catch((e: unknown) => logger.warn({ err: e }, "OIDC key refresh pass failed"))
        .finally(arm);
    }, delay);
    timer.unref();
  };

  return {
    start: arm,
    refreshAll,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
