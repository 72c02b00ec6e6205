import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const root = fileURLToPath(new URL(".", import.meta.url));

/**
 * The unit tests that `./gw run mutation` (Stryker, `stryker.config.json`) runs against each
 * mutant: those of the mutated packages and of the control plane, never the integration tests.
 *
 * Stryker runs them in a copy of the repository whose `node_modules` is a link to this one's, where
 * `@gatehouse/*` links back to the original packages: the aliases point the mutated packages at
 * the copy, so a mutant of `core` also meets the tests of `auth` and the control plane that use it.
 */
export default defineConfig({
  resolve: {
    alias: [{ find: /^@gatehouse\/(auth|core)$/, replacement: `${root}packages/$1/src/index.ts` }],
  },
  test: {
    include: [
      "packages/auth/src/**/*.test.ts",
      "packages/core/src/**/*.test.ts",
      "services/control-plane/src/**/*.test.ts",
    ],
    exclude: ["**/*.int.test.ts", "**/node_modules/**"],
  },
});
