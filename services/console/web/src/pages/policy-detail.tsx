/** `/policies/{arn}` (versions, attachments, a new version) and `/policies/new` (the editor). */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { ManagedPolicy, PolicyVersion } from "../api/types.ts";
import { ActionButton, ActionForm, DeleteSection } from "../components/action-form.tsx";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { PolicyDiffView } from "../components/policy-diff-view.tsx";
import { PolicyEditor } from "../components/policy-editor.tsx";
import { formatTime } from "../lib/format.ts";
import { useAsync } from "../lib/use-async.ts";
import { Link, navigate, useTitle } from "../router.tsx";
import { pretty } from "./entity-sections.tsx";

const TEMPLATE = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadReports",
      "Effect": "Allow",
      "Action": ["s3:GetObject", "s3:ListBucket"],
      "Resource": ["arn:aws:s3:::reports", "arn:aws:s3:::reports/*"]
    }
  ]
}`;

/** `/policies/new`. */
export function NewPolicyPage() {
  useTitle("Create policy");
  const [policyName, setPolicyName] = useState("");
  const [path, setPath] = useState("");
  const [description, setDescription] = useState("");
  const [doc, setDoc] = useState(TEMPLATE);
  const [created, setCreated] = useState("");
  return (
    <>
      <p className="crumbs">
        <Link to="/policies">Policies</Link> /
      </p>
      <h1>Create policy</h1>
      <ActionForm
        label="Create a managed policy"
        submitLabel="Create policy"
        className="stack"
        run={async () => {
          const r = await iam<{ policy?: ManagedPolicy }>("CreatePolicy", {
            policyName,
            path,
            description,
            policyDocument: doc,
          });
          setCreated(r.policy?.arn ?? "");
        }}
        onDone={() => undefined}
      >
        <Field
          label="Policy name"
          name="policyName"
          value={policyName}
          onChange={(e) => setPolicyName(e.target.value)}
        />
        <Field label="Path" name="path" value={path} placeholder="/" onChange={(e) => setPath(e.target.value)} />
        <Field
          label="Description"
          name="description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <PolicyEditor label="Policy document" kind="managed" value={doc} onChange={setDoc} />
      </ActionForm>
      {created !== "" && (
        <p role="status">
          Created <Link to={`/policies/${created}`}>{created}</Link>.{" "}
          <button type="button" onClick={() => navigate(`/policies/${created}`)}>
            Open it
          </button>
        </p>
      )}
    </>
  );
}

interface Entities {
  policyGroups?: { name: string }[];
  policyUsers?: { name: string }[];
  policyRoles?: { name: string }[];
}

/** `/policies/{arn}`. */
export function PolicyDetailPage({ arn }: { arn: string }) {
  const policy = useAsync(() => iam<{ policy?: ManagedPolicy }>("GetPolicy", { policyArn: arn }), [arn]);
  const versions = useAsync(() => iam<{ versions?: PolicyVersion[] }>("ListPolicyVersions", { policyArn: arn }), [arn]);
  const entities = useAsync(() => iam<Entities>("ListEntitiesForPolicy", { policyArn: arn }), [arn]);
  const p = policy.data?.policy;
  useTitle(`Policy ${p?.policyName ?? arn}`);
  const list = versions.data?.versions ?? [];
  const current = list.find((v) => v.isDefaultVersion) ?? list[0];
  const [draft, setDraft] = useState<string | undefined>();
  const [setDefault, setSetDefault] = useState(true);
  const aws = arn.includes(":aws:policy/");
  const reload = () => {
    policy.reload();
    versions.reload();
    setDraft(undefined);
  };
  return (
    <>
      <p className="crumbs">
        <Link to="/policies">Policies</Link> /
      </p>
      <h1>Policy {p?.policyName ?? ""}</h1>
      <ErrorMessage error={policy.error ?? versions.error} />
      {p !== undefined && (
        <dl className="summary">
          <div>
            <dt>ARN</dt>
            <dd>
              <code>{p.arn}</code>
            </dd>
          </div>
          <div>
            <dt>Description</dt>
            <dd>{p.description || "—"}</dd>
          </div>
          <div>
            <dt>Default version</dt>
            <dd>{p.defaultVersionId}</dd>
          </div>
          <div>
            <dt>Attachments</dt>
            <dd>{p.attachmentCount}</dd>
          </div>
          <div>
            <dt>Updated</dt>
            <dd>{formatTime(p.updateDateMs || p.createDateMs)}</dd>
          </div>
        </dl>
      )}
      {current !== undefined && (
        <section aria-labelledby="document">
          <h2 id="document">{aws ? "Document" : "Document and a new version"}</h2>
          {aws ? (
            <PolicyEditor
              label={`Version ${current.versionId}`}
              kind="managed"
              value={pretty(current.document)}
              readOnly
            />
          ) : (
            <ActionForm
              label="Save as a new version"
              submitLabel="Save as new version"
              className="stack"
              run={() =>
                iam("CreatePolicyVersion", {
                  policyArn: arn,
                  policyDocument: draft ?? current.document,
                  setAsDefault: setDefault,
                }).then(() => {})
              }
              onDone={reload}
            >
              <PolicyEditor
                label={`Document (from version ${current.versionId})`}
                kind="managed"
                value={draft ?? pretty(current.document)}
                onChange={setDraft}
              />
              <div className="field checkbox">
                <input
                  id="set-default"
                  type="checkbox"
                  checked={setDefault}
                  onChange={(e) => setSetDefault(e.target.checked)}
                />
                <label htmlFor="set-default">Make it the default version</label>
              </div>
            </ActionForm>
          )}
        </section>
      )}
      <section aria-labelledby="versions">
        <h2 id="versions">Versions</h2>
        <ul className="items">
          {list.map((v) => (
            <li key={v.versionId}>
              {v.versionId} {v.isDefaultVersion ? "(default)" : ""} · {formatTime(v.createDateMs)}{" "}
              {!v.isDefaultVersion && !aws && (
                <>
                  <ActionButton
                    label={`Make ${v.versionId} default`}
                    run={() =>
                      iam("SetDefaultPolicyVersion", { policyArn: arn, versionId: v.versionId }).then(() => {})
                    }
                    onDone={reload}
                  />
                  <ActionButton
                    label={`Delete ${v.versionId}`}
                    run={() => iam("DeletePolicyVersion", { policyArn: arn, versionId: v.versionId }).then(() => {})}
                    onDone={reload}
                  />
                </>
              )}
            </li>
          ))}
        </ul>
      </section>
      {list.length >= 2 && <CompareVersions versions={list} />}
      <section aria-labelledby="entities">
        <h2 id="entities">Attached to</h2>
        <ErrorMessage error={entities.error} />
        <ul className="items">
          {(entities.data?.policyUsers ?? []).map((e) => (
            <li key={`u${e.name}`}>
              User <Link to={`/users/${encodeURIComponent(e.name)}`}>{e.name}</Link>
            </li>
          ))}
          {(entities.data?.policyGroups ?? []).map((e) => (
            <li key={`g${e.name}`}>
              Group <Link to={`/groups/${encodeURIComponent(e.name)}`}>{e.name}</Link>
            </li>
          ))}
          {(entities.data?.policyRoles ?? []).map((e) => (
            <li key={`r${e.name}`}>
              Role <Link to={`/roles/${encodeURIComponent(e.name)}`}>{e.name}</Link>
            </li>
          ))}
        </ul>
      </section>
      {!aws && (
        <DeleteSection
          label="Delete policy"
          confirm="Delete this policy? It must be detached everywhere first."
          run={() => iam("DeletePolicy", { policyArn: arn }).then(() => {})}
          onDone={() => navigate("/policies")}
        />
      )}
    </>
  );
}

/**
 * Two versions of the policy side by side as a line diff (both pretty-printed first, so only
 * what changed in the JSON shows). Starts with the default against the newest other version.
 */
function CompareVersions({ versions }: { versions: PolicyVersion[] }) {
  const byId = new Map(versions.map((v) => [v.versionId, v]));
  const def = versions.find((v) => v.isDefaultVersion) ?? versions[0];
  const other = versions.find((v) => v !== def);
  const [olderId, setOlderId] = useState(other?.versionId ?? "");
  const [newerId, setNewerId] = useState(def?.versionId ?? "");
  const older = byId.get(olderId);
  const newer = byId.get(newerId);
  return (
    <section aria-labelledby="compare">
      <h2 id="compare">Compare versions</h2>
      <div className="toolbar">
        <div className="field inline">
          <label htmlFor="compare-from">From</label>
          <select id="compare-from" value={olderId} onChange={(e) => setOlderId(e.target.value)}>
            {versions.map((v) => (
              <option key={v.versionId} value={v.versionId}>
                {v.versionId}
                {v.isDefaultVersion ? " (default)" : ""}
              </option>
            ))}
          </select>
        </div>
        <div className="field inline">
          <label htmlFor="compare-to">To</label>
          <select id="compare-to" value={newerId} onChange={(e) => setNewerId(e.target.value)}>
            {versions.map((v) => (
              <option key={v.versionId} value={v.versionId}>
                {v.versionId}
                {v.isDefaultVersion ? " (default)" : ""}
              </option>
            ))}
          </select>
        </div>
      </div>
      {older !== undefined && newer !== undefined && (
        <PolicyDiffView
          older={older.document}
          newer={newer.document}
          olderName={older.versionId}
          newerName={newer.versionId}
        />
      )}
    </section>
  );
}
