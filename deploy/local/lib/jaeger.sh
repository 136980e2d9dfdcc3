# shellcheck shell=bash
# Jaeger v1.76.0 all-in-one (the trace store): in-memory storage, OTLP gRPC on 127.0.0.1:4317,
# OTLP HTTP on 127.0.0.1:4318 (`POST /v1/traces`), the query API and UI on 127.0.0.1:16686 (its
# gRPC query API on 127.0.0.1:16685, which the query server always opens). Built from source by
# deploy/local/install-jaeger.sh into ~/.cache/testbed/jaeger-1.76.0 (outside the clone); config,
# pid and log in .state/jaeger. Traces are lost when it stops.
#   bash deploy/local/lib/jaeger.sh up|down|status     (what stack.sh does, for Jaeger alone)

# Run on its own (not sourced): the rig's helpers first (no root needed for Jaeger).
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=common.sh
  source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fi

JAEGER_VERSION=v1.76.0
JAEGER_OTLP_GRPC_PORT=4317
JAEGER_OTLP_HTTP_PORT=4318
JAEGER_QUERY_PORT=16686
JAEGER_QUERY_GRPC_PORT=16685
JAEGER_OTLP_URL="http://127.0.0.1:$JAEGER_OTLP_HTTP_PORT"
JAEGER_QUERY_URL="http://127.0.0.1:$JAEGER_QUERY_PORT"
JAEGER_DIR="$STATE_DIR/jaeger"
JAEGER_CONFIG="$JAEGER_DIR/config.yaml"
JAEGER_PIDFILE="$JAEGER_DIR/jaeger.pid"
JAEGER_LOG="$JAEGER_DIR/jaeger.log"
JAEGER_INSTALL_LOG="$JAEGER_DIR/install.log"
# Where install-jaeger.sh keeps the binary (only to say that a build is coming).
JAEGER_CACHED_BIN="${XDG_CACHE_HOME:-$HOME/.cache}/testbed/jaeger-${JAEGER_VERSION#v}/bin/jaeger"

# The cached binary's path, into JAEGER_BIN (builds it the first time: minutes).
jaeger_install() {
  mkdir -p "$JAEGER_DIR"
  local t0
  t0=$(now_ms)
  if [[ ! -x $JAEGER_CACHED_BIN ]]; then
    log "jaeger: building $JAEGER_VERSION from source (the first time on this machine: 5-10 min; $JAEGER_INSTALL_LOG)"
  fi
  JAEGER_BIN=$(JAEGER_VERSION=$JAEGER_VERSION bash "$RIG_DIR/install-jaeger.sh" 2>"$JAEGER_INSTALL_LOG" | tail -n 1) ||
    fail_component jaeger "building Jaeger failed" "$JAEGER_INSTALL_LOG"
  [[ -x $JAEGER_BIN ]] || fail_component jaeger "install-jaeger.sh printed no binary" "$JAEGER_INSTALL_LOG"
  if [[ -s $JAEGER_INSTALL_LOG ]]; then log "jaeger: built $JAEGER_BIN ($(elapsed_since "$t0"))"; fi
}

# Jaeger's embedded all-in-one configuration (cmd/jaeger/internal/all-in-one.yaml) listens on
# localhost for OTLP but on every interface for the query API, and opens a dozen more ports
# (Jaeger and Zipkin receivers, sampling, health check, expvar, zpages, Prometheus on 8888).
# This keeps the same pipeline with the OTLP receiver only, everything on 127.0.0.1, and no
# internal metrics endpoint. Rewritten on every start.
jaeger_write_config() {
  cat >"$JAEGER_CONFIG" <<EOF
# written by deploy/local/stack.sh: do not edit
service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    resource:
      service.name: jaeger
    metrics:
      level: none
    logs:
      level: info

extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    # The query service would trace its own requests into the store it serves.
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:$JAEGER_QUERY_PORT
    grpc:
      endpoint: 127.0.0.1:$JAEGER_QUERY_GRPC_PORT

receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$JAEGER_OTLP_GRPC_PORT
      http:
        endpoint: 127.0.0.1:$JAEGER_OTLP_HTTP_PORT

processors:
  batch:

exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
EOF
}

jaeger_pid() {
  local pid
  pid=$(read_pid "$JAEGER_PIDFILE")
  if [[ -n $pid ]] && pid_cmd_has "$pid" "--config $JAEGER_CONFIG"; then printf '%s' "$pid"; fi
}

# The query API answers `GET /api/services` with 200 (no curl needed).
jaeger_ready() {
  local status
  # shellcheck disable=SC2016 # $1 expands in the inner shell
  status=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf "GET /api/services HTTP/1.0\r\nHost: %s\r\n\r\n" "127.0.0.1:$1" >&3 && head -n 1 <&3' _ "$JAEGER_QUERY_PORT" \
    2>/dev/null) || return 1
  [[ $status == HTTP/1.?\ 200* ]]
}

jaeger_up() {
  local t0 pid port
  t0=$(now_ms)
  mkdir -p "$JAEGER_DIR"
  pid=$(jaeger_pid)
  if [[ -n $pid ]]; then
    wait_for jaeger "$WAIT_SECONDS" "$JAEGER_LOG" "$pid" jaeger_ready
    log "jaeger: already running, OTLP 127.0.0.1:$JAEGER_OTLP_GRPC_PORT (gRPC) and :$JAEGER_OTLP_HTTP_PORT (HTTP), query $JAEGER_QUERY_URL (pid $pid)"
    return 0
  fi
  jaeger_install
  for port in "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$JAEGER_QUERY_PORT" "$JAEGER_QUERY_GRPC_PORT"; do
    if tcp_open 127.0.0.1 "$port"; then die "jaeger: port 127.0.0.1:$port is taken by another process"; fi
  done
  jaeger_write_config
  : >"$JAEGER_LOG"
  start_bg "$JAEGER_LOG" "$JAEGER_PIDFILE" "$JAEGER_BIN" --config "$JAEGER_CONFIG"
  pid=$(read_pid "$JAEGER_PIDFILE")
  wait_for jaeger "$WAIT_SECONDS" "$JAEGER_LOG" "$pid" jaeger_ready
  log "jaeger: up, OTLP 127.0.0.1:$JAEGER_OTLP_GRPC_PORT (gRPC) and :$JAEGER_OTLP_HTTP_PORT (HTTP), query $JAEGER_QUERY_URL, in memory (pid $pid, $(elapsed_since "$t0"))"
}

jaeger_down() {
  local pid
  pid=$(jaeger_pid)
  if [[ -n $pid ]]; then
    stop_pid jaeger "$pid" 20
    log "jaeger: stopped"
  else
    log "jaeger: not running"
  fi
  rm -f "$JAEGER_PIDFILE"
}

jaeger_status() {
  local pid
  pid=$(jaeger_pid)
  if [[ -n $pid ]] && jaeger_ready; then
    printf '%-10s up    %s (OTLP :%s gRPC, :%s HTTP; pid %s, in memory)\n' jaeger "$JAEGER_QUERY_URL" \
      "$JAEGER_OTLP_GRPC_PORT" "$JAEGER_OTLP_HTTP_PORT" "$pid"
  else
    printf '%-10s DOWN  (%s)\n' jaeger "$JAEGER_QUERY_URL"
    return 1
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  case ${1:-} in
    up) jaeger_up ;;
    down) jaeger_down ;;
    status) jaeger_status ;;
    *)
      printf 'usage: %s up|down|status\n' "$0" >&2
      exit 2
      ;;
  esac
fi
