#!/usr/bin/env bash
# tests/darwin/build.sh - macOS, as far as a Linux machine can go: go vet of
# the engine and the C ABI for darwin/amd64 and darwin/arm64, and the C ABI
# cross-built into a Mach-O dylib for both with zig's C compiler (PyPI's
# ziglang, installed with pip when missing). Nothing is run: there is no Mac.
#
# The link asks for -framework CoreFoundation (arm64) and -lresolv (Go's
# internal/syscall/unix on darwin), for which zig carries no SDK:
# CoreFoundation.framework/ and libresolv.tbd here are text stubs
# (tapi-tbd) naming the real libraries' install paths and a few symbols, so
# the linker records the dependencies; on a Mac the real ones are loaded by
# those paths. Test
# tooling only: release dylibs are built on macOS by the wheels workflow.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
PYTHON=${PYTHON:-python3}

for arch in amd64 arm64; do
    echo "==> GOOS=darwin GOARCH=$arch go vet ./core (and ./capi with cgo, below)"
    GOOS=darwin GOARCH=$arch CGO_ENABLED=0 go vet ./core
done

if ! "$PYTHON" -m ziglang version >/dev/null 2>&1; then
    echo "darwin: installing ziglang with pip for the cross compiler" >&2
    if ! PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 "$PYTHON" -m pip install -q ziglang; then
        echo "skipped: the darwin cross-build (pip could not install ziglang)"
        exit 0
    fi
fi
out="$root/build/darwin"
mkdir -p "$out"
for arch in amd64 arm64; do
    target=x86_64-macos
    [[ $arch == arm64 ]] && target=aarch64-macos
    cc="$PYTHON -m ziglang cc -target $target -F$here -L$here"
    echo "==> GOOS=darwin GOARCH=$arch go vet ./capi and go build -buildmode=c-shared (zig cc -target $target)"
    CGO_ENABLED=1 GOOS=darwin GOARCH=$arch CC="$cc" go vet ./capi
    CGO_ENABLED=1 GOOS=darwin GOARCH=$arch CC="$cc" \
        go build -buildmode=c-shared -o "$out/libdiskcache_go-$arch.dylib" ./capi
    kind=$(file -b "$out/libdiskcache_go-$arch.dylib" 2>/dev/null || od -An -tx1 -N4 "$out/libdiskcache_go-$arch.dylib")
    echo "built $out/libdiskcache_go-$arch.dylib: $kind"
done
