#!/usr/bin/env bash
# Download benchmark (issue 2): the same object from the same local emulator, fetched by curl (with identical signed
# headers) and by `callvault download`, side by side. Prints wall-time ratios and peak RSS, and writes a Markdown
# report to bench/results/download.md.
#
#   bench/download.sh [--sizes "100 1024"] [--runs 3] [--wan-size 200]
#
# --sizes     object sizes in MiB for the loopback comparison (default "100 1024")
# --runs      runs per variant; the median is reported (default 3)
# --wan-size  object size in MiB for the WAN-like comparison (20 MB/s per connection, 50 ms latency); 0 skips it
set -euo pipefail
cd "$(dirname "$0")/.."

sizes="100 1024"; runs=3; wan_size=200
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --wan-size) wan_size="$2"; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl >/dev/null; }

echo "== Building (Release)"
for project in src/CallVault.Emulator src/CallVault.Cli bench/CallVault.Bench; do
  dotnet build "$project" -c Release -nologo -clp:ErrorsOnly >/dev/null
done
emulator=src/CallVault.Emulator/bin/Release/net10.0/CallVault.Emulator.dll
cli=src/CallVault.Cli/bin/Release/net10.0/CallVault.Cli.dll
bench=bench/CallVault.Bench/bin/Release/net10.0/CallVault.Bench.dll

work=$(mktemp -d -p "${TMPDIR:-/tmp}" callvault-bench.XXXXXX)
key=$(head -c 32 /dev/urandom | base64)
endpoint=http://127.0.0.1:5371
storage=http://127.0.0.1:5372
cs="endpoint=$endpoint/;accesskey=$key"
dotnet "$emulator" --endpoint "$endpoint" --storage "$storage" --access-key "$key" >"$work/emulator.log" 2>&1 &
emulator_pid=$!
cleanup() { kill "$emulator_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fs "$endpoint/admin/" >/dev/null && break; sleep 0.1; done

# Creates a one-chunk synthetic recording of $1 MiB; prints "contentLocation sha256".
record() {
  local bytes=$(( $1 * 1024 * 1024 ))
  curl -fsS -X POST "$endpoint/admin/recordings" -H 'content-type: application/json' \
    -d "{\"media\":\"synthetic\",\"sizeBytes\":$bytes,\"chunkSizeLimitBytes\":$bytes,\"publish\":false}" \
    | python3 -c 'import json,sys; c=json.load(sys.stdin)["chunks"][0]; print(c["contentLocation"], c["sha256"])'
}

# Runs a command under GNU time; prints "seconds maxRssKiB".
measure() { /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }; cat "$work/time"; }

curl_run() {
  local url=$1 out=$2 headers=()
  while IFS= read -r line; do headers+=(-H "$line"); done < <(dotnet "$bench" sign "$cs" "$url")
  measure curl -sS --fail -o "$out" "${headers[@]}" "$url"
}

callvault_run() {
  local url=$1 out=$2 parallel=$3
  measure dotnet "$cli" download "$url" -c "$cs" --allow-host "$storage" -o "$out" --force --parallel "$parallel"
}

check() { local got; got=$(sha256sum "$1" | cut -d' ' -f1); [ "$got" = "$2" ] || { echo "SHA-256 mismatch for $1" >&2; exit 1; }; rm -f "$1"; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

report=bench/results/download.md
{
  echo "# Download benchmark"
  echo
  echo "Command: \`bench/download.sh --sizes \"$sizes\" --runs $runs --wan-size $wan_size\`  "
  echo "Date: $(date -u +%Y-%m-%dT%H:%MZ)  "
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)  "
  echo "Versions: $(dotnet --version) SDK, $(curl --version | head -1 | cut -d' ' -f1-2)"
  echo
  echo "Median of $runs runs; each run writes the object to disk and its SHA-256 is checked."
  echo
  echo "| object | link | client | wall s | ratio to curl | peak RSS MiB |"
  echo "|---|---|---|---|---|---|"
} >"$report"

compare() {
  local size=$1 link=$2; shift 2
  read -r url sha < <(record "$size")
  local variants=("curl" "$@")
  declare -A times rss
  for variant in "${variants[@]}"; do times[$variant]=""; rss[$variant]=""; done
  for _ in $(seq 1 "$runs"); do
    for variant in "${variants[@]}"; do
      local out="$work/$variant.bin" result
      if [ "$variant" = curl ]; then result=$(curl_run "$url" "$out"); else result=$(callvault_run "$url" "$out" "${variant#p}"); fi
      check "$out" "$sha"
      times[$variant]+="${result% *} "; rss[$variant]+="${result#* } "
    done
  done
  local base; base=$(echo "${times[curl]}" | tr ' ' '\n' | grep . | median)
  for variant in "${variants[@]}"; do
    local t r name
    t=$(echo "${times[$variant]}" | tr ' ' '\n' | grep . | median)
    r=$(echo "${rss[$variant]}" | tr ' ' '\n' | grep . | median)
    name=$([ "$variant" = curl ] && echo "curl" || echo "callvault --parallel ${variant#p}")
    printf "| %s MiB | %s | %s | %.2f | %.2f | %.0f |\n" "$size" "$link" "$name" "$t" "$(echo "$t / $base" | bc -l)" "$(echo "$r / 1024" | bc -l)" | tee -a "$report"
  done
}

command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc >/dev/null; }
echo "== Loopback"
for size in $sizes; do compare "$size" loopback p1 p4; done
if [ "$wan_size" -gt 0 ]; then
  echo "== WAN-like: 20 MB/s per connection, 50 ms latency"
  curl -fsS -X PUT "$endpoint/admin/link" -H 'content-type: application/json' -d '{"bandwidthBytesPerSecond":20000000,"latencyMilliseconds":50}' >/dev/null
  compare "$wan_size" "20 MB/s + 50 ms" p1 p4 p8
fi
echo
echo "Report: $report"
