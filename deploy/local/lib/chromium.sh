# shellcheck shell=bash
# Debian's Chromium for the browser tests: playwright-core launches /usr/bin/chromium headless
# (test/browser/support/browser.ts). Installed once from Debian's archive when missing, with the
# DejaVu fonts so that screenshots show text; nothing is started here.
#   bash deploy/local/lib/chromium.sh     (also run by `stack.sh up`)

CHROMIUM_BIN=/usr/bin/chromium

chromium_up() {
  if [[ -x $CHROMIUM_BIN ]] && pkg_installed fonts-dejavu-core; then return 0; fi
  ensure_pkgs chromium fonts-dejavu-core
  [[ -x $CHROMIUM_BIN ]] || die "chromium: $CHROMIUM_BIN missing after installing the chromium package"
  log "chromium: $("$CHROMIUM_BIN" --version 2>/dev/null | head -n 1)"
}

# Run on its own (not sourced): the same, with the rig's helpers.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  # shellcheck source=common.sh
  source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
  mkdir -p "$STATE_DIR"
  chromium_up
fi
