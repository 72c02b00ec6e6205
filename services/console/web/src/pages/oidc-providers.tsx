/**
 * `/oidc-providers` and `/oidc-providers/{arn}`: the account's OpenID Connect identity providers
 * (`AssumeRoleWithWebIdentity` trusts them): list, create with URL, client ids and thumbprints,
 * a provider's client ids (add, remove), thumbprints (replace), tags, delete.
 */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { Tag } from "../api/types.ts";
import { ActionButton, ActionForm, DeleteSection } from "../components/action-form.tsx";
import { CreateForm } from "../components/create-form.tsx";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { ListPage } from "../components/list-page.tsx";
import { Summary } from "../components/summary.tsx";
import { formatTime } from "../lib/format.ts";
import { parseList, parseTags } from "../lib/tags.ts";
import { useAsync } from "../lib/use-async.ts";
import { Link, navigate, useTitle } from "../router.tsx";
import { TagsSection } from "./entity-sections.tsx";

/** A provider's page path (its ARN, whose slashes the route's `*arn` takes). */
export function oidcProviderPath(arn: string): string {
  return `/oidc-providers/${arn}`;
}

/** `/oidc-providers`. */
export function OidcProvidersPage() {
  const [url, setUrl] = useState("https://");
  const [clientIds, setClientIds] = useState("");
  const [thumbprints, setThumbprints] = useState("");
  const [tags, setTags] = useState("");
  const [jwks, setJwks] = useState("");
  const create = async () => {
    const r = await iam<{ openIdConnectProviderArn?: string }>("CreateOpenIDConnectProvider", {
      url,
      clientIdList: parseList(clientIds),
      thumbprintList: parseList(thumbprints),
      tags: parseTags(tags),
      jwksJson: jwks.trim(),
    });
    navigate(oidcProviderPath(r.openIdConnectProviderArn ?? ""));
  };
  return (
    <ListPage<{ arn: string }>
      title="OIDC identity providers"
      caption="OpenID Connect providers"
      create={
        <CreateForm title="Add OIDC provider" submit={create}>
          <Field
            label="Provider URL"
            name="url"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            hint="https://host[/path]: the issuer (iss) of its tokens."
          />
          <Field
            label="Client IDs (audiences, comma-separated)"
            name="clientIdList"
            value={clientIds}
            onChange={(e) => setClientIds(e.target.value)}
          />
          <Field
            label="Thumbprints (SHA-1, 40 hex characters, comma-separated)"
            name="thumbprintList"
            value={thumbprints}
            onChange={(e) => setThumbprints(e.target.value)}
          />
          <Field
            label="Tags"
            name="tags"
            value={tags}
            placeholder="team=red, env=prod"
            onChange={(e) => setTags(e.target.value)}
          />
          <div className="field">
            <label htmlFor="oidc-jwks">Signing keys (JWKS JSON, optional)</label>
            <textarea
              id="oidc-jwks"
              name="jwksJson"
              rows={4}
              value={jwks}
              placeholder='{"keys": [ … ]}'
              aria-describedby="oidc-jwks-hint"
              onChange={(e) => setJwks(e.target.value)}
            />
            <small id="oidc-jwks-hint" className="hint">
              Without it, the control plane fetches the issuer's keys (its /.well-known/openid-configuration).
            </small>
          </div>
        </CreateForm>
      }
      rowKey={(p) => p.arn}
      searchText={(p) => p.arn}
      // The API lists every provider at once (as AWS's): one page.
      load={async () => {
        const r = await iam<{ openIdConnectProviderList?: { arn?: string }[] }>("ListOpenIDConnectProviders", {});
        return { items: (r.openIdConnectProviderList ?? []).map((p) => ({ arn: p.arn ?? "" })) };
      }}
      columns={[
        {
          header: "Provider",
          cell: (p) => <Link to={oidcProviderPath(p.arn)}>{p.arn.replace(/^.*?oidc-provider\//, "")}</Link>,
        },
        { header: "ARN", cell: (p) => <code>{p.arn}</code> },
      ]}
    />
  );
}

interface Provider {
  url?: string;
  clientIdList?: string[];
  thumbprintList?: string[];
  createDateMs?: number;
  tags?: Tag[];
  jwksJson?: string;
}

/** `/oidc-providers/{arn}`. */
export function OidcProviderDetailPage({ arn }: { arn: string }) {
  const provider = useAsync(() => iam<Provider>("GetOpenIDConnectProvider", { openIdConnectProviderArn: arn }), [arn]);
  const p = provider.data;
  useTitle(`OIDC provider ${p?.url ?? arn}`);
  const [clientId, setClientId] = useState("");
  const [thumbprints, setThumbprints] = useState<string | undefined>();
  return (
    <>
      <p className="crumbs">
        <Link to="/oidc-providers">OIDC identity providers</Link> /
      </p>
      <h1>OIDC provider {p?.url ?? ""}</h1>
      <ErrorMessage error={provider.error} />
      {p !== undefined && (
        <>
          <Summary
            rows={[
              ["ARN", <code key="arn">{arn}</code>],
              ["URL", `https://${p.url ?? ""}`],
              ["Created", formatTime(p.createDateMs ?? 0)],
              ["Keys", p.jwksJson ? "its own JWKS document" : "fetched from the issuer"],
            ]}
          />
          <section aria-labelledby="client-ids">
            <h2 id="client-ids">Client IDs (audiences)</h2>
            <ul className="items">
              {(p.clientIdList ?? []).map((c) => (
                <li key={c}>
                  <code>{c}</code>{" "}
                  <ActionButton
                    label={`Remove client ID ${c}`}
                    run={() =>
                      iam("RemoveClientIDFromOpenIDConnectProvider", {
                        openIdConnectProviderArn: arn,
                        clientId: c,
                      }).then(() => {})
                    }
                    onDone={provider.reload}
                  />
                </li>
              ))}
              {(p.clientIdList ?? []).length === 0 && <li>None.</li>}
            </ul>
            <ActionForm
              label="Add a client ID"
              submitLabel="Add client ID"
              run={async () => {
                await iam("AddClientIDToOpenIDConnectProvider", { openIdConnectProviderArn: arn, clientId });
                setClientId("");
              }}
              onDone={provider.reload}
            >
              <Field label="Client ID" name="clientId" value={clientId} onChange={(e) => setClientId(e.target.value)} />
            </ActionForm>
          </section>
          <section aria-labelledby="thumbprints">
            <h2 id="thumbprints">Thumbprints</h2>
            <ul className="items">
              {(p.thumbprintList ?? []).map((t) => (
                <li key={t}>
                  <code>{t}</code>
                </li>
              ))}
              {(p.thumbprintList ?? []).length === 0 && <li>None.</li>}
            </ul>
            <ActionForm
              label="Replace the thumbprints"
              submitLabel="Replace thumbprints"
              run={async () => {
                await iam("UpdateOpenIDConnectProviderThumbprint", {
                  openIdConnectProviderArn: arn,
                  thumbprintList: parseList(thumbprints ?? (p.thumbprintList ?? []).join(", ")),
                });
                setThumbprints(undefined);
              }}
              onDone={provider.reload}
            >
              <Field
                label="Thumbprints (comma-separated)"
                name="thumbprintList"
                value={thumbprints ?? (p.thumbprintList ?? []).join(", ")}
                onChange={(e) => setThumbprints(e.target.value)}
              />
            </ActionForm>
          </section>
          <TagsSection kind="oidc-provider" name={arn} />
          <DeleteSection
            label="Delete OIDC provider"
            confirm="Delete this provider? Roles that trust it can no longer be assumed with its tokens."
            run={() => iam("DeleteOpenIDConnectProvider", { openIdConnectProviderArn: arn }).then(() => {})}
            onDone={() => navigate("/oidc-providers")}
          />
        </>
      )}
    </>
  );
}
