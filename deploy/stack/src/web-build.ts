import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The newest modification time (ms) of `path`, a file or a directory searched recursively. */
function newest(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (s === undefined) return 0;
  if (!s.isDirectory()) return s.mtimeMs;
  let latest = s.mtimeMs;
  for (const name of readdirSync(path)) latest = Math.max(latest, newest(join(path, name)));
  return latest;
}

/**
 * Whether the web console in `webDir` (`services/console/web`) needs `vite build`: it has no
 * `dist/index.html`, or a source (`src/`, `index.html`, `vite.config.ts`) is newer than it.
 */
export function needsWebBuild(webDir: string): boolean {
  const built = statSync(join(webDir, "dist", "index.html"), { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined) return true;
  return ["src", "index.html", "vite.config.ts"].some((p) => newest(join(webDir, p)) > built);
}

/**
 * Builds the web console when {@link needsWebBuild} says so, so the gateway the stack starts
 * serves the current app (the gateway answers 503 without a build). Throws with the build's
 * output when it fails.
 */
export function ensureWebBuild(root: string, log: (line: string) => void): void {
  const webDir = join(root, "services/console/web");
  if (!needsWebBuild(webDir)) return;
  log("stack: building the web console (npm run build --workspace @gatehouse/console-web)");
  const r = spawnSync("npm", ["run", "--silent", "build", "--workspace", "@gatehouse/console-web"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (r.status !== 0) {
    throw new Error(`building the web console failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  }
}
