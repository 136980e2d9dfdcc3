# shellcheck shell=bash
# A local image registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1:5000, plain
# HTTP: dockerd treats registries on 127.0.0.0/8 as insecure by default (`docker info`: Insecure
# Registries 127.0.0.0/8), so the nodes push and pull there without TLS. Tests push images there
# to exercise pulls and the image update check. Storage in .state/registry/data.

REGISTRY_PORT=5000
REGISTRY_ADDR="127.0.0.1:$REGISTRY_PORT"
REGISTRY_BIN=/usr/bin/docker-registry
REGISTRY_DIR="$STATE_DIR/registry"
REGISTRY_CONFIG="$REGISTRY_DIR/config.yml"
REGISTRY_PIDFILE="$REGISTRY_DIR/registry.pid"
REGISTRY_LOG="$REGISTRY_DIR/registry.log"

registry_install() { [[ -x $REGISTRY_BIN ]] || ensure_pkgs docker-registry; }

# Settings the rig owns; rewritten on every start. Deletes are enabled so tests can remove
# the manifests they pushed.
registry_write_config() {
  cat >"$REGISTRY_CONFIG" <<EOF
# written by deploy/local/stack.sh: do not edit
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $REGISTRY_DIR/data
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
  secret: testbed-local-rig
EOF
}

registry_pid() {
  local pid
  pid=$(read_pid "$REGISTRY_PIDFILE")
  if [[ -n $pid ]] && pid_cmd_has "$pid" "serve $REGISTRY_CONFIG"; then printf '%s' "$pid"; fi
}

# The registry answers `GET /v2/` with 200 (the API version check; no curl needed).
registry_ready() {
  local status
  # shellcheck disable=SC2016 # $1 expands in the inner shell
  status=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf "GET /v2/ HTTP/1.0\r\nHost: %s\r\n\r\n" "127.0.0.1:$1" >&3 && head -n 1 <&3' _ "$REGISTRY_PORT" \
    2>/dev/null) || return 1
  [[ $status == HTTP/1.?\ 200* ]]
}

registry_up() {
  local t0 pid
  t0=$(now_ms)
  registry_install
  mkdir -p "$REGISTRY_DIR/data"
  pid=$(registry_pid)
  if [[ -n $pid ]]; then
    wait_for registry "$WAIT_SECONDS" "$REGISTRY_LOG" "$pid" registry_ready
    log "registry: already running on $REGISTRY_ADDR (pid $pid)"
    return 0
  fi
  if tcp_open 127.0.0.1 "$REGISTRY_PORT"; then die "registry: port $REGISTRY_ADDR is taken by another process"; fi
  registry_write_config
  start_bg "$REGISTRY_LOG" "$REGISTRY_PIDFILE" "$REGISTRY_BIN" serve "$REGISTRY_CONFIG"
  pid=$(read_pid "$REGISTRY_PIDFILE")
  wait_for registry "$WAIT_SECONDS" "$REGISTRY_LOG" "$pid" registry_ready
  log "registry: up on $REGISTRY_ADDR, plain HTTP (pid $pid, $(elapsed_since "$t0"))"
}

registry_down() {
  local pid
  pid=$(registry_pid)
  if [[ -n $pid ]]; then
    stop_pid registry "$pid" 20
    log "registry: stopped"
  else
    log "registry: not running"
  fi
  rm -f "$REGISTRY_PIDFILE"
}

registry_status() {
  local pid
  pid=$(registry_pid)
  if [[ -n $pid ]] && registry_ready; then
    printf '%-10s up    http://%s (pid %s, storage %s)\n' registry "$REGISTRY_ADDR" "$pid" "$REGISTRY_DIR/data"
  else
    printf '%-10s DOWN  (%s)\n' registry "$REGISTRY_ADDR"
    return 1
  fi
}
