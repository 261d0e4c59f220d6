#!/usr/bin/env bash
# Every benchmark and the soak test, in one run, each beside its baseline; writes one Markdown report with the
# machine, the versions, a summary with one row per goal of issue 15 and every figure to bench/results/report.md.
#
#   bench/run.sh [--quick] [--runs 5] [--soak-minutes 30] [--profile] [--report bench/results/report.md]
#
# --quick              one run per variant, a smaller WAN object (256 MiB), short webhook and micro-benchmark jobs and
#                      a 3-minute soak; the 1.5 GiB loopback and memory runs stay: about 15 minutes instead of about 75
# --runs               runs per download variant, interleaved; the median is reported (default 5, or 1 with --quick)
# --soak-minutes       length of the soak test (default 30, or 3 with --quick)
# --profile            also record where a download's time goes: `strace -c -f` (system calls) and `perf stat`
#                      (instructions, where the kernel allows it) of the single-stream and default downloads beside curl
# --sizes-for-testing  tiny objects, 20 recordings, no webhook, soak or micro-benchmarks: checks the script and the
#                      report render in a few minutes; its figures mean nothing, so the report goes to
#                      $TMPDIR/callvault-bench-sizes-for-testing.md unless --report says otherwise
# --report             where to write the report
#
# Environment: CATCHUP_COMMAND, a command printing the catch-up benchmark's lines
# ("catchup store=sqlite mode=burst recordings=1000 rate=… p50_ms=… p99_ms=…"); by default bench/catchup.sh when it
# exists, otherwise the end-to-end benchmark on SQLite (burst and half its rate).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=""; soak_minutes=""; runs_given=""; report=bench/results/report.md; profile=""; testing=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --soak-minutes) soak_minutes="$2"; shift 2 ;;
    --runs) runs_given="$2"; shift 2 ;;
    --report) report="$2"; shift 2 ;;
    --profile) profile=1; shift ;;
    --sizes-for-testing) testing=1; shift ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
# Object sizes in MiB: the loopback object of goal 1, the small one memory is compared with, the WAN-like object, the
# object over the link with a total cap, the one the fault run cuts, and each of the four chunks the service downloads.
large_mib=1536; small_mib=100; cap_mib=1024; fault_mib=1024; service_mib=1536; catchup_recordings=1000
if [ -n "$quick" ]; then
  wan_mib=256; runs=${runs_given:-1}; soak_minutes=${soak_minutes:-3}; webhook_seconds=5; micro_job=short
else
  wan_mib=1024; runs=${runs_given:-5}; soak_minutes=${soak_minutes:-30}; webhook_seconds=15; micro_job=default
fi
if [ -n "$testing" ]; then
  large_mib=24; small_mib=4; wan_mib=8; cap_mib=16; fault_mib=16; service_mib=16; catchup_recordings=20; runs=${runs_given:-1}
  # Its figures mean nothing: the committed report is left alone unless --report says otherwise.
  [ "$report" = bench/results/report.md ] && report="${TMPDIR:-/tmp}/callvault-bench-sizes-for-testing.md"
fi
command_line="bench/run.sh${quick:+ --quick}${testing:+ --sizes-for-testing}${profile:+ --profile} --runs $runs"
[ -z "$testing" ] && command_line+=" --soak-minutes $soak_minutes"

source bench/lib/download.sh
ensure_tools curl bc openssl wrk
command -v node >/dev/null || { echo "Node.js 20+ is needed for the JavaScript SDK baseline (apt-get install nodejs npm)" >&2; exit 1; }
bash eng/hmac-crosscheck/install.sh

build_and_prepare src/CallVault.Server src/CallVault.Emulator src/CallVault.Cli bench/CallVault.Bench bench/CallVault.Bench.Micro
sections="$work/sections.md"
summary="$work/summary.md"
: >"$sections"; : >"$summary"
started=$(date +%s)

