#!/usr/bin/env bash
# Starts a pgbouncer in TRANSACTION pooling mode with TLS in front of the test PostgreSQL,
# shaped like Supabase's pooler (port 6543), and prints its URL as the only line on stdout
# (progress goes to stderr). Tests run vecsync through it (tests/pooler.rs).
#
# - Upstream: $VECSYNC_TEST_DATABASE_URL, or the server of scripts/start-postgres.sh.
# - Listens on 127.0.0.1 only, port $VECSYNC_PGBOUNCER_PORT (default: the upstream's port
#   + 1111, 56543 for start-postgres.sh's 55432); state (config, TLS files, log, pid) in
#   $VECSYNC_PGBOUNCER_STATE_DIR (default ${TMPDIR:-/tmp}/vecsync-pgbouncer-<upstream port>).
#   Both follow the upstream, so every checkout testing against one server shares one
#   pgbouncer (and one certificate) instead of fighting over a port.
# - pool_mode = transaction: a client's server connection is handed to other clients
#   after every transaction, so named prepared statements, LISTEN and session state do not
#   carry over (pgbouncer 1.18 has no prepared-statement support at all).
# - TLS for clients is offered, not required (client_tls_sslmode = allow): `sslmode=disable`
#   connects in plain text, `require`/`verify-*` get TLS. The certificate is what
#   `openssl req -x509 -subj /CN=localhost` makes: self-signed, CA:TRUE, no
#   subjectAltName, in <state>/server.crt (the `sslrootcert` that verifies it).
# - Users: the upstream user with its password; any other role is looked up in the server
#   (auth_query), so roles created by tests can log in too.
# - pgbouncer refuses to run as root: as root it runs as $VECSYNC_PG_OS_USER (default
#   `vecsyncpg`, created by start-postgres.sh). Debian's package: apt-get install pgbouncer.
# - Idempotent: when it already runs it just prints the URL.
#
# Usage: POOLER_URL="$(scripts/start-pgbouncer.sh)"     Stop: kill "$(cat <state>/pgbouncer.pid)"
set -euo pipefail
exec 3>&1 1>&2 </dev/null # stdout is reserved for the URL

OS_USER="${VECSYNC_PG_OS_USER:-vecsyncpg}"
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { echo "start-pgbouncer: $*"; }
die() {
    echo "start-pgbouncer: error: $*"
    exit 1
}

bouncer="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
[[ -x "$bouncer" ]] || die "pgbouncer is not installed (apt-get install pgbouncer)"
command -v openssl >/dev/null || die "openssl is needed to make the TLS certificate"

upstream="${VECSYNC_TEST_DATABASE_URL:-}"
[[ -n "$upstream" ]] || upstream="$("$repo_root/scripts/start-postgres.sh")"
# postgres://user:password@host:port/db (what start-postgres.sh prints).
re='^postgres(ql)?://([^:@/]+):([^@/]+)@([^:/]+):([0-9]+)/([^?]*)'
[[ "$upstream" =~ $re ]] || die "cannot read user, password, host and port from the upstream URL"
db_user="${BASH_REMATCH[2]}" password="${BASH_REMATCH[3]}"
up_host="${BASH_REMATCH[4]}" up_port="${BASH_REMATCH[5]}"
PORT="${VECSYNC_PGBOUNCER_PORT:-$((up_port + 1111))}"
[[ "$PORT" =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "VECSYNC_PGBOUNCER_PORT must be a port number, got '$PORT'"
state="${VECSYNC_PGBOUNCER_STATE_DIR:-${TMPDIR:-/tmp}/vecsync-pgbouncer-$up_port}"

mkdir -p "$state"
chmod 700 "$state"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$state/.lock"
    flock -w 120 9 || die "timed out waiting for $state/.lock"
fi

url="postgres://$db_user:$password@127.0.0.1:$PORT/postgres"
pidfile="$state/pgbouncer.pid"
if [[ -s "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "already running on 127.0.0.1:$PORT"
    echo "$url" >&3
    exit 0
fi

if [[ "$(id -u)" == 0 ]]; then
    id -u "$OS_USER" >/dev/null 2>&1 || die "OS user $OS_USER is missing (scripts/start-postgres.sh creates it)"
    as_bouncer() { runuser -u "$OS_USER" -- "$@"; }
    d="$state"
    while [[ "$d" != "/" ]]; do
        as_bouncer test -x "$d" || chmod o+x "$d"
        d="$(dirname "$d")"
    done
else
    as_bouncer() { "$@"; }
fi

if [[ ! -s "$state/server.crt" ]]; then
    say "making a self-signed certificate for CN=localhost"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=localhost" \
        -keyout "$state/server.key" -out "$state/server.crt" 2>/dev/null ||
        die "openssl could not make the certificate"
fi
printf '"%s" "%s"\n' "$db_user" "$password" >"$state/userlist.txt"
cat >"$state/pgbouncer.ini" <<EOF
; Written by scripts/start-pgbouncer.sh at every start.
[databases]
* = host=$up_host port=$up_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
pool_mode = transaction
max_client_conn = 1000
default_pool_size = 20
auth_type = scram-sha-256
auth_file = $state/userlist.txt
auth_user = $db_user
client_tls_sslmode = allow
client_tls_key_file = $state/server.key
client_tls_cert_file = $state/server.crt
server_tls_sslmode = disable
logfile = $state/pgbouncer.log
pidfile = $pidfile
EOF
chmod 600 "$state"/*.ini "$state"/userlist.txt "$state"/server.key
chmod 644 "$state/server.crt"
[[ "$(id -u)" == 0 ]] && chown -R "$OS_USER" "$state"

say "starting pgbouncer (transaction mode) on 127.0.0.1:$PORT -> $up_host:$up_port (log: $state/pgbouncer.log)"
as_bouncer "$bouncer" -d "$state/pgbouncer.ini" >/dev/null 3>&- 9>&- ||
    die "pgbouncer did not start; see $state/pgbouncer.log"
for _ in $(seq 1 50); do
    if (exec 4<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
        echo "$url" >&3
        exit 0
    fi
    sleep 0.1
done
tail -n 20 "$state/pgbouncer.log"
die "pgbouncer does not accept connections on 127.0.0.1:$PORT (log above)"
