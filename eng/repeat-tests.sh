#!/usr/bin/env bash
# Runs one test project's filtered tests COUNT times in a row (built once, not rebuilt between runs) and ends with one
# line "N runs, N failed", so a test that fails by chance shows up as a count rather than as luck.
#   eng/repeat-tests.sh tests/CallVault.Acs.Tests "FullyQualifiedName~AcsRecordingClientTests" 30
# The console output of each failed run is kept under artifacts/repeat-tests/.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 3 ]; then
  echo "usage: $0 <test project> <filter> <count> [extra dotnet test arguments]" >&2
  exit 2
fi
project="$1"
filter="$2"
count="$3"
shift 3
configuration="${CONFIGURATION:-Debug}"
logs="artifacts/repeat-tests"
mkdir -p "$logs"

dotnet build "$project" -c "$configuration" -nologo -clp:ErrorsOnly || exit 1

failed=0
for run in $(seq 1 "$count"); do
  log="$logs/run-$run.log"
  if dotnet test "$project" -c "$configuration" --no-build -nologo --filter "$filter" "$@" >"$log" 2>&1 \
    && grep -qE 'Passed: +[1-9]' "$log"; then
    rm -f "$log"
  else
    failed=$((failed + 1))
    echo "run $run failed (log: $log):"
    grep -E '^\s+Failed |Error Message:' -A2 "$log" | head -20
  fi
done

echo "$count runs, $failed failed"
[ "$failed" -eq 0 ]