# A row of the summary: goal, figure, the baseline's figure, ratio, target, verdict.
# A verdict in bold is a goal not met; its goal is kept for the note under the summary.
not_met_goals=()
goal_row() { echo "| $1 | $2 | $3 | $4 | $5 | $6 |" >>"$summary"; [[ "$6" != *"**"* ]] || not_met_goals+=("$1"); }
met() { if [ "$(echo "$1" | bc -l)" = 1 ]; then echo "met"; else echo "**not met**"; fi; }
section() { printf '\n## %s\n\n' "$1" >>"$sections"; }
# The value of key=value field $2 in line $1, or – when the line has none.
field() { local v; v=$(echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1); echo "${v:-–}"; }
fmt() { printf "%.${2:-2}f" "$1"; }

# perf stat's counters for a command, or why there are none: perf is installed when missing (Debian's linux-perf), and
# a kernel that hides the counters (perf_event_paranoid, a container) is reported rather than failing the run.
perf_ready() {
  command -v perf >/dev/null || { apt-get install -y -qq linux-perf >/dev/null 2>&1 || true; }
  command -v perf >/dev/null || { perf_reason="perf is not installed and linux-perf could not be installed"; return 1; }
  perf stat -x, -e task-clock,instructions true >/dev/null 2>"$work/perf-check" || { perf_reason="\`perf stat\` fails here: $(head -1 "$work/perf-check")"; return 1; }
  # A virtual machine without a virtual PMU counts time and switches but not instructions.
  ! grep -q '^<not' "$work/perf-check" || perf_reason="\`perf stat -e instructions true\` says the hardware counters are not supported here (no PMU in this machine); the software counters are."
}

# The profile step (--profile): system calls (strace -c -f) and instructions (perf stat) of the ${large_mib} MiB loopback
# download by curl+fsync, CallVault's single stream and its defaults, each checked against its SHA-256.
profile_section() {
  ensure_tools strace
  section "Profile: where a ${large_mib} MiB loopback download's time goes"
  local url sha variant perf_ok=1 perf_reason=""
  read -r url sha < <(record "$large_mib")
  perf_ready || perf_ok=""
  {
    echo "Each client downloads the same object once under \`strace -c -f\` (counts of system calls over every thread;"
    echo "strace slows the run, so only the counts matter) and once under \`perf stat\`."
    echo
    if [ -n "$perf_ok" ]; then
      [ -z "$perf_reason" ] || { echo "$perf_reason"; echo; }
      echo "| client | instructions | cycles | task-clock ms | context switches |"
      echo "|---|---|---|---|---|"
    else
      echo "perf stat: not available. $perf_reason"
    fi
  } >>"$sections"
  local commands
  for variant in curl+fsync p1 default; do
    case "$variant" in
      curl+fsync) sign_for_curl "$url"; commands=(bash -c 'curl -sS --fail -o "$2" "${@:3}" "$1" && sync "$2"' _ "$url" "$work/profile.bin" "${curl_headers[@]}") ;;
      p1) commands=(dotnet "$cli_dll" download "$url" -c "$cs" --allow-host "$storage" -o "$work/profile.bin" --force --parallel 1) ;;
      default) commands=(dotnet "$cli_dll" download "$url" -c "$cs" --allow-host "$storage" -o "$work/profile.bin" --force) ;;
    esac
    strace -c -f -S calls -o "$work/strace-$variant.txt" "${commands[@]}" >/dev/null
    check "$work/profile.bin" "$sha"
    if [ -n "$perf_ok" ]; then
      perf stat -x, -e instructions,cycles,task-clock,context-switches -o "$work/perf-$variant.csv" "${commands[@]}" >/dev/null
      check "$work/profile.bin" "$sha"
      counter() { awk -F, -v name="$1" '$3 ~ "^"name {print $1}' "$work/perf-$variant.csv" | head -1 | sed 's/^<\(.*\)>$/\1/'; }
      printf "| %s | %s | %s | %.0f | %s |\n" "$(variant_name "$variant")" "$(counter instructions)" "$(counter cycles)" "$(counter task-clock)" "$(counter context-switches)" >>"$sections"
    fi
  done
  for variant in curl+fsync p1 default; do
    {
      echo
      echo "System calls of $(variant_name "$variant"), most frequent first (\`strace -c -f -S calls\`):"
      echo
      echo '```'
      head -22 "$work/strace-$variant.txt"
      echo '```'
    } >>"$sections"
  done
}

