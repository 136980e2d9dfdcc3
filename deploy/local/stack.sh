#!/usr/bin/env bash
# The local test rig: Postgres, Kafka, three Docker daemons (testbed nodes), an image registry
# and a trace store (Jaeger) on this machine.
#
#   bash deploy/local/stack.sh up       install what is missing, start everything, write .env
#   bash deploy/local/stack.sh down     stop everything the rig started (data and caches stay)
#   bash deploy/local/stack.sh status   one line per component; exit 0 only when all are up
#
# Idempotent; needs root (Debian 12). Downloads are cached in deploy/local/.cache (Jaeger, built
# from source, in ~/.cache/testbed), runtime state lives in deploy/local/.state. See
# deploy/local/README.md.
set -euo pipefail

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib"
# shellcheck source=lib/common.sh
source "$LIB_DIR/common.sh"
# shellcheck source=lib/postgres.sh
source "$LIB_DIR/postgres.sh"
# shellcheck source=lib/kafka.sh
source "$LIB_DIR/kafka.sh"
# shellcheck source=lib/tls.sh
source "$LIB_DIR/tls.sh"
# shellcheck source=lib/nodes.sh
source "$LIB_DIR/nodes.sh"
# shellcheck source=lib/registry.sh
source "$LIB_DIR/registry.sh"
# shellcheck source=lib/jaeger.sh
source "$LIB_DIR/jaeger.sh"
# shellcheck source=lib/images.sh
source "$LIB_DIR/images.sh"
# shellcheck source=lib/envfile.sh
source "$LIB_DIR/envfile.sh"

usage() {
  printf 'usage: %s up|down|status\n' "$0" >&2
  exit 2
}

# One `up`/`down` at a time on this machine (other engineers share it; the ports are the
# machine's). The lock file is outside the work tree so that removing .state cannot break it;
# it is fd 9, which every daemon start closes (start_bg, pg_ctl) so that no daemon holds it.
STACK_LOCK=/run/lock/testbed-rig.lock

take_lock() {
  mkdir -p "$STATE_DIR" "$(dirname "$STACK_LOCK")"
  exec 9>"$STACK_LOCK"
  if ! flock -n 9; then
    log "waiting for another stack.sh up/down to finish ($STACK_LOCK)"
    flock -w 600 9 || die "another stack.sh up/down still runs after 600 s ($STACK_LOCK)"
  fi
}

# Debian packages every component needs, installed in one apt-get run.
install_prereqs() {
  local pkgs=(openssl iproute2 util-linux procps)
  pg_bin >/dev/null || pkgs+=(postgresql)
  command -v java >/dev/null || pkgs+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || pkgs+=(maven)
  [[ -x /usr/sbin/dockerd && -x /usr/bin/containerd && -x /usr/sbin/runc ]] || pkgs+=(docker.io containerd runc)
  [[ -s $BUSYBOX_TAR ]] || pkgs+=(busybox-static)
  [[ -s $DEBIAN_SSH_TAR ]] || pkgs+=(debootstrap)
  [[ -x $REGISTRY_BIN ]] || pkgs+=(docker-registry)
  local promtool_pkg=0
  command -v promtool >/dev/null || { pkgs+=(prometheus); promtool_pkg=1; }
  ensure_pkgs "${pkgs[@]}"
  # prometheus is here for its promtool only (test/observability): policy-rc.d kept its server
  # from starting; disabled, it does not start at the next boot either.
  if ((promtool_pkg)); then
    systemctl disable prometheus >/dev/null 2>&1 || true
    [[ ! -d /run/systemd/system ]] || systemctl stop prometheus >/dev/null 2>&1 || true
  fi
}

cmd_up() {
  local t0 n
  t0=$(now_ms)
  take_lock
  mkdir -p "$CACHE_DIR"
  install_prereqs
  bash "$LIB_DIR/chromium.sh" # Debian's Chromium for the browser tests (test/browser)
  nodes_install
  pg_up
  kafka_up
  registry_up
  jaeger_up
  tls_up
  for n in "${NODES[@]}"; do node_up "$n"; done
  images_up
  env_up
  log "up: all components ready ($(elapsed_since "$t0"))"
}

cmd_down() {
  local t0 n
  t0=$(now_ms)
  take_lock
  for n in "${NODES[@]}"; do node_down "$n"; done
  registry_down
  jaeger_down
  kafka_down
  pg_down
  log "down: done ($(elapsed_since "$t0"))"
}

cmd_status() {
  local failed=0 n
  pg_status || failed=1
  kafka_status || failed=1
  registry_status || failed=1
  jaeger_status || failed=1
  for n in "${NODES[@]}"; do node_status "$n" || failed=1; done
  if ((failed == 0)); then images_status || failed=1; fi
  if [[ -f $ENV_FILE ]]; then
    printf '%-10s ok    %s\n' env "$ENV_FILE"
  else
    printf '%-10s DOWN  %s missing\n' env "$ENV_FILE"
    failed=1
  fi
  return "$failed"
}

main() {
  (($# == 1)) || usage
  [[ $(id -u) -eq 0 ]] || die "the rig needs root (dockerd, veth links, apt-get)"
  case $1 in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    *) usage ;;
  esac
}

main "$@"
