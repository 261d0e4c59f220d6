#!/usr/bin/env bash
# Every benchmark and the soak test, in one run, each beside its baseline; writes one Markdown report with the
# machine, the versions and every figure to bench/results/report.md (or --report).
#
#   bench/run.sh [--quick] [--soak-minutes 30] [--runs 3] [--report bench/results/report.md]
#
# --quick         smaller WAN object (256 MiB), one run per variant, short webhook and micro-benchmark jobs and a
#                 3-minute soak: about 10 minutes instead of about an hour
# --soak-minutes  length of the soak test (default 30, or 3 with --quick)
# --runs          runs per variant of the loopback downloads; the median is reported (default 3, or 1 with --quick)
set -euo pipefail
cd "$(dirname "$0")/.."

quick=""; soak_minutes=""; runs=""; report=bench/results/report.md
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --soak-minutes) soak_minutes="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
large_mib=1536; fault_mib=1024
if [ -n "$quick" ]; then
  wan_mib=256; runs=${runs:-1}; soak_minutes=${soak_minutes:-3}; webhook_seconds=5; micro_job=short
else
  wan_mib=1024; runs=${runs:-3}; soak_minutes=${soak_minutes:-30}; webhook_seconds=15; micro_job=default
fi
command_line="bench/run.sh${quick:+ --quick} --soak-minutes $soak_minutes --runs $runs"

source bench/lib/download.sh
ensure_tools curl bc openssl wrk

build_and_prepare src/CallVault.Server src/CallVault.Emulator src/CallVault.Cli bench/CallVault.Bench bench/CallVault.Bench.Micro
sections="$work/sections.md"
summary="$work/summary.md"
: >"$sections"; : >"$summary"
started=$(date +%s)

# A row of the summary: what, target, figure, verdict.
verdict() { echo "| $1 | $2 | $3 | $4 |" >>"$summary"; }
met() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo "met"; else echo "**not met**"; fi; }
section() { printf '\n## %s\n\n' "$1" >>"$sections"; }
field() { echo "$1" | sed -n "s/.*$2=\([^ ]*\).*/\1/p"; }

start_emulator

echo "== Single large chunk over loopback"
section "Single large chunk: ${large_mib} MiB over loopback to disk"
{
  echo "The emulator serves a synthetic one-chunk recording; each client writes it to disk and its SHA-256 is checked."
  echo "\`curl+sha256\` also hashes the body on its way to disk (OpenSSL), the work CallVault does on every byte."
  echo "Median of $runs run(s), interleaved. The 100 MiB row shows whether memory grows with the object."
  echo
  echo "| object | link | client | wall s | ratio to curl | peak RSS MiB |"
  echo "|---|---|---|---|---|---|"
} >>"$sections"
compare 100 loopback "$sections" "$runs" p1 p8
declare -A rss_small=([p1]=${median_rss_mib[p1]} [p8]=${median_rss_mib[p8]})
compare "$large_mib" loopback "$sections" "$runs" curl+sha256 p1 p8
large_ratio_p1=$(echo "${median_time[p1]} / ${median_time[curl]}" | bc -l)
large_ratio_p8=$(echo "${median_time[p8]} / ${median_time[curl]}" | bc -l)
large_ratio_hashed=$(echo "${median_time[p1]} / ${median_time[curl+sha256]}" | bc -l)
peak_rss=$(printf '%s\n' "${median_rss_mib[p1]}" "${median_rss_mib[p8]}" | sort -n | tail -1)
rss_growth=$(printf '%s\n' "$(echo "${median_rss_mib[p1]} - ${rss_small[p1]}" | bc -l)" "$(echo "${median_rss_mib[p8]} - ${rss_small[p8]}" | bc -l)" | sort -n | tail -1)
verdict "${large_mib} MiB chunk over loopback, wall time against curl" "≤ 1.1×" \
  "$(printf '%.2f× single stream, %.2f× default (8 connections); single stream %.2f× against curl+sha256' "$large_ratio_p1" "$large_ratio_p8" "$large_ratio_hashed")" \
  "$(met "$large_ratio_p1 <= 1.1 || $large_ratio_p8 <= 1.1")"