start_emulator

echo "== Goal 1: ${large_mib} MiB over loopback"
section "Goal 1 and 5: ${large_mib} MiB over loopback to disk"
{
  echo "The emulator serves a synthetic one-chunk recording; each client writes it to disk and every file's SHA-256 is"
  echo "checked after the run. \`curl+fsync\` downloads with the same signed headers and then fsyncs the file inside the"
  echo "same measurement, as durable as CallVault; \`curl+sha256\` hashes the body on its way to disk (OpenSSL). The"
  echo "JavaScript SDK is \`CallRecording.downloadToPath\` of @azure/communication-call-automation (it neither hashes nor"
  echo "fsyncs). CPU is user + system seconds of the whole process tree. Median of $runs run(s), interleaved; the"
  echo "${small_mib} MiB rows show whether memory grows with the object. \"connections\" is what \`--json\` reports (– when"
  echo "this build does not report it)."
  echo
  compare_header
} >>"$sections"
compare "$small_mib" loopback "$sections" "$runs" default p1
declare -A rss_small=([default]=${median_rss_mib[default]} [p1]=${median_rss_mib[p1]})
compare "$large_mib" loopback "$sections" "$runs" curl+sha256 sdk default p1
loop_curl=${median_time[curl+fsync]}; loop_default=${median_time[default]}; loop_sdk=${median_time[sdk]}; loop_p1=${median_time[p1]}
cpu_default=${median_cpu_per_gib[default]}; cpu_curl=${median_cpu_per_gib[curl+fsync]}; cpu_hash=$hash_cpu_per_gib
cpu_baseline=$(echo "$cpu_curl + $cpu_hash" | bc -l)
connections_loopback=${connections_used[default]}
peak_rss=$(printf '%s\n' "${median_rss_mib[default]}" "${median_rss_mib[p1]}" | sort -g | tail -1)
small_rss=$(printf '%s\n' "${rss_small[default]}" "${rss_small[p1]}" | sort -g | tail -1)
rss_growth=$(printf '%s\n' "$(echo "${median_rss_mib[default]} - ${rss_small[default]}" | bc -l)" "$(echo "${median_rss_mib[p1]} - ${rss_small[p1]}" | bc -l)" | sort -g | tail -1)
{
  echo
  echo "The hash's own cost: OpenSSL SHA-256 of the downloaded file from the page cache, $(fmt "$cpu_hash") CPU s/GiB."
  echo "CallVault's single stream (\`--parallel 1\`): $(fmt "$loop_p1") s, $(fmt "$(echo "$loop_p1 / $loop_curl" | bc -l)")× curl+fsync."
} >>"$sections"
r=$(echo "$loop_default / $loop_curl" | bc -l)
goal_row "1. ${large_mib} MiB loopback: wall, callvault defaults against curl+fsync" "$(fmt "$loop_default") s" "$(fmt "$loop_curl") s" "$(fmt "$r")×" "≤ 1.1×" "$(met "$r <= 1.1")"
r=$(echo "$loop_default / $loop_sdk" | bc -l)
goal_row "1. ${large_mib} MiB loopback: wall, callvault defaults against the JS SDK downloadToPath" "$(fmt "$loop_default") s" "$(fmt "$loop_sdk") s" "$(fmt "$r")×" "≤ 1.0×" "$(met "$r <= 1.0")"
r=$(echo "$cpu_default / $cpu_baseline" | bc -l)
goal_row "1. CPU s/GiB, callvault defaults against curl+fsync plus SHA-256's own cost" "$(fmt "$cpu_default")" "$(fmt "$cpu_curl") + $(fmt "$cpu_hash")" "$(fmt "$r")×" "≤ 1.5×" "$(met "$r <= 1.5")"

