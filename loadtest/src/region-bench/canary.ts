// The region bench's canary: a process that does nothing but watch its own event loop (and
// collections) while the bench measures a window, started as a child like the servers and never
// pinned. Its loop delay is how long a runnable thread waits for a CPU on this host at that
// moment: a floor under any server's tail that no server code can lower.
import { watchStalls } from "./process-watch.ts";

let watch: ReturnType<typeof watchStalls> | undefined;
process.on("message", (m: { type?: string }) => {
  if (m.type === "watch-start") {
    watch = watchStalls();
    process.send?.({ type: "watch-started" });
  } else if (m.type === "watch-stop") {
    const stalls = watch?.stop();
    watch = undefined;
    process.send?.({ type: "watched", stalls });
  }
});
process.send?.({ type: "ready", port: 0 });
process.on("disconnect", () => process.exit(0));
