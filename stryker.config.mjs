// Mutation testing: `./gw run mutation`. Not part of `./gw test` or CI (like a bench): it takes
// minutes. It mutates the code whose boundaries matter most (SigV4 verification, ARNs, errors, the
// control plane's validation and API authorization), runs the unit tests of
// `vitest.mutation.config.ts` against each mutant, and writes the kill rate per file to
// `reports/mutation/` (git-ignored) as HTML and JSON.

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  plugins: ["@stryker-mutator/vitest-runner"],
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  // No type checker: TypeScript 7 is the native compiler, without the JavaScript API that
  // @stryker-mutator/typescript-checker needs. Mutants that do not type-check are killed or
  // survive by what the tests see, as in plain JavaScript.
  checkers: [],
  // Stryker rewrites a tsconfig's `extends`/`references` that point outside its sandbox, through
  // TypeScript's JavaScript API, which TypeScript 7 no longer has. Ours point nowhere outside the
  // repository, which the sandbox copies whole, so name no tsconfig to skip that step.
  tsconfigFile: "no-tsconfig-rewrite",
  coverageAnalysis: "perTest",
  mutate: [
    "packages/auth/src/**/*.ts",
    "packages/core/src/**/*.ts",
    "services/control-plane/src/validation.ts",
    "services/control-plane/src/authorizer.ts",
    "!**/*.test.ts",
    "!**/index.ts",
  ],
  ignorePatterns: ["reports", "loadtest/results", ".cache", ".gatehouse", "coverage", "dist"],
  tempDirName: ".cache/stryker-tmp",
  cleanTempDir: "always",
  concurrency: 2,
  timeoutMS: 10_000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  // Report only: the habit is to read the survivors, not to gate a build on a number.
  thresholds: { high: 90, low: 80, break: null },
};
