#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for tests: never a production setup (trust authentication,
# loopback only). Used by CTest as the `pg` fixture (src/store/CMakeLists.txt).
#
#   pg-instance.sh start DIR   initdb into DIR, listen on 127.0.0.1:<free port>, unix sockets in
#                              DIR, fsync on; creates database gmpki_test; writes the connection
#                              URI to DIR/url. The server's PID is in DIR/postmaster.pid.
#   pg-instance.sh stop DIR    SIGTERM (fast shutdown) to the PID in DIR/postmaster.pid and wait.
#
# initdb and postgres refuse to run as root, so as root the server runs as the `postgres` user.
# PGBIN overrides the binary directory (default /usr/lib/postgresql/15/bin).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
readonly MARKER=.gmpki-pg-instance

die() { echo "pg-instance: $*" >&2; exit 1; }

as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Prints the PID recorded by the postmaster if that process is alive, else nothing.
live_pid() {
  local dir=$1 pid
  [[ -f "$dir/postmaster.pid" ]] || return 0
  pid=$(head -n1 "$dir/postmaster.pid" 2>/dev/null || true)
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

# True when something listens on 127.0.0.1:$1 or the wildcard address (IPv4 /proc table).
port_in_use() {
  local hex
  hex=$(printf '%04X' "$1")
  grep -qE "^ *[0-9]+: (0100007F|00000000):$hex [0-9A-F]+:[0-9A-F]+ 0A" /proc/net/tcp 2>/dev/null
}

do_stop() {
  local dir=$1 pid
  pid=$(live_pid "$dir")
  if [[ -z "$pid" ]]; then
    echo "pg-instance: no running server in $dir"
    return 0
  fi
  # SIGTERM is PostgreSQL's "smart" shutdown; SIGINT is "fast" (disconnect clients, checkpoint).
  # Test clients may still hold pooled connections, so fast shutdown it is.
  kill -INT "$pid"
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { echo "pg-instance: stopped $pid"; return 0; }
    sleep 0.1
  done
  echo "pg-instance: $pid ignored fast shutdown for 30 s; sending SIGQUIT" >&2
  kill -QUIT "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "server $pid did not stop"
}

# Removes a cluster an earlier start left in $1 (only if it carries our marker).
wipe_cluster() {
  local d=$1
  [[ -d "$d" && -n "$(ls -A "$d")" ]] || return 0
  [[ -f "$d/$MARKER" ]] || die "$d is not empty and was not made by pg-instance.sh"
  find "$d" -mindepth 1 -delete
}

do_start() {
  local dir=$1
  [[ -x "$PGBIN/initdb" ]] || die "no PostgreSQL binaries in $PGBIN (apt-get install postgresql-15)"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  # A server left running by an interrupted test run is stopped; a cluster from an earlier run
  # is replaced so every run starts from an empty server. Only directories this script made
  # (they hold the marker) are ever emptied.
  if [[ -n "$(live_pid "$dir")" ]]; then do_stop "$dir"; fi
  if [[ -f "$dir/datadir" ]]; then
    local old
    old=$(cat "$dir/datadir")
    # Only a directory of the shape mktemp gave it below.
    if [[ "$old" =~ ^/tmp/gmpki-pg-[A-Za-z0-9]{6}$ ]]; then rm -rf "$old"; fi
  fi
  wipe_cluster "$dir"
  touch "$dir/$MARKER"

  # The cluster lives in DIR itself, unless DIR is out of the postgres user's reach (running as
  # root under /root, say): then in a directory under /tmp, with DIR/postmaster.pid a link to
  # its PID file and DIR/datadir naming it.
  local data=$dir
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir" -a -x "$dir"; then
      data=$(mktemp -d /tmp/gmpki-pg-XXXXXX)
      chown postgres: "$data"
      echo "$data" >"$dir/datadir"
      ln -s "$data/postmaster.pid" "$dir/postmaster.pid"
    fi
  fi
  chmod 0700 "$data"
  # initdb wants an empty directory: the marker goes in after it.
  # --no-sync only skips flushing the fresh template files; the server itself runs with fsync.
  rm -f "$data/$MARKER"
  local initlog
  initlog=$(mktemp)
  if ! as_owner "$PGBIN/initdb" --pgdata="$data" --username=postgres --auth=trust \
      --encoding=UTF8 --locale=C --no-sync >"$initlog" 2>&1; then
    cat "$initlog" >&2
    rm -f "$initlog"
    die "initdb failed"
  fi
  as_owner touch "$data/$MARKER"
  mv "$initlog" "$dir/initdb.log"

  local port="" attempt
  for attempt in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 40000))
    port_in_use "$port" && continue
    as_owner tee -a "$data/postgresql.conf" >/dev/null <<CONF
# pg-instance.sh attempt $attempt
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
fsync = on
synchronous_commit = on
full_page_writes = on
max_connections = 200
logging_collector = off
CONF
    if as_owner "$PGBIN/pg_ctl" --pgdata="$data" --log="$data/server.log" --wait --timeout=60 \
        start >/dev/null 2>&1; then
      break
    fi
    port=""
    grep -q "could not bind" "$data/server.log" 2>/dev/null ||
      { cat "$data/server.log" >&2; die "server failed to start"; }
  done
  [[ -n "$port" ]] || die "no free port found; see $data/server.log"

  "$PGBIN/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE gmpki_test" || die "CREATE DATABASE failed"
  local url="postgresql://postgres@127.0.0.1:$port/gmpki_test"
  echo "$url" >"$dir/url"
  echo "pg-instance: $url (pid $(live_pid "$dir"))"
}

[[ $# -eq 2 ]] || die "usage: $0 start|stop DIR"
case "$1" in
  start) do_start "$2" ;;
  stop) do_stop "$2" ;;
  *) die "usage: $0 start|stop DIR" ;;
esac
