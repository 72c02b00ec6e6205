/**
 * Progress on stderr: a bar redrawn in place on a terminal, a line every few seconds otherwise
 * (CI logs), so stdout keeps only the summary.
 */
export interface Progress {
  start(phase: string, total: number): void;
  tick(n?: number): void;
  done(): void;
}

/** A progress reporter writing to `stream` (stderr by default). */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const tty = stream.isTTY === true;
  let phase = "";
  let total = 0;
  let count = 0;
  let began = 0;
  let last = 0;
  const line = () => {
    const s = (performance.now() - began) / 1000;
    const pct = total === 0 ? 100 : Math.min(100, (100 * count) / total);
    const width = 30;
    const filled = Math.round((pct / 100) * width);
    return `${phase.padEnd(12)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${count}/${total} ${pct.toFixed(0)}% ${(count / Math.max(s, 0.001)).toFixed(0)}/s ${s.toFixed(0)}s`;
  };
  const draw = (force: boolean) => {
    const now = performance.now();
    if (!force && now - last < (tty ? 200 : 5000)) return;
    last = now;
    stream.write(tty ? `\r\x1b[K${line()}` : `${line()}\n`);
  };
  return {
    start(p, t) {
      phase = p;
      total = t;
      count = 0;
      began = performance.now();
      last = 0;
      draw(true);
    },
    tick(n = 1) {
      count += n;
      draw(false);
    },
    done() {
      draw(true);
      if (tty) stream.write("\n");
    },
  };
}
