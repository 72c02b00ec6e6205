/**
 * The executable entry point (run by `bin/gatehouse`). Node strips the types of every `.ts` file
 * it loads, and compiles it, at each start; the compile cache keeps both on disk, which roughly
 * halves the CPU of a start (see the README's figures). It is enabled before `run.ts` is imported,
 * since it only serves modules loaded after it. `NODE_COMPILE_CACHE` picks another directory and
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off (both Node's own); the default is the user's cache
 * directory, as other tools keep theirs. Node never fails a start over it: an unwritable directory
 * leaves the cache off.
 */
import { enableCompileCache } from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

enableCompileCache(
  process.env.NODE_COMPILE_CACHE
    ? undefined
    : join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "gatehouse", "node-compile-cache"),
);
await import("./run.ts");
