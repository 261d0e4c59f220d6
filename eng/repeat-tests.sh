#!/usr/bin/env bash
# Runs tests again and again to show that they do not fail by chance, and counts the runs that failed.
#
#   eng/repeat-tests.sh --suite [--runs K]
#       the whole suite (./eng/test.sh) K times back to back (default 5); each run builds and starts its own services.
#   eng/repeat-tests.sh --project tests/CallVault.Acs.Tests --filter "FullyQualifiedName~RangedDownloader" [--runs N]
#       one test project and filter N times (default 30): built once, PostgreSQL and Azurite started once.
#
# Ends with "N runs, N failed", then each test that failed with how many runs it failed in. Exits non-zero when any
# run failed, or when a run executed no test (a filter that matches nothing proves nothing). Logs of every run are
# kept under artifacts/repeat/.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

mode="" project="" filter="" runs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --suite) mode=suite; shift ;;
    --project) mode=project; project="${2:?--project needs a folder}"; shift 2 ;;
    --filter) filter="${2:?--filter needs an expression}"; shift 2 ;;
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "unknown argument: $1" >&2; usage ;;
  esac
done
[ -n "$mode" ] || usage
[[ -z "$runs" || "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "--runs must be a positive number" >&2; exit 2; }
if [ "$mode" = project ]; then
  [ -d "$project" ] || { echo "no test project folder $project" >&2; exit 2; }
  [ -n "$filter" ] || { echo "--project needs --filter (use --suite for everything)" >&2; exit 2; }
  runs="${runs:-30}"
else
  [ -z "$filter" ] || { echo "--filter applies to --project only" >&2; exit 2; }
  runs="${runs:-5}"
fi

configuration="${CONFIGURATION:-Debug}"
logs="artifacts/repeat/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$logs"

# The names of the tests a run's console log shows as failed, or as running when its test host hung or crashed.
failed_tests() {
  { grep -hE '^\s+Failed [^ ]' "$1" || true; } | sed -E 's/^\s+Failed ([^ ]+).*/\1/'
  awk '/running when the crash occurred:/ {names = 1; next} /^[[:space:]]*$/ {names = 0} names {print $1 " (hung or crashed)"}' "$1"
}

run_once() {
  local log="$1" status=0
  if [ "$mode" = suite ]; then
    ./eng/test.sh >"$log" 2>&1 || status=$?
  else
    dotnet test "$project" -c "$configuration" --no-build -nologo --filter "$filter" \
      --blame-hang-timeout "${CALLVAULT_TEST_HANG_TIMEOUT:-10m}" --blame-hang-dump-type mini \
      --results-directory "$logs/results" >"$log" 2>&1 || status=$?
  fi
  return "$status"
}

if [ "$mode" = project ]; then
  echo "== Building $project ($configuration) once"
  eng/hmac-crosscheck/install.sh
  dotnet build "$project" -c "$configuration" -nologo -clp:ErrorsOnly
  echo "== Starting PostgreSQL and Azurite once"
  source eng/services.sh
  start_services
  what="$project, filter $filter"
else
  what="the whole suite (./eng/test.sh)"
fi

echo "== $runs runs of $what; logs in $logs"
failed_runs=0
: >"$logs/failed-tests.txt"
for i in $(seq 1 "$runs"); do
  log="$logs/run-$i.log"
  started=$SECONDS
  status=0
  run_once "$log" || status=$?
  passed=$({ grep -hoE 'Passed: +[0-9]+' "$log" || true; } | awk '{s+=$2} END {print s+0}')
  names=$(failed_tests "$log")
  if [ "$status" -ne 0 ] || [ -n "$names" ] || [ "$passed" -eq 0 ]; then
    failed_runs=$((failed_runs + 1))
    [ -n "$names" ] || names="(no test named: exit code $status, $passed passed; see $log)"
    echo "$names" >>"$logs/failed-tests.txt"
    echo "run $i/$runs: FAILED in $((SECONDS - started)) s ($passed passed): $(echo "$names" | paste -sd ' ')"
  else
    echo "run $i/$runs: ok in $((SECONDS - started)) s ($passed passed)"
  fi
done

echo "$runs runs, $failed_runs failed"
if [ "$failed_runs" -ne 0 ]; then
  echo "Failing tests (runs failed in, name):"
  sort "$logs/failed-tests.txt" | uniq -c | sort -rn | sed 's/^/  /'
  exit 1
fi
