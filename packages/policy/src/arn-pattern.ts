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

/**
 * Whether `arn` has the six ARN components with a non-empty partition and service, without
 * allocating (validation runs on every Resource of every statement).
 */
export function hasArnShape(arn: string): boolean {
  if (arn.indexOf("${") < 0) {
    // No variable, so every colon counts: indexOf finds the five instead of a loop over each
    // character. Colon k ends component k; the partition (1) and service (2) must not be empty.
    const c1 = arn.indexOf(":");
    if (c1 < 0) return false;
    const c2 = arn.indexOf(":", c1 + 1);
    if (c2 <= c1 + 1) return false;
    const c3 = arn.indexOf(":", c2 + 1);
    if (c3 <= c2 + 1) return false;
    const c4 = arn.indexOf(":", c3 + 1);
    return c4 >= 0 && arn.indexOf(":", c4 + 1) >= 0;
  }
  let colons = 0;
  let depth = 0;
  let last = -1;
  for (let i = 0; i < arn.length && colons < 5; i++) {
    const c = arn.charCodeAt(i);
    if (c === 36 && arn.charCodeAt(i + 1) === 123) depth++;
    else if (c === 125 && depth > 0) depth--;
    else if (c === 58 && depth === 0) {
      // Components 1 (partition) and 2 (service) must not be empty.
      if ((colons === 1 || colons === 2) && i === last + 1) return false;
      colons++;
      last = i;
    }
  }
  return colons === 5;
}
