import { type ReactNode, useId, useState } from "react";
import type { PageResponse } from "../api/types.ts";
import { useAsync } from "../lib/use-async.ts";
import { ErrorMessage } from "./error-message.tsx";
import { TableWrap } from "./table-wrap.tsx";

/** One column: its header and how a row shows it. */
export interface Column<T> {
  header: string;
  cell: (item: T) => ReactNode;
}

/** One page as a list call answers it. */
export interface Page<T> {
  items: T[];
  page?: Partial<PageResponse> | undefined;
}

/**
 * A list page's table: the API's own paging (Marker / IsTruncated: "Next" sends the marker the
 * last page returned, "Previous" goes back to the one before), a search box that filters the
 * loaded page by name, and a page size.
 */
export function PagedTable<T>(props: {
  caption: string;
  columns: Column<T>[];
  rowKey: (item: T) => string;
  searchText: (item: T) => string;
  load: (marker: string, maxItems: number) => Promise<Page<T>>;
  /** Changing it starts again from the first page (e.g. a path prefix). */
  filterKey?: string;
  /** Changing it loads the current page again (after a create or delete). */
  reloadKey?: number;
}) {
  const { caption, columns, rowKey, searchText, load, filterKey = "", reloadKey = 0 } = props;
  const [markers, setMarkers] = useState<string[]>([""]);
  const [pageSize, setPageSize] = useState(25);
  const [query, setQuery] = useState("");
  const [lastFilter, setLastFilter] = useState(filterKey);
  if (lastFilter !== filterKey) {
    setLastFilter(filterKey);
    setMarkers([""]);
  }
  const marker = markers[markers.length - 1] ?? "";
  const { data, error, loading } = useAsync(() => load(marker, pageSize), [marker, pageSize, filterKey, reloadKey]);
  const searchId = useId();
  const sizeId = useId();
  const shown = (data?.items ?? []).filter((i) => searchText(i).toLowerCase().includes(query.trim().toLowerCase()));
  const truncated = data?.page?.isTruncated === true && (data.page.marker ?? "") !== "";
  return (
    <div className="paged">
      <div className="toolbar">
        <div className="field inline">
          <label htmlFor={searchId}>Search this page</label>
          <input id={searchId} type="search" value={query} onChange={(e) => setQuery(e.target.value)} />
        </div>
        <div className="field inline">
          <label htmlFor={sizeId}>Per page</label>
          <select
            id={sizeId}
            value={pageSize}
            onChange={(e) => {
              setPageSize(Number(e.target.value));
              setMarkers([""]);
            }}
          >
            {[5, 10, 25, 50, 100].map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorMessage error={error} />
      <TableWrap label={caption}>
        <table aria-busy={loading}>
          <caption>
            {caption}
            {data !== undefined && !loading && ` (page ${markers.length}, ${shown.length} shown)`}
          </caption>
          <thead>
            <tr>
              {columns.map((c) => (
                <th key={c.header} scope="col">
                  {c.header}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((item) => (
              <tr key={rowKey(item)}>
                {columns.map((c) => (
                  <td key={c.header}>{c.cell(item)}</td>
                ))}
              </tr>
            ))}
            {!loading && shown.length === 0 && (
              <tr>
                <td colSpan={columns.length}>{query === "" ? "None." : "Nothing on this page matches."}</td>
              </tr>
            )}
          </tbody>
        </table>
      </TableWrap>
      <nav className="pager" aria-label={`${caption} pages`}>
        <button type="button" disabled={markers.length <= 1} onClick={() => setMarkers((m) => m.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!truncated}
          onClick={() => data?.page?.marker !== undefined && setMarkers((m) => [...m, data.page?.marker ?? ""])}
        >
          Next page
        </button>
      </nav>
    </div>
  );
}
