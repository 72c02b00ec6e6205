/**
 * `/resource-policies`, `/resource-policies/new` and `/resource-policies/{arn}`: the policies the
 * control plane stores for resources (an S3-bucket-like policy on any ARN), which the deciders
 * evaluate with identity policies. List by ARN prefix, read, write in the policy editor with the
 * engine's live findings (as a resource policy: it needs a Principal), delete.
 */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { PageResponse, ResourcePolicyListEntry } from "../api/types.ts";
import { ActionForm, DeleteSection } from "../components/action-form.tsx";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { ListPage } from "../components/list-page.tsx";
import { PolicyEditor } from "../components/policy-editor.tsx";
import { Summary } from "../components/summary.tsx";
import { formatTime } from "../lib/format.ts";
import { useAsync } from "../lib/use-async.ts";
import { Link, navigate, useTitle } from "../router.tsx";
import { pretty } from "./entity-sections.tsx";

/** A stored policy's page (the ARN's slashes go to the route's `*arn`). */
export function resourcePolicyPath(arn: string): string {
  return `/resource-policies/${arn}`;
}

/** `/resource-policies`. */
export function ResourcePoliciesPage() {
  return (
    <ListPage<ResourcePolicyListEntry>
      title="Resource policies"
      caption="Stored resource policies"
      intro={
        <p>
          <Link to="/resource-policies/new" className="button primary">
            Add resource policy
          </Link>
        </p>
      }
      prefix={{
        label: "Resource ARN prefix",
        placeholder: "arn:aws:s3:::",
        hint: "Lists only resources whose ARN starts with this (exact, case-sensitive).",
      }}
      rowKey={(p) => p.resourceArn}
      searchText={(p) => p.resourceArn}
      load={async (resourceArnPrefix, marker, maxItems) => {
        const r = await iam<{ resourcePolicies?: ResourcePolicyListEntry[]; page?: PageResponse }>(
          "ListResourcePolicies",
          { resourceArnPrefix, page: { marker, maxItems } },
        );
        return { items: r.resourcePolicies ?? [], page: r.page };
      }}
      columns={[
        { header: "Resource", cell: (p) => <Link to={resourcePolicyPath(p.resourceArn)}>{p.resourceArn}</Link> },
        { header: "Created", cell: (p) => formatTime(p.createDateMs) },
        { header: "Updated", cell: (p) => formatTime(p.updateDateMs || p.createDateMs) },
      ]}
    />
  );
}

const TEMPLATE = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadFromOneRole",
      "Effect": "Allow",
      "Principal": { "AWS": "arn:aws:iam::123456789012:role/reader" },
      "Action": "s3:GetObject",
      "Resource": "arn:aws:s3:::example-bucket/*"
    }
  ]
}`;

/** `/resource-policies/new`: a resource's ARN and its policy. */
export function NewResourcePolicyPage() {
  useTitle("Add resource policy");
  const [resourceArn, setResourceArn] = useState("");
  const [doc, setDoc] = useState(TEMPLATE);
  return (
    <>
      <p className="crumbs">
        <Link to="/resource-policies">Resource policies</Link> /
      </p>
      <h1>Add resource policy</h1>
      <ActionForm
        label="Add resource policy"
        submitLabel="Save policy"
        className="stack"
        run={() => iam("PutResourcePolicy", { resourceArn, policyDocument: doc }).then(() => {})}
        onDone={() => navigate(resourcePolicyPath(resourceArn))}
      >
        <Field
          label="Resource ARN"
          name="resourceArn"
          value={resourceArn}
          placeholder="arn:aws:s3:::example-bucket"
          onChange={(e) => setResourceArn(e.target.value)}
          hint="The resource's full ARN, without wildcards, in this account (or with an empty account)."
        />
        <PolicyEditor label="Resource policy" kind="resource" value={doc} onChange={setDoc} />
      </ActionForm>
    </>
  );
}

interface Stored {
  resourceArn?: string;
  policyDocument?: string;
  createDateMs?: number;
  updateDateMs?: number;
}

/** `/resource-policies/{arn}`. */
export function ResourcePolicyDetailPage({ arn }: { arn: string }) {
  useTitle(`Resource policy ${arn}`);
  const stored = useAsync(() => iam<Stored>("GetResourcePolicy", { resourceArn: arn }), [arn]);
  const [draft, setDraft] = useState<string | undefined>();
  const s = stored.data;
  return (
    <>
      <p className="crumbs">
        <Link to="/resource-policies">Resource policies</Link> /
      </p>
      <h1>Resource policy</h1>
      <ErrorMessage error={stored.error} />
      {s !== undefined && (
        <>
          <Summary
            rows={[
              ["Resource", <code key="arn">{arn}</code>],
              ["Created", formatTime(s.createDateMs ?? 0)],
              ["Updated", formatTime(s.updateDateMs || s.createDateMs || 0)],
            ]}
          />
          <section aria-labelledby="document">
            <h2 id="document">Document</h2>
            <ActionForm
              label="Save the resource policy"
              submitLabel="Save policy"
              className="stack"
              run={() =>
                iam("PutResourcePolicy", { resourceArn: arn, policyDocument: draft ?? s.policyDocument ?? "" }).then(
                  () => {},
                )
              }
              onDone={() => {
                setDraft(undefined);
                stored.reload();
              }}
            >
              <PolicyEditor
                label="Resource policy"
                kind="resource"
                value={draft ?? pretty(s.policyDocument ?? "")}
                onChange={setDraft}
              />
            </ActionForm>
          </section>
          <DeleteSection
            label="Delete resource policy"
            confirm="Delete this resource's policy? Only identity policies decide access to it afterwards."
            run={() => iam("DeleteResourcePolicy", { resourceArn: arn }).then(() => {})}
            onDone={() => navigate("/resource-policies")}
          />
        </>
      )}
    </>
  );
}
