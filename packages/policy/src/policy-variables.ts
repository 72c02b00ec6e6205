/**
 * Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`, `${*}`, `${?}`, `${$}`)
 * split out of a policy string once, at parse/compile time.
 *
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
 */

/** A `${key}` or `${key, 'default'}` reference. */
export interface VariableRef {
  readonly key: string;
  readonly lowerKey: string;
  /** The default used when the key is missing from the request context. */
  readonly fallback: string | undefined;
}

/**
 * A template part: `{ text }` is policy text where `*`/`?` keep their wildcard meaning, `{ literal }`
 * is a `${*}`/`${?}`/`${$}` escape that never acts as a wildcard, `{ variable }` is a reference.
 */
export type TemplatePart =
  | { readonly text: string }
  | { readonly literal: string }
  | { readonly variable: VariableRef };

const VARIABLE_BODY = /^\s*([A-Za-z0-9_.:/\-@+=]+(?:\/[^,\s}]*)?)\s*(?:,\s*'([^']*)'\s*)?$/;

/** Whether a string contains something that looks like a policy variable. */
export function hasVariableSyntax(s: string): boolean {
  return s.includes("${");
}

/**
 * Splits `s` into template parts. Returns an error message instead when a `${` is not closed or
 * its body is not a key (with an optional quoted default).
 */
export function parseTemplate(s: string): TemplateResult {
  const cached = templates.get(s);
  if (cached !== undefined) return cached;
  const result = parseTemplateUncached(s);
  if (templates.size >= MAX_TEMPLATES) templates = new Map();
  templates.set(s, result);
  return result;
}

/** Parsed templates are immutable and strings repeat across statements and policies. */
let templates = new Map<string, TemplateResult>();
const MAX_TEMPLATES = 4096;

/** Forgets every parsed template (see `clearCompileCaches`). */
export function clearTemplateCache(): void {
  // A new map, not clear(): see clearCompileCaches.
  templates = new Map();
}

/** The parts of a template, or why it is invalid. */
export type TemplateResult = { readonly parts: readonly TemplatePart[] } | { readonly error: string };

function parseTemplateUncached(s: string): TemplateResult {
  const parts: TemplatePart[] = [];
  let i = 0;
  let textStart = 0;
  while (i < s.length) {
    const open = s.indexOf("${", i);
    if (open < 0) break;
    const close = s.indexOf("}", open + 2);
    if (close < 0) return { error: `unclosed policy variable at offset ${open} in "${s}"` };
    if (open > textStart) parts.push({ text: s.slice(textStart, open) });
    const body = s.slice(open + 2, close);
    if (body === "*" || body === "?" || body === "$") {
      parts.push({ literal: body });
    } else {
      const m = VARIABLE_BODY.exec(body);
      const key = m?.[1];
      if (m === null || key === undefined || !key.includes(":")) {
        return { error: `invalid policy variable "\${${body}}" in "${s}"` };
      }
      parts.push({ variable: { key, lowerKey: key.toLowerCase(), fallback: m[2] } });
    }
    i = close + 1;
    textStart = i;
  }
  if (textStart < s.length) parts.push({ text: s.slice(textStart) });
  return { parts };
}
