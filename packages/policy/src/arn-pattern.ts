/**
 * Splits an ARN into its six components (the sixth keeps any further colons), ignoring colons
 * inside `${…}`. Returns undefined when there are fewer than six.
 */
export function splitArnPattern(arn: string): string[] | undefined {
  const parts: string[] = [];
  let start = 0;
  let depth = 0;
  for (let i = 0; i < arn.length && parts.length < 5; i++) {
    const c = arn[i];
    if (c === "$" && arn[i + 1] === "{") depth++;
    else if (c === "}" && depth > 0) depth--;
    else if (c === ":" && depth === 0) {
      parts.push(arn.slice(start, i));
      start = i + 1;
    }
  }
  if (parts.length < 5) return undefined;
  parts.push(arn.slice(start));
  return parts;
}
