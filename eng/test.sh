#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: restores, builds the solution once, starts what the tests need,
# runs every test project, and ends with one line "N passed, N failed".
# A test that makes no progress for CALLVAULT_TEST_HANG_TIMEOUT (default 10m) fails the run with a dump of its test
# host; the whole `dotnet test` may take at most CALLVAULT_TEST_RUN_TIMEOUT (default 60m), so CI is never held.
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

# The alert rules are checked and unit-tested with promtool, from Debian's prometheus package (the server it also
# installs is not started by the tests).
if ! command -v promtool >/dev/null; then
  echo "== Installing promtool (Debian package prometheus)"
  apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

echo "== Installing the Azure SDK for JavaScript for the HMAC cross-check (npm, pinned)"
eng/hmac-crosscheck/install.sh

echo "== Building CallVault.slnx ($configuration)"
dotnet build CallVault.slnx -c "$configuration" -nologo -clp:ErrorsOnly

echo "== Starting PostgreSQL and Azurite"
source eng/services.sh
start_services

hang_timeout="${CALLVAULT_TEST_HANG_TIMEOUT:-10m}"
run_timeout="${CALLVAULT_TEST_RUN_TIMEOUT:-60m}"
echo "== Running tests (a test silent for $hang_timeout fails with a dump; the run stops after $run_timeout)"
status=0
# The blame collector sees a test that stops making progress; `timeout` is the backstop for what it cannot see (a
# stuck discovery or build server). It signals its whole process group, so the test hosts stop with dotnet test.
timeout --kill-after=1m "$run_timeout" \
  dotnet test CallVault.slnx -c "$configuration" --no-build -nologo \
  --blame-hang-timeout "$hang_timeout" --blame-hang-dump-type mini \
  --logger "trx" --results-directory "$results" "$@" 2>&1 | tee "$results/console.log" || status=$?

# grep finds nothing when every test host was aborted; that must reach the summary below, not stop the script.
passed=$({ grep -hoE 'Passed: +[0-9]+' "$results/console.log" || true; } | awk '{s+=$2} END {print s+0}')
failed=$({ grep -hoE 'Failed: +[0-9]+' "$results/console.log" || true; } | awk '{s+=$2} END {print s+0}')
skipped=$({ grep -hoE 'Skipped: +[0-9]+' "$results/console.log" || true; } | awk '{s+=$2} END {print s+0}')
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "The test run took longer than $run_timeout and was stopped." >&2
fi
# A hung (or crashed) test host aborts its project's run without counting the test that was running as failed.
aborted=$(awk '/running when the crash occurred:/ {names = 1; next} /^[[:space:]]*$/ {names = 0} names' "$results/console.log")
if [ -n "$aborted" ]; then
  echo "A test host was aborted (no progress for $hang_timeout, or a crash) while running:" >&2
  echo "$aborted" | sed 's/^/  /' >&2
  find "$results" -name '*hangdump*' -printf '  dump: %p\n' >&2
  failed=$(( failed + $(echo "$aborted" | grep -c .) ))
  status=1
fi
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
