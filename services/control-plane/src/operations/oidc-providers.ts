import type { MutationResponse, OpenIDConnectProviderClientIDRequest } from "@gatehouse/proto";
import { toWire } from "../mappers.ts";
import { fetchJwksForCreate } from "../oidc-keys.ts";
import { checkClientId, checkClientIds, checkJwks, checkOidcUrl, checkTags, checkThumbprints } from "../validation.ts";
import type { AccountContext } from "./call-context.ts";
import { forAccount, type OperationFamily } from "./operation.ts";
import type { OperationDeps } from "./operation-deps.ts";

/**
 * OpenID Connect identity providers: CreateOpenIDConnectProvider, GetOpenIDConnectProvider,
 * ListOpenIDConnectProviders, DeleteOpenIDConnectProvider, Add/RemoveClientIDTo/FromOpenIDConnectProvider,
 * UpdateOpenIDConnectProviderThumbprint, UpdateOpenIDConnectProviderJWKS (their tags are in `tags.ts`).
 */
export function oidcProviderOperations({ store, targets, arns, oidcFetch, logger }: OperationDeps) {
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
      // Without a document the issuer's own keys are read (after authorization: an unauthorized
      // caller makes the control plane fetch nothing) and refreshed from then on.
      const m = await store.createOpenIdConnectProvider(ctx.accountId, {
        url,
        clientIds,
        thumbprints,
        ...(jwks === null
          ? { jwks: await fetchJwksForCreate(url, oidcFetch, logger), jwksSource: "fetched" as const }
          : { jwks, jwksSource: "inline" as const }),
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
