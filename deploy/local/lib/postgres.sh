# shellcheck shell=bash
# Postgres 15 (Debian's postgresql): a private cluster in .state/postgres run with pg_ctl as
# the postgres OS user, on 127.0.0.1:5433 only; role and database `testbed`.

PG_PORT=5433
PG_DIR="$STATE_DIR/postgres"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"
PG_USER=testbed
PG_PASSWORD=testbed
PG_DB=testbed

# Unix socket folder (root and postgres only); a short fallback when the path is too long
# for a socket name (108 bytes).
pg_socket_dir() {
  local dir="$PG_DIR/run"
  if ((${#dir} > 90)); then dir=/run/testbed-postgres; fi
  printf '%s' "$dir"
}

pg_bin() {
  local dir
  for dir in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [[ -x $dir/pg_ctl ]] && {
      printf '%s' "$dir"
      return 0
    }
  done
  return 1
}

as_postgres() { (cd / && runuser -u postgres -- "$@"); }

pg_install() {
  pg_bin >/dev/null || ensure_pkgs postgresql
  pg_bin >/dev/null || die "postgres: no pg_ctl under /usr/lib/postgresql after installing postgresql"
  id postgres >/dev/null 2>&1 || die "postgres: the postgres OS user is missing (package postgresql-common creates it)"
}

pg_running() { as_postgres "$(pg_bin)/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; }

pg_init() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  mkdir -p "$PG_DIR"
  chown postgres:postgres "$PG_DIR"
  as_postgres test -w "$PG_DIR" ||
    die "postgres: user postgres cannot write $PG_DIR (every parent folder needs o+x)"
  local t0
  t0=$(now_ms)
  as_postgres "$(pg_bin)/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 ||
    fail_component postgres "initdb failed" "$PG_DIR/initdb.log"
  printf "\ninclude_if_exists = 'rig.conf'\n" >>"$PG_DATA/postgresql.conf"
  log "postgres: initialised cluster in $PG_DATA ($(elapsed_since "$t0"))"
}

# Settings the rig owns; rewritten on every start.
pg_write_conf() {
  local sock
  sock=$(pg_socket_dir)
  install -d -m 700 -o postgres -g postgres "$sock"
  cat >"$PG_DATA/rig.conf" <<EOF
# written by deploy/local/stack.sh: do not edit
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sock'
max_connections = 300
shared_buffers = 128MB
synchronous_commit = off
logging_collector = off
log_min_messages = warning
EOF
  chown postgres:postgres "$PG_DATA/rig.conf"
}

pg_psql() {
  "$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_socket_dir)" -p "$PG_PORT" -U postgres "$@"
}

pg_ensure_db() {
  pg_psql -d postgres <<EOF
DO \$\$BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END\$\$;
EOF
  if [[ -z $(pg_psql -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'") ]]; then
    pg_psql -d postgres -c "CREATE DATABASE $PG_DB OWNER $PG_USER"
  fi
}

pg_up() {
  local t0
  t0=$(now_ms)
  pg_install
  pg_init
  if pg_running; then
    log "postgres: already running on 127.0.0.1:$PG_PORT"
  else
    if tcp_open 127.0.0.1 "$PG_PORT"; then
      die "postgres: port 127.0.0.1:$PG_PORT is taken by another process"
    fi
    pg_write_conf
    touch "$PG_LOG" && chown postgres:postgres "$PG_LOG"
    # 9>&-: the server must not inherit stack.sh's lock.
    as_postgres "$(pg_bin)/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECONDS" start >/dev/null 9>&- ||
      fail_component postgres "pg_ctl start failed or timed out (${WAIT_SECONDS}s)" "$PG_LOG"
  fi
  wait_for postgres "$WAIT_SECONDS" "$PG_LOG" "" "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"
  pg_ensure_db
  log "postgres: up on 127.0.0.1:$PG_PORT, database $PG_DB ($(elapsed_since "$t0"))"
}

pg_down() {
  if pg_bin >/dev/null && [[ -f $PG_DATA/PG_VERSION ]] && pg_running; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null ||
      warn "postgres: pg_ctl stop failed"
    log "postgres: stopped"
  else
    log "postgres: not running"
  fi
}

pg_status() {
  if pg_bin >/dev/null && [[ -f $PG_DATA/PG_VERSION ]] && pg_running &&
    "$(pg_bin)/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then
    printf '%-10s up    postgresql://%s@127.0.0.1:%s/%s\n' postgres "$PG_USER" "$PG_PORT" "$PG_DB"
  else
    printf '%-10s DOWN  (127.0.0.1:%s)\n' postgres "$PG_PORT"
    return 1
  fi
}
