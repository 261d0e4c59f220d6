#!/usr/bin/env bash
# Webhook benchmark (issue 4): durable acknowledgements per second for single-event deliveries, and the time to
# acknowledge a 5,000-event batch, each beside a bare ASP.NET endpoint that answers 200 without storing, in the same
# run, with wrk (Debian package) as the load generator. Writes bench/results/webhook.md.
#
#   bench/webhook.sh [--duration 15] [--connections 16] [--batches 5] [--report bench/results/webhook.md]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=15; connections=16; batches=5; report=bench/results/webhook.md
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --batches) batches="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

for tool in wrk curl bc; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; }
done

echo "== Building (Release)"
dotnet build src/CallVault.Server -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/CallVault.Bench -c Release -nologo -clp:ErrorsOnly >/dev/null
server=src/CallVault.Server/bin/Release/net10.0/CallVault.Server.dll
bench=bench/CallVault.Bench/bin/Release/net10.0/CallVault.Bench.dll

work=$(mktemp -d -p "${TMPDIR:-/tmp}" callvault-webhook.XXXXXX)
secret=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
callvault_url="http://127.0.0.1:5381"
bare_url="http://127.0.0.1:5382"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# No ACS connection string: the worker stays idle, so only the webhook and its durable enqueue are measured.
(cd "$work" && exec env CallVault__DataDirectory="$work/data" CallVault__Webhook__Secrets__0="$secret" CallVault__Webhook__MaxBodyBytes=4194304 \
  Logging__LogLevel__Default=Warning Urls="$callvault_url" dotnet "$OLDPWD/$server" >"$work/callvault.log" 2>&1) &
pids+=($!)
dotnet "$bench" bare "$bare_url" >"$work/bare.log" 2>&1 &
pids+=($!)
for url in "$callvault_url/health/live" "$bare_url/api/events"; do
  for _ in $(seq 1 100); do curl -s -o /dev/null "$url" -X GET && break; sleep 0.2; done
done

single() {
  wrk -t2 -c"$connections" -d"${duration}s" -s bench/webhook-single.lua "$1" | grep RESULT
}

batch_times() {
  local url=$1 times=()
  for _ in $(seq 1 "$batches"); do
    dotnet "$bench" batch 5000 "$work/batch.json"
    times+=("$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST -H 'content-type: application/json' --data-binary @"$work/batch.json" "$url")")
  done
  printf '%s\n' "${times[@]}"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "== Single-event deliveries, $connections connections, ${duration}s each"
single "$bare_url/api/events" >"$work/bare-single" ; single "$callvault_url/api/events?code=$secret" >"$work/cv-single"
echo "== 5,000-event batches ($(du -k "$work" >/dev/null; dotnet "$bench" batch 5000 "$work/size.json"; stat -c %s "$work/size.json") bytes), $batches each"
batch_times "$bare_url/api/events" >"$work/bare-batch"; batch_times "$callvault_url/api/events?code=$secret" >"$work/cv-batch"
grep -qv '^200 ' "$work/cv-batch" && { echo "CallVault refused a batch:" >&2; cat "$work/cv-batch" >&2; exit 1; }

bare_rps=$(field rps <"$work/bare-single"); cv_rps=$(field rps <"$work/cv-single")
bare_p99=$(field p99_ms <"$work/bare-single"); cv_p99=$(field p99_ms <"$work/cv-single")
cv_non2xx=$(field non2xx <"$work/cv-single")
bare_batch=$(cut -d' ' -f2 "$work/bare-batch" | median); cv_batch=$(cut -d' ' -f2 "$work/cv-batch" | median)
stored=$(curl -s "$callvault_url/health/ready" | grep -o '"pending":[0-9]*' | cut -d: -f2)

{
  echo "# Webhook benchmark"
  echo
  echo "Command: \`bench/webhook.sh --duration $duration --connections $connections --batches $batches\`  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  "
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(dotnet --version) SDK; $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo
  echo "CallVault acknowledges a delivery only after SQLite (WAL, synchronous=FULL) has committed it; the bare endpoint reads"
  echo "the body and answers 200. Each single-event request carries a fresh event and document id."
  echo
  echo "| measure | bare endpoint | CallVault | ratio |"
  echo "|---|---|---|---|"
  printf "| single-event deliveries per second | %.0f | %.0f | %.2f |\n" "$bare_rps" "$cv_rps" "$(echo "$cv_rps / $bare_rps" | bc -l)"
  printf "| single-event latency p99, ms | %.2f | %.2f | %.2f |\n" "$bare_p99" "$cv_p99" "$(echo "$cv_p99 / $bare_p99" | bc -l)"
  printf "| 5,000-event batch, seconds to acknowledge (median of %d) | %.3f | %.3f | %.2f |\n" "$batches" "$bare_batch" "$cv_batch" "$(echo "$cv_batch / $bare_batch" | bc -l)"
  echo
  echo "CallVault answered non-2xx to $cv_non2xx single-event requests; chunks durably queued at the end: $stored."
} >"$report"
cat "$report"
