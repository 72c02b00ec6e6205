/** `/policies`: the managed policies (the account's own, AWS's, or both) with paging. */
import { useState } from "react";
import { iam } from "../api/client.ts";
import type { ManagedPolicy, PageResponse } from "../api/types.ts";
import { ListPage, PATH_PREFIX } from "../components/list-page.tsx";
import { formatTime } from "../lib/format.ts";
import { Link } from "../router.tsx";

/** See the module comment. */
export function PoliciesPage() {
  const [scope, setScope] = useState("Local");
  const [onlyAttached, setOnlyAttached] = useState(false);
  return (
    <ListPage<ManagedPolicy>
      title="Policies"
      caption="Managed policies"
      prefix={PATH_PREFIX}
      intro={
        <p>
          <Link to="/policies/new" className="button primary">
            Create policy
          </Link>
        </p>
      }
      toolbar={
        <div className="toolbar">
          <div className="field inline">
            <label htmlFor="scope">Scope</label>
            <select id="scope" value={scope} onChange={(e) => setScope(e.target.value)}>
              <option value="Local">This account's policies</option>
              <option value="AWS">AWS managed policies</option>
              <option value="All">All</option>
            </select>
          </div>
          <div className="field inline checkbox">
            <input
              id="only-attached"
              type="checkbox"
              checked={onlyAttached}
              onChange={(e) => setOnlyAttached(e.target.checked)}
            />
            <label htmlFor="only-attached">Only attached ones</label>
          </div>
        </div>
      }
      filterKey={`${scope}|${onlyAttached}`}
      rowKey={(p) => p.arn}
      searchText={(p) => `${p.policyName} ${p.description}`}
      load={async (pathPrefix, marker, maxItems) => {
        const r = await iam<{ policies?: ManagedPolicy[]; page?: PageResponse }>("ListPolicies", {
          scope,
          onlyAttached,
          pathPrefix,
          page: { marker, maxItems },
        });
        return { items: r.policies ?? [], page: r.page };
      }}
      columns={[
        { header: "Policy name", cell: (p) => <Link to={`/policies/${p.arn}`}>{p.policyName}</Link> },
        { header: "Type", cell: (p) => (p.arn.includes(":aws:policy/") ? "AWS managed" : "Customer managed") },
        { header: "Attachments", cell: (p) => p.attachmentCount },
        { header: "Default version", cell: (p) => p.defaultVersionId },
        { header: "Updated", cell: (p) => formatTime(p.updateDateMs || p.createDateMs) },
      ]}
    />
  );
}
