/** The sections the user, group and role pages share: attached and inline policies, tags, boundary. */
import { useState } from "react";
import { iam } from "../api/client.ts";
import { type AttachedPolicy, ENTITY_TYPE, type EntityKind, type PageResponse, type Tag } from "../api/types.ts";
import { ActionButton, ActionForm } from "../components/action-form.tsx";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { PolicyEditor } from "../components/policy-editor.tsx";
import { parseTags } from "../lib/tags.ts";
import { useAsync } from "../lib/use-async.ts";
import { Link } from "../router.tsx";

const INLINE_KIND = { user: "inline-user", group: "inline-group", role: "inline-role" } as const;

/** Attached managed policies, with attach (by ARN, or from the account's policies) and detach. */
export function AttachedPoliciesSection({ kind, name }: { kind: EntityKind; name: string }) {
  const entity = { entityType: ENTITY_TYPE[kind], entityName: name };
  const list = useAsync(
    () => iam<{ attachedPolicies?: AttachedPolicy[]; page?: PageResponse }>("ListAttachedPolicies", entity),
    [kind, name],
  );
  const choices = useAsync(
    () =>
      iam<{ policies?: { arn: string; policyName: string }[] }>("ListPolicies", {
        scope: "Local",
        page: { maxItems: 100 },
      }),
    [],
  );
  const [arn, setArn] = useState("");
  const listId = `policy-choices-${kind}`;
  return (
    <section aria-labelledby={`attached-${kind}`}>
      <h2 id={`attached-${kind}`}>Attached policies</h2>
      <ErrorMessage error={list.error} />
      <ul className="items">
        {(list.data?.attachedPolicies ?? []).map((p) => (
          <li key={p.policyArn}>
            <Link to={`/policies/${p.policyArn}`}>{p.policyName}</Link> <code>{p.policyArn}</code>{" "}
            <ActionButton
              label={`Detach ${p.policyName}`}
              run={() => iam("DetachPolicy", { ...entity, policyArn: p.policyArn }).then(() => {})}
              onDone={list.reload}
            />
          </li>
        ))}
        {list.data !== undefined && (list.data.attachedPolicies ?? []).length === 0 && <li>None.</li>}
      </ul>
      <ActionForm
        label="Attach a policy"
        submitLabel="Attach policy"
        run={async () => {
          await iam("AttachPolicy", { ...entity, policyArn: arn.trim() });
          setArn("");
        }}
        onDone={list.reload}
      >
        <Field
          label="Policy ARN"
          name="policyArn"
          list={listId}
          value={arn}
          placeholder="arn:aws:iam::aws:policy/ReadOnlyAccess"
          onChange={(e) => setArn(e.target.value)}
        />
        <datalist id={listId}>
          {(choices.data?.policies ?? []).map((p) => (
            <option key={p.arn} value={p.arn}>
              {p.policyName}
            </option>
          ))}
        </datalist>
      </ActionForm>
    </section>
  );
}

function InlinePolicy({
  kind,
  name,
  policyName,
  onChanged,
}: {
  kind: EntityKind;
  name: string;
  policyName: string;
  onChanged: () => void;
}) {
  const entity = { entityType: ENTITY_TYPE[kind], entityName: name };
  const [open, setOpen] = useState(false);
  const doc = useAsync(
    () =>
      open
        ? iam<{ policyDocument?: string }>("GetInlinePolicy", { ...entity, policyName })
        : Promise.resolve(undefined),
    [open, kind, name, policyName],
  );
  const [text, setText] = useState<string | undefined>();
  const shown = text ?? pretty(doc.data?.policyDocument ?? "");
  return (
    <li>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {policyName}
      </button>{" "}
      <ActionButton
        label={`Delete ${policyName}`}
        confirm={`Delete the inline policy ${policyName}?`}
        run={() => iam("DeleteInlinePolicy", { ...entity, policyName }).then(() => {})}
        onDone={onChanged}
      />
      {open && doc.data !== undefined && (
        <ActionForm
          label={`Edit ${policyName}`}
          submitLabel="Save policy"
          run={() => iam("PutInlinePolicy", { ...entity, policyName, policyDocument: shown }).then(() => {})}
          onDone={onChanged}
        >
          <PolicyEditor
            label={`Inline policy ${policyName}`}
            kind={INLINE_KIND[kind]}
            value={shown}
            onChange={setText}
          />
        </ActionForm>
      )}
      <ErrorMessage error={doc.error} />
    </li>
  );
}

/** Pretty-prints a stored (minified) document; leaves text that is not JSON as it is. */
export function pretty(doc: string): string {
  if (doc === "") return "";
  try {
    return JSON.stringify(JSON.parse(doc), null, 2);
  } catch {
    return doc;
  }
}

const NEW_INLINE = `{
  "Version": "2012-10-17",
  "Statement": [
    { "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::example-bucket/*" }
  ]
}`;

