#!/usr/bin/env bash
# Builds a lab Go program (a directory of lab/go with a go.mod) from the Go module proxy into a
# cache outside the repository, keyed by a hash of the Go version, go.mod, go.sum and the
# program's sources, and reuses the binary when it is already there. Progress goes to stderr;
# stdout is one line, the binary's path.
#
#   lab/go/build.sh [program] [variant]
#
# program defaults to memberlist-peer. A variant V builds with the alternative module file
# go.V.mod (and its go.V.sum) beside go.mod: the same sources against other module versions.
# The cache is $LB_GO_CACHE, else $XDG_CACHE_HOME/lb-lab/go, else ~/.cache/lb-lab/go; a new
# build removes the older builds of the same program and variant.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prog=${1:-memberlist-peer}
variant=${2:-}
src="$here/$prog"
modfile=go.mod
[ -n "$variant" ] && modfile="go.$variant.mod"
[ -f "$src/$modfile" ] || { echo "lab/go/build.sh: no $src/$modfile" >&2; exit 1; }
command -v go >/dev/null || {
    echo "lab/go/build.sh: go is not installed (the lab's Go peers need Go >= 1.24 and the Go module proxy)" >&2
    exit 1
}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=readonly
sumfile="${modfile%.mod}.sum"
key=$(cd "$src" && { go version; cat "$modfile" "$sumfile" ./*.go; } | sha256sum | cut -c1-16)
cache=${LB_GO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lb-lab/go}
name=$prog${variant:+-$variant}
dir="$cache/$name-$key"
if [ -x "$dir/$prog" ]; then
    echo "lab/go: $name cached in $dir" >&2
else
    mkdir -p "$dir"
    t0=$(date +%s.%N)
    # -modfile is given even for go.mod, so the command is the same for every variant.
    (cd "$src" && go build -modfile="$modfile" -trimpath -ldflags="-s -w -buildid=" -o "$dir/$prog.tmp.$$" .)
    mv "$dir/$prog.tmp.$$" "$dir/$prog"
    # Older builds of the same program and variant (other sources or versions) go.
    hex='[0-9a-f]'
    for old in "$cache/$name-"$hex$hex$hex$hex$hex$hex$hex$hex$hex$hex$hex$hex$hex$hex$hex$hex; do
        [ -d "$old" ] && [ "$old" != "$dir" ] && rm -rf "$old"
    done
    echo "lab/go: built $name in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s" >&2
fi
echo "$dir/$prog"
