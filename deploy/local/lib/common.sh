# shellcheck shell=bash disable=SC2034 # the variables are used by the other files of lib/
# Shared helpers of the local test rig: paths, logging, bounded waits, process control and
# Debian package installation. Sourced by stack.sh (which sets -euo pipefail).

RIG_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_DIR="$RIG_DIR/.cache"
STATE_DIR="$RIG_DIR/.state"
ENV_FILE="$RIG_DIR/.env"
# Default wait for a component to become ready (seconds); override with STACK_WAIT_SECONDS.
WAIT_SECONDS="${STACK_WAIT_SECONDS:-60}"

log() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] WARNING: %s\n' "$*" >&2; }
die() {
  printf '[stack] ERROR: %s\n' "$*" >&2
  exit 1
}

# Milliseconds since the epoch, for step timings.
now_ms() { date +%s%3N; }

# elapsed_since START_MS -> "1.234s"
elapsed_since() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%01ds' $((ms / 1000)) $(((ms % 1000) / 100))
}

# Print the last lines of a log file to stderr (used in failure messages).
tail_log() {
  local file=$1 lines=${2:-30}
  if [[ -s $file ]]; then
    printf -- '----- last %d lines of %s -----\n' "$lines" "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '-----\n' >&2
  else
    printf '(no log at %s)\n' "$file" >&2
  fi
}

# fail_component COMPONENT MESSAGE LOGFILE: report a failure with the log's tail and exit.
fail_component() {
  printf '[stack] ERROR: %s: %s\n' "$1" "$2" >&2
  tail_log "$3"
  exit 1
}

# pid_alive PID: the process exists (and is not a zombie).
pid_alive() {
  local pid=$1 state
  [[ -n $pid && -r /proc/$pid/stat ]] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ $state != Z ]]
}

# pid_cmd_has PID TEXT: the process is alive and its command line contains TEXT.
pid_cmd_has() {
  local pid=$1 text=$2
  pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$text"
}

# read_pid FILE: the pid in FILE, or nothing.
read_pid() { if [[ -s $1 ]]; then tr -dc '0-9' <"$1"; fi; }

# wait_for COMPONENT TIMEOUT LOGFILE PID CMD...: run CMD until it succeeds. Fails (exit) with
# the log's tail when TIMEOUT seconds pass or when PID (if not empty) exits first.
wait_for() {
  local component=$1 timeout=$2 logfile=$3 pid=$4
  shift 4
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      fail_component "$component" "process $pid exited before it became ready" "$logfile"
    fi
    if ((SECONDS >= deadline)); then
      fail_component "$component" "not ready within ${timeout}s" "$logfile"
    fi
    sleep 0.3
  done
}

# stop_pid COMPONENT PID [TIMEOUT]: SIGTERM, wait (bounded), then SIGKILL.
stop_pid() {
  local component=$1 pid=$2 timeout=${3:-30}
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  if pid_alive "$pid"; then
    warn "$component (pid $pid) did not stop within ${timeout}s: sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.2; done
  fi
}

# start_bg LOGFILE PIDFILE CMD...: start CMD in its own session, detached from this shell's
# terminal, output and lock (fd 9, see take_lock in stack.sh); records its pid.
start_bg() {
  local logfile=$1 pidfile=$2
  shift 2
  setsid "$@" </dev/null >>"$logfile" 2>&1 9>&- &
  echo $! >"$pidfile"
}

# tcp_open HOST PORT: something accepts TCP connections there (loopback only).
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# ---- Debian packages ---------------------------------------------------------------------

APT_UPDATED=0

pkg_installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

# ensure_pkgs PKG...: install the missing ones (apt-get update once per run first). Services
# that packages would start (dockerd, the default postgres cluster) are kept from starting.
ensure_pkgs() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  log "installing Debian packages: ${missing[*]}"
  local made_policy=0 t0
  t0=$(now_ms)
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    made_policy=1
  fi
  local rc=0
  {
    if ((APT_UPDATED == 0)); then
      apt-get update -qq && APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  } >"$STATE_DIR/apt.log" 2>&1 || rc=$?
  if ((made_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  ((rc == 0)) || fail_component apt "installing ${missing[*]} failed (exit $rc)" "$STATE_DIR/apt.log"
  log "installed ${missing[*]} ($(elapsed_since "$t0"))"
}