echo "== Goal 2: WAN-like link"
section "Goal 2: ${wan_mib} MiB over a WAN-like link, 20 MB/s per connection and 50 ms latency"
{
  echo "The emulator caps each connection at 20 MB/s and waits 50 ms before each response. curl and the SDK use one"
  echo "connection; CallVault runs on its defaults, the same as over loopback. Median of $runs run(s), interleaved."
  echo
  compare_header
} >>"$sections"
set_link 20000000 50
compare "$wan_mib" "20 MB/s + 50 ms" "$sections" "$runs" sdk default
set_link 0 0
connections_wan=${connections_used[default]}
r=$(echo "${median_time[curl+fsync]} / ${median_time[default]}" | bc -l)
goal_row "2. ${wan_mib} MiB WAN-like: speed-up of callvault defaults over single-stream curl+fsync" "$(fmt "${median_time[default]}") s" "$(fmt "${median_time[curl+fsync]}") s" "$(fmt "$r")×" "≥ 5×" "$(met "$r >= 5")"
r=$(echo "${median_time[sdk]} / ${median_time[default]}" | bc -l)
goal_row "2. ${wan_mib} MiB WAN-like: speed-up of callvault defaults over the JS SDK" "$(fmt "${median_time[default]}") s" "$(fmt "${median_time[sdk]}") s" "$(fmt "$r")×" "≥ 5×" "$(met "$r >= 5")"

echo "== Goal 2: a link with a total cap"
section "Goal 2: ${cap_mib} MiB over a link of 100 MB/s in all, 20 MB/s and 50 ms per connection"
{
  echo "The emulator shares one token bucket of 100 MB/s among all connections, as well as capping each at 20 MB/s: five"
  echo "connections fill it, more only queue. The share of the cap is the object's bytes over CallVault's whole wall time"
  echo "(process start included). Median of $runs run(s)."
  echo
  compare_header
} >>"$sections"
set_link 20000000 50 100000000
compare "$cap_mib" "100 MB/s in all, 20 MB/s + 50 ms each" "$sections" "$runs" default
set_link 0 0
connections_cap=${connections_used[default]}
cap_rate=$(echo "$cap_mib * 1048576 / ${median_time[default]} / 1000000" | bc -l)
r=$(echo "$cap_rate / 100" | bc -l)
goal_row "2. ${cap_mib} MiB over a link of 100 MB/s in all (20 MB/s each): share of the total cap" "$(fmt "$cap_rate" 1) MB/s" "100 MB/s" "$(fmt "$(echo "100 * $r" | bc -l)" 0) %" "≥ 90 %" "$(met "$r >= 0.9")"
if [ -n "$profile" ]; then
  echo "== Profile"
  profile_section
fi

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
for variant in p1 default; do
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
  printf "| %s | %d of 5 | %d | %d | %.3f %% | %.2f |\n" "$(variant_name "$variant")" "$(( 5 - left ))" "$sent" "$twice" "$share" "${result%% *}" | tee -a "$sections"
done
goal_row "resets: five on ${fault_mib} MiB, bytes fetched twice (worst of single stream and defaults)" "$(printf '%.3f %%' "$worst_share")" "–" "–" "< 1 %" "$(met "$worst_share < 1")"
stop_emulator

