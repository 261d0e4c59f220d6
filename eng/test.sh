#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: restores, builds the solution once, starts what the tests need,
# runs every test project, and ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

configuration="${CONFIGURATION:-Debug}"
results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

# The dashboard's browser tests drive Debian's Chromium (Playwright's own browser download cannot work here).
if ! command -v chromium >/dev/null; then
  echo "== Installing Chromium (Debian package)"
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi

echo "== Building CallVault.slnx ($configuration)"
dotnet build CallVault.slnx -c "$configuration" -nologo -clp:ErrorsOnly

echo "== Starting PostgreSQL and Azurite"
source eng/services.sh
start_services

echo "== Running tests"
status=0
dotnet test CallVault.slnx -c "$configuration" --no-build -nologo \
  --logger "trx" --results-directory "$results" "$@" 2>&1 | tee "$results/console.log" || status=$?

passed=$(grep -hoE 'Passed: +[0-9]+' "$results/console.log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -hoE 'Failed: +[0-9]+' "$results/console.log" | awk '{s+=$2} END {print s+0}')
skipped=$(grep -hoE 'Skipped: +[0-9]+' "$results/console.log" | awk '{s+=$2} END {print s+0}')
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "No test ran." >&2
  status=1
fi
if [ "$skipped" -ne 0 ]; then
  echo "$skipped test(s) were skipped; a skipped test is not a pass." >&2
  status=1
fi
echo "$passed passed, $failed failed"
exit "$status"
