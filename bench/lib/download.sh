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

# Starts the emulator on fixed loopback ports with a fresh key; sets endpoint, storage, cs and emulator_pid.
start_emulator() {
  local key; key=$(head -c 32 /dev/urandom | base64)
  endpoint=http://127.0.0.1:5371
  storage=http://127.0.0.1:5372
  cs="endpoint=$endpoint/;accesskey=$key"
  dotnet "$emulator_dll" --endpoint "$endpoint" --storage "$storage" --access-key "$key" >"$work/emulator.log" 2>&1 &
  emulator_pid=$!
  for _ in $(seq 1 100); do curl -fs "$endpoint/admin/" >/dev/null && return 0; sleep 0.1; done
  echo "the emulator did not start:" >&2; cat "$work/emulator.log" >&2; return 1
}

# Sets the emulated link: bandwidth per connection in bytes per second (0 for none), latency in ms.
set_link() {
  curl -fsS -X PUT "$endpoint/admin/link" -H 'content-type: application/json' \
    -d "{\"bandwidthBytesPerSecond\":$1,\"latencyMilliseconds\":$2}" >/dev/null
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

# Runs a command under GNU time; prints "seconds maxRssKiB".
measure() { /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; return 1; }; cat "$work/time"; }

# curl with the same signed headers CallVault sends. With a third argument, the body is also hashed (SHA-256, OpenSSL)
# on its way to disk, the same work CallVault does.
curl_run() {
  local url=$1 out=$2 hashed=${3:-} headers=()
  while IFS= read -r line; do headers+=(-H "$line"); done < <(dotnet "$bench_dll" sign "$cs" "$url")
  if [ -n "$hashed" ]; then
    measure bash -c 'set -o pipefail; curl -sS --fail "${@:3}" "$1" | tee "$2" | openssl dgst -sha256 >/dev/null' _ "$url" "$out" "${headers[@]}"
  else
    measure curl -sS --fail -o "$out" "${headers[@]}" "$url"
  fi
}

# callvault download with $3 parallel connections.
callvault_run() {
  local url=$1 out=$2 parallel=$3
  measure dotnet "$cli_dll" download "$url" -c "$cs" --allow-host "$storage" -o "$out" --force --parallel "$parallel"
}

# Fails unless file $1 has SHA-256 $2; removes it.
check() { local got; got=$(sha256sum "$1" | cut -d' ' -f1); [ "$got" = "$2" ] || { echo "SHA-256 mismatch for $1" >&2; exit 1; }; rm -f "$1"; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Downloads one new object of $1 MiB with curl and each variant ($5...: curl+sha256, or pN for callvault --parallel N),
# $4 runs each, interleaved; appends "| object | link | client | wall s | ratio to curl | peak RSS MiB |" rows to $3.
# Leaves the medians in median_time[variant] and median_rss_mib[variant].
declare -gA median_time median_rss_mib
compare() {
  local size=$1 link=$2 report=$3 runs=$4; shift 4
  local url sha
  read -r url sha < <(record "$size")
  local variants=("curl" "$@")
  declare -A times rss
  for variant in "${variants[@]}"; do times[$variant]=""; rss[$variant]=""; done
  for _ in $(seq 1 "$runs"); do
    for variant in "${variants[@]}"; do
      local out="$work/download.bin" result
      case "$variant" in
        curl) result=$(curl_run "$url" "$out") ;;
        curl+sha256) result=$(curl_run "$url" "$out" hashed) ;;
        *) result=$(callvault_run "$url" "$out" "${variant#p}") ;;
      esac
      check "$out" "$sha"
      times[$variant]+="${result% *} "; rss[$variant]+="${result#* } "
    done
  done
  local base; base=$(echo "${times[curl]}" | tr ' ' '\n' | grep . | median)
  for variant in "${variants[@]}"; do
    local t r name
    t=$(echo "${times[$variant]}" | tr ' ' '\n' | grep . | median)
    r=$(echo "${rss[$variant]}" | tr ' ' '\n' | grep . | median)
    median_time[$variant]=$t
    median_rss_mib[$variant]=$(echo "$r / 1024" | bc -l)
    case "$variant" in
      curl|curl+sha256) name="$variant" ;;
      *) name="callvault --parallel ${variant#p}" ;;
    esac
    printf "| %s MiB | %s | %s | %.2f | %.2f | %.0f |\n" "$size" "$link" "$name" "$t" "$(echo "$t / $base" | bc -l)" "${median_rss_mib[$variant]}" | tee -a "$report"
  done
}
