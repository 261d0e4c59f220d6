#!/usr/bin/env bash
# Issue 15's catch-up rate on SQLite and on PostgreSQL: N recordings of 1 MiB published at once (burst) to one service
# on its defaults (4 workers, disk), then, on a fresh service, recordings at half the burst's rate. Prints one line per
# run, as bench/run.sh reads them:
#
#   catchup store=sqlite mode=burst recordings=1000 size_bytes=1048576 published_per_second=… rate=… p50_ms=… p99_ms=…
#     max_ms=… cpu_ms_per_recording=… bench_cpu_ms_per_recording=… machine_busy=… cores=2 stored_once=True
#
#   bench/catchup.sh [--quick] [--recordings 1000] [--steady 300] [--stores "sqlite postgresql"]
#
# rate is recordings stored per second from the first publication to the last chunk stored; cpu_ms_per_recording is
# the service process's CPU (user + system) per recording and bench_cpu_ms_per_recording the benchmark process's (the
# emulator serving 1 MiB and two GETs per chunk and delivering the events, and the publisher), which together say
# whether the machine's cores were the limit; machine_busy is the share of all cores busy during the run.
# PostgreSQL is a throwaway server started here (eng/services.sh) and stopped on exit.
# --quick is accepted for bench/run.sh and changes nothing: the catch-up figures need the full backlog.
set -euo pipefail
cd "$(dirname "$0")/.."

recordings=1000; steady=300; stores="sqlite postgresql"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) shift ;;
    --recordings) recordings="$2"; shift 2 ;;
    --steady) steady="$2"; shift 2 ;;
    --stores) stores="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

dotnet build src/CallVault.Server -c Release -nologo -clp:ErrorsOnly >&2
dotnet build bench/CallVault.Bench -c Release -nologo -clp:ErrorsOnly >&2
bench_dll=bench/CallVault.Bench/bin/Release/net10.0/CallVault.Bench.dll

# The benchmark names the steady run "half"; bench/run.sh's report calls it "half-rate".
run_store() {
  dotnet "$bench_dll" catchup "$1" "$recordings" 1048576 "$steady" | grep -E '^catchup ' | sed 's/ mode=half / mode=half-rate /'
}

status=0
for store in $stores; do
  case "$store" in
    sqlite) run_store sqlite || status=1 ;;
    postgresql)
      # In a subshell, so that eng/services.sh's exit trap stops PostgreSQL as soon as this store is measured.
      ( source eng/services.sh && start_services >&2 && run_store postgresql ) || status=1 ;;
    *) echo "unknown store $store: sqlite or postgresql" >&2; exit 2 ;;
  esac
done
exit $status
