import type { z } from "zod";

/** How a bad variable is shown in the error: `KEY=value`, `KEY=(hidden)` or `KEY` alone. */
export type ShowSetting = (key: string, value: string | undefined) => string;

/** Any variable whose name says SECRET is named, its value hidden. */
export const showHidingSecrets: ShowSetting = (key, value) =>
  /SECRET/.test(key) ? `${key}=(hidden)` : `${key}=${JSON.stringify(value)}`;

/**
 * Throws `unknown <service> settings: A, B` when `env` has a variable under one of the service's
 * own `prefixes` that `schema` does not know (a typo fails at start-up, not silently).
 */
export function rejectUnknownSettings(
  schema: z.ZodObject,
  env: Readonly<Record<string, string | undefined>>,
  prefixes: readonly string[],
  service: string,
): void {
  const known = new Set(Object.keys(schema.shape));
  const unknown = Object.keys(env).filter((k) => prefixes.some((p) => k.startsWith(p)) && !known.has(k));
  if (unknown.length > 0) throw new Error(`unknown ${service} settings: ${unknown.join(", ")}`);
}

/**
 * Parses the variables `schema` knows from `env` (others are ignored) and returns the result, or
 * throws one `invalid <service> configuration:` error listing every bad variable with its value as
 * `show` prints it (secrets never echoed).
 *
 * @example
 * const e = parseSettings(EnvSchema, process.env, "region");
 */
export function parseSettings<S extends z.ZodObject>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
  service: string,
  show: ShowSetting = showHidingSecrets,
): z.output<S> {
  const known = Object.keys(schema.shape);
  const picked = Object.fromEntries(known.filter((k) => env[k] !== undefined).map((k) => [k, env[k]]));
  const parsed = schema.safeParse(picked);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => {
    const key = String(i.path[0] ?? "");
    return `${show(key, env[key])}: ${i.message}`;
  });
  throw new Error(`invalid ${service} configuration:\n  ${lines.join("\n  ")}`);
}
