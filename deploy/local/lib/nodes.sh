# shellcheck shell=bash
# Three Docker daemons (Debian's docker.io 20.10, API 1.41) as testbed nodes node1..node3.
# Each node has its own containerd, data root, exec root, pidfile, unix socket, TLS TCP port on
# 127.0.0.1, cgroup parent /testbed-nodeN, no bridge and no iptables, and a veth pair tbN/tbNp
# the rig creates as macvlan parent (never the machine's own interface).

# shellcheck disable=SC2034 # used by stack.sh and images.sh
NODES=(1 2 3)
NODE_TCP_PORT_BASE=23760 # node N listens on 127.0.0.1:2376N

node_dir() { printf '%s' "$STATE_DIR/node$1"; }
# Exec root and containerd state: short paths (unix socket names are limited to 108 bytes).
node_run_dir() { printf '/run/testbed-node%s' "$1"; }
node_socket() { printf '%s/docker.sock' "$(node_dir "$1")"; }
node_port() { printf '%s' $((NODE_TCP_PORT_BASE + $1)); }
node_containerd_socket() { printf '%s/containerd.sock' "$(node_run_dir "$1")"; }
node_parent() { printf 'tb%s' "$1"; }

# node_docker N [--timeout SECONDS] ARGS...: the docker CLI against node N's unix socket
# (Debian's 20.10 client when present), bounded in time (120 s unless told).
node_docker() {
  local n=$1 t=120 cli=docker
  shift
  if [[ ${1:-} == --timeout ]]; then
    t=$2
    shift 2
  fi
  [[ -x /usr/bin/docker ]] && cli=/usr/bin/docker
  timeout "$t" env -u DOCKER_TLS_VERIFY -u DOCKER_CERT_PATH -u DOCKER_CONTEXT \
    DOCKER_HOST="unix://$(node_socket "$n")" "$cli" "$@"
}

nodes_install() {
  local p missing=0
  for p in /usr/sbin/dockerd /usr/bin/containerd /usr/sbin/runc; do [[ -x $p ]] || missing=1; done
  ((missing == 0)) || ensure_pkgs docker.io containerd runc
}

# ---- veth pair (macvlan parent) ------------------------------------------------------------

veth_up() {
  local a b
  a=$(node_parent "$1")
  b="${a}p"
  if ! ip link show "$a" >/dev/null 2>&1; then
    ip link add "$a" type veth peer name "$b"
  fi
  # No IPv6 autoconfiguration chatter on the rig's links.
  sysctl -q -w "net.ipv6.conf.$a.disable_ipv6=1" "net.ipv6.conf.$b.disable_ipv6=1" >/dev/null 2>&1 || true
  ip link set "$a" up
  ip link set "$b" up
}

veth_down() {
  local a
  a=$(node_parent "$1")
  if ip link show "$a" >/dev/null 2>&1; then ip link del "$a"; fi
}

# ---- containerd (one per node) -----------------------------------------------------------------

containerd_pid() {
  local pid
  pid=$(read_pid "$(node_dir "$1")/containerd.pid")
  if [[ -n $pid ]] && pid_cmd_has "$pid" "$(node_dir "$1")/containerd.toml"; then printf '%s' "$pid"; fi
}

