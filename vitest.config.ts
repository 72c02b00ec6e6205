import { defineConfig } from "vitest/config";

/**
 * Two projects: `unit` (pure, fast, next to the code) and `integration` (`*.int.test.ts`, real
 * Postgres, Kafka and Redis handed out by the testkit's global setup).
 */
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: [
            "packages/*/src/**/*.test.ts",
            "services/*/src/**/*.test.ts",
            "services/console/web/src/**/*.test.ts",
            "loadtest/src/**/*.test.ts",
            "deploy/**/*.test.ts",
          ],
          exclude: ["**/*.int.test.ts", "**/node_modules/**"],
        },
      },
      {
        test: {
          name: "integration",
          include: [
            "packages/*/src/**/*.int.test.ts",
            "services/*/src/**/*.int.test.ts",
            // The web console in a real browser against a real gateway, control plane and region.
            "services/console/web/e2e/**/*.int.test.ts",
            "deploy/**/*.int.test.ts",
            "loadtest/src/**/*.int.test.ts",
          ],
          exclude: ["**/node_modules/**"],
          // The testkit's first (it finds the services), then the migrated-schema template
          // (built once per hash of the migrations and catalogue, cloned per suite).
          globalSetup: [
            "packages/testkit/src/global-setup.ts",
            "packages/store-postgres/src/migrated-template.int-helper.ts",
          ],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
