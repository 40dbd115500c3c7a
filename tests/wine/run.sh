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
echo "==> the extension's C (python/diskcache_go/_c) compiled for Windows with mingw-w64"
# There is no Windows CPython here: CPython's own headers stand in, with a
# pyconfig.h that lacks the POSIX-only headers, so that the Windows branches
# of the extension compile with warnings as errors (MSVC builds the real one
# in the wheels workflow).
python=${PYTHON:-python3}
include=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
cfg="$out/pyconfig"
mkdir -p "$cfg"
sed -E 's/^#define (HAVE_SYS_SELECT_H|HAVE_PTHREAD_H|HAVE_PTHREAD_STUBS|_POSIX_THREADS|HAVE_UNISTD_H|HAVE_DLFCN_H|HAVE_SYS_WAIT_H|HAVE_SYS_TIME_H|HAVE_SYS_RESOURCE_H|HAVE_SYS_IOCTL_H|HAVE_SYS_SOCKET_H|HAVE_SYS_STAT_H|HAVE_SYS_SYSMACROS_H|HAVE_SYS_TERMIO_H|HAVE_TERMIOS_H|HAVE_SYS_UN_H|HAVE_GRP_H|HAVE_PWD_H|HAVE_LANGINFO_H|HAVE_SYS_TIMES_H|HAVE_SYS_UTSNAME_H|HAVE_SYS_MMAN_H) .*$/\/* \1: not on Windows *\//' \
    "$include/pyconfig.h" >"$cfg/pyconfig.h"
for c in "$root"/python/diskcache_go/_c/*.c; do
    x86_64-w64-mingw32-gcc -c -O2 -Wall -Wextra -Werror -I "$cfg" -I "$root/capi" -I "$include" \
        "$c" -o "$out/$(basename "$c" .c).o"
done
echo "Windows under Wine: Go tests, the C example and the extension's C passed"