/** Inline policies: view, edit (live validation), add, delete. */
export function InlinePoliciesSection({ kind, name }: { kind: EntityKind; name: string }) {
  const entity = { entityType: ENTITY_TYPE[kind], entityName: name };
  const list = useAsync(() => iam<{ policyNames?: string[] }>("ListInlinePolicies", entity), [kind, name]);
  const [policyName, setPolicyName] = useState("");
  const [doc, setDoc] = useState(NEW_INLINE);
  const [adding, setAdding] = useState(false);
  return (
    <section aria-labelledby={`inline-${kind}`}>
      <h2 id={`inline-${kind}`}>Inline policies</h2>
      <ErrorMessage error={list.error} />
      <ul className="items">
        {(list.data?.policyNames ?? []).map((p) => (
          <InlinePolicy key={p} kind={kind} name={name} policyName={p} onChanged={list.reload} />
        ))}
        {list.data !== undefined && (list.data.policyNames ?? []).length === 0 && <li>None.</li>}
      </ul>
      <button type="button" aria-expanded={adding} onClick={() => setAdding(!adding)}>
        Add inline policy
      </button>
      {adding && (
        <ActionForm
          label="Add an inline policy"
          submitLabel="Save inline policy"
          run={() => iam("PutInlinePolicy", { ...entity, policyName, policyDocument: doc }).then(() => {})}
          onDone={() => {
            setAdding(false);
            list.reload();
          }}
        >
          <Field
            label="Policy name"
            name="policyName"
            value={policyName}
            onChange={(e) => setPolicyName(e.target.value)}
          />
          <PolicyEditor label="Policy document" kind={INLINE_KIND[kind]} value={doc} onChange={setDoc} />
        </ActionForm>
      )}
    </section>
  );
}

const TAG_OPS = {
  user: ["TagUser", "UntagUser", "ListUserTags"],
  role: ["TagRole", "UntagRole", "ListRoleTags"],
  "oidc-provider": ["TagOpenIDConnectProvider", "UntagOpenIDConnectProvider", "ListOpenIDConnectProviderTags"],
  "instance-profile": ["TagInstanceProfile", "UntagInstanceProfile", "ListInstanceProfileTags"],
} as const;

/** Tags of a user, role, OIDC provider (`name` is its ARN) or instance profile: list, add, remove. */
export function TagsSection({ kind, name }: { kind: keyof typeof TAG_OPS; name: string }) {
  const [tagOp, untagOp, listOp] = TAG_OPS[kind];
  const list = useAsync(() => iam<{ tags?: Tag[] }>(listOp, { entityName: name }), [kind, name]);
  const [text, setText] = useState("");
  return (
    <section aria-labelledby={`tags-${kind}`}>
      <h2 id={`tags-${kind}`}>Tags</h2>
      <ErrorMessage error={list.error} />
      <ul className="items">
        {(list.data?.tags ?? []).map((t) => (
          <li key={t.key}>
            <code>{t.key}</code> = <code>{t.value}</code>{" "}
            <ActionButton
              label={`Remove tag ${t.key}`}
              run={() => iam(untagOp, { entityName: name, tagKeys: [t.key] }).then(() => {})}
              onDone={list.reload}
            />
          </li>
        ))}
        {list.data !== undefined && (list.data.tags ?? []).length === 0 && <li>None.</li>}
      </ul>
      <ActionForm
        label="Add tags"
        submitLabel="Add tags"
        run={async () => {
          await iam(tagOp, { entityName: name, tags: parseTags(text) });
          setText("");
        }}
        onDone={list.reload}
      >
        <Field
          label="Tags (key=value, comma-separated)"
          name="tags"
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </ActionForm>
    </section>
  );
}

/** The permissions boundary of a user or role: show, set, remove. */
export function BoundarySection(props: {
  kind: "user" | "role";
  name: string;
  current: string;
  onChanged: () => void;
}) {
  const { kind, name, current, onChanged } = props;
  const [arn, setArn] = useState("");
  const entity = { entityType: ENTITY_TYPE[kind], entityName: name };
  return (
    <section aria-labelledby={`boundary-${kind}`}>
      <h2 id={`boundary-${kind}`}>Permissions boundary</h2>
      <p>
        {current === "" ? (
          "None: the identity policies alone decide."
        ) : (
          <>
            <Link to={`/policies/${current}`}>{current}</Link>{" "}
            <ActionButton
              label="Remove boundary"
              run={() => iam("PutPermissionsBoundary", { ...entity, permissionsBoundaryArn: "" }).then(() => {})}
              onDone={onChanged}
            />
          </>
        )}
      </p>
      <ActionForm
        label="Set the permissions boundary"
        submitLabel="Set boundary"
        run={() => iam("PutPermissionsBoundary", { ...entity, permissionsBoundaryArn: arn.trim() }).then(() => {})}
        onDone={onChanged}
      >
        <Field
          label="Boundary policy ARN"
          name="permissionsBoundaryArn"
          value={arn}
          onChange={(e) => setArn(e.target.value)}
        />
      </ActionForm>
    </section>
  );
}
