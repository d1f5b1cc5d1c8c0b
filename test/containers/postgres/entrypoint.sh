#!/bin/sh
# The official postgres image's start-up, reduced to what docker-compose.yml uses: on an empty data folder,
# initdb with POSTGRES_PASSWORD for POSTGRES_USER (password authentication over TCP, trust on the socket),
# then the /docker-entrypoint-initdb.d scripts (*.sh run, *.sql through psql) against a server that listens
# on the socket only (so health checks over TCP fail until it is done); then the server, as user postgres.
set -eu
export POSTGRES_USER="${POSTGRES_USER:-postgres}"
if [ "$(id -u)" = 0 ]; then
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
if [ "$1" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD must be set}"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  for script in /docker-entrypoint-initdb.d/*; do
    case "$script" in
      *.sh) echo "entrypoint: running $script"; sh "$script" ;;
      *.sql) echo "entrypoint: running $script"; psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres -f "$script" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
if [ "$1" = postgres ]; then shift; set -- postgres -c listen_addresses='*' "$@"; fi
exec "$@"
