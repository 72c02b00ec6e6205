/** `/users/{name}`, `/groups/{name}`, `/roles/{name}`: one entity and everything attached to it. */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { EntityKind, Group, Role, User } from "../api/types.ts";
import { ActionButton, ActionForm, DeleteSection } from "../components/action-form.tsx";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { PolicyEditor } from "../components/policy-editor.tsx";
import { Summary } from "../components/summary.tsx";
import { formatTime } from "../lib/format.ts";
import { useAsync } from "../lib/use-async.ts";
import { Link, navigate, useTitle } from "../router.tsx";
import { RenameForm, RoleEditForm } from "./entity-edit.tsx";
import {
  AttachedPoliciesSection,
  BoundarySection,
  InlinePoliciesSection,
  pretty,
  TagsSection,
} from "./entity-sections.tsx";
import { AccessKeysSection, LoginProfileSection, MfaSection, UserGroupsSection } from "./user-sections.tsx";

const TITLES: Record<EntityKind, string> = { user: "User", group: "Group", role: "Role" };

function UserDetail({ name }: { name: string }) {
  const user = useAsync(() => iam<{ user?: User }>("GetUser", { userName: name }), [name]);
  const u = user.data?.user;
  return (
    <>
      <ErrorMessage error={user.error} />
      {u !== undefined && (
        <>
          <Summary
            rows={[
              ["ARN", <code key="arn">{u.arn}</code>],
              ["User ID", <code key="id">{u.userId}</code>],
              ["Path", u.path],
              ["Created", formatTime(u.createDateMs)],
            ]}
          />
          <details className="edit">
            <summary>Edit name or path</summary>
            <RenameForm kind="user" name={name} path={u.path} />
          </details>
          <UserGroupsSection userName={name} />
          <AttachedPoliciesSection kind="user" name={name} />
          <InlinePoliciesSection kind="user" name={name} />
          <BoundarySection kind="user" name={name} current={u.permissionsBoundaryArn ?? ""} onChanged={user.reload} />
          <TagsSection kind="user" name={name} />
          <AccessKeysSection userName={name} />
          <MfaSection userName={name} />
          <LoginProfileSection userName={name} />
        </>
      )}
    </>
  );
}

function GroupDetail({ name }: { name: string }) {
  const group = useAsync(
    () => iam<{ group?: Group; users?: User[] }>("GetGroup", { groupName: name, page: { maxItems: 1000 } }),
    [name],
  );
  const [userName, setUserName] = useState("");
  const g = group.data?.group;
  return (
    <>
      <ErrorMessage error={group.error} />
      {g !== undefined && (
        <>
          <Summary
            rows={[
              ["ARN", <code key="arn">{g.arn}</code>],
              ["Path", g.path],
              ["Created", formatTime(g.createDateMs)],
            ]}
          />
          <details className="edit">
            <summary>Edit name or path</summary>
            <RenameForm kind="group" name={name} path={g.path} />
          </details>
          <section aria-labelledby="members">
            <h2 id="members">Members</h2>
            <ul className="items">
              {(group.data?.users ?? []).map((u) => (
                <li key={u.arn}>
                  <Link to={`/users/${encodeURIComponent(u.userName)}`}>{u.userName}</Link>{" "}
                  <ActionButton
                    label={`Remove ${u.userName}`}
                    run={() => iam("RemoveUserFromGroup", { groupName: name, userName: u.userName }).then(() => {})}
                    onDone={group.reload}
                  />
                </li>
              ))}
              {(group.data?.users ?? []).length === 0 && <li>None.</li>}
            </ul>
            <ActionForm
              label="Add a member"
              submitLabel="Add member"
              run={() => iam("AddUserToGroup", { groupName: name, userName }).then(() => {})}
              onDone={group.reload}
            >
              <Field label="User name" name="userName" value={userName} onChange={(e) => setUserName(e.target.value)} />
            </ActionForm>
          </section>
          <AttachedPoliciesSection kind="group" name={name} />
          <InlinePoliciesSection kind="group" name={name} />
        </>
      )}
    </>
  );
}

function RoleDetail({ name }: { name: string }) {
  const role = useAsync(() => iam<{ role?: Role }>("GetRole", { roleName: name }), [name]);
  const r = role.data?.role;
  const [trust, setTrust] = useState<string | undefined>();
  return (
    <>
      <ErrorMessage error={role.error} />
      {r !== undefined && (
        <>
          <Summary
            rows={[
              ["ARN", <code key="arn">{r.arn}</code>],
              ["Path", r.path],
              ["Description", r.description || "—"],
              ["Maximum session", `${r.maxSessionDuration} s`],
              ["Created", formatTime(r.createDateMs)],
            ]}
          />
          <details className="edit">
            <summary>Edit description or maximum session</summary>
            <RoleEditForm role={r} onDone={role.reload} />
          </details>
          <section aria-labelledby="trust">
            <h2 id="trust">Trust policy</h2>
            <ActionForm
              label="Update the trust policy"
              submitLabel="Save trust policy"
              run={() =>
                iam("UpdateAssumeRolePolicy", {
                  roleName: name,
                  policyDocument: trust ?? r.assumeRolePolicyDocument,
                }).then(() => {})
              }
              onDone={role.reload}
            >
              <PolicyEditor
                label="Trust policy document"
                kind="trust"
                value={trust ?? pretty(r.assumeRolePolicyDocument ?? "")}
                onChange={setTrust}
              />
            </ActionForm>
          </section>
          <AttachedPoliciesSection kind="role" name={name} />
          <InlinePoliciesSection kind="role" name={name} />
          <BoundarySection kind="role" name={name} current={r.permissionsBoundaryArn ?? ""} onChanged={role.reload} />
          <TagsSection kind="role" name={name} />
        </>
      )}
    </>
  );
}

const DELETE_OP: Record<EntityKind, [string, string]> = {
  user: ["DeleteUser", "userName"],
  group: ["DeleteGroup", "groupName"],
  role: ["DeleteRole", "roleName"],
};

/** See the module comment. */
export function EntityDetailPage({ kind, name }: { kind: EntityKind; name: string }) {
  useTitle(`${TITLES[kind]} ${name}`);
  const [op, field] = DELETE_OP[kind];
  return (
    <>
      <p className="crumbs">
        <Link to={`/${kind}s`}>{TITLES[kind]}s</Link> /
      </p>
      <h1>
        {TITLES[kind]} {name}
      </h1>
      {kind === "user" && <UserDetail name={name} />}
      {kind === "group" && <GroupDetail name={name} />}
      {kind === "role" && <RoleDetail name={name} />}
      <DeleteSection
        label={`Delete ${kind} ${name}`}
        confirm={`Delete ${kind} ${name}? This cannot be undone.`}
        run={() => iam(op, { [field]: name }).then(() => {})}
        onDone={() => navigate(`/${kind}s`)}
      />
    </>
  );
}