containerd_write_config() {
  local n=$1 dir run
  dir=$(node_dir "$n")
  run=$(node_run_dir "$n")
  cat >"$dir/containerd.toml" <<EOF
# written by deploy/local/stack.sh: do not edit
version = 2
root = "$dir/containerd"
state = "$run/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$(node_containerd_socket "$n")"

[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/containerd-opt"
EOF
}

containerd_up() {
  local n=$1 dir pid
  dir=$(node_dir "$n")
  pid=$(containerd_pid "$n")
  if [[ -z $pid ]]; then
    mkdir -p "$(node_run_dir "$n")"
    containerd_write_config "$n"
    start_bg "$dir/containerd.log" "$dir/containerd.pid" containerd --config "$dir/containerd.toml"
    pid=$(read_pid "$dir/containerd.pid")
  fi
  wait_for "node$n containerd" "$WAIT_SECONDS" "$dir/containerd.log" "$pid" \
    timeout 5 ctr --address "$(node_containerd_socket "$n")" version
}

# containerd-shim processes of a node's containerd (found by its socket path).
containerd_shims() {
  local sock pid
  sock=$(node_containerd_socket "$1")
  for pid in $(pgrep -f containerd-shim 2>/dev/null || true); do
    if pid_cmd_has "$pid" "-address $sock "; then printf '%s\n' "$pid"; fi
  done
}

containerd_down() {
  local n=$1 pid
  pid=$(containerd_pid "$n")
  [[ -n $pid ]] && stop_pid "node$n containerd" "$pid" 20
  for pid in $(containerd_shims "$n"); do stop_pid "node$n containerd-shim" "$pid" 10; done
  rm -f "$(node_dir "$n")/containerd.pid"
}

# ---- dockerd -------------------------------------------------------------------------------

dockerd_pid() {
  local pid
  pid=$(read_pid "$(node_dir "$1")/dockerd.pid")
  if [[ -n $pid ]] && pid_cmd_has "$pid" "--data-root $(node_dir "$1")/data"; then printf '%s' "$pid"; fi
}

dockerd_ready() { node_docker "$1" --timeout 5 version --format '{{.Server.APIVersion}}'; }

dockerd_up() {
  local n=$1 dir pid port
  dir=$(node_dir "$n")
  port=$(node_port "$n")
  pid=$(dockerd_pid "$n")
  if [[ -n $pid ]] && ((TLS_CHANGED)); then
    log "node$n: restarting dockerd for the new TLS certificates"
    dockerd_down "$n"
    pid=""
  fi
  if [[ -z $pid ]]; then
    if tcp_open 127.0.0.1 "$port"; then die "node$n: port 127.0.0.1:$port is taken by another process"; fi
    rm -f "$dir/dockerd.pid" "$(node_socket "$n")" # stale after a crash or reboot
    mkdir -p "$dir/data" "$(node_run_dir "$n")/exec"
    # Own config file (so /etc/docker/daemon.json never applies) and own engine key (engine ID).
    printf '{ "deprecated-key-path": "%s/key.json" }\n' "$dir" >"$dir/daemon.json"
    start_bg "$dir/dockerd.log" "$dir/dockerd.start.pid" dockerd \
      --config-file "$dir/daemon.json" \
      --data-root "$dir/data" \
      --exec-root "$(node_run_dir "$n")/exec" \
      --pidfile "$dir/dockerd.pid" \
      --containerd "$(node_containerd_socket "$n")" \
      --host "unix://$(node_socket "$n")" \
      --host "tcp://127.0.0.1:$port" \
      --tlsverify --tlscacert "$TLS_CA" --tlscert "$TLS_SERVER_CERT" --tlskey "$TLS_SERVER_KEY" \
      --cgroup-parent "/testbed-node$n" \
      --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
      --userland-proxy=false
    pid=$(read_pid "$dir/dockerd.start.pid")
  fi
  wait_for "node$n dockerd" "$WAIT_SECONDS" "$dir/dockerd.log" "$pid" dockerd_ready "$n"
}

dockerd_down() {
  local n=$1 pid ids
  pid=$(dockerd_pid "$n")
  [[ -n $pid ]] || return 0
  # Kill running containers first: quicker than the daemon's own stop timeout on shutdown.
  ids=$(node_docker "$n" --timeout 20 ps -q 2>/dev/null || true)
  if [[ -n $ids ]]; then
    # shellcheck disable=SC2086 # one id per word
    node_docker "$n" --timeout 30 kill $ids >/dev/null 2>&1 || warn "node$n: could not kill all containers"
  fi
  stop_pid "node$n dockerd" "$pid" 40
  rm -f "$(node_dir "$n")/dockerd.pid" "$(node_dir "$n")/dockerd.start.pid"
}

node_up() {
  local n=$1 t0
  t0=$(now_ms)
  mkdir -p "$(node_dir "$n")"
  veth_up "$n"
  containerd_up "$n"
  local state=started
  if [[ -n $(dockerd_pid "$n") ]] && ((TLS_CHANGED == 0)); then state="already running"; fi
  dockerd_up "$n"
  log "node$n: dockerd $state: unix://$(node_socket "$n"), tcp://127.0.0.1:$(node_port "$n") (TLS), parent $(node_parent "$n") ($(elapsed_since "$t0"))"
}

node_down() {
  local n=$1
  dockerd_down "$n"
  containerd_down "$n"
  veth_down "$n"
  log "node$n: stopped (dockerd, containerd, veth $(node_parent "$n"))"
}

node_status() {
  local n=$1 api ok=0 detail=""
  if [[ -n $(dockerd_pid "$n") ]] && api=$(dockerd_ready "$n" 2>/dev/null); then
    detail="API $api, tcp://127.0.0.1:$(node_port "$n") (TLS)"
  else
    ok=1
    detail="dockerd not answering on $(node_socket "$n")"
  fi
  if ip link show "$(node_parent "$n")" 2>/dev/null | grep -q 'state UP\|,UP'; then
    detail+=", parent $(node_parent "$n") up"
  else
    ok=1
    detail+=", parent $(node_parent "$n") missing"
  fi
  if ((ok == 0)); then
    printf '%-10s up    %s\n' "node$n" "$detail"
  else
    printf '%-10s DOWN  %s\n' "node$n" "$detail"
  fi
  return "$ok"
}
