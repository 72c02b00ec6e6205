/**
 * `/instance-profiles` and `/instance-profiles/{name}`: containers that pass a role to a compute
 * instance. List, create, a profile's role (add, remove: at most one), tags, delete.
 */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { InstanceProfile, PageResponse, Role } from "../api/types.ts";
import { ActionButton, ActionForm, DeleteSection } from "../components/action-form.tsx";
import { CreateForm } from "../components/create-form.tsx";
import { ErrorMessage } from "../components/error-message.tsx";
import { Field } from "../components/field.tsx";
import { ListPage, PATH_PREFIX } from "../components/list-page.tsx";
import { Summary } from "../components/summary.tsx";
import { formatTime } from "../lib/format.ts";
import { parseTags } from "../lib/tags.ts";
import { useAsync } from "../lib/use-async.ts";
import { Link, navigate, useTitle } from "../router.tsx";
import { TagsSection } from "./entity-sections.tsx";

const pathOf = (name: string) => `/instance-profiles/${encodeURIComponent(name)}`;

/** `/instance-profiles`. */
export function InstanceProfilesPage() {
  const [name, setName] = useState("");
  const [path, setPath] = useState("");
  const [tags, setTags] = useState("");
  const create = async () => {
    await iam("CreateInstanceProfile", { instanceProfileName: name, path, tags: parseTags(tags) });
    navigate(pathOf(name));
  };
  return (
    <ListPage<InstanceProfile>
      title="Instance profiles"
      caption="Instance profiles"
      prefix={PATH_PREFIX}
      create={
        <CreateForm title="Create instance profile" submit={create}>
          <Field
            label="Instance profile name"
            name="instanceProfileName"
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
          <Field label="Path" name="path" value={path} placeholder="/" onChange={(e) => setPath(e.target.value)} />
          <Field
            label="Tags"
            name="tags"
            value={tags}
            placeholder="team=red, env=prod"
            onChange={(e) => setTags(e.target.value)}
          />
        </CreateForm>
      }
      rowKey={(p) => p.arn}
      searchText={(p) => p.instanceProfileName}
      load={async (pathPrefix, marker, maxItems) => {
        const r = await iam<{ instanceProfiles?: InstanceProfile[]; page?: PageResponse }>("ListInstanceProfiles", {
          pathPrefix,
          page: { marker, maxItems },
        });
        return { items: r.instanceProfiles ?? [], page: r.page };
      }}
      columns={[
        {
          header: "Name",
          cell: (p) => <Link to={pathOf(p.instanceProfileName)}>{p.instanceProfileName}</Link>,
        },
        { header: "Path", cell: (p) => p.path },
        { header: "Role", cell: (p) => (p.roles ?? [])[0]?.roleName ?? "—" },
        { header: "Created", cell: (p) => formatTime(p.createDateMs) },
      ]}
    />
  );
}

/** `/instance-profiles/{name}`. */
export function InstanceProfileDetailPage({ name }: { name: string }) {
  useTitle(`Instance profile ${name}`);
  const profile = useAsync(
    () => iam<{ instanceProfile?: InstanceProfile }>("GetInstanceProfile", { instanceProfileName: name }),
    [name],
  );
  const roles = useAsync(() => iam<{ roles?: Role[] }>("ListRoles", { page: { maxItems: 1000 } }), []);
  const [roleName, setRoleName] = useState("");
  const p = profile.data?.instanceProfile;
  const role = (p?.roles ?? [])[0];
  return (
    <>
      <p className="crumbs">
        <Link to="/instance-profiles">Instance profiles</Link> /
      </p>
      <h1>Instance profile {name}</h1>
      <ErrorMessage error={profile.error} />
      {p !== undefined && (
        <>
          <Summary
            rows={[
              ["ARN", <code key="arn">{p.arn}</code>],
              ["Instance profile ID", <code key="id">{p.instanceProfileId}</code>],
              ["Path", p.path],
              ["Created", formatTime(p.createDateMs)],
            ]}
          />
          <section aria-labelledby="role">
            <h2 id="role">Role</h2>
            {role !== undefined ? (
              <p>
                <Link to={`/roles/${encodeURIComponent(role.roleName)}`}>{role.roleName}</Link>{" "}
                <ActionButton
                  label={`Remove role ${role.roleName}`}
                  run={() =>
                    iam("RemoveRoleFromInstanceProfile", { instanceProfileName: name, roleName: role.roleName }).then(
                      () => {},
                    )
                  }
                  onDone={profile.reload}
                />
              </p>
            ) : (
              <>
                <p>None: an instance given this profile gets no credentials.</p>
                <ActionForm
                  label="Add a role"
                  submitLabel="Add role"
                  run={async () => {
                    await iam("AddRoleToInstanceProfile", { instanceProfileName: name, roleName });
                    setRoleName("");
                  }}
                  onDone={profile.reload}
                >
                  <Field
                    label="Role name"
                    name="roleName"
                    value={roleName}
                    list="instance-profile-roles"
                    onChange={(e) => setRoleName(e.target.value)}
                  />
                  <datalist id="instance-profile-roles">
                    {(roles.data?.roles ?? []).map((r) => (
                      <option key={r.arn} value={r.roleName} />
                    ))}
                  </datalist>
                </ActionForm>
              </>
            )}
          </section>
          <TagsSection kind="instance-profile" name={name} />
          <DeleteSection
            label="Delete instance profile"
            confirm="Delete this instance profile? Remove its role first."
            run={() => iam("DeleteInstanceProfile", { instanceProfileName: name }).then(() => {})}
            onDone={() => navigate("/instance-profiles")}
          />
        </>
      )}
    </>
  );
}