verdict "peak RSS, flat from 100 MiB to ${large_mib} MiB" "≤ 200 MB, flat" \
  "$(printf '%.0f MiB at most; +%.0f MiB from 100 MiB' "$peak_rss" "$rss_growth")" "$(met "$peak_rss * 1.048576 <= 200 && $rss_growth <= 16")"

echo "== WAN-like link"
section "WAN-like link: ${wan_mib} MiB at 20 MB/s per connection and 50 ms latency"
{
  echo "The emulator caps each connection at 20 MB/s and waits 50 ms before each response; curl uses one connection,"
  echo "CallVault its default of 8 connections with 4 MiB parts, and 4 for comparison."
  echo
  echo "| object | link | client | wall s | ratio to curl | peak RSS MiB |"
  echo "|---|---|---|---|---|---|"
} >>"$sections"
set_link 20000000 50
compare "$wan_mib" "20 MB/s + 50 ms" "$sections" 1 p4 p8
set_link 0 0
wan_speedup_p4=$(echo "${median_time[curl]} / ${median_time[p4]}" | bc -l)
wan_speedup_p8=$(echo "${median_time[curl]} / ${median_time[p8]}" | bc -l)
verdict "${wan_mib} MiB over a WAN-like link, speed-up over single-stream curl" "≥ 3.5×" \
  "$(printf '%.2f× with 8 connections (default), %.2f× with 4' "$wan_speedup_p8" "$wan_speedup_p4")" "$(met "$wan_speedup_p8 >= 3.5")"

