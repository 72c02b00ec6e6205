import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";

/**
 * The modules a fresh process loads when it starts telemetry off (or on), seen through a module
 * resolve hook: with telemetry off, no OpenTelemetry SDK package is loaded (only the API).
 */
function sdkModulesLoaded(enabled: boolean): string[] {
  const script = `
    import { registerHooks } from "node:module";
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        const r = next(specifier, context);
        const m = /node_modules\\/(@opentelemetry\\/[^/]+)\\//.exec(r.url);
        if (m) seen.add(m[1]);
        return r;
      },
    });
    const { startTelemetry, TELEMETRY_OFF } = await import(${JSON.stringify(new URL("./index.ts", import.meta.url).href)});
    const t = await startTelemetry({ ...TELEMETRY_OFF, enabled: ${enabled} });
    await t.shutdown();
    console.log(JSON.stringify([...seen].filter((m) => m !== "@opentelemetry/api")));
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "[]") as string[];
}

describe("telemetry off", () => {
  it("loads no OpenTelemetry SDK package (the SDK stays out of the heap)", () => {
    expect(sdkModulesLoaded(false)).toEqual([]);
  });

  it("telemetry on loads the SDK (the hook sees it)", () => {
    expect(sdkModulesLoaded(true)).toEqual(
      expect.arrayContaining(["@opentelemetry/sdk-trace", "@opentelemetry/sdk-metrics"]),
    );
  });
});
