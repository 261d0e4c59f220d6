# Shared by bench/download.sh and bench/run.sh: an emulator to download from, and the clients to compare, each run
# under GNU time. Source it from the repository root after the Release build.

emulator_dll=src/CallVault.Emulator/bin/Release/net10.0/CallVault.Emulator.dll
cli_dll=src/CallVault.Cli/bin/Release/net10.0/CallVault.Cli.dll
bench_dll=bench/CallVault.Bench/bin/Release/net10.0/CallVault.Bench.dll

# Builds the given projects in Release, then makes the scratch folder $work (removed on exit, with the emulator).
build_and_prepare() {
  echo "== Building (Release)"
  for project in "$@"; do
    dotnet build "$project" -c Release -nologo -clp:ErrorsOnly >/dev/null
  done
  work=$(mktemp -d -p "${TMPDIR:-/tmp}" callvault-bench.XXXXXX)
  emulator_pid=""
  trap '[ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null; rm -rf "$work"' EXIT
}

# Installs what the comparisons run with (Debian packages) when missing.
ensure_tools() {
  local missing=()
  command -v /usr/bin/time >/dev/null || missing+=(time)
  for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; fi
}

# A loopback port free right now, so that two benchmarks on one machine do not collide.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts the emulator on free loopback ports with a fresh key; sets endpoint, storage, cs and emulator_pid.
start_emulator() {
  local key; key=$(head -c 32 /dev/urandom | base64)
  endpoint=http://127.0.0.1:$(free_port)
  storage=http://127.0.0.1:$(free_port)
  cs="endpoint=$endpoint/;accesskey=$key"
  dotnet "$emulator_dll" --endpoint "$endpoint" --storage "$storage" --access-key "$key" >"$work/emulator.log" 2>&1 &
  emulator_pid=$!
  for _ in $(seq 1 100); do curl -fs "$endpoint/admin/" >/dev/null && return 0; sleep 0.1; done
  echo "the emulator did not start:" >&2; cat "$work/emulator.log" >&2; return 1
}

# Stops the emulator; says so, with its log's end, if it had already stopped on its own.
stop_emulator() {
  if [ -n "$emulator_pid" ] && kill "$emulator_pid" 2>/dev/null; then
    wait "$emulator_pid" 2>/dev/null || true
  elif [ -n "$emulator_pid" ]; then
    echo "the emulator had already stopped; the end of its log:" >&2
    tail -20 "$work/emulator.log" >&2 || true
  fi
  emulator_pid=""
}

# Sets the emulated link: bandwidth per connection in bytes per second (0 for none), latency in ms, and optionally a
# total bandwidth for all connections together in bytes per second (0 or absent for none).
set_link() {
  curl -fsS -X PUT "$endpoint/admin/link" -H 'content-type: application/json' \
    -d "{\"bandwidthBytesPerSecond\":$1,\"latencyMilliseconds\":$2,\"totalBandwidthBytesPerSecond\":${3:-0}}" >/dev/null
}

# Creates a one-chunk synthetic recording of $1 MiB; prints "contentLocation sha256".
record() {
  local bytes=$(( $1 * 1024 * 1024 ))
  curl -fsS -X POST "$endpoint/admin/recordings" -H 'content-type: application/json' \
    -d "{\"media\":\"synthetic\",\"sizeBytes\":$bytes,\"chunkSizeLimitBytes\":$bytes,\"publish\":false}" \
    | python3 -c 'import json,sys; c=json.load(sys.stdin)["chunks"][0]; print(c["contentLocation"], c["sha256"])'
}

# Body bytes the emulator has sent since it started.
bytes_sent() { curl -fsS "$endpoint/admin/" | python3 -c 'import json,sys; print(json.load(sys.stdin)["bytesSent"])'; }

# Runs a command under GNU time; prints "wallSeconds maxRssKiB userSeconds sysSeconds" (CPU of the command and every
# child it waited for). Its stdout is kept in $work/stdout.
measure() {
  /usr/bin/time -f "%e %M %U %S" -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }
  tail -1 "$work/time"
}

# The signed header arguments for curl, in the array curl_headers.
sign_for_curl() {
  curl_headers=()
  while IFS= read -r line; do curl_headers+=(-H "$line"); done < <(dotnet "$bench_dll" sign "$cs" "$1")
}

# curl with the same signed headers CallVault sends, then an fsync of the file inside the same measurement, so the
# baseline is as durable as CallVault (which fsyncs before it reports a download done). `sync FILE` is fsync(2).
curl_fsync_run() {
  local url=$1 out=$2
  sign_for_curl "$url"
  measure bash -c 'curl -sS --fail -o "$2" "${@:3}" "$1" && sync "$2"' _ "$url" "$out" "${curl_headers[@]}"
}

# curl whose body is also hashed (SHA-256, OpenSSL) on its way to disk: the work CallVault does on every byte.
curl_sha256_run() {
  local url=$1 out=$2
  sign_for_curl "$url"
  measure bash -c 'set -o pipefail; curl -sS --fail "${@:3}" "$1" | tee "$2" | openssl dgst -sha256 >/dev/null' _ "$url" "$out" "${curl_headers[@]}"
}

# The hash's own cost: OpenSSL's SHA-256 of a file already in the page cache; prints what measure prints.
hash_run() { measure openssl dgst -sha256 "$1"; }

