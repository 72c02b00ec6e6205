import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createProgress } from "./progress.ts";

/** A stream that says it is a terminal and keeps what was drawn on it. */
function terminal(isTTY: boolean) {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream, text: () => text };
}

describe("createProgress", () => {
  it("draws a bar with done/total and the current step on a terminal", async () => {
    const t = terminal(true);
    const progress = createProgress("import", t.stream);
    progress.update(1, 4, "user alice");
    // Redraws are throttled (20 per second): a step that stays a while is drawn.
    await new Promise((resolve) => setTimeout(resolve, 120));
    progress.update(3, 4, "role deployer");
    await new Promise((resolve) => setTimeout(resolve, 120));
    progress.stop();
    expect(t.text()).toMatch(/import \[█+░+\] 3\/4 role deployer/);
  });

  it("counts when the total is unknown", () => {
    const t = terminal(true);
    const progress = createProgress("export", t.stream);
    progress.update(250, 0, "items");
    progress.stop();
    expect(t.text()).toContain("export 250 items");
  });

  it("draws nothing when the stream is not a terminal", () => {
    const t = terminal(false);
    const progress = createProgress("import", t.stream);
    progress.update(1, 4, "user alice");
    progress.stop();
    expect(t.text()).toBe("");
  });
});
