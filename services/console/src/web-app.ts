import { readFile, stat } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";

/** Content types of what a Vite build emits. */
const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
};

/** A file of the web app to send. */
export interface WebFile {
  readonly body: Buffer;
  readonly contentType: string;
  /** Hashed assets (`/assets/…`) are immutable; `index.html` is revalidated every time. */
  readonly cacheControl: string;
}

/** What the gateway answers for `GET /*` when `web/dist` has no build. */
export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Gatehouse console: web app not built</title></head>
<body><main><h1>The console's web app is not built</h1>
<p>The gateway is running and its API answers under <code>/api/</code>, but <code>services/console/web/dist</code>
holds no build. Build the web app (<code>npm run build --workspace @gatehouse/console-web</code>) and reload, or
point <code>GATEHOUSE_CONSOLE_WEB_DIR</code> at a build.</p></main></body></html>
`;

/**
 * The built web app in `dir`: a path names a file under it (never above it), and any other path
 * without a file extension is a client-side route answered with `index.html` (the SPA fallback).
 * Undefined for a missing asset; `"not-built"` when the directory has no `index.html`.
 */
export async function webFile(dir: string, urlPath: string): Promise<WebFile | "not-built" | undefined> {
  const root = resolve(dir);
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath.split("?")[0] ?? "/");
  } catch {
    return undefined;
  }
  const wanted = resolve(root, `.${decoded.startsWith("/") ? decoded : `/${decoded}`}`);
  if (wanted !== root && !wanted.startsWith(root + sep)) return undefined;
  const isFile = await stat(wanted).then(
    (s) => s.isFile(),
    () => false,
  );
  if (isFile) {
    return {
      body: await readFile(wanted),
      contentType: TYPES[extname(wanted).toLowerCase()] ?? "application/octet-stream",
      cacheControl: wanted.startsWith(join(root, "assets") + sep) ? "public, max-age=31536000, immutable" : "no-cache",
    };
  }
  // A missing file that looks like one (an asset) is a 404, not the app.
  if (extname(decoded) !== "") return undefined;
  const index = await readFile(join(root, "index.html")).catch(() => undefined);
  if (index === undefined) return "not-built";
  return { body: index, contentType: TYPES[".html"] as string, cacheControl: "no-cache" };
}
