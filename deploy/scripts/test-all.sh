#!/usr/bin/env bash
# The README's test command (`./gw test` runs `npm test`, which runs this). Lint, type-check,
# generated-code check, then unit + integration tests in one vitest run. Integration tests get
# real Postgres, Kafka and Redis from the testkit's global setup: explicit GATEHOUSE_TEST_* env,
# else testcontainers when a Docker engine answers, else deploy/local/infra.sh (started here).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

step() { printf '\n== %s ==\n' "$1"; }
started=$SECONDS

step "lint (biome)"
npx biome ci --reporter=summary .

step "lint (every package declares what it imports)"
node deploy/scripts/check-dependencies.ts

step "type-check (tsc)"
npx tsc -p tsconfig.json
# The web console has its own project (DOM, JSX) outside the root one.
npx tsc -p services/console/web/tsconfig.json

step "generated code is current"
npm run --silent gen:check

step "browser for the console's end-to-end tests (chromium)"
bash deploy/local/infra.sh browser

step "unit + integration tests (vitest)"
mkdir -p .gatehouse
report=.gatehouse/vitest-report.json
rm -f "$report"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" || status=$?

if [[ $status -ne 0 ]]; then
  printf '\ntests failed (exit %s) after %ss\n' "$status" "$((SECONDS - started))"
else
  printf '\nall checks passed in %ss\n' "$((SECONDS - started))"
fi
# The last line is a plain summary any CI reader understands: "vitest: N passed, N failed, N skipped".
if [[ -f "$report" ]]; then
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  ' "$report"
fi
exit "$status"
