/** The users, groups and roles lists, each with its create form. */
import { type FormEvent, type ReactNode, useState } from "react";
import { type ApiError, iam } from "../api/client.ts";
import type { Group, PageResponse, Role, User } from "../api/types.ts";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { PagedTable } from "../components/paged-table.tsx";
import { PolicyEditor } from "../components/policy-editor.tsx";
import { formatTime } from "../lib/format.ts";
import { parseTags } from "../lib/tags.ts";
import { asApiError } from "../lib/use-async.ts";
import { Link, navigate, useTitle } from "../router.tsx";

type ListAnswer<K extends string, T> = { [P in K]?: T[] } & { page?: PageResponse };

/** A create form's frame: a disclosure button, the form, the API's error. */
function CreateForm(props: {
  title: string;
  submit: () => Promise<void>;
  error: ApiError | undefined;
  setError: (e: ApiError | undefined) => void;
  children: ReactNode;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    props.setError(undefined);
    setBusy(true);
    try {
      await props.submit();
      setOpen(false);
    } catch (err) {
      props.setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="create">
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {props.title}
      </button>
      {open && (
        <form onSubmit={(e) => void onSubmit(e)} aria-label={props.title}>
          {props.children}
          <ErrorMessage error={props.error} />
          <button type="submit" className="primary" disabled={busy}>
            Create
          </button>
        </form>
      )}
    </section>
  );
}

function PathPrefix({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <Field
      label="Path prefix"
      name="pathPrefix"
      value={value}
      placeholder="/"
      onChange={(e) => onChange(e.target.value)}
      hint="Lists only entities whose path starts with this (the API's PathPrefix)."
    />
  );
}

/** `/users`. */
export function UsersPage() {
  useTitle("Users");
  const [prefix, setPrefix] = useState("");
  const [error, setError] = useState<ApiError | undefined>();
  const [userName, setUserName] = useState("");
  const [path, setPath] = useState("");
  const [tags, setTags] = useState("");
  const [boundary, setBoundary] = useState("");
  const [password, setPassword] = useState("");
  const [resetRequired, setResetRequired] = useState(true);
  const create = async () => {
    await iam("CreateUser", {
      userName,
      path,
      tags: parseTags(tags),
      permissionsBoundaryArn: boundary,
    });
    if (password !== "") {
      await iam("CreateLoginProfile", { userName, password, passwordResetRequired: resetRequired });
    }
    setPassword("");
    navigate(`/users/${encodeURIComponent(userName)}`);
  };
  return (
    <>
      <h1>Users</h1>
      <CreateForm title="Create user" submit={create} error={error} setError={setError}>
        <Field
          label="User name"
          name="userName"
          value={userName}
          onChange={(e) => setUserName(e.target.value)}
          error={error}
        />
        <Field
          label="Path"
          name="path"
          value={path}
          placeholder="/"
          onChange={(e) => setPath(e.target.value)}
          error={error}
        />
        <Field
          label="Tags"
          name="tags"
          value={tags}
          placeholder="team=red, env=prod"
          onChange={(e) => setTags(e.target.value)}
          error={error}
        />
        <Field
          label="Permissions boundary ARN"
          name="permissionsBoundaryArn"
          value={boundary}
          onChange={(e) => setBoundary(e.target.value)}
          error={error}
        />
        <Field
          label="Console password (optional)"
          name="password"
          type="password"
          autoComplete="new-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={error}
        />
        <div className="field checkbox">
          <input
            id="reset-required"
            type="checkbox"
            checked={resetRequired}
            onChange={(e) => setResetRequired(e.target.checked)}
          />
          <label htmlFor="reset-required">Require a new password at first sign-in</label>
        </div>
      </CreateForm>
      <PathPrefix value={prefix} onChange={setPrefix} />
      <PagedTable<User>
        caption="Users"
        filterKey={prefix}
        rowKey={(u) => u.arn}
        searchText={(u) => u.userName}
        load={async (marker, maxItems) => {
          const r = await iam<ListAnswer<"users", User>>("ListUsers", {
            pathPrefix: prefix,
            page: { marker, maxItems },
          });
          return { items: r.users ?? [], page: r.page };
        }}
        columns={[
          {
            header: "User name",
            cell: (u) => <Link to={`/users/${encodeURIComponent(u.userName)}`}>{u.userName}</Link>,
          },
          { header: "Path", cell: (u) => u.path },
          { header: "Boundary", cell: (u) => u.permissionsBoundaryArn || "—" },
          { header: "Created", cell: (u) => formatTime(u.createDateMs) },
        ]}
      />
    </>
  );
}

/** `/groups`. */
export function GroupsPage() {
  useTitle("Groups");
  const [prefix, setPrefix] = useState("");
  const [error, setError] = useState<ApiError | undefined>();
  const [groupName, setGroupName] = useState("");
  const [path, setPath] = useState("");
  const create = async () => {
    await iam("CreateGroup", { groupName, path });
    navigate(`/groups/${encodeURIComponent(groupName)}`);
  };
  return (
    <>
      <h1>Groups</h1>
      <CreateForm title="Create group" submit={create} error={error} setError={setError}>
        <Field
          label="Group name"
          name="groupName"
          value={groupName}
          onChange={(e) => setGroupName(e.target.value)}
          error={error}
        />
        <Field
          label="Path"
          name="path"
          value={path}
          placeholder="/"
          onChange={(e) => setPath(e.target.value)}
          error={error}
        />
      </CreateForm>
      <PathPrefix value={prefix} onChange={setPrefix} />
      <PagedTable<Group>
        caption="Groups"
        filterKey={prefix}
        rowKey={(g) => g.arn}
        searchText={(g) => g.groupName}
        load={async (marker, maxItems) => {
          const r = await iam<ListAnswer<"groups", Group>>("ListGroups", {
            pathPrefix: prefix,
            page: { marker, maxItems },
          });
          return { items: r.groups ?? [], page: r.page };
        }}
        columns={[
          {
            header: "Group name",
            cell: (g) => <Link to={`/groups/${encodeURIComponent(g.groupName)}`}>{g.groupName}</Link>,
          },
          { header: "Path", cell: (g) => g.path },
          { header: "Created", cell: (g) => formatTime(g.createDateMs) },
        ]}
      />
    </>
  );
}

const TRUST_TEMPLATE = `{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": { "AWS": "arn:aws:iam::123456789012:root" },
      "Action": "sts:AssumeRole"
    }
  ]
}`;

/** `/roles`. */
export function RolesPage() {
  useTitle("Roles");
  const [prefix, setPrefix] = useState("");
  const [error, setError] = useState<ApiError | undefined>();
  const [roleName, setRoleName] = useState("");
  const [path, setPath] = useState("");
  const [description, setDescription] = useState("");
  const [trust, setTrust] = useState(TRUST_TEMPLATE);
  const create = async () => {
    await iam("CreateRole", { roleName, path, description, assumeRolePolicyDocument: trust });
    navigate(`/roles/${encodeURIComponent(roleName)}`);
  };
  return (
    <>
      <h1>Roles</h1>
      <CreateForm title="Create role" submit={create} error={error} setError={setError}>
        <Field
          label="Role name"
          name="roleName"
          value={roleName}
          onChange={(e) => setRoleName(e.target.value)}
          error={error}
        />
        <Field
          label="Path"
          name="path"
          value={path}
          placeholder="/"
          onChange={(e) => setPath(e.target.value)}
          error={error}
        />
        <Field
          label="Description"
          name="description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          error={error}
        />
        <PolicyEditor label="Trust policy" kind="trust" value={trust} onChange={setTrust} />
      </CreateForm>
      <PathPrefix value={prefix} onChange={setPrefix} />
      <PagedTable<Role>
        caption="Roles"
        filterKey={prefix}
        rowKey={(r) => r.arn}
        searchText={(r) => r.roleName}
        load={async (marker, maxItems) => {
          const r = await iam<ListAnswer<"roles", Role>>("ListRoles", {
            pathPrefix: prefix,
            page: { marker, maxItems },
          });
          return { items: r.roles ?? [], page: r.page };
        }}
        columns={[
          {
            header: "Role name",
            cell: (r) => <Link to={`/roles/${encodeURIComponent(r.roleName)}`}>{r.roleName}</Link>,
          },
          { header: "Path", cell: (r) => r.path },
          { header: "Description", cell: (r) => r.description || "—" },
          { header: "Created", cell: (r) => formatTime(r.createDateMs) },
        ]}
      />
    </>
  );
}
