#!/usr/bin/env bash
# A private PostgreSQL cluster for the tests: initdb in DIR, listening on 127.0.0.1 only, on a free
# port, password (SCRAM) authentication, fsync and synchronous_commit on (the defaults, said again).
#
#   scripts/postgres-cluster.sh start DIR   # prints TRIBUTARY_TEST_POSTGRES_URL=postgres://…
#   scripts/postgres-cluster.sh stop DIR    # stops it (the caller removes DIR)
#   scripts/postgres-cluster.sh kill DIR    # stops it as a crash would (pg_ctl stop -m immediate)
#   scripts/postgres-cluster.sh resume DIR  # starts it again on the same port (crash recovery runs)
#
# Needs PostgreSQL's server programs (Debian: postgresql). Run as root, the cluster runs as the
# `postgres` user, since PostgreSQL refuses to run as root.
set -euo pipefail

action=${1:-}
dir=${2:-}
if [ -z "$action" ] || [ -z "$dir" ]; then
  echo "usage: $0 start|stop|kill|resume DIR" >&2
  exit 2
fi

# Absolute, then out of the caller's directory: run as the postgres user, PostgreSQL's programs
# would otherwise complain that they cannot enter a directory private to the caller.
dir=$(realpath -m "$dir")
cd /

bin=""
for candidate in /usr/lib/postgresql/*/bin; do
  [ -x "$candidate/initdb" ] && bin=$candidate
done
if [ -z "$bin" ]; then
  command -v initdb >/dev/null || { echo "postgres-cluster: no initdb found (install Debian's postgresql)" >&2; exit 1; }
  bin=$(dirname "$(command -v initdb)")
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

serve() {
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=on -c synchronous_commit=on -c max_connections=200" \
    > /dev/null || { cat "$dir/server.log" >&2; echo "postgres-cluster: the server did not start" >&2; exit 1; }
}

case "$action" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  chmod 700 "$dir"
  as_owner test -w "$dir" || { echo "postgres-cluster: $dir is out of the postgres user's reach (its parents must be searchable by others)" >&2; exit 1; }
  password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  printf '%s\n' "$password" > "$dir/pwfile"
  [ "$(id -u)" = 0 ] && chown postgres "$dir/pwfile"
  as_owner "$bin/initdb" -D "$dir/data" -U tributary --pwfile="$dir/pwfile" --auth=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 > "$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; echo "postgres-cluster: initdb failed" >&2; exit 1; }
  rm -f "$dir/pwfile"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  echo "$port" > "$dir/port"
  serve
  echo "TRIBUTARY_TEST_POSTGRES_URL=postgres://tributary:$password@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop > /dev/null 2>&1 || true
  ;;
kill)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null
  ;;
resume)
  port=$(cat "$dir/port")
  serve
  ;;
*)
  echo "usage: $0 start|stop|kill|resume DIR" >&2
  exit 2
  ;;
esac
