// A region process for the region bench, started by it as a child: the decider (or the applier) as
// `services/region/src/main.ts` would run it, from the same environment settings, plus an IPC
// channel through which the bench asks for the decider's heap after a full garbage collection
// (run with --expose-gc), has it record a V8 CPU profile of one section (or a sampling heap
// profile of one run), watch its own stalls
// (event-loop delay, GC pauses: process-watch.ts) over a window, and tells it to stop.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { loadRegionConfig, startRegion } from "@gatehouse/region";
import { startTelemetry } from "@gatehouse/telemetry";
import { pino } from "pino";
import { type ProcessStalls, watchStalls } from "./process-watch.ts";

/** Messages the bench sends to a region child. */
export type ToRegionChild =
  | { type: "heap" }
  | { type: "cpu" }
  | { type: "profile-start" }
  | { type: "profile-stop"; file: string }
  | { type: "heap-sampling-start" }
  | { type: "heap-sampling-stop"; file: string }
  | { type: "watch-start" }
  | { type: "watch-stop" }
  | { type: "stop" };
/** Messages a region child sends to the bench. */
export type FromRegionChild =
  | { type: "ready"; port: number }
  | { type: "heap"; heapUsed: number }
  | { type: "cpu"; micros: number }
  | { type: "profile-started" }
  | { type: "profile-written"; file: string }
  | { type: "heap-sampling-started" }
  | { type: "heap-sampling-written"; file: string }
  | { type: "watch-started" }
  | { type: "watched"; stalls: ProcessStalls };

const role = process.argv[2] === "applier" ? "applier" : "decider";
const config = loadRegionConfig(process.env, ["--role", role]);
// Telemetry as main.ts starts it (off unless GATEHOUSE_TELEMETRY=on: the bench's telemetry section).
const telemetry = await startTelemetry(config.telemetry);
const logger = pino({
  level: config.logLevel,
  base: { service: "region", role },
  ...(telemetry.enabled ? { mixin: () => telemetry.logFields() } : {}),
});
const region = await startRegion({ config, logger, telemetry, onViewLost: () => process.exit(75) });
const send = (m: FromRegionChild) => process.send?.(m);
send({ type: "ready", port: region.decider?.port ?? 0 });

let session: Session | undefined;
let watch: ReturnType<typeof watchStalls> | undefined;
const gc = (globalThis as { gc?: () => void }).gc;
process.on("message", (m: ToRegionChild) => {
  if (m.type === "heap") {
    // Twice: the first collection may only promote what the second frees.
    gc?.();
    gc?.();
    send({ type: "heap", heapUsed: process.memoryUsage().heapUsed });
  } else if (m.type === "cpu") {
    const used = process.cpuUsage();
    send({ type: "cpu", micros: used.user + used.system });
  } else if (m.type === "profile-start") {
    void (async () => {
      session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
      send({ type: "profile-started" });
    })();
  } else if (m.type === "profile-stop") {
    void (async () => {
      const { profile } = (await session?.post("Profiler.stop")) ?? {};
      writeFileSync(m.file, JSON.stringify(profile));
      session?.disconnect();
      session = undefined;
      send({ type: "profile-written", file: m.file });
    })();
  } else if (m.type === "heap-sampling-start") {
    // Every allocation sampled (about one per 4 KiB), also those a scavenge frees at once: where
    // the bytes per call come from, not what stays.
    void (async () => {
      session = new Session();
      session.connect();
      await session.post("HeapProfiler.enable");
      await session.post("HeapProfiler.startSampling", {
        samplingInterval: 4096,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      send({ type: "heap-sampling-started" });
    })();
  } else if (m.type === "heap-sampling-stop") {
    void (async () => {
      const { profile } = (await session?.post("HeapProfiler.stopSampling")) ?? {};
      writeFileSync(m.file, JSON.stringify(profile));
      session?.disconnect();
      session = undefined;
      send({ type: "heap-sampling-written", file: m.file });
    })();
  } else if (m.type === "watch-start") {
    watch = watchStalls();
    send({ type: "watch-started" });
  } else if (m.type === "watch-stop") {
    const stalls = watch?.stop();
    watch = undefined;
    if (stalls !== undefined) send({ type: "watched", stalls });
  } else if (m.type === "stop") {
    region.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  }
});
process.on("disconnect", () => {
  void region.close().finally(() => process.exit(0));
});
