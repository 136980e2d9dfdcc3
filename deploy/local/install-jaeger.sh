#!/usr/bin/env bash
# Builds Jaeger (the rig's trace store) from source through the Go module proxy (release binaries
# cannot be downloaded here) and caches it outside the clone, keyed by version, so that a fresh
# clone on the same machine reuses it. Idempotent: when the cached binary runs, it only prints its
# path. `go install` refuses Jaeger (its go.mod has replace directives), so it is built as a tool
# of a scratch module. Measured on 2 cores: resolving 40 s (1.3 GB of modules, kept), compiling
# 906 s while another test run loaded the machine (about 9 CPU-minutes, so 5-7 min on idle cores);
# an 85 MB binary. CI on a fresh machine pays it once.
#
#   deploy/local/install-jaeger.sh                       prints the absolute path of the jaeger binary
#   JAEGER_VERSION=v1.75.0 deploy/local/install-jaeger.sh  another version (its own cache folder)
set -euo pipefail

JAEGER_VERSION="${JAEGER_VERSION:-v1.76.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/testbed/jaeger-${JAEGER_VERSION#v}"
bin="$cache/bin/jaeger"

if [[ -x "$bin" ]] && "$bin" version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "install-jaeger: go is not on PATH (Jaeger is built from source with Go)" >&2; exit 1; }

# shellcheck source=../lib/go-env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/go-env.sh"
go_build_env "$cache"

# Two builds at once (two clones' test runs) would share the scratch module: one at a time.
mkdir -p "$cache/bin"
exec 8>"$cache/.lock"
flock -w 1800 8 || { echo "install-jaeger: another build still holds $cache/.lock after 30 min" >&2; exit 1; }
if [[ -x "$bin" ]] && "$bin" version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

started=$(date +%s)
echo "install-jaeger: building jaeger $JAEGER_VERSION with $(go version | cut -d' ' -f3) into $cache (first time: minutes)" >&2

module="$cache/module"
rm -rf "$module"
mkdir -p "$module"
cd "$module"
go mod init jaegertool >&2
go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" >&2
resolved=$(date +%s)
echo "install-jaeger: resolved in $((resolved - started)) s" >&2

# Jaeger's Makefile stamps the version with -ldflags; without it `jaeger version` reports an
# empty one. The same source is tagged v1.76.0 (the Go module) and v2.13.0 (what the Makefile
# stamps into this binary); the module tag is recorded here, the one that was built.
ldflags="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=$JAEGER_VERSION"
go build -ldflags "$ldflags" -o "$bin.tmp" github.com/jaegertracing/jaeger/cmd/jaeger >&2
mv "$bin.tmp" "$bin"
# The compiled-package cache only speeds up a rebuild of a lost binary; the downloaded modules
# stay, so a rebuild needs no network.
rm -rf "$GOCACHE"
echo "install-jaeger: built in $(($(date +%s) - started)) s (resolve $((resolved - started)) s, compile $(($(date +%s) - resolved)) s)" >&2
echo "$bin"
