/** `/audit`: the account's audit trail (LookupEvents) with filters and paging. */
import { type FormEvent, useState } from "react";
import { iam } from "../api/client.ts";
import type { AuditEvent, PageResponse } from "../api/types.ts";
import { PagedTable } from "../components/paged-table.tsx";
import { formatTime } from "../lib/format.ts";
import { useTitle } from "../router.tsx";

interface Filters {
  userName: string;
  operation: string;
  start: string;
  end: string;
}

const EMPTY: Filters = { userName: "", operation: "", start: "", end: "" };

function ms(local: string): number {
  if (local === "") return 0;
  const t = Date.parse(`${local}Z`);
  return Number.isNaN(t) ? 0 : t;
}

/** See the module comment. */
export function AuditPage() {
  useTitle("Audit trail");
  const [form, setForm] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setApplied(form);
  };
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <>
      <h1>Audit trail</h1>
      <form className="filters" onSubmit={apply} aria-label="Filters">
        <div className="field">
          <label htmlFor="f-user">User name</label>
          <input id="f-user" value={form.userName} onChange={set("userName")} />
        </div>
        <div className="field">
          <label htmlFor="f-op">Operation</label>
          <input id="f-op" value={form.operation} placeholder="CreateUser" onChange={set("operation")} />
        </div>
        <div className="field">
          <label htmlFor="f-start">From (UTC)</label>
          <input id="f-start" type="datetime-local" value={form.start} onChange={set("start")} />
        </div>
        <div className="field">
          <label htmlFor="f-end">Before (UTC)</label>
          <input id="f-end" type="datetime-local" value={form.end} onChange={set("end")} />
        </div>
        <button type="submit">Apply filters</button>
        <button
          type="button"
          onClick={() => {
            setForm(EMPTY);
            setApplied(EMPTY);
          }}
        >
          Clear
        </button>
      </form>
      <PagedTable<AuditEvent>
        caption="Events, newest first"
        filterKey={JSON.stringify(applied)}
        rowKey={(e) => e.eventId}
        searchText={(e) => `${e.operation} ${e.principalArn} ${e.errorName}`}
        load={async (marker, maxItems) => {
          const r = await iam<{ events?: AuditEvent[]; page?: PageResponse }>("LookupEvents", {
            userName: applied.userName.trim(),
            operation: applied.operation.trim(),
            startTimeMs: ms(applied.start),
            endTimeMs: ms(applied.end),
            page: { marker, maxItems },
          });
          return { items: r.events ?? [], page: r.page };
        }}
        columns={[
          { header: "Time", cell: (e) => formatTime(e.eventTimeMs) },
          { header: "Operation", cell: (e) => e.operation },
          { header: "Principal", cell: (e) => <code>{e.principalArn}</code> },
          { header: "Result", cell: (e) => e.errorName || e.errorCode || "OK" },
          { header: "Revision", cell: (e) => (e.revision ? e.revision : "—") },
          { header: "Source", cell: (e) => e.region || e.sourceIp || "—" },
          {
            header: "Request",
            cell: (e) =>
              !e.requestParametersJson ? (
                "—"
              ) : (
                <details>
                  <summary>Parameters</summary>
                  <pre>{e.requestParametersJson}</pre>
                </details>
              ),
          },
        ]}
      />
    </>
  );
}
