/** The users, groups and roles lists, each with its create form (one `ListPage` each). */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { Group, PageResponse, Role, User } from "../api/types.ts";
import { CreateForm } from "../components/create-form.tsx";
import { Field } from "../components/field.tsx";
import { ListPage, PATH_PREFIX } from "../components/list-page.tsx";
import { PolicyEditor } from "../components/policy-editor.tsx";
import { formatTime } from "../lib/format.ts";
import { parseTags } from "../lib/tags.ts";
import { Link, navigate } from "../router.tsx";

type ListAnswer<K extends string, T> = { [P in K]?: T[] } & { page?: PageResponse };

/** `/users`. */
export function UsersPage() {
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
    <ListPage<User>
      title="Users"
      caption="Users"
      prefix={PATH_PREFIX}
      create={
        <CreateForm title="Create user" submit={create}>
          <Field label="User name" name="userName" value={userName} onChange={(e) => setUserName(e.target.value)} />
          <Field label="Path" name="path" value={path} placeholder="/" onChange={(e) => setPath(e.target.value)} />
          <Field
            label="Tags"
            name="tags"
            value={tags}
            placeholder="team=red, env=prod"
            onChange={(e) => setTags(e.target.value)}
          />
          <Field
            label="Permissions boundary ARN"
            name="permissionsBoundaryArn"
            value={boundary}
            onChange={(e) => setBoundary(e.target.value)}
          />
          <Field
            label="Console password (optional)"
            name="password"
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
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
      }
      rowKey={(u) => u.arn}
      searchText={(u) => u.userName}
      load={async (prefix, marker, maxItems) => {
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
  );
}

/** `/groups`. */
export function GroupsPage() {
  const [groupName, setGroupName] = useState("");
  const [path, setPath] = useState("");
  const create = async () => {
    await iam("CreateGroup", { groupName, path });
    navigate(`/groups/${encodeURIComponent(groupName)}`);
  };
  return (
    <ListPage<Group>
      title="Groups"
      caption="Groups"
      prefix={PATH_PREFIX}
      create={
        <CreateForm title="Create group" submit={create}>
          <Field label="Group name" name="groupName" value={groupName} onChange={(e) => setGroupName(e.target.value)} />
          <Field label="Path" name="path" value={path} placeholder="/" onChange={(e) => setPath(e.target.value)} />
        </CreateForm>
      }
      rowKey={(g) => g.arn}
      searchText={(g) => g.groupName}
      load={async (prefix, marker, maxItems) => {
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
  const [roleName, setRoleName] = useState("");
  const [path, setPath] = useState("");
  const [description, setDescription] = useState("");
  const [trust, setTrust] = useState(TRUST_TEMPLATE);
  const create = async () => {
    await iam("CreateRole", { roleName, path, description, assumeRolePolicyDocument: trust });
    navigate(`/roles/${encodeURIComponent(roleName)}`);
  };
  return (
    <ListPage<Role>
      title="Roles"
      caption="Roles"
      prefix={PATH_PREFIX}
      create={
        <CreateForm title="Create role" submit={create}>
          <Field label="Role name" name="roleName" value={roleName} onChange={(e) => setRoleName(e.target.value)} />
          <Field label="Path" name="path" value={path} placeholder="/" onChange={(e) => setPath(e.target.value)} />
          <Field
            label="Description"
            name="description"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
          <PolicyEditor label="Trust policy" kind="trust" value={trust} onChange={setTrust} />
        </CreateForm>
      }
      rowKey={(r) => r.arn}
      searchText={(r) => r.roleName}
      load={async (prefix, marker, maxItems) => {
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
  );
}
