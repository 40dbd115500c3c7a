#!/usr/bin/env bash
# tests/wine/run.sh - Windows, tested for real on a Linux machine: builds the
# Go packages for windows/amd64 and runs their tests under Wine (the engine's
# and the cross-process ones, with -short to keep the run to a few minutes),
# then builds the C ABI as a DLL with mingw-w64 and runs capi/example against
# it under Wine, twice, checking the second run sees the first one's counter.
#
# setup.sh installs what is missing; when it can not, this prints why and
# exits 0 as a skip (DISKCACHE_GO_SKIP_WINE=1 skips it outright).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

if [[ "${DISKCACHE_GO_SKIP_WINE:-}" == 1 ]]; then
    echo "skipped: Windows tests under Wine (DISKCACHE_GO_SKIP_WINE=1)"
    exit 0
fi
rc=0
"$here/setup.sh" || rc=$?
if [[ $rc -eq 2 ]]; then
    echo "skipped: Windows tests under Wine (see the reason above)"
    exit 0
elif [[ $rc -ne 0 ]]; then
    exit "$rc"
fi

export WINEDEBUG=-all
# core/wine_windows_test.go: Go's os.RemoveAll needs its older delete call
# under Wine, reached through a linkname that -checklinkname=0 allows.
export DISKCACHE_GO_WINE=1
echo "==> GOOS=windows go test -exec wine -short ./core ./tests"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -count=1 -short -timeout 15m \
    -exec wine -ldflags=-checklinkname=0 ./core ./tests

echo "==> C ABI as a DLL (mingw-w64) and capi/example under Wine"
out="$root/build/windows"
mkdir -p "$out"
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc \
    go build -buildmode=c-shared -o "$out/diskcache_go.dll" ./capi
x86_64-w64-mingw32-gcc -Wall -Wextra -Werror -I "$root/capi" "$root/capi/example/example.c" \
    "$out/diskcache_go.dll" -o "$out/example.exe"
dir=$(mktemp -d)
wine "$out/example.exe" "$dir" | tr -d '\r'
second=$(wine "$out/example.exe" "$dir" | tr -d '\r')
printf '%s\n' "$second"
rm -rf "$dir"
if ! grep -qx 'counter = 2' <<<"$second"; then
    echo "wine: the C example's second run did not see the first run's counter" >&2
    exit 1
fi
echo "Windows under Wine: Go tests and the C example passed"
