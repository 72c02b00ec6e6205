import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The repository root (this file is packages/testkit/src/repo-defaults.ts). */
export const repoRoot: string = fileURLToPath(new URL("../../../", import.meta.url));

/** The parts of deploy/local/defaults.json the testkit uses; infra.sh reads the same file. */
export interface RepoDefaults {
  readonly postgres: { readonly image: string; readonly user: string; readonly testDatabase: string };
  readonly kafka: { readonly image: string; readonly version: string; readonly host: string };
  readonly redis: { readonly image: string; readonly regions: readonly string[] };
}

/** Reads deploy/local/defaults.json. */
export function readRepoDefaults(root: string = repoRoot): RepoDefaults {
  return JSON.parse(readFileSync(`${root}/deploy/local/defaults.json`, "utf8")) as RepoDefaults;
}

/** Regions: `GATEHOUSE_REGIONS` (comma list) when set, else the defaults' region list. */
export function resolveRegions(env: NodeJS.ProcessEnv, defaults: RepoDefaults): string[] {
  const fromEnv = (env.GATEHOUSE_REGIONS ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  return fromEnv.length > 0 ? fromEnv : [...defaults.redis.regions];
}
