#!/usr/bin/env bash
# Builds the Helm CLI from source through the Go module proxy (release binaries cannot be
# downloaded here) and caches it in deploy/helm/.cache. Idempotent: when the cached binary is
# the wanted version, it only prints its path. The first build takes about 4 minutes on 2 cores
# (~110 modules, then the Kubernetes client libraries compile); CI on a fresh machine pays it once.
#
#   deploy/helm/install-helm.sh                    prints the absolute path of the helm binary
#   HELM_VERSION=v3.21.4 deploy/helm/install-helm.sh   another version (rebuilt when it differs)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$here/.cache"
bin="$cache/bin/helm"
stamp="$cache/bin/helm.version"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$HELM_VERSION" ]]; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "install-helm: go is not on PATH (Helm is built from source with Go)" >&2; exit 1; }

# shellcheck source=../lib/go-env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib/go-env.sh"
go_build_env "$cache"

mkdir -p "$cache/bin"
started=$(date +%s)
echo "install-helm: building helm $HELM_VERSION with $(go version | cut -d' ' -f3) (first time: minutes)" >&2

# Helm's Makefile stamps its version and the Kubernetes version it was built against (from the
# client-go it depends on) with -ldflags; `go install` alone would leave `helm version` at
# "v3.22" and `.Capabilities.KubeVersion` (and lint's deprecation check) at Kubernetes 1.20.
gomod="$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
clientgo="$(sed -n 's/^[[:space:]]*k8s\.io\/client-go v0\.\([0-9]*\)\..*/\1/p' "$gomod" | head -n1)"
[[ -n "$clientgo" ]] || { echo "install-helm: cannot find k8s.io/client-go in $gomod" >&2; exit 1; }
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$clientgo"
done

GOBIN="$cache/bin" go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
echo "$HELM_VERSION" >"$stamp"
# The compiled-package cache (~700 MB) only speeds up a rebuild of a lost binary; the downloaded
# modules (~400 MB) stay, so a rebuild needs no network.
rm -rf "$GOCACHE"
echo "install-helm: built in $(($(date +%s) - started)) s: $("$bin" version --short), Kubernetes 1.$clientgo" >&2
echo "$bin"
