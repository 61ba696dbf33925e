#!/usr/bin/env bash
# Builds the lab's real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kubectl) from the Go module proxy into a cache outside the repository, keyed by version, and
# reuses what is there. Also builds upstream MetalLB's controller and speaker as an anchor to race
# against (optional: a failure there is reported, not fatal). Progress goes to standard error;
# the folder of the Kubernetes binaries is the one line on standard output
# (MetalLB's are in its sibling `metallb-<version>`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
K8S_VERSION=v1.37.2
ETCD_VERSION=v3.7.3
METALLB_VERSION=v0.15.2
cache=${LB_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lb-lab/kube}
bin="$cache/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
metallb="$cache/metallb-$METALLB_VERSION"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
command -v go >/dev/null || {
    echo "lab/kube/build.sh: go is not installed (the Kubernetes lab needs Go 1.26 and the Go module proxy)" >&2
    exit 1
}
mkdir -p "$bin" "$metallb"
start=$(date +%s)
ldflags="-s -w -buildid="
for p in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    ldflags="$ldflags -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=37 -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done
build() { # output file, module dir, package, go build flags...
    local out=$1 dir=$2 pkg=$3; shift 3
    if [ -x "$out" ]; then echo "lab/kube: $(basename "$out") cached" >&2; return; fi
    local t0; t0=$(date +%s)
    (cd "$here/$dir" && go build -trimpath "$@" -o "$out.tmp" "$pkg") >&2
    mv "$out.tmp" "$out"
    echo "lab/kube: built $(basename "$out") in $(( $(date +%s) - t0 )) s" >&2
}
build "$bin/etcd" etcd go.etcd.io/etcd/server/v3 -ldflags="-s -w"
for cmd in kube-apiserver kube-controller-manager kubectl; do
    build "$bin/$cmd" k8s "k8s.io/kubernetes/cmd/$cmd" -pgo=off -tags=selinux,notest,grpcnotrace -ldflags="$ldflags"
done
for cmd in controller speaker; do
    build "$metallb/$cmd" metallb "go.universe.tf/metallb/$cmd" -ldflags="-s -w" ||
        echo "lab/kube: upstream MetalLB $METALLB_VERSION $cmd did not build (see above)" >&2
done
echo "lab/kube: Go builds took $(( $(date +%s) - start )) s" >&2
echo "$bin"
