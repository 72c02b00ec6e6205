// How busy the shared host was while a window was measured: its load average when the window
// began and its CPUs' busy share over the window (from /proc/stat: all cores, every process, ours
// and everyone else's; steal is time the hypervisor gave another guest). Where /proc/stat is
// missing (not Linux) only the load average is reported.
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";

/** The host over one window. */
export interface HostLoad {
  /** The 1-minute load average when the window began. */
  readonly load_1m: number;
  readonly cpus: number;
  /** Busy share of all the host's CPUs over the window, % (null where /proc/stat is missing). */
  readonly busy_pct: number | null;
  /** Share stolen by the hypervisor over the window, % (null where /proc/stat is missing). */
  readonly steal_pct: number | null;
}

function cpuTimes(): { busy: number; steal: number; total: number } | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "";
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const total = user + nice + system + idle + iowait + irq + softirq + steal;
    return { busy: user + nice + system + irq + softirq, steal, total };
  } catch {
    return undefined;
  }
}

/** Starts watching the host; `stop` returns its load over the window. */
export function watchHost(): { stop(): HostLoad } {
  const load = Number((loadavg()[0] ?? 0).toFixed(2));
  const start = cpuTimes();
  return {
    stop() {
      const end = cpuTimes();
      const span = start === undefined || end === undefined ? 0 : end.total - start.total;
      const pct = (x: number) => Number(((100 * x) / span).toFixed(1));
      return {
        load_1m: load,
        // All the host's CPUs (not this process's affinity: the bench may be pinned).
        cpus: cpus().length,
        busy_pct: start === undefined || end === undefined || span === 0 ? null : pct(end.busy - start.busy),
        steal_pct: start === undefined || end === undefined || span === 0 ? null : pct(end.steal - start.steal),
      };
    },
  };
}
