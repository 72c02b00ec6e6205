import type { PolicyDocumentInput } from "@gatehouse/policy";

/** One string of a policy element and its JSON path. */
export interface Located {
  readonly value: string;
  readonly path: string;
}

/** The parts of one statement the service-reference checks read, each string with its JSON path. */
export interface StatementView {
  readonly path: string;
  readonly action?: readonly Located[];
  readonly notAction?: readonly Located[];
  readonly resource?: readonly Located[];
  readonly notResource?: readonly Located[];
  /** Every condition key of every operator block. */
  readonly conditionKeys: readonly Located[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * `path.name`, or `path['name']` when the name is not an identifier: the same paths as
 * `@gatehouse/policy`'s own findings (kept in step by the tests, which compare paths).
 */
export function member(path: string, name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? `${path}.${name}` : `${path}['${name.replace(/'/g, "\\'")}']`;
}

/** A string or an array's string entries; anything else (already an error of the engine's) is skipped. */
function strings(value: unknown, path: string): Located[] | undefined {
  if (typeof value === "string") return [{ value, path }];
  if (!Array.isArray(value)) return undefined;
  const out: Located[] = [];
  value.forEach((v, i) => {
    if (typeof v === "string") out.push({ value: v, path: `${path}[${i}]` });
  });
  return out;
}

/**
 * The statements of a policy document, read leniently: the engine's own validation reports every
 * structural error, so what is malformed here is skipped rather than reported twice. Returns
 * `[]` for text that is not JSON.
 */
export function policyStatements(doc: PolicyDocumentInput): StatementView[] {
  let root: unknown = doc;
  if (typeof doc === "string") {
    try {
      root = JSON.parse(doc);
    } catch {
      return [];
    }
  }
  if (!isRecord(root)) return [];
  const raw = root.Statement;
  const entries: [unknown, string][] = Array.isArray(raw)
    ? raw.map((s, i) => [s, `$.Statement[${i}]`])
    : [[raw, "$.Statement"]];
  const statements: StatementView[] = [];
  for (const [s, path] of entries) {
    if (!isRecord(s)) continue;
    const conditionKeys: Located[] = [];
    if (isRecord(s.Condition)) {
      for (const [operator, block] of Object.entries(s.Condition)) {
        if (!isRecord(block)) continue;
        const opPath = member(`${path}.Condition`, operator);
        for (const key of Object.keys(block)) conditionKeys.push({ value: key, path: member(opPath, key) });
      }
    }
    const view: {
      path: string;
      conditionKeys: Located[];
      action?: Located[];
      notAction?: Located[];
      resource?: Located[];
      notResource?: Located[];
    } = { path, conditionKeys };
    const action = strings(s.Action, `${path}.Action`);
    if (action !== undefined) view.action = action;
    const notAction = strings(s.NotAction, `${path}.NotAction`);
    if (notAction !== undefined) view.notAction = notAction;
    const resource = strings(s.Resource, `${path}.Resource`);
    if (resource !== undefined) view.resource = resource;
    const notResource = strings(s.NotResource, `${path}.NotResource`);
    if (notResource !== undefined) view.notResource = notResource;
    statements.push(view);
  }
  return statements;
}
