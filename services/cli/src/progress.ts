import { Presets, SingleBar } from "cli-progress";

/** Progress of a long operation (an import, an export), drawn on a terminal only. */
export interface Progress {
  /** `done` of `total` (0 when unknown: a count instead of a bar) finished; `what` is the current step. */
  update(done: number, total: number, what: string): void;
  /** Removes the bar. */
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

/**
 * A progress bar on `stream` (stderr), or nothing when it is not a terminal: piped output and
 * logs stay clean, and stdout (the result) is never touched.
 *
 * @example
 * const progress = createProgress("import");
 * progress.update(3, 40, "user alice"); // import [███░░░…] 3/40 user alice
 * progress.stop();
 */
export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY !== true) return silent;
  let bar: SingleBar | undefined;
  let counting = false;
  return {
    update(done, total, what) {
      if (bar === undefined) {
        counting = total <= 0;
        bar = new SingleBar(
          {
            stream,
            format: counting ? `${label} {value} {what}` : `${label} [{bar}] {value}/{total} {what}`,
            clearOnComplete: true,
            hideCursor: true,
            // Redraw as updates come (the default 10 fps would skip the last steps of a short run).
            fps: 20,
            barsize: 30,
          },
          Presets.shades_classic,
        );
        bar.start(Math.max(total, 0), 0, { what: "" });
      }
      if (!counting && total !== bar.getTotal()) bar.setTotal(total);
      bar.update(done, { what: what.length > 50 ? `${what.slice(0, 49)}…` : what });
    },
    stop() {
      bar?.stop();
    },
  };
}
