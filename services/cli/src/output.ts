/** The `--output` formats, as the AWS CLI has them. */
export const outputFormats = ["json", "text", "table"] as const;

/** One of {@link outputFormats}. */
export type OutputFormat = (typeof outputFormats)[number];

function isScalar(v: unknown): v is string | number | boolean {
  return typeof v === "string" || typeof v === "number" || typeof v === "boolean";
}

function scalarsOf(o: Record<string, unknown>): [string, string | number | boolean][] {
  return Object.entries(o)
    .filter((e): e is [string, string | number | boolean] => isScalar(e[1]))
    .sort(([a], [b]) => a.localeCompare(b));
}

/**
 * The AWS CLI's `text` output: one line per object, tab-separated scalar values in key order,
 * prefixed by the upper-cased key that holds the object (`USERS\tarn…\t…`); nested objects and
 * lists follow on their own lines.
 */
export function toText(value: unknown): string {
  const lines: string[] = [];
  const walk = (v: unknown, label: string) => {
    if (Array.isArray(v)) {
      if (v.every(isScalar)) {
        if (v.length > 0) lines.push([label, ...v.map(String)].filter((s) => s !== "").join("\t"));
        return;
      }
      for (const item of v) walk(item, label);
      return;
    }
    if (v !== null && typeof v === "object") {
      const o = v as Record<string, unknown>;
      const scalars = scalarsOf(o);
      if (scalars.length > 0)
        lines.push([label, ...scalars.map(([, s]) => String(s))].filter((s) => s !== "").join("\t"));
      for (const [k, child] of Object.entries(o)) {
        if (!isScalar(child)) walk(child, k.toUpperCase());
      }
      return;
    }
    if (v !== undefined) lines.push([label, String(v)].filter((s) => s !== "").join("\t"));
  };
  walk(value, "");
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function box(title: string, header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = `+${widths.map((w) => "-".repeat(w + 2)).join("+")}+`;
  const fmt = (cells: string[]) => `|${cells.map((c, i) => ` ${c.padEnd(widths[i] ?? 0)} `).join("|")}|`;
  const total = line.length - 2;
  const out = [`+${"-".repeat(total)}+`, `|${title.padStart(Math.floor((total + title.length) / 2)).padEnd(total)}|`];
  out.push(line, fmt(header), line, ...rows.map(fmt), line);
  return out.join("\n");
}

/**
 * The AWS CLI's `table` output, simplified: each list of objects as one table whose columns are
 * the objects' scalar fields; the top object's own scalars as a two-column table.
 */
export function toTable(value: unknown, title = ""): string {
  const parts: string[] = [];
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const o = value as Record<string, unknown>;
    const scalars = scalarsOf(o);
    if (scalars.length > 0)
      parts.push(
        box(
          title,
          ["Field", "Value"],
          scalars.map(([k, v]) => [k, String(v)]),
        ),
      );
    for (const [k, child] of Object.entries(o)) {
      if (Array.isArray(child) && child.length > 0 && child.every((c) => c !== null && typeof c === "object")) {
        const rows = child as Record<string, unknown>[];
        const columns = [...new Set(rows.flatMap((r) => scalarsOf(r).map(([c]) => c)))];
        parts.push(
          box(
            k,
            columns,
            rows.map((r) => columns.map((c) => (isScalar(r[c]) ? String(r[c]) : ""))),
          ),
        );
      } else if (Array.isArray(child) && child.every(isScalar)) {
        parts.push(
          box(
            k,
            [k],
            child.map((c) => [String(c)]),
          ),
        );
      } else if (child !== null && typeof child === "object" && !Array.isArray(child)) {
        parts.push(toTable(child, k).trimEnd());
      }
    }
  }
  return parts.length === 0 ? "" : `${parts.join("\n")}\n`;
}

/** Renders a result in the chosen format (JSON with 4 spaces, as the AWS CLI prints it). */
export function render(value: unknown, format: OutputFormat): string {
  if (format === "text") return toText(value);
  if (format === "table") return toTable(value);
  return `${JSON.stringify(value, null, 4)}\n`;
}
