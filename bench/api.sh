#!/usr/bin/env bash
# API latency benchmark (issue 6): the read API with 100,000 recordings in the SQLite job database, measured with wrk
# (4 connections, 5 s per query). Target: every query answers within 100 ms (p99). Writes bench/results/api.md.
#
#   bench/api.sh [--recordings 100000]
set -euo pipefail
cd "$(dirname "$0")/.."
recordings=100000
[ "${1:-}" = "--recordings" ] && recordings="$2"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }

echo "== Building (Release)"
dotnet build src/CallVault.Server -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/CallVault.Bench -c Release -nologo -clp:ErrorsOnly >/dev/null
work=$(mktemp -d -p "${TMPDIR:-/tmp}" callvault-api.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
dotnet bench/CallVault.Bench/bin/Release/net10.0/CallVault.Bench.dll seed "$work/data" "$recordings" | grep RESULT
url=http://127.0.0.1:5391
(cd "$work" && exec env CallVault__DataDirectory="$work/data" Logging__LogLevel__Default=Warning Urls="$url" \
  dotnet "$OLDPWD/src/CallVault.Server/bin/Release/net10.0/CallVault.Server.dll" >"$work/server.log" 2>&1) &
pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "$url/health/live" && break; sleep 0.2; done

report=bench/results/api.md
{
  echo "# API latency benchmark"
  echo
  echo "Command: \`bench/api.sh --recordings $recordings\`  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  "
  echo "Machine: $(nproc) cores, $(uname -sr); $(dotnet --version) SDK; wrk 4 connections, 5 s per query; $recordings recordings in SQLite"
  echo
  echo "| query | requests/s | p50 ms | p99 ms |"
  echo "|---|---|---|---|"
} >"$report"
for query in "api/recordings" "api/recordings?skip=50000" "api/recordings?skip=99000" "api/recordings?callId=call-054321" \
  "api/recordings?participant=%2B14255551234" "api/recordings?participant=8%3Aacs%3Aagent-7" "api/recordings?participant=8%3Aacs%3Aagent-7&skip=1900" \
  "api/recordings?sort=Largest" "api/recordings?sort=Longest" "api/recordings?sort=Oldest&skip=50000" "api/recordings?status=failed" \
  "api/recordings?status=pending&sort=Largest" "api/recordings?from=2026-02-01T00:00:00Z&to=2026-02-02T00:00:00Z" \
  "api/recordings/rec-054321" "api/jobs" "api/stats/timeline?bucket=hour&from=2026-02-01T00:00:00Z&to=2026-02-03T00:00:00Z" \
  "api/stats/timeline?bucket=day&from=2026-01-01T00:00:00Z&to=2026-03-11T00:00:00Z"; do
  out=$(wrk -t1 -c4 -d5s --latency "$url/$query")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  echo "| \`$query\` | $rps | $p50 | $p99 |" | tee -a "$report"
done
echo "Report: $report"
