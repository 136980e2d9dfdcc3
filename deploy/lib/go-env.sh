# shellcheck shell=bash
# The environment the rig's Go tools (Helm, Jaeger) are built in, sourced by their install scripts.
#
# go_build_env <cache folder>: everything Go writes lives under that folder, so a build neither
# needs nor touches ~/go. GOTOOLCHAIN=local: never try to download another Go toolchain (no
# internet but the proxy). -modcacherw: module files stay writable, so `rm -rf` of the folder
# just works. The checksum database is reached through the proxy (it serves /sumdb/), so GOSUMDB
# stays on.
go_build_env() {
  local cache="$1"
  export GOPATH="$cache/gopath"
  export GOMODCACHE="$cache/gopath/pkg/mod"
  export GOCACHE="$cache/go-build"
  export GOFLAGS="-mod=mod -modcacherw -buildvcs=false -trimpath"
  export GOTOOLCHAIN=local
  export CGO_ENABLED=0
}