echo "== Goal 5: the service downloading four ${service_mib} MiB chunks at once"
memory=$(dotnet "$bench_dll" service-memory 4 $(( service_mib * 1024 * 1024 )) | tee -a /dev/stderr | grep '^RESULT service-memory' || true)
section "Goal 5: memory"
{
  echo "The CLI's peak RSS is from the goal 1 table (the larger of defaults and single stream, medians). For the service,"
  echo "the emulator publishes four one-chunk recordings of ${service_mib} MiB at once to one service process on its"
  echo "defaults (SQLite, disk, 4 workers); its peak RSS is the kernel's high-water mark (VmHWM in /proc/PID/status) after"
  echo "all four are stored and checked byte for byte."
  echo
  echo "| what | peak RSS MiB | at ${small_mib} MiB | chunks downloading at once, at most | connections in use at most (worker's gauge) | all stored once |"
  echo "|---|---|---|---|---|---|"
  echo "| callvault download, ${large_mib} MiB | $(fmt "$peak_rss" 0) | $(fmt "$small_rss" 0) | 1 | $connections_loopback | – |"
  echo "| service, 4 × ${service_mib} MiB | $(field "$memory" peak_rss_mib) | idle $(field "$memory" idle_peak_rss_mib) | $(field "$memory" most_at_once) | $(field "$memory" connections_max) | $(field "$memory" stored_once) |"
} >>"$sections"
goal_row "5. callvault download peak RSS, ${small_mib} MiB → ${large_mib} MiB" "$(fmt "$peak_rss" 0) MiB" "$(fmt "$small_rss" 0) MiB" "+$(fmt "$rss_growth" 0) MiB" "flat (≤ +16 MiB), ≤ 200 MB" "$(met "$peak_rss * 1.048576 <= 200 && $rss_growth <= 16")"
service_peak=$(field "$memory" peak_rss_mib)
if [ "$service_peak" = "–" ]; then
  goal_row "5. service with 4 workers downloading 4 × ${service_mib} MiB at once: peak RSS" "failed, see the log" "–" "–" "< 200 MB" "**not met**"
else
  goal_row "5. service with 4 workers downloading 4 × ${service_mib} MiB at once: peak RSS" "$service_peak MiB ($(fmt "$(echo "$service_peak * 1.048576" | bc -l)" 0) MB), $(field "$memory" most_at_once) at once" "idle $(field "$memory" idle_peak_rss_mib) MiB" "–" "< 200 MB" \
    "$([ "$(field "$memory" stored_once)" = True ] && met "$service_peak * 1.048576 < 200" || echo "**chunks missing or wrong**")"
fi
goal_row "3. connections the defaults chose: \`--json\` on loopback / WAN-like / total cap; the worker's gauge at most" "$connections_loopback / $connections_wan / $connections_cap; $(field "$memory" connections_max)" "–" "–" "adapts to the link, shown in --json and the worker's metric" "$([ "$connections_loopback" != "–" ] && [ "$(field "$memory" connections_max)" != "–" ] && echo shown || echo "**not shown**")"
stop_emulator

echo "== Goal 4: catch-up rate"
# The catch-up benchmark prints one line per run: "catchup store=… mode=burst|half-rate recordings=… rate=… p50_ms=…
# p99_ms=…". Until it exists, the end-to-end benchmark gives the same figures for SQLite.
catchup_source=""
if [ -n "${CATCHUP_COMMAND:-}" ]; then
  catchup_source="\`$CATCHUP_COMMAND\`"
  catchup=$(bash -c "$CATCHUP_COMMAND" | tee -a /dev/stderr | grep -E '(^|[[:space:]])catchup .*store=' | sed 's/^.*catchup /catchup /' || true)
elif [ -x bench/catchup.sh ]; then
  catchup_source="\`bench/catchup.sh${quick:+ --quick} --recordings $catchup_recordings --steady $(( catchup_recordings * 3 / 10 ))\`"
  catchup=$(bench/catchup.sh ${quick:+--quick} --recordings "$catchup_recordings" --steady $(( catchup_recordings * 3 / 10 )) | tee -a /dev/stderr | grep -E '(^|[[:space:]])catchup .*store=' | sed 's/^.*catchup /catchup /' || true)
