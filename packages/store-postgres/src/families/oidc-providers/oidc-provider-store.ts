import { IamError, iamArn } from "@gatehouse/core";
import { checkTagQuota, tagsJson } from "../../checks.ts";
import type { Mutation, RequestToken, TagRecord } from "../../records.ts";
import { type OidcProviderRow, oidcProviderState, toOidcProvider } from "../../state.ts";
import { type Queryable, read, type StoreContext } from "../../tx.ts";
import { mutate, tokenSpec } from "../../write-path.ts";

/** An OpenID Connect identity provider, as GetOpenIDConnectProvider describes it. */
export interface OidcProviderRecord {
  readonly arn: string;
  readonly accountId: string;
  /** The issuer URL without `https://`, as AWS returns it. */
  readonly url: string;
  readonly clientIds: readonly string[];
  readonly thumbprints: readonly string[];
  /** The JWKS document tokens are verified with, as sent; `null` when none was given. */
  readonly jwks: string | null;
  readonly tags: readonly TagRecord[];
  readonly createdAtMs: number;
}

/**
 * Input of {@link OidcProviderStore.createOpenIdConnectProvider}, validated by the caller (lists
 * without duplicates); the store checks the quotas.
 */
export interface CreateOidcProviderInput extends RequestToken {
  /** Without the scheme: `issuer.example.com/path`. */
  readonly url: string;
  readonly clientIds: readonly string[];
  readonly thumbprints: readonly string[];
  readonly jwks?: string | null | undefined;
  /** `fetched` when the control plane read `jwks` from the issuer (it is then refreshed); default `inline`. */
  readonly jwksSource?: "inline" | "fetched" | undefined;
  readonly tags?: readonly TagRecord[] | undefined;
}

/** A provider whose JWKS document the control plane fetched from its issuer (and refreshes). */
export interface FetchedJwksProvider {
  readonly accountId: string;
  readonly arn: string;
  /** The issuer URL without `https://`. */
  readonly url: string;
  readonly jwks: string | null;
}

