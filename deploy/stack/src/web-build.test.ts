import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { needsWebBuild } from "./web-build.ts";

describe("needsWebBuild", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const webDir = () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-web-build-"));
    dirs.push(dir);
    mkdirSync(join(dir, "src", "pages"), { recursive: true });
    writeFileSync(join(dir, "index.html"), "<!doctype html>");
    writeFileSync(join(dir, "src", "pages", "users.tsx"), "export {}");
    return dir;
  };
  const at = (path: string, seconds: number) => utimesSync(path, seconds, seconds);

  it("builds without a build, not when the build is newer than every source, again after an edit", () => {
    const dir = webDir();
    expect(needsWebBuild(dir)).toBe(true);
    mkdirSync(join(dir, "dist"));
    writeFileSync(join(dir, "dist", "index.html"), "built");
    for (const p of ["index.html", "src", join("src", "pages"), join("src", "pages", "users.tsx")]) {
      at(join(dir, p), 1_000);
    }
    at(join(dir, "dist", "index.html"), 2_000);
    expect(needsWebBuild(dir)).toBe(false);
    at(join(dir, "src", "pages", "users.tsx"), 3_000);
    expect(needsWebBuild(dir)).toBe(true);
  });
});