else
  catchup_source="\`CallVault.Bench e2e\` on SQLite (this build has no catch-up benchmark; PostgreSQL not measured)"
  burst=$(dotnet "$bench_dll" e2e "$catchup_recordings" 1048576 | tee -a /dev/stderr | grep '^RESULT e2e' || true)
  half=$(echo "$(field "$burst" per_second) / 2" | bc -l 2>/dev/null | xargs printf '%.0f' 2>/dev/null || true)
  [ "${half:-0}" -ge 1 ] 2>/dev/null || half=1
  steady=$(dotnet "$bench_dll" e2e $(( catchup_recordings * 3 / 10 )) 1048576 "$half" | tee -a /dev/stderr | grep '^RESULT e2e' || true)
  catchup="catchup store=sqlite mode=burst recordings=$(field "$burst" recordings) rate=$(field "$burst" per_second) p50_ms=$(field "$burst" p50_ms) p99_ms=$(field "$burst" p99_ms) stored_once=$(field "$burst" stored_once)
catchup store=sqlite mode=half-rate recordings=$(field "$steady" recordings) rate=$(field "$steady" per_second) p50_ms=$(field "$steady" p50_ms) p99_ms=$(field "$steady" p99_ms) stored_once=$(field "$steady" stored_once)"
fi
catchup_line() { echo "$catchup" | grep "store=$1 " | grep "mode=$2" | head -1 || true; }
section "Goal 4: catch-up rate, ${catchup_recordings} recordings of 1 MiB"
{
  echo "Recordings of 1 MiB are published at once (burst: throughput) and at half that rate (latency on a busy service) to"
  echo "one instance on its defaults (4 workers, disk), which acknowledges, downloads and stores them; latency is from the"
  echo "event's time to the chunk being stored, and every chunk is checked byte for byte. Source: $catchup_source."
  echo
  echo "| store | run | recordings | recordings per second | p50 ms | p99 ms |"
  echo "|---|---|---|---|---|---|"
  for store in sqlite postgresql; do
    for mode in burst half-rate; do
      line=$(catchup_line "$store" "$mode")
      echo "| $store | $mode | $(field "$line" recordings) | $(field "$line" rate) | $(field "$line" p50_ms) | $(field "$line" p99_ms) |"
    done
  done
} >>"$sections"
for store in sqlite postgresql; do
  burst_line=$(catchup_line "$store" burst); half_line=$(catchup_line "$store" half-rate)
  rate=$(field "$burst_line" rate)
  label=$([ "$store" = sqlite ] && echo SQLite || echo PostgreSQL)
  if [ "$rate" = "–" ]; then
    goal_row "4. catch-up on $label: recordings/s (burst)" "not measured" "69 /s (issue 15, before)" "–" "≥ 150 /s" "**not met**"
  else
    goal_row "4. catch-up on $label: recordings/s (burst); event to stored p50/p99 burst, half-rate" \
      "$rate /s; burst $(field "$burst_line" p50_ms)/$(field "$burst_line" p99_ms) ms, half-rate $(field "$half_line" p50_ms)/$(field "$half_line" p99_ms) ms" \
      "69 /s (issue 15, SQLite before)" "$(fmt "$(echo "$rate / 69" | bc -l)")×" "≥ 150 /s" "$(met "$rate >= 150")"
  fi
done

if [ -z "$testing" ]; then
  echo "== Webhook"
  bench/webhook.sh --duration "$webhook_seconds" --connections 16 --batches 3 --report "$work/webhook.md" >/dev/null
  section "Webhook: durable acknowledgements beside a bare endpoint"
  sed -n '/^CallVault acknowledges/,$p' "$work/webhook.md" >>"$sections"
  webhook_rps=$(grep '^| single-event deliveries per second' "$work/webhook.md" | cut -d'|' -f4 | tr -d ' ')
  webhook_bare=$(grep '^| single-event deliveries per second' "$work/webhook.md" | cut -d'|' -f3 | tr -d ' ')
  webhook_p99=$(grep '^| single-event latency p99' "$work/webhook.md" | cut -d'|' -f4 | tr -d ' ')
  goal_row "webhook, single-event deliveries acknowledged after commit" "$webhook_rps/s, p99 $webhook_p99 ms" "bare endpoint $webhook_bare/s" "–" "measured" "–"
