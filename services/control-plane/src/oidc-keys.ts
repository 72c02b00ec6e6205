import { lookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { IamError } from "@gatehouse/core";
import type { IamStore } from "@gatehouse/store-postgres";
import type { Logger } from "pino";
import { addressClass } from "./public-address.ts";
import { checkJwks } from "./validation.ts";

/**
 * The OpenID Connect keys the control plane fetches itself, as AWS does when a provider is created
 * without a JWKS document: `<issuer>/.well-known/openid-configuration` → `jwks_uri` → the JWKS
 * document, checked as an inline document is. The refresher re-reads every fetched document so a
 * key rotation at the issuer reaches the regions (through the provider's event, as any change).
 * Regions never fetch: issuance keeps working with the control plane and the issuer down.
 *
 * Every connection goes to a public address (see `public-address.ts`): each host is resolved, every
 * address it resolves to is checked, and the socket connects to the checked address itself (never
 * to the name again), so a DNS answer that changes between the check and the connection (DNS
 * rebinding) cannot reach the metadata service or the private network.
 */

/** How the control plane reaches issuers. */
export interface OidcFetchOptions {
  /** The whole fetch (discovery and JWKS, redirects, bodies) must finish within this (ms). */
  readonly timeoutMs: number;
  /** Plain http, for issuers on a loopback address only (tests, local stacks); https otherwise. */
  readonly allowHttpLoopback: boolean;
  /**
   * Resolves a host name to its addresses (the system resolver when absent). A seam for tests that
   * need a name to resolve to chosen addresses; the result is checked as the system's would be.
   */
  readonly resolve?: (hostname: string) => Promise<readonly { address: string; family: number }[]>;
}

/** Largest discovery document read; a JWKS document is bounded as an inline one (64 KiB). */
const MAX_DISCOVERY_BYTES = 65_536;
const MAX_JWKS_BYTES = 65_536;
const MAX_REDIRECTS = 3;

/** Why a fetch failed: a message naming the URL and the reason, never a body or a header. */
export class JwksFetchError extends Error {
  override readonly name: string = "JwksFetchError";
}

/** The issuer (or its `jwks_uri`, or a redirect) leads to an address that is not public. */
export class JwksAddressRefused extends JwksFetchError {
  override readonly name = "JwksAddressRefused";
}

const systemResolve = (hostname: string) => lookup(hostname, { all: true, verbatim: true });

/**
 * The address to connect to for `url`: every address its host resolves to must be public
 * (loopback too when plain http to loopback is allowed); the first is used.
 */
async function checkedAddress(url: URL, options: OidcFetchOptions): Promise<{ address: string; family: number }> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  let addresses: readonly { address: string; family: number }[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await (options.resolve ?? systemResolve)(host);
    } catch (e) {
      throw new JwksFetchError(`${url.href}: ${errorMessage(e)}`);
    }
  }
  for (const { address } of addresses) {
    const kind = addressClass(address);
    if (kind === null || (kind === "loopback" && options.allowHttpLoopback)) continue;
    throw new JwksAddressRefused(
      `${url.host} resolves to a ${kind} address; issuer keys are read from public addresses only`,
    );
  }
  const first = addresses[0];
  if (first === undefined) throw new JwksFetchError(`${url.href}: ${host} has no address`);
  return first;
}

/** One GET to `address` (already checked) for `url`: TLS still verifies the certificate for the host name. */
function get(url: URL, address: { address: string; family: number }, signal: AbortSignal): Promise<IncomingMessage> {
  // Node calls `lookup` for a host name only; the answer is the checked address, whatever DNS says now.
  const pinned: LookupFunction = (_hostname, opts, callback) => {
    if (opts.all === true) callback(null, [address]);
    else callback(null, address.address, address.family);
  };
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: "GET",
      lookup: pinned,
      signal,
      agent: false,
      headers: { accept: "application/json" },
    });
    req.once("response", resolve);
    req.once("error", reject);
    req.end();
  });
}

const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);

/** The URL an issuer's document is read from: https, or http to a loopback address when allowed. */
function checkFetchUrl(url: URL, address: string, options: OidcFetchOptions): void {
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && options.allowHttpLoopback && addressClass(address) === "loopback") return;
  throw new JwksFetchError(`${url.href} must be https`);
}

/** Reads at most `limit` bytes of a response body; more is an error. */
async function boundedText(response: IncomingMessage, limit: number, href: string): Promise<string> {
  const declared = Number(response.headers["content-length"] ?? "0");
  const tooLarge = () => new JwksFetchError(`${href} is larger than ${limit} bytes`);
  if (declared > limit) {
    response.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) {
      response.destroy();
      throw tooLarge();
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** GETs `start`, following at most 3 redirects to the same host (never another), bounded in size. */
async function getBounded(start: URL, limit: number, options: OidcFetchOptions, signal: AbortSignal): Promise<string> {
  let url = start;
  for (let hop = 0; ; hop++) {
    if (url.protocol !== "https:" && url.protocol !== "http:") throw new JwksFetchError(`${url.href} must be https`);
    const address = await checkedAddress(url, options);
    checkFetchUrl(url, address.address, options);
    let response: IncomingMessage;
    try {
      response = await get(url, address, signal);
    } catch (e) {
      const why = signal.aborted ? `timed out after ${options.timeoutMs} ms` : errorMessage(e);
      throw new JwksFetchError(`${url.href}: ${why}`);
    }
    const statusCode = response.statusCode ?? 0;
    if (statusCode >= 300 && statusCode < 400 && response.headers.location !== undefined) {
      response.destroy();
      const next = new URL(response.headers.location, url);
      if (next.host !== url.host) throw new JwksFetchError(`${url.href} redirects to another host (${next.host})`);
      if (hop >= MAX_REDIRECTS) throw new JwksFetchError(`${start.href}: more than ${MAX_REDIRECTS} redirects`);
      url = next;
      continue;
    }
    if (statusCode !== 200) {
      response.destroy();
      throw new JwksFetchError(`${url.href} answered HTTP ${statusCode}`);
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
    // An issuer on a private, loopback or metadata address is a request to reach inside: refused,
    // where an unreachable public issuer only delays its keys.
    if (e instanceof JwksAddressRefused) {
      throw new IamError("InvalidInput", `url ${JSON.stringify(`https://${url}`)}: ${e.message}`, { field: "url" });
    }
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