# The official JavaScript SDK's CallRecording.downloadToPath under Node (bench/sdk-download.cjs).
sdk_tools=.tools/hmac-crosscheck
sdk_run() { measure node bench/sdk-download.cjs "$sdk_tools" "$cs" "$1" "$2"; }

# callvault download, with $3 parallel connections or, for "default", with no option at all (the shipped defaults).
# --json shows what it did; the connections it chose are read from its "connections" field when it has one.
callvault_run() {
  local url=$1 out=$2 parallel=$3 extra=()
  [ "$parallel" != default ] && extra=(--parallel "$parallel")
  measure dotnet "$cli_dll" download "$url" -c "$cs" --allow-host "$storage" -o "$out" --force --json "${extra[@]}"
}

# The connections of the last callvault download --json as "final (peak P)", e.g. "8 (peak 10)", or – when it has none.
last_connections() {
  python3 -c 'import json,sys
try:
    value = json.load(open(sys.argv[1])).get("connections")
except Exception:
    value = None
if isinstance(value, dict):
    print("%s (peak %s)" % (value.get("final", "–"), value.get("peak", "–")))
else:
    print("–" if value is None else value)' "$work/stdout"
}

# Fails unless file $1 has SHA-256 $2; removes it.
check() { local got; got=$(sha256sum "$1" | cut -d' ' -f1); [ "$got" = "$2" ] || { echo "SHA-256 mismatch for $1" >&2; exit 1; }; rm -f "$1"; }

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The name a variant has in the tables.
variant_name() {
  case "$1" in
    curl+fsync|curl+sha256) echo "$1" ;;
    sdk) echo "JS SDK downloadToPath" ;;
    default) echo "callvault (defaults)" ;;
    *) echo "callvault --parallel ${1#p}" ;;
  esac
}

# Downloads one new object of $1 MiB with curl+fsync and each variant ($5...: curl+sha256, sdk, default, or pN for
# callvault --parallel N), $4 runs each, interleaved; every file's SHA-256 is checked. Appends
# "| object | link | client | wall s | ratio to curl+fsync | CPU s | CPU s/GiB | peak RSS MiB | connections |" rows to
# $3. Leaves the medians in median_time, median_cpu_per_gib, median_rss_mib and connections_used (by variant), and the
# hash's own CPU seconds per GiB (OpenSSL SHA-256 of the file) in hash_cpu_per_gib.
declare -gA median_time median_rss_mib median_cpu_per_gib connections_used
hash_cpu_per_gib=""
compare() {
  local size=$1 link=$2 report=$3 runs=$4; shift 4
  local url sha
  read -r url sha < <(record "$size")
  local variants=("curl+fsync" "$@")
  declare -A times rss cpu
  for variant in "${variants[@]}"; do times[$variant]=""; rss[$variant]=""; cpu[$variant]=""; connections_used[$variant]="–"; done
  local hashes=""
  for _ in $(seq 1 "$runs"); do
    for variant in "${variants[@]}"; do
      local out="$work/download.bin" result
      case "$variant" in
        curl+fsync) result=$(curl_fsync_run "$url" "$out") ;;
        curl+sha256) result=$(curl_sha256_run "$url" "$out") ;;
        sdk) result=$(sdk_run "$url" "$out") ;;
        *) result=$(callvault_run "$url" "$out" "${variant#p}"); connections_used[$variant]=$(last_connections) ;;
      esac
      if [ "$variant" = curl+fsync ]; then
        local hashed; hashed=$(hash_run "$out"); hashes+="$(echo "$hashed" | awk '{print $3 + $4}') "
      fi
      check "$out" "$sha"
      read -r wall peak user sys <<<"$result"
      times[$variant]+="$wall "; rss[$variant]+="$peak "; cpu[$variant]+="$(echo "$user + $sys" | bc -l) "
    done
  done
  local gib; gib=$(echo "$size / 1024" | bc -l)
  hash_cpu_per_gib=$(echo "$(echo "$hashes" | tr ' ' '\n' | grep . | median) / $gib" | bc -l)
  local base; base=$(echo "${times[curl+fsync]}" | tr ' ' '\n' | grep . | median | awk '{print ($1 < 0.01 ? 0.01 : $1)}')
  for variant in "${variants[@]}"; do
    local t r c
    # GNU time counts in hundredths: a floor keeps a tiny object's ratios finite.
    t=$(echo "${times[$variant]}" | tr ' ' '\n' | grep . | median | awk '{print ($1 < 0.01 ? 0.01 : $1)}')
    r=$(echo "${rss[$variant]}" | tr ' ' '\n' | grep . | median)
    c=$(echo "${cpu[$variant]}" | tr ' ' '\n' | grep . | median)
    median_time[$variant]=$t
    median_rss_mib[$variant]=$(echo "$r / 1024" | bc -l)
    median_cpu_per_gib[$variant]=$(echo "$c / $gib" | bc -l)
    printf "| %s MiB | %s | %s | %.2f | %.2f | %.2f | %.2f | %.0f | %s |\n" "$size" "$link" "$(variant_name "$variant")" "$t" \
      "$(echo "$t / $base" | bc -l)" "$c" "${median_cpu_per_gib[$variant]}" "${median_rss_mib[$variant]}" "${connections_used[$variant]}" | tee -a "$report"
  done
}

# The header of the tables compare appends to.
compare_header() {
  echo "| object | link | client | wall s | ratio to curl+fsync | CPU s | CPU s/GiB | peak RSS MiB | connections |"
  echo "|---|---|---|---|---|---|---|---|---|"
}