fi

soak_status=0
if [ -z "$testing" ]; then
  echo "== Soak: $soak_minutes minutes"
  soak=$(dotnet "$bench_dll" soak "$soak_minutes" 2 "$work/soak.md" | tee "$work/soak.log" | grep '^RESULT soak') || soak_status=$?
  cat "$work/soak.log"
  section "Soak: $soak_minutes minutes of deliveries with faults and two SIGKILL restarts"
  cat "$work/soak.md" >>"$sections"
  goal_row "soak, $soak_minutes min, faults on, SIGKILL twice" \
    "$(field "$soak" chunks) chunks; stored once: $(field "$soak" stored_once); sent once: $(field "$soak" sent_once) (byte excess $(field "$soak" bytes_excess), unexplained $(field "$soak" bytes_unexplained)); RSS growth $(field "$soak" rss_growth); handles $(field "$soak" handle_growth)" \
    "–" "–" "every chunk stored once and sent once (unexplained byte excess ≤ 1 %); memory and handles flat" \
    "$([ "$(field "$soak" passed)" = True ] && echo "met" || echo "**not met**")"
fi

if [ -z "$testing" ]; then
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
  goal_row "SHA-256 throughput, one core (in process)" "$(printf '%.0f MB/s' "$(echo "16.777216 / ($hash_ms / 1000)" | bc -l)")" "–" "–" "explains the CPU row" "–"
  goal_row "signing one download request" "$sign_us" "–" "–" "explains per-request cost" "–"
fi

mkdir -p "$(dirname "$report")"
{
  echo "# CallVault benchmark report"
  echo
  echo "Command: \`$command_line\`  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ); the measurements took $(( ($(date +%s) - started) / 60 )) minutes  "
  echo "Commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')  "
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), Linux $(uname -r)  "
  echo "Versions: .NET SDK $(dotnet --version), runtime $(dotnet --list-runtimes | grep -m1 NETCore.App | cut -d' ' -f2); $(curl --version | head -1 | cut -d' ' -f1-2); $(openssl version | cut -d' ' -f1-2); Node $(node --version); @azure/communication-call-automation $(node -p "require('./$sdk_tools/node_modules/@azure/communication-call-automation/package.json').version"); wrk $(dpkg-query -W -f '${Version}' wrk 2>/dev/null)"
  echo
  [ -n "$testing" ] && { echo "**Sizes for testing: these figures check the script, they measure nothing.**"; echo; }
  echo "Every figure is measured beside its baseline in the same run on the same machine, median of $runs run(s) per"
  echo "download variant; nothing here is a test assertion. The goals are issue 15's; a row per goal. Ratios are the"
  echo "figure over the baseline's (a speed-up: the baseline's over the figure)."
  echo
  echo "| goal | figure | baseline | ratio | target | verdict |"
  echo "|---|---|---|---|---|---|"
  # In goal order; rows of one goal, and the rows after the goals, keep the order they were measured in.
  LC_ALL=C sort -s -t'|' -k2.2,2.3 "$summary"
  if [ ${#not_met_goals[@]} -gt 0 ]; then
    echo
    if [ -n "$profile" ]; then
      echo "Not met (where the time goes is in **Profile** below):"
    else
      echo "Not met (run again with \`--profile\` for the system-call and instruction counts that say why):"
    fi
    echo
    printf -- '- %s\n' "${not_met_goals[@]}"
  fi
  cat "$sections"
} >"$report"
echo
echo "Report: $report"
[ "$soak_status" -eq 0 ]
