/** Edit forms of the entity pages: rename or move a user or group, a role's description and session length. */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { Role } from "../api/types.ts";
import { ActionForm } from "../components/action-form.tsx";
import { Field } from "../components/field.tsx";
import { navigate } from "../router.tsx";

/** UpdateUser / UpdateGroup: a new name (the page follows it) and a new path; blank keeps each. */
export function RenameForm({ kind, name, path }: { kind: "user" | "group"; name: string; path: string }) {
  const [newName, setNewName] = useState("");
  const [newPath, setNewPath] = useState("");
  const [op, field, newNameField] =
    kind === "user" ? ["UpdateUser", "userName", "newUserName"] : ["UpdateGroup", "groupName", "newGroupName"];
  return (
    <ActionForm
      label={`Edit ${kind} ${name}`}
      submitLabel="Save"
      run={async () => {
        await iam(op, {
          [field]: name,
          ...(newName.trim() === "" ? {} : { [newNameField]: newName.trim() }),
          ...(newPath.trim() === "" ? {} : { newPath: newPath.trim() }),
        });
      }}
      onDone={() => navigate(`/${kind}s/${encodeURIComponent(newName.trim() || name)}`, { replace: true })}
    >
      <Field
        label="New name"
        name={newNameField}
        value={newName}
        placeholder={name}
        onChange={(e) => setNewName(e.target.value)}
      />
      <Field
        label="New path"
        name="newPath"
        value={newPath}
        placeholder={path}
        onChange={(e) => setNewPath(e.target.value)}
      />
    </ActionForm>
  );
}

/** UpdateRole: the description and the maximum session duration (3,600-43,200 s). */
export function RoleEditForm({ role, onDone }: { role: Role; onDone: () => void }) {
  const [description, setDescription] = useState(role.description ?? "");
  const [maxSession, setMaxSession] = useState(String(role.maxSessionDuration ?? 3600));
  return (
    <ActionForm
      label={`Edit role ${role.roleName}`}
      submitLabel="Save"
      run={() =>
        iam("UpdateRole", {
          roleName: role.roleName,
          description,
          maxSessionDuration: Number(maxSession),
        }).then(() => {})
      }
      onDone={onDone}
    >
      <Field
        label="Description"
        name="description"
        value={description}
        onChange={(e) => setDescription(e.target.value)}
      />
      <Field
        label="Maximum session (seconds)"
        name="maxSessionDuration"
        type="number"
        value={maxSession}
        onChange={(e) => setMaxSession(e.target.value)}
      />
    </ActionForm>
  );
}
