import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The CLI's and SDK's profile files, as agreed with them: `<configDir>/credentials` holds
 * `[<profile>]` with `access_key_id` / `secret_access_key`; `<configDir>/config` holds
 * `[profile <profile>]` with `region`, `endpoint_control_plane` and one `endpoint_<region>` per
 * region (`host:port[,host:port]`). Both are merged: other sections, keys and comments are kept.
 */

const SECTION = /^\s*\[([^\]]+)\]\s*$/;
const KEY = /^\s*([^=#;\s][^=]*?)\s*=\s*(.*?)\s*$/;

/** The keys of `section` in INI `text` (undefined when the section is absent). */
export function readIniSection(text: string, section: string): Record<string, string> | undefined {
  let inside = false;
  let found: Record<string, string> | undefined;
  for (const line of text.split(/\r?\n/)) {
    const s = SECTION.exec(line);
    if (s !== null) {
      inside = s[1]?.trim() === section;
      if (inside) found ??= {};
      continue;
    }
    const k = inside ? KEY.exec(line) : null;
    if (k !== null && found !== undefined) found[k[1] as string] = k[2] as string;
  }
  return found;
}

/**
 * `text` with `values` set in `section`: existing keys of the section are rewritten in place,
 * missing ones appended to it, the section appended when absent; every other line is kept.
 * @example
 * upsertIniSection("[other]\na = 1\n", "demo", { access_key_id: "AKIA…" });
 */
export function upsertIniSection(text: string, section: string, values: Readonly<Record<string, string>>): string {
  const lines = text === "" ? [] : text.replace(/\r?\n$/, "").split(/\r?\n/);
  const pending = new Map(Object.entries(values));
  let start = -1;
  let end = lines.length;
  for (let i = 0; i < lines.length; i++) {
    const s = SECTION.exec(lines[i] as string);
    if (s === null) continue;
    if (start !== -1) {
      end = i;
      break;
    }
    if (s[1]?.trim() === section) start = i;
  }
  if (start === -1) {
    const block = [`[${section}]`, ...[...pending].map(([k, v]) => `${k} = ${v}`)];
    const sep = lines.length > 0 && (lines.at(-1) as string).trim() !== "" ? [""] : [];
    return `${[...lines, ...sep, ...block].join("\n")}\n`;
  }
  for (let i = start + 1; i < end; i++) {
    const k = KEY.exec(lines[i] as string);
    const key = k?.[1];
    if (key !== undefined && pending.has(key)) {
      lines[i] = `${key} = ${pending.get(key)}`;
      pending.delete(key);
    }
  }
  // New keys go after the section's last key line, before any blank lines that separate it from the next.
  let at = end;
  while (at > start + 1 && (lines[at - 1] as string).trim() === "") at--;
  lines.splice(at, 0, ...[...pending].map(([k, v]) => `${k} = ${v}`));
  return `${lines.join("\n")}\n`;
}

/** Writes `text` to `path` atomically (a temporary file renamed over it) with `mode`. */
function writeAtomically(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

const readText = (path: string): string => (existsSync(path) ? readFileSync(path, "utf8") : "");

/** What {@link writeProfile} writes to the config file. */
export interface ProfileSettings {
  readonly region: string;
  readonly controlPlane: string;
  /** Region name → its decider endpoints. */
  readonly regions: Readonly<Record<string, readonly string[]>>;
}

/** The access key of `profile` in `<configDir>/credentials`, if it has one. */
export function readProfileCredentials(
  configDir: string,
  profile: string,
): { accessKeyId: string; secretAccessKey: string } | undefined {
  const s = readIniSection(readText(join(configDir, "credentials")), profile);
  const accessKeyId = s?.access_key_id;
  const secretAccessKey = s?.secret_access_key;
  return accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined;
}

/** Writes `profile`'s access key into `<configDir>/credentials` (mode 600), keeping other profiles. */
export function writeProfileCredentials(
  configDir: string,
  profile: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): string {
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const path = join(configDir, "credentials");
  writeAtomically(
    path,
    upsertIniSection(readText(path), profile, {
      access_key_id: credentials.accessKeyId,
      secret_access_key: credentials.secretAccessKey,
    }),
    0o600,
  );
  return path;
}

/** Writes `[profile <profile>]` into `<configDir>/config`, keeping other profiles. */
export function writeProfileConfig(configDir: string, profile: string, settings: ProfileSettings): string {
  mkdirSync(configDir, { recursive: true, mode: 0o700 });
  const path = join(configDir, "config");
  const values: Record<string, string> = {
    region: settings.region,
    endpoint_control_plane: settings.controlPlane,
  };
  for (const [region, endpoints] of Object.entries(settings.regions))
    values[`endpoint_${region}`] = endpoints.join(",");
  writeAtomically(path, upsertIniSection(readText(path), `profile ${profile}`, values), 0o600);
  return path;
}
