import { type ReactNode, useState } from "react";
import { useTitle } from "../router.tsx";
import { Field } from "./field.tsx";
import { type Column, type Page, PagedTable } from "./paged-table.tsx";

/** The server-side prefix filter a list API takes (`PathPrefix`, `ResourceArnPrefix`). */
export interface PrefixFilter {
  label: string;
  placeholder: string;
  hint: string;
}

/** The path-prefix filter most IAM lists take. */
export const PATH_PREFIX: PrefixFilter = {
  label: "Path prefix",
  placeholder: "/",
  hint: "Lists only entities whose path starts with this (the API's PathPrefix).",
};

/**
 * One list page: its title, an optional create form and toolbar, an optional server-side prefix
 * filter, and the paged table (the API's paging, a search within the loaded page, a page size).
 * `load` gets the prefix typed, the page's marker and its size; `filterKey` names any other
 * filter the page keeps itself (changing it starts from the first page).
 *
 * @example
 * <ListPage<Group> title="Groups" caption="Groups" prefix={PATH_PREFIX} columns={…}
 *   rowKey={(g) => g.arn} searchText={(g) => g.groupName}
 *   load={(pathPrefix, marker, maxItems) => …} />
 */
export function ListPage<T>(props: {
  title: string;
  caption: string;
  columns: Column<T>[];
  rowKey: (item: T) => string;
  searchText: (item: T) => string;
  load: (prefix: string, marker: string, maxItems: number) => Promise<Page<T>>;
  prefix?: PrefixFilter;
  create?: ReactNode;
  toolbar?: ReactNode;
  filterKey?: string;
  intro?: ReactNode;
}) {
  useTitle(props.title);
  const [prefix, setPrefix] = useState("");
  const { prefix: filter, load } = props;
  return (
    <>
      <h1>{props.title}</h1>
      {props.intro}
      {props.create}
      {props.toolbar}
      {filter !== undefined && (
        <Field
          label={filter.label}
          name="prefix"
          value={prefix}
          placeholder={filter.placeholder}
          onChange={(e) => setPrefix(e.target.value)}
          hint={filter.hint}
        />
      )}
      <PagedTable<T>
        caption={props.caption}
        filterKey={`${prefix}|${props.filterKey ?? ""}`}
        rowKey={props.rowKey}
        searchText={props.searchText}
        load={(marker, maxItems) => load(prefix, marker, maxItems)}
        columns={props.columns}
      />
    </>
  );
}
