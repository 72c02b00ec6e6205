import { readFileSync } from "node:fs";
import type { RequestField } from "./request-fields.ts";

/** A flag's value was unusable; `flag` names it (`--max-session-duration`). */
export class FlagValueError extends Error {
  readonly flag: string;
  constructor(flag: string, message: string) {
    super(`${flag}: ${message}`);
    this.name = "FlagValueError";
    this.flag = flag;
  }
}

/** `userName` → `user-name`, `authenticationCode1` → `authentication-code1`. */
export function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * AWS CLI flag names that differ from the request field's kebab-case. AWS's `create-user` and
 * `put-user-permissions-boundary` take `--permissions-boundary`, not `--permissions-boundary-arn`.
 */
const FLAG_NAMES: Readonly<Record<string, string>> = {
  permissionsBoundaryArn: "permissions-boundary",
};

/** The flag (without dashes) of an input field. */
export function flagOf(field: string): string {
  return FLAG_NAMES[field] ?? kebab(field);
}

/** `file://path` reads the file (as the AWS CLI does for every parameter); anything else is itself. */
export function loadValue(flag: string, raw: string): string {
  if (!raw.startsWith("file://")) return raw;
  const path = raw.slice("file://".length);
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw new FlagValueError(flag, `cannot read ${path}: ${(e as Error).message}`);
  }
}

/** Parses AWS's shorthand `Key=k,Value=v` or JSON (`[{"Key":"k","Value":"v"}]`) into tags. */
export function parseTags(flag: string, values: readonly string[]): { key: string; value: string }[] {
  const tags: { key: string; value: string }[] = [];
  for (const raw of values.map((v) => loadValue(flag, v).trim())) {
    if (raw.startsWith("[") || raw.startsWith("{")) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch (e) {
        throw new FlagValueError(flag, `not valid JSON: ${(e as Error).message}`);
      }
      for (const t of Array.isArray(parsed) ? parsed : [parsed]) {
        const o = t as Record<string, unknown>;
        if (typeof o?.Key !== "string")
          throw new FlagValueError(flag, `each tag needs a string "Key", got ${JSON.stringify(t)}`);
        tags.push({ key: o.Key, value: typeof o.Value === "string" ? o.Value : "" });
      }
      continue;
    }
    const parts = new Map<string, string>();
    for (const part of raw.split(",")) {
      const eq = part.indexOf("=");
      if (eq < 0) throw new FlagValueError(flag, `expected Key=k,Value=v, got ${JSON.stringify(raw)}`);
      parts.set(part.slice(0, eq).trim(), part.slice(eq + 1));
    }
    const key = parts.get("Key");
    if (key === undefined) throw new FlagValueError(flag, `expected Key=k,Value=v, got ${JSON.stringify(raw)}`);
    tags.push({ key, value: parts.get("Value") ?? "" });
  }
  return tags;
}

const INTEGER_TYPES = new Set(["uint32", "int32", "uint64", "int64", "sint32", "sint64", "fixed32", "fixed64"]);

/** Converts a flag's raw value(s) to the field's type; the error names the flag and the value. */
export function convertFlag(field: RequestField, flag: string, raw: unknown): unknown {
  if (field.type === "bool") return raw === true;
  if (field.type === "Tag") return parseTags(flag, raw as string[]);
  if (field.repeated) {
    const values = (raw as string[]).map((v) => loadValue(flag, v));
    // `--filter User Role` and `--client-id-list '["a","b"]'` both work.
    if (values.length === 1 && values[0]?.trim().startsWith("[")) {
      try {
        const parsed = JSON.parse(values[0]);
        if (Array.isArray(parsed) && parsed.every((x) => typeof x === "string")) return parsed;
      } catch {
        // not JSON: a value that starts with "["
      }
    }
    return values;
  }
  const text = loadValue(flag, raw as string);
  if (INTEGER_TYPES.has(field.type)) {
    if (!/^\d+$/.test(text.trim()))
      throw new FlagValueError(flag, `expected a whole number, got ${JSON.stringify(text)}`);
    const n = Number(text.trim());
    if (!Number.isSafeInteger(n)) throw new FlagValueError(flag, `number out of range: ${text}`);
    return n;
  }
  return text;
}
