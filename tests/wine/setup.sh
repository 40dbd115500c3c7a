#!/usr/bin/env bash
# tests/wine/setup.sh - make this machine run Windows builds of the Go
# packages under Wine. Installs wine64 and mingw-w64 with apt-get when they
# are missing (as root), creates the Wine prefix, and puts the
# bcryptprimitives.dll stand-in (bcryptprimitives.c) into its system32 when
# Wine lacks one. Test tooling only.
#
# Exit status: 0 ready; 2 cannot be made ready here (the reason is printed
# on stderr), which the callers report as a skip.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export WINEDEBUG=-all

skip() { echo "wine: $*" >&2; exit 2; }

if ! command -v wine >/dev/null || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        skip "wine64 and gcc-mingw-w64-x86-64 are not installed and this is not a root shell with apt-get to install them"
    fi
    echo "wine: installing wine64 and gcc-mingw-w64-x86-64 with apt-get (about a minute)" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wine64 gcc-mingw-w64-x86-64; } >/tmp/diskcache-go-wine-apt.log 2>&1; then
        tail -5 /tmp/diskcache-go-wine-apt.log >&2
        skip "apt-get could not install wine64 and gcc-mingw-w64-x86-64 (log above)"
    fi
fi

prefix=${WINEPREFIX:-$HOME/.wine}
if [ ! -d "$prefix/drive_c/windows/system32" ]; then
    echo "wine: creating the Wine prefix $prefix" >&2
    wineboot -i >/dev/null 2>&1 || skip "wineboot could not create the Wine prefix $prefix"
    wineserver -w 2>/dev/null
fi
sys32=$prefix/drive_c/windows/system32
if [ ! -e "$sys32/bcryptprimitives.dll" ] || grep -q "Wine placeholder" "$sys32/bcryptprimitives.dll" 2>/dev/null; then
    # Go loads bcryptprimitives.dll from system32 only.
    x86_64-w64-mingw32-gcc -O2 -Wall -Werror -shared -o "$sys32/bcryptprimitives.dll" \
        "$here/bcryptprimitives.c" -ladvapi32 || skip "could not build the bcryptprimitives.dll stand-in"
fi
exit 0
