/**
 * What each region costs at the end of a run, for the sizing table: its Redis server's
 * `used_memory` and the view's entity count (GetRegionStatus), each decider's compiled-principal
 * cache (L1: principals and bytes, asked of that decider), and the resident memory of the region's
 * processes (VmRSS from /proc, by the stack's pid files).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Gatehouse } from "@gatehouse/sdk";

/** One decider's figures. */
export interface DeciderResources {
  readonly address: string;
  readonly rss_bytes: number | null;
  /** CPU the process used since it started (user + system). */
  readonly cpu_ms: number | null;
  readonly l1_principals: number | null;
  readonly l1_bytes: number | null;
}

/** One region's figures. */
export interface RegionResources {
  readonly redis_used_memory_bytes: number | null;
  readonly l2_entities: number | null;
  readonly applier_rss_bytes: number | null;
  /** CPU the applier used since it started (user + system): start-up, the dataset and the writes. */
  readonly applier_cpu_ms: number | null;
  /** Records the applier handled (its applied offsets summed), to divide `applier_cpu_ms` by. */
  readonly applied_records: number | null;
  readonly deciders: DeciderResources[];
}

/** VmRSS of a live pid in bytes, or null (no such process, or not Linux). */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? null : Number(m[1]) * 1024;
  } catch {
    return null;
  }
}

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks per second. */
const TICKS_PER_S = 100;

/** User + system CPU of a live pid in ms (/proc/<pid>/stat), or null. */
export function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) in parentheses: state is the first.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_S : null;
  } catch {
    return null;
  }
}

/** The pid in the stack's pid file `<runDir>/<name>.pid`, or null. */
export function stackPid(runDir: string, name: string): number | null {
  const file = join(runDir, `${name}.pid`);
  if (!existsSync(file)) return null;
  const pid = Number(readFileSync(file, "utf8").trim().split("\n")[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/** Figures of every region; `deciderClients` has one client per decider process of the region. */
export async function measureRegions(opts: {
  readonly runDir: string;
  readonly regions: readonly { name: string; deciders: readonly string[] }[];
  readonly deciderClient: (region: string, address: string) => Gatehouse;
}): Promise<Record<string, RegionResources>> {
  const out: Record<string, RegionResources> = {};
  await Promise.all(
    opts.regions.map(async (r) => {
      const deciders = await Promise.all(
        r.deciders.map(async (address, i) => {
          const pid = stackPid(opts.runDir, `${r.name}-decider-${i + 1}`);
          const status = await opts
            .deciderClient(r.name, address)
            .authz.regionStatus({ region: r.name, pageSize: 1 }, { timeoutMs: 5000 })
            .catch(() => undefined);
          return {
            address,
            rss_bytes: pid === null ? null : rssBytes(pid),
            cpu_ms: pid === null ? null : cpuMs(pid),
            l1_principals: status === undefined ? null : Number(status.l1Principals),
            l1_bytes: status === undefined ? null : Number(status.l1Bytes),
            redis: status === undefined ? null : Number(status.l2UsedMemoryBytes),
            entities: status === undefined ? null : Number(status.l2Entities),
            applied: status === undefined ? null : status.consumerLag.reduce((n, p) => n + Number(p.appliedOffset), 0),
          };
        }),
      );
      const answered = deciders.find((d) => d.redis !== null);
      const applier = stackPid(opts.runDir, `${r.name}-applier`);
      out[r.name] = {
        redis_used_memory_bytes: answered?.redis ?? null,
        l2_entities: answered?.entities ?? null,
        applier_rss_bytes: applier === null ? null : rssBytes(applier),
        applier_cpu_ms: applier === null ? null : cpuMs(applier),
        applied_records: answered?.applied ?? null,
        deciders: deciders.map(({ redis: _r, entities: _e, applied: _a, ...d }) => d),
      };
    }),
  );
  return out;
}