/** OIDC identity providers of an account, keyed by ARN. */
export interface OidcProviderStore {
  /**
   * EntityAlreadyExists when the account already has the issuer URL; LimitExceeded past the
   * providers-per-account, client-ids, thumbprints or tags quota.
   */
  createOpenIdConnectProvider(accountId: string, input: CreateOidcProviderInput): Promise<Mutation<OidcProviderRecord>>;
  getOpenIdConnectProvider(accountId: string, arn: string): Promise<OidcProviderRecord>;
  listOpenIdConnectProviders(accountId: string): Promise<OidcProviderRecord[]>;
  deleteOpenIdConnectProvider(accountId: string, arn: string, token?: RequestToken): Promise<Mutation<null>>;
  /**
   * Adding a client id already there changes nothing, as in AWS; LimitExceeded past the
   * `clientIdsPerOidcProvider` quota.
   */
  addClientIdToOpenIdConnectProvider(
    accountId: string,
    arn: string,
    clientId: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** Removing a client id that is not there changes nothing, as in AWS. */
  removeClientIdFromOpenIdConnectProvider(
    accountId: string,
    arn: string,
    clientId: string,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** Replaces the thumbprint list; LimitExceeded past the `thumbprintsPerOidcProvider` quota. */
  updateOpenIdConnectProviderThumbprint(
    accountId: string,
    arn: string,
    thumbprints: readonly string[],
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /**
   * Replaces the JWKS document (validated by the caller), or removes it with `null`; the document
   * is then the operator's (`inline`): the refresher leaves it alone.
   */
  updateOpenIdConnectProviderJwks(
    accountId: string,
    arn: string,
    jwks: string | null,
    token?: RequestToken,
  ): Promise<Mutation<null>>;
  /** Every provider, of every account, whose JWKS document was fetched from its issuer. */
  listFetchedJwksProviders(): Promise<FetchedJwksProvider[]>;
  /**
   * Stores a JWKS document freshly fetched from the issuer (validated by the caller) when the
   * provider still exists, its document is still a fetched one and it differs: `null` (no
   * revision) otherwise.
   */
  refreshFetchedJwks(accountId: string, arn: string, jwks: string): Promise<Mutation<null> | null>;
}

/** The parts of a provider its update operations change. */
type ProviderSettings = Pick<OidcProviderRow, "client_ids" | "thumbprints" | "jwks">;

/** The account's provider with this ARN; NoSuchEntity (field `openIdConnectProviderArn`) when none. */
export async function findProvider(q: Queryable, accountId: string, arn: string): Promise<OidcProviderRow> {
  const r = await q.query<OidcProviderRow>("SELECT * FROM oidc_providers WHERE arn = $1 AND account_id = $2", [
    arn,
    accountId,
  ]);
  const row = r.rows[0];
  if (row === undefined) {
    throw new IamError("NoSuchEntity", `OpenID Connect provider ${JSON.stringify(arn)} does not exist`, {
      field: "openIdConnectProviderArn",
    });
  }
  return row;
}

/** The {@link OidcProviderStore} part of the store. */
export function createOidcProviderStore(ctx: StoreContext): OidcProviderStore {
  const partition = ctx.options.partition;
  const quotas = ctx.options.quotas;

  /** LimitExceeded (naming `field`) when a provider would have more than `quota` of a list. */
  const checkListQuota = (list: readonly string[], quota: number, what: string, field: string): void => {
    if (list.length > quota) {
      throw new IamError("LimitExceeded", `${field} has ${list.length} ${what} (quota ${quota})`, { field });
    }
  };

  /** Runs `change` on the provider's row; no change (same settings) means no revision. */
  const update = (
    operation: string,
    accountId: string,
    arn: string,
    request: unknown,
    token: RequestToken | undefined,
    change: (row: OidcProviderRow) => Partial<ProviderSettings>,
  ) =>
    mutate(ctx, accountId, { operation, request, ...tokenSpec(token) }, async (q) => {
      const row = await findProvider(q, accountId, arn);
      const current: ProviderSettings = { client_ids: row.client_ids, thumbprints: row.thumbprints, jwks: row.jwks };
      const next: ProviderSettings = { ...current, ...change(row) };
      if (JSON.stringify(next) === JSON.stringify(current)) return { value: null, events: [] };
      // A JWKS document written by an operator is theirs from now on: the refresher skips it.
      await q.query(
        `UPDATE oidc_providers SET client_ids = $2::text[], thumbprints = $3::text[], jwks = $4::text,
           jwks_source = CASE WHEN $4::text IS DISTINCT FROM jwks THEN 'inline' ELSE jwks_source END
         WHERE arn = $1`,
        [arn, next.client_ids, next.thumbprints, next.jwks],
      );
      return { value: null, events: [await oidcProviderState(q, arn)] };
    });

  return {
    createOpenIdConnectProvider: (accountId, input) =>
      mutate(
        ctx,
        accountId,
        {
          operation: "CreateOpenIDConnectProvider",
          request: { ...input, clientRequestToken: undefined, callerId: undefined },
          ...tokenSpec(input),
        },
        async (q) => {
          checkTagQuota(input.tags, quotas.tagsPerEntity);
          checkListQuota(input.clientIds, quotas.clientIdsPerOidcProvider, "client ids", "clientIdList");
          checkListQuota(input.thumbprints, quotas.thumbprintsPerOidcProvider, "thumbprints", "thumbprintList");
          const arn = iamArn(accountId, "oidc-provider", "/", input.url, partition);
          const exists = await q.query("SELECT 1 FROM oidc_providers WHERE arn = $1", [arn]);
          if ((exists.rowCount ?? 0) > 0) {
            throw new IamError(
              "EntityAlreadyExists",
              `an OpenID Connect provider for ${JSON.stringify(`https://${input.url}`)} already exists`,
              { field: "url" },
            );
          }
          // The quota check rides on the insert; the account lock makes the count exact.
          const r = await q.query<OidcProviderRow>(
            `INSERT INTO oidc_providers (arn, account_id, url, client_ids, thumbprints, jwks, tags, jwks_source)
             SELECT $1::text, $2::text, $3::text, $4::text[], $5::text[], $6::text, $7::jsonb, $9::text
             WHERE (SELECT count(*) FROM oidc_providers WHERE account_id = $2) < $8 RETURNING *`,
            [
              arn,
              accountId,
              input.url,
              [...input.clientIds],
              [...input.thumbprints],
              input.jwks ?? null,
              tagsJson(input.tags),
              quotas.oidcProvidersPerAccount,
              input.jwksSource ?? "inline",
            ],
          );
          const row = r.rows[0];
          if (row === undefined) {
            throw new IamError(
              "LimitExceeded",
              `too many OpenID Connect providers in the account (quota ${quotas.oidcProvidersPerAccount})`,
              { field: "url" },
            );
          }
          return { value: toOidcProvider(row), events: [await oidcProviderState(q, arn)] };
        },
      ),

    getOpenIdConnectProvider: (accountId, arn) =>
      read(ctx, "GetOpenIDConnectProvider", async (q) => toOidcProvider(await findProvider(q, accountId, arn))),

    listOpenIdConnectProviders: (accountId) =>
      read(ctx, "ListOpenIDConnectProviders", async (q) => {
        const r = await q.query<OidcProviderRow>("SELECT * FROM oidc_providers WHERE account_id = $1 ORDER BY arn", [
          accountId,
        ]);
        return r.rows.map(toOidcProvider);
      }),

    deleteOpenIdConnectProvider: (accountId, arn, token) =>
      mutate(
        ctx,
        accountId,
        { operation: "DeleteOpenIDConnectProvider", request: { arn }, ...tokenSpec(token) },
        async (q) => {
          await findProvider(q, accountId, arn);
          await q.query("DELETE FROM oidc_providers WHERE arn = $1", [arn]);
          return { value: null, events: [await oidcProviderState(q, arn)] };
        },
      ),

    addClientIdToOpenIdConnectProvider: (accountId, arn, clientId, token) =>
      update("AddClientIDToOpenIDConnectProvider", accountId, arn, { arn, clientId }, token, (row) => {
        if (row.client_ids.includes(clientId)) return {};
        const max = quotas.clientIdsPerOidcProvider;
        if (row.client_ids.length >= max) {
          throw new IamError("LimitExceeded", `${arn} already has ${row.client_ids.length} client ids (quota ${max})`, {
            field: "clientId",
          });
        }
        return { client_ids: [...row.client_ids, clientId] };
      }),

    removeClientIdFromOpenIdConnectProvider: (accountId, arn, clientId, token) =>
      update("RemoveClientIDFromOpenIDConnectProvider", accountId, arn, { arn, clientId }, token, (row) => ({
        client_ids: row.client_ids.filter((c) => c !== clientId),
      })),

    updateOpenIdConnectProviderThumbprint: (accountId, arn, thumbprints, token) =>
      update("UpdateOpenIDConnectProviderThumbprint", accountId, arn, { arn, thumbprints }, token, () => {
        checkListQuota(thumbprints, quotas.thumbprintsPerOidcProvider, "thumbprints", "thumbprintList");
        return { thumbprints: [...thumbprints] };
      }),

    updateOpenIdConnectProviderJwks: (accountId, arn, jwks, token) =>
      update("UpdateOpenIDConnectProviderJWKS", accountId, arn, { arn, jwks }, token, () => ({ jwks })),

    listFetchedJwksProviders: () =>
      read(ctx, "ListFetchedJwksProviders", async (q) => {
        const r = await q.query<{ account_id: string; arn: string; url: string; jwks: string | null }>(
          "SELECT account_id, arn, url, jwks FROM oidc_providers WHERE jwks_source = 'fetched' ORDER BY arn",
        );
        return r.rows.map((row) => ({ accountId: row.account_id, arn: row.arn, url: row.url, jwks: row.jwks }));
      }),

    refreshFetchedJwks: async (accountId, arn, jwks) => {
      // Under the account's lock: an operator's update in between wins; no change, no revision.
      const spec = { operation: "RefreshOpenIDConnectProviderJWKS", request: { arn, jwks } };
      const m = await mutate(ctx, accountId, spec, async (q) => {
        const r = await q.query(
          `UPDATE oidc_providers SET jwks = $3::text
           WHERE arn = $1 AND account_id = $2 AND jwks_source = 'fetched' AND jwks IS DISTINCT FROM $3::text`,
          [arn, accountId, jwks],
        );
        if ((r.rowCount ?? 0) === 0) return { value: false, events: [] };
        return { value: true, events: [await oidcProviderState(q, arn)] };
      });
      return m.value ? { ...m, value: null } : null;
    },
  };
}
