/**
 * `node deploy/scripts/complete-lockfile.ts`: adds to package-lock.json the optional per-platform
 * packages (biome's and buf's darwin/win32/musl builds, …) that a registry mirror which does not
 * serve them leaves out when npm writes the lockfile. Without them `npm ci` reports the lockfile
 * out of sync with package.json. Each entry gets the version its parent pins and the os/cpu/libc
 * its name announces, so npm skips it on other platforms without fetching it; on its own platform
 * npm fetches it from a registry that has it (no integrity is recorded: this mirror cannot give it).
 * Run it after `npm install` changes the lockfile on such a mirror; it is idempotent.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

interface LockEntry {
  version?: string;
  dev?: boolean;
  optional?: boolean;
  license?: string;
  engines?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  libc?: string[];
}

const OS = ["android", "darwin", "freebsd", "linux", "openbsd", "netbsd", "sunos", "win32", "aix"];
const CPU: Record<string, string> = {
  x64: "x64",
  arm64: "arm64",
  aarch64: "arm64",
  armv7: "arm",
  arm: "arm",
  ia32: "ia32",
  ppc64: "ppc64",
  s390x: "s390x",
  riscv64: "riscv64",
  loong64: "loong64",
  mips64el: "mips64el",
};

/** os/cpu/libc from a name like `@biomejs/cli-linux-x64-musl`, or undefined when it names none. */
export function platformOf(name: string): Pick<LockEntry, "os" | "cpu" | "libc"> | undefined {
  const parts = (name.split("/").at(-1) ?? "").split("-");
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.map((p) => CPU[p]).find((c) => c !== undefined);
  if (os === undefined || cpu === undefined) return undefined;
  return parts.includes("musl") ? { os: [os], cpu: [cpu], libc: ["musl"] } : { os: [os], cpu: [cpu] };
}

const file = resolve(import.meta.dirname, "../../package-lock.json");
const lock = JSON.parse(readFileSync(file, "utf8")) as { packages: Record<string, LockEntry> };
let added = 0;
for (const entry of Object.values(lock.packages)) {
  for (const [dep, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const target = `node_modules/${dep}`;
    if (lock.packages[target] !== undefined) continue;
    const platform = platformOf(dep);
    if (platform === undefined) continue;
    // Siblings of the same parent that the registry did serve give license and engines, and a
    // glibc sibling on the same os tells that the non-musl build is glibc-only.
    const siblings = Object.keys(entry.optionalDependencies ?? {})
      .map((d) => lock.packages[`node_modules/${d}`])
      .filter((e) => e !== undefined);
    const sibling = siblings[0];
    const glibc =
      platform.libc === undefined && siblings.some((e) => e.os?.[0] === platform.os?.[0] && e.libc?.[0] === "glibc");
    // Keys in the order npm writes them, so a later `npm install` leaves the file as it is.
    lock.packages[target] = {
      version,
      cpu: platform.cpu,
      ...(sibling?.dev === undefined ? {} : { dev: sibling.dev }),
      ...(platform.libc !== undefined ? { libc: platform.libc } : glibc ? { libc: ["glibc"] } : {}),
      ...(sibling?.license === undefined ? {} : { license: sibling.license }),
      optional: true,
      os: platform.os,
      ...(sibling?.engines === undefined ? {} : { engines: sibling.engines }),
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))),
);
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} platform entries`);
