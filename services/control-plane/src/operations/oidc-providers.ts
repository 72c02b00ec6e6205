import { IamError } from "@gatehouse/core";
import type { MutationResponse, OpenIDConnectProviderClientIDRequest } from "@gatehouse/proto";
import { toWire } from "../mappers.ts";
import { checkTags, invalid } from "../validation.ts";
import type { AccountContext } from "./call-context.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";

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
  if (parsed.hostname === "" || parsed.username !== "" || parsed.password !== "") {
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
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (typeof doc !== "object" || doc === null || !Array.isArray(keys)) {
    throw bad('must be a JSON object with a "keys" array');
  }
  if (keys.length === 0 || keys.length > 100) throw bad(`must have 1..100 keys, has ${keys.length}`);
  keys.forEach((k: unknown, i) => {
    if (typeof k !== "object" || k === null || typeof (k as { kty?: unknown }).kty !== "string") {
      throw bad(`keys[${i}] must be an object with a string "kty"`);
    }
  });
  return value;
}

/**
 * OpenID Connect identity providers: CreateOpenIDConnectProvider, GetOpenIDConnectProvider,
 * ListOpenIDConnectProviders, DeleteOpenIDConnectProvider, Add/RemoveClientIDTo/FromOpenIDConnectProvider,
 * UpdateOpenIDConnectProviderThumbprint, UpdateOpenIDConnectProviderJWKS (their tags are in `tags.ts`).
 */
export function oidcProviderOperations({ store, targets, arns }: OperationDeps) {
  /** AddClientIDToOpenIDConnectProvider and RemoveClientIDFromOpenIDConnectProvider. */
  const clientId =
    (operation: "AddClientIDToOpenIDConnectProvider" | "RemoveClientIDFromOpenIDConnectProvider") =>
    async (r: OpenIDConnectProviderClientIDRequest, ctx: AccountContext): Promise<MutationResponse> => {
      const arn = arns.oidcProvider(r.openIdConnectProviderArn);
      const id = checkClientId(r.clientId);
      await ctx.authorize(operation, () => targets.oidcProvider(ctx.accountId, arn));
      const token = ctx.token(r.clientRequestToken);
      const m =
        operation === "AddClientIDToOpenIDConnectProvider"
          ? await store.addClientIdToOpenIdConnectProvider(ctx.accountId, arn, id, token)
          : await store.removeClientIdFromOpenIdConnectProvider(ctx.accountId, arn, id, token);
      return { revision: toWire.revision(m) };
    };

  return {
    createOpenIdConnectProvider: forAccount("CreateOpenIDConnectProvider", async (r, ctx) => {
      const url = checkOidcUrl(r.url);
      const clientIds = checkClientIds(r.clientIdList);
      const thumbprints = checkThumbprints(r.thumbprintList);
      const jwks = checkJwks(r.jwksJson);
      const tags = checkTags(r.tags, false);
      await ctx.authorizeCreate(
        "CreateOpenIDConnectProvider",
        "OpenIDConnectProvider",
        arns.of(ctx.accountId, "oidc-provider", "/", url),
        tags,
      );
      const m = await store.createOpenIdConnectProvider(ctx.accountId, {
        url,
        clientIds,
        thumbprints,
        jwks,
        tags,
        ...ctx.token(r.clientRequestToken),
      });
      return {
        openIdConnectProviderArn: m.value.arn,
        tags: toWire.tags(m.value.tags),
        revision: toWire.revision(m),
      };
    }),
    getOpenIdConnectProvider: forAccount("GetOpenIDConnectProvider", async (r, ctx) => {
      const arn = arns.oidcProvider(r.openIdConnectProviderArn);
      await ctx.authorize("GetOpenIDConnectProvider", () => targets.oidcProvider(ctx.accountId, arn));
      const p = await store.getOpenIdConnectProvider(ctx.accountId, arn);
      return {
        url: p.url,
        clientIdList: [...p.clientIds],
        thumbprintList: [...p.thumbprints],
        createDateMs: p.createdAtMs,
        tags: toWire.tags(p.tags),
        jwksJson: p.jwks ?? "",
      };
    }),
    listOpenIdConnectProviders: forAccount("ListOpenIDConnectProviders", async (_r, ctx) => {
      await ctx.authorize("ListOpenIDConnectProviders", () => "*");
      const list = await store.listOpenIdConnectProviders(ctx.accountId);
      return { openIdConnectProviderList: list.map((p) => ({ arn: p.arn })) };
    }),
    deleteOpenIdConnectProvider: forAccount("DeleteOpenIDConnectProvider", async (r, ctx) => {
      const arn = arns.oidcProvider(r.openIdConnectProviderArn);
      await ctx.authorize("DeleteOpenIDConnectProvider", () => targets.oidcProvider(ctx.accountId, arn));
      const m = await store.deleteOpenIdConnectProvider(ctx.accountId, arn, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
    addClientIdToOpenIdConnectProvider: forAccount(
      "AddClientIDToOpenIDConnectProvider",
      clientId("AddClientIDToOpenIDConnectProvider"),
    ),
    removeClientIdFromOpenIdConnectProvider: forAccount(
      "RemoveClientIDFromOpenIDConnectProvider",
      clientId("RemoveClientIDFromOpenIDConnectProvider"),
    ),
    updateOpenIdConnectProviderThumbprint: forAccount("UpdateOpenIDConnectProviderThumbprint", async (r, ctx) => {
      const arn = arns.oidcProvider(r.openIdConnectProviderArn);
      const thumbprints = checkThumbprints(r.thumbprintList);
      await ctx.authorize("UpdateOpenIDConnectProviderThumbprint", () => targets.oidcProvider(ctx.accountId, arn));
      const m = await store.updateOpenIdConnectProviderThumbprint(
        ctx.accountId,
        arn,
        thumbprints,
        ctx.token(r.clientRequestToken),
      );
      return { revision: toWire.revision(m) };
    }),
    updateOpenIdConnectProviderJwks: forAccount("UpdateOpenIDConnectProviderJWKS", async (r, ctx) => {
      const arn = arns.oidcProvider(r.openIdConnectProviderArn);
      const jwks = checkJwks(r.jwksJson);
      await ctx.authorize("UpdateOpenIDConnectProviderJWKS", () => targets.oidcProvider(ctx.accountId, arn));
      const m = await store.updateOpenIdConnectProviderJwks(ctx.accountId, arn, jwks, ctx.token(r.clientRequestToken));
      return { revision: toWire.revision(m) };
    }),
  } satisfies OperationFamily;
}
