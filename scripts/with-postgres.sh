#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster on a Unix socket, then remove it.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]   (DATABASE_URL is set for COMMAND)
# As root the server runs as the `postgres` system user (PostgreSQL refuses to run as root).
set -euo pipefail

find_bin() {
  local name=$1 dir
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/$name" ] && { echo "$dir/$name"; return 0; }
  done
  return 1
}

if ! INITDB=$(find_bin initdb) || ! PG_CTL=$(find_bin pg_ctl); then
  echo "PostgreSQL server binaries (initdb, pg_ctl) not found: SKIPPING the PostgreSQL pass." >&2
  exit 0
fi
PSQL=$(find_bin psql || true)

as_pg=()
if [ "$(id -u)" = "0" ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  as_pg=(runuser -u postgres --)
fi

DIR=$(mktemp -d /tmp/partnerhub-pg.XXXXXX)
chmod 755 "$DIR"
[ ${#as_pg[@]} -gt 0 ] && chown postgres: "$DIR"
PORT=${PG_TEST_PORT:-$((54000 + RANDOM % 1000))}

cleanup() {
  "${as_pg[@]}" "$PG_CTL" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT

"${as_pg[@]}" "$INITDB" -D "$DIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
  --no-sync --no-instructions >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$PG_CTL" -D "$DIR/data" -l "$DIR/server.log" -w -o \
  "-k $DIR -p $PORT -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
  start >/dev/null || { cat "$DIR/server.log" >&2; exit 1; }
if [ -n "$PSQL" ]; then
  "$PSQL" -h "$DIR" -p "$PORT" -U postgres -d template1 -qc "CREATE EXTENSION IF NOT EXISTS pg_trgm" >/dev/null
fi

ENCODED_DIR=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$DIR")
export DATABASE_URL="postgres://postgres@${ENCODED_DIR}:${PORT}/partnerhub"
"$@"
