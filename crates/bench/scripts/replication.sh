#!/usr/bin/env bash
# What a synchronous standby costs per rotation (docs/SCALING.md). A primary and a
# streaming standby of its own (initdb, pg_basebackup) on the loopback; grantd's schema by
# `grantd migrate`; the bench's scratch tables; then pgbench's two rotation scripts (the ones
# `cargo xtask bench` wrote to target/bench/, so run that first) at 32 clients, alternating
# `synchronous_standby_names = ''` (asynchronous) and `'*'` (synchronous, commit waits for
# the standby's flush), ROUNDS times. Prints, per run, the TPS and each cluster's CPU (postmaster and children,
# from /proc) per rotation; read the ratios within a round.
set -euo pipefail
cd "$(dirname "$0")/../../.."
BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
GRANTD=${GRANTD:-target/release/grantd}
SCRIPTS=${SCRIPTS:-target/bench}
SECS=${SECS:-10}
ROUNDS=${ROUNDS:-3}
P=${PRIMARY_PORT:-55432}
S=${STANDBY_PORT:-55433}
DIR=$(mktemp -d /tmp/grantd-replication.XXXXXX)
[ "$(id -u)" = 0 ] && chown -R postgres "$DIR"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
    as_pg "$BIN/pg_ctl" -D "$DIR/s" -m immediate stop >/dev/null 2>&1 || true
    as_pg "$BIN/pg_ctl" -D "$DIR/p" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT

as_pg "$BIN/initdb" -D "$DIR/p" -U postgres --auth=trust >/dev/null
cat >>"$DIR/p/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $P
unix_socket_directories = '$DIR'
max_wal_senders = 4
EOF
echo "host replication postgres 127.0.0.1/32 trust" >>"$DIR/p/pg_hba.conf"
as_pg "$BIN/pg_ctl" -D "$DIR/p" -l "$DIR/p.log" -w start >/dev/null
as_pg "$BIN/pg_basebackup" -h 127.0.0.1 -p "$P" -U postgres -D "$DIR/s" -R -X stream \
    -d "application_name=standby"
sed -i "s/^port = $P/port = $S/" "$DIR/s/postgresql.conf"
as_pg "$BIN/pg_ctl" -D "$DIR/s" -l "$DIR/s.log" -w start >/dev/null

psql() { command psql -h 127.0.0.1 -p "$P" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
psql -c "CREATE DATABASE bench" postgres
GRANTD_DATABASE__URL="postgres://postgres@127.0.0.1:$P/bench" "$GRANTD" migrate >/dev/null
# The scratch tables of crates/bench/src/pgbench.rs (`setup`).
psql bench <<'SQL'
CREATE TABLE bench_grants (LIKE grants INCLUDING ALL);
CREATE TABLE bench_refresh (LIKE refresh_tokens INCLUDING ALL,
    FOREIGN KEY (grant_id) REFERENCES bench_grants (id) ON DELETE CASCADE);
CREATE TABLE bench_access (LIKE access_tokens INCLUDING ALL,
    FOREIGN KEY (grant_id) REFERENCES bench_grants (id) ON DELETE CASCADE);
INSERT INTO bench_grants (id, client_id, scope, created_at)
    SELECT 'g' || i, 'c', 'read write', 1 FROM generate_series(0, 999) i;
INSERT INTO bench_refresh (token_hash, grant_id, issued_at, expires_at)
    SELECT sha256(int8send(i)), 'g' || (i % 1000), 1, 4000000000
    FROM generate_series(1, 300000) i;
VACUUM ANALYZE bench_grants; VACUUM ANALYZE bench_refresh; VACUUM ANALYZE bench_access;
SQL
[ "$(psql -c "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'" postgres)" = 1 ]

# CPU ticks of one cluster: its postmaster and live children, plus what the children that
# exited (pgbench's backends) left in the postmaster's cutime/cstime.
ticks() {
    local pm
    pm=$(head -1 "$1/postmaster.pid")
    { cat "/proc/$pm/stat"; for c in $(pgrep -P "$pm"); do cat "/proc/$c/stat" 2>/dev/null || true; done; } |
        awk -v pm="$pm" '{ t += $14 + $15; if ($1 == pm) t += $16 + $17 } END { print t }'
}
HZ=$(getconf CLK_TCK)
# One pgbench run of script $1: its TPS and each cluster's CPU per rotation.
run() {
    local p0 s0 out tps txs
    p0=$(ticks "$DIR/p"); s0=$(ticks "$DIR/s")
    out=$("$BIN/pgbench" -h 127.0.0.1 -p "$P" -U postgres -n -M prepared -c 32 -j 2 -T "$SECS" \
        -f "$1" bench 2>/dev/null)
    tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' <<<"$out")
    txs=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
    awk -v tps="$tps" -v n="$txs" -v p="$(($(ticks "$DIR/p") - p0))" -v s="$(($(ticks "$DIR/s") - s0))" -v hz="$HZ" \
        'BEGIN { printf "%.0f tps, primary %.0f µs, standby %.0f µs", tps, p * 1000000 / hz / n, s * 1000000 / hz / n }'
}
for round in $(seq 1 "$ROUNDS"); do
    for mode in async sync; do
        names=$([ "$mode" = sync ] && echo "*" || echo "")
        psql -c "ALTER SYSTEM SET synchronous_standby_names = '$names'" -c "SELECT pg_reload_conf()" postgres >/dev/null
        sleep 1
        echo "round $round $mode: six statements $(run "$SCRIPTS/rotation.pgbench.sql"); one statement $(run "$SCRIPTS/rotation-one-statement.pgbench.sql")"
    done
done
