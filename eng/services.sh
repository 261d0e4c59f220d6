#!/usr/bin/env bash
# Starts what the tests need, once per run, and stops it by process id: a throwaway PostgreSQL cluster (initdb and
# pg_ctl from the machine's PostgreSQL, run as the postgres user when we are root) and Azurite's blob service from the
# npm registry (installed into .tools/). Source this file, then call start_services; stop_services runs on exit.
# Exports CALLVAULT_TEST_POSTGRES and CALLVAULT_TEST_AZURITE for the tests.

services_root=""
pg_bin=""
pg_pid=""
azurite_pid=""

free_port() {
  local port
  for port in $(seq "$1" $(( $1 + 200 ))); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port from $1" >&2; return 1
}

# Whether process $1 itself holds a listening socket on 127.0.0.1 port $2 (not merely: something answers there).
listens_on() {
  local inode
  for inode in $(awk -v port="$(printf ':%04X' "$2")" '$4 == "0A" && substr($2, length($2) - 4) == port {print $10}' /proc/net/tcp); do
    ls -l "/proc/$1/fd" 2>/dev/null | grep -q "socket:\[$inode\]" && return 0
  done
  return 1
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sh -c "$*"; fi
}

start_postgres() {
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL's initdb was not found under /usr/lib/postgresql" >&2; return 1; }
  local dir="$services_root/postgres" port attempt
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$services_root" "$dir"
  as_postgres "'$pg_bin/initdb' -D '$dir/data' -A trust -U postgres -E UTF8 --no-sync" >"$services_root/initdb.log" 2>&1 \
    || { cat "$services_root/initdb.log" >&2; return 1; }
  # Runs side by side on one machine can pick the same free port before either binds it: start from a random port,
  # and when the bind still loses the race, try another.
  for attempt in 1 2 3 4 5; do
    port=$(free_port $(( 54329 + RANDOM % 400 )))
    rm -f "$dir/server.log"
    if as_postgres "'$pg_bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -t 60 -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c max_connections=300\" start" >/dev/null; then
      break
    fi
    if [ "$attempt" -eq 5 ] || ! grep -q "could not bind\|could not create any TCP/IP sockets" "$dir/server.log" 2>/dev/null; then
      cat "$dir/server.log" >&2; return 1
    fi
  done
  pg_pid=$(head -1 "$dir/data/postmaster.pid")
  export CALLVAULT_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Maximum Pool Size=50"
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (pid $pg_pid)"
}

start_azurite() {
  local tools=.tools/azurite version=3.37.0 port
  if [ ! -x "$tools/node_modules/.bin/azurite-blob" ]; then
    command -v npm >/dev/null || { echo "npm is needed to install Azurite" >&2; return 1; }
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "azurite@$version" >/dev/null
  fi
  local attempt
  for attempt in 1 2 3 4 5; do
    port=$(free_port $(( 10300 + RANDOM % 400 )))
    "$tools/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$port" --location "$services_root/azurite" \
      --silent --skipApiVersionCheck --disableTelemetry >"$services_root/azurite.log" 2>&1 &
    azurite_pid=$!
    for _ in $(seq 1 150); do
      kill -0 "$azurite_pid" 2>/dev/null || break
      listens_on "$azurite_pid" "$port" && break
      sleep 0.2
    done
    listens_on "$azurite_pid" "$port" && break
    # It exits when another process took the port first (EADDRINUSE); anything else is a real failure.
    kill "$azurite_pid" 2>/dev/null || true
    if [ "$attempt" -eq 5 ] || ! grep -q "EADDRINUSE" "$services_root/azurite.log"; then
      cat "$services_root/azurite.log" >&2; azurite_pid=""; return 1
    fi
  done
  # The well-known development account of Azurite (public, not a secret).
  export CALLVAULT_TEST_AZURITE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$port/devstoreaccount1;"
  echo "Azurite $version blob service on 127.0.0.1:$port (pid $azurite_pid)"
}

stop_services() {
  if [ -n "$azurite_pid" ]; then kill "$azurite_pid" 2>/dev/null || true; wait "$azurite_pid" 2>/dev/null || true; fi
  if [ -n "$pg_pid" ]; then
    kill -INT "$pg_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pg_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  [ -n "$services_root" ] && rm -rf "$services_root"
}

start_services() {
  services_root=$(mktemp -d "${TMPDIR:-/tmp}/callvault-services.XXXXXX")
  chmod 755 "$services_root"
  trap stop_services EXIT
  start_postgres
  start_azurite
}
