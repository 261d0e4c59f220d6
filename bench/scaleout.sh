#!/usr/bin/env bash
# Scale-out benchmark (issue 5): jobs claimed per second with 1, 2 and 4 workers on SQLite and PostgreSQL, and the
# end-to-end time for 500 small recordings on one service instance versus three (PostgreSQL + Azurite, over a
# WAN-like link). Starts its own PostgreSQL and Azurite (eng/services.sh). Writes bench/results/scaleout.md.
#
#   bench/scaleout.sh [--jobs 5000] [--recordings 500]
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=5000; recordings=500
while [ $# -gt 0 ]; do
  case "$1" in
    --jobs) jobs="$2"; shift 2 ;;
    --recordings) recordings="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

echo "== Building (Release)"
dotnet build src/CallVault.Server -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/CallVault.Bench -c Release -nologo -clp:ErrorsOnly >/dev/null
bench=bench/CallVault.Bench/bin/Release/net10.0/CallVault.Bench.dll
source eng/services.sh
start_services

report=bench/results/scaleout.md
{
  echo "# Scale-out benchmark"
  echo
  echo "Command: \`bench/scaleout.sh --jobs $jobs --recordings $recordings\`  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  "
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(dotnet --version) SDK"
  echo
  echo "## Jobs claimed per second ($jobs jobs leased and completed; SQLite synchronous=FULL in WAL mode)"
  echo
  echo "| store | workers | seconds | jobs per second |"
  echo "|---|---|---|---|"
} >"$report"
for provider in sqlite postgresql; do
  for workers in 1 2 4; do
    read -r _ p w n s r < <(dotnet "$bench" claims "$provider" "$workers" "$jobs" | grep RESULT)
    echo "| $p | $w | $s | $r |" | tee -a "$report"
  done
done
{
  echo
  echo "## $recordings recordings of 200 KB end to end (PostgreSQL + Azurite; link 5 MB/s per connection, 50 ms latency; 4 downloads per instance)"
  echo
  echo "| instances | seconds | recordings per second |"
  echo "|---|---|---|"
} >>"$report"
for instances in 1 3; do
  read -r _ i n s r < <(dotnet "$bench" scaleout "$instances" "$recordings" | grep RESULT)
  echo "| $i | $s | $r |" | tee -a "$report"
done
echo "Report: $report"
