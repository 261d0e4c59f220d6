#!/usr/bin/env bash
# Download benchmark (issue 2): the same object from the same local emulator, fetched by curl (with identical signed
# headers, then fsync) and by `callvault download`, side by side. Prints wall-time ratios and peak RSS, and writes a Markdown
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

source bench/lib/download.sh
ensure_tools curl bc openssl

build_and_prepare src/CallVault.Emulator src/CallVault.Cli bench/CallVault.Bench
start_emulator

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
  compare_header
} >"$report"

echo "== Loopback"
for size in $sizes; do compare "$size" loopback "$report" "$runs" p1 p4 default; done
if [ "$wan_size" -gt 0 ]; then
  echo "== WAN-like: 20 MB/s per connection, 50 ms latency"
  set_link 20000000 50
  compare "$wan_size" "20 MB/s + 50 ms" "$report" "$runs" p1 p4 p8 default
fi
echo
echo "Report: $report"