echo "== Faults: five connection resets"
section "Faults: five connection resets while downloading ${fault_mib} MiB"
{
  echo "Five reset rules are armed before each download; each cuts one response after a random number of body bytes."
  echo "For a single stream the offsets are spread over the whole object; for parallel parts each falls inside the part it"
  echo "hits. Bytes fetched twice are what the emulator sent beyond the object's size."
  echo
  echo "| client | resets | bytes sent | bytes fetched twice | share of the object | wall s |"
  echo "|---|---|---|---|---|---|"
} >>"$sections"
fault_bytes=$(( fault_mib * 1024 * 1024 ))
worst_share=0
for variant in p1 p8; do
  read -r url sha < <(record "$fault_mib")
  if [ "$variant" = p1 ]; then
    mapfile -t offsets < <(python3 -c "import random; print(*sorted(random.sample(range(1, $fault_bytes), 5)), sep='\n')")
    previous=0
    for offset in "${offsets[@]}"; do
      curl -fsS -X POST "$endpoint/admin/faults" -H 'content-type: application/json' \
        -d "{\"target\":\"Content\",\"count\":1,\"fault\":{\"type\":\"Reset\",\"afterBytes\":$(( offset - previous ))}}" >/dev/null
      previous=$offset
    done
  else
    for _ in 1 2 3 4 5; do
      curl -fsS -X POST "$endpoint/admin/faults" -H 'content-type: application/json' \
        -d "{\"target\":\"Content\",\"count\":1,\"fault\":{\"type\":\"Reset\",\"afterBytes\":$(( RANDOM * 128 ))}}" >/dev/null
    done
  fi
  before=$(bytes_sent)
  result=$(callvault_run "$url" "$work/fault.bin" "${variant#p}")
  check "$work/fault.bin" "$sha"
  sent=$(( $(bytes_sent) - before ))
  left=$(curl -fsS "$endpoint/admin/faults" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
  curl -fsS -X DELETE "$endpoint/admin/faults" >/dev/null
  twice=$(( sent - fault_bytes ))
  share=$(echo "100 * $twice / $fault_bytes" | bc -l)
  worst_share=$(printf '%s\n' "$worst_share" "$share" | sort -g | tail -1)
  printf "| callvault --parallel %s | %d of 5 | %d | %d | %.3f %% | %.2f |\n" "${variant#p}" "$(( 5 - left ))" "$sent" "$twice" "$share" "${result% *}" | tee -a "$sections"
done
verdict "five resets on ${fault_mib} MiB, bytes fetched twice" "< 1 %" "$(printf '%.3f %% at most' "$worst_share")" "$(met "$worst_share < 1")"
kill "$emulator_pid" 2>/dev/null; wait "$emulator_pid" 2>/dev/null || true; emulator_pid=""

echo "== Many small recordings end to end"
e2e=$(dotnet "$bench_dll" e2e 1000 1048576 | grep '^RESULT e2e')
echo "$e2e"
# Latency without a backlog: a steady rate at half the burst's throughput.
steady_rate=$(echo "$(field "$e2e" per_second) / 2" | bc -l | xargs printf '%.0f')
steady=$(dotnet "$bench_dll" e2e 300 1048576 "$steady_rate" | grep '^RESULT e2e')
echo "$steady"
section "Many small recordings: 1,000 of 1 MiB, end to end"
e2e_row() { echo "| $2 | $(field "$1" recordings) | $(field "$1" publish_s) | $(field "$1" total_s) | $(field "$1" per_second) | $(field "$1" p50_ms) | $(field "$1" p99_ms) | $(field "$1" max_ms) | $(field "$1" stored_once) |"; }
{
  echo "The emulator publishes one-chunk recordings of 1 MiB; Event Grid delivers them to one service process on its defaults"
  echo "(SQLite, disk, 4 workers), which acknowledges, downloads and stores them. Latency is from the event's time to the"
  echo "chunk being stored. The burst measures throughput (its latency is mostly time in the queue); the steady run publishes"
  echo "at half that rate and measures the latency of a recording on a busy service. Afterwards every chunk's stored bytes"
  echo "are checked against the published SHA-256, and the folder for strays and partial files."
  echo
  echo "| run | recordings | published in s | all stored in s | recordings per second | latency p50 ms | p99 ms | max ms | every chunk stored once, byte-identical |"
  echo "|---|---|---|---|---|---|---|---|---|"
  e2e_row "$e2e" "burst"
  e2e_row "$steady" "steady, $steady_rate/s"
} >>"$sections"
verdict "1,000 × 1 MiB recordings end to end" "measured" "$(field "$e2e" per_second) recordings/s; at $steady_rate/s event to stored p50 $(field "$steady" p50_ms) ms, p99 $(field "$steady" p99_ms) ms" \
  "$([ "$(field "$e2e" stored_once)" = True ] && [ "$(field "$steady" stored_once)" = True ] && echo "all stored once" || echo "**chunks missing or wrong**")"

echo "== Webhook"
bench/webhook.sh --duration "$webhook_seconds" --connections 16 --batches 3 --report "$work/webhook.md" >/dev/null
section "Webhook: durable acknowledgements beside a bare endpoint"
sed -n '/^CallVault acknowledges/,$p' "$work/webhook.md" >>"$sections"
webhook_rps=$(grep '^| single-event deliveries per second' "$work/webhook.md" | cut -d'|' -f4 | tr -d ' ')
webhook_bare=$(grep '^| single-event deliveries per second' "$work/webhook.md" | cut -d'|' -f3 | tr -d ' ')
webhook_p99=$(grep '^| single-event latency p99' "$work/webhook.md" | cut -d'|' -f4 | tr -d ' ')
verdict "webhook, single-event deliveries acknowledged after commit" "measured" "$webhook_rps/s (bare endpoint $webhook_bare/s), p99 $webhook_p99 ms" "–"

echo "== Soak: $soak_minutes minutes"
soak_status=0
soak=$(dotnet "$bench_dll" soak "$soak_minutes" 2 "$work/soak.md" | tee "$work/soak.log" | grep '^RESULT soak') || soak_status=$?
cat "$work/soak.log"
section "Soak: $soak_minutes minutes of deliveries with faults and two SIGKILL restarts"
cat "$work/soak.md" >>"$sections"
verdict "soak, $soak_minutes min, faults on, SIGKILL twice" "every chunk stored once and sent once (unexplained byte excess ≤ 1 %); memory and handles flat" \
  "$(field "$soak" chunks) chunks; stored once: $(field "$soak" stored_once); sent once: $(field "$soak" sent_once) (byte excess $(field "$soak" bytes_excess), unexplained $(field "$soak" bytes_unexplained)); RSS growth $(field "$soak" rss_growth); handles $(field "$soak" handle_growth)" \
  "$([ "$(field "$soak" passed)" = True ] && echo "met" || echo "**not met**")"

echo "== Micro-benchmarks (BenchmarkDotNet, $micro_job job)"
micro_args=(--filter '*' --inProcess --artifacts "$work/micro")
[ "$micro_job" = short ] && micro_args+=(--job short)
dotnet bench/CallVault.Bench.Micro/bin/Release/net10.0/CallVault.Bench.Micro.dll "${micro_args[@]}" >"$work/micro.log" 2>&1 \
  || { tail -40 "$work/micro.log" >&2; exit 1; }
section "Micro-benchmarks (BenchmarkDotNet, in process, $micro_job job)"
{
  echo "They explain the whole-process figures: signing is what each ranged part and retry pays, parsing is the CPU side of"
  echo "the webhook's acknowledgement, and SHA-256 is what CallVault does on every byte that curl does not."
  for name in Signing EventParsing Hashing; do
    echo
    echo "### $name"
    echo
    sed -n '/^| Method/,/^$/p' "$work/micro/results/CallVault.Bench.Micro.${name}Benchmarks-report-github.md"
  done
} >>"$sections"
# Parameterised rows come in bold; the Mean column is the one after the parameters.
hash_ms=$(grep 'Sha256Of16MiB' "$work/micro/results/CallVault.Bench.Micro.HashingBenchmarks-report-github.md" | tail -1 | tr -d '*' | cut -d'|' -f4 | sed 's/[^0-9.]//g')
sign_us=$(grep 'SignRangedGet' "$work/micro/results/CallVault.Bench.Micro.SigningBenchmarks-report-github.md" | tr -d '*' | cut -d'|' -f3 | sed 's/^ *//; s/ *$//')
verdict "SHA-256 throughput, one core" "explains the loopback ratio" "$(printf '%.0f MB/s' "$(echo "16.777216 / ($hash_ms / 1000)" | bc -l)")" "–"
verdict "signing one download request" "explains per-request cost" "$sign_us" "–"

mkdir -p "$(dirname "$report")"
{
  echo "# CallVault benchmark report"
  echo
  echo "Command: \`$command_line\`  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ); the measurements took $(( ($(date +%s) - started) / 60 )) minutes  "
  echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')  "
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), Linux $(uname -r)  "
  echo "Versions: .NET SDK $(dotnet --version), runtime $(dotnet --list-runtimes | grep -m1 NETCore.App | cut -d' ' -f2); $(curl --version | head -1 | cut -d' ' -f1-2); $(openssl version | cut -d' ' -f1-2); wrk $(dpkg-query -W -f '${Version}' wrk 2>/dev/null)"
  echo
  echo "Every figure is measured beside its baseline in the same run on the same machine; nothing here is a test"
  echo "assertion. The machine is shared, so single runs vary by 10–30 %."
  echo
  echo "| claim | target | measured | verdict |"
  echo "|---|---|---|---|"
  cat "$summary"
  cat "$sections"
} >"$report"
echo
echo "Report: $report"
[ "$soak_status" -eq 0 ]
