#!/usr/bin/env bash
# Undo tests/sshfs/setup.sh STATE_DIR: unmount both mounts, stop that sshd
# (by the pid in its pid file, nothing else), delete STATE_DIR.
#
#   tests/sshfs/teardown.sh STATE_DIR
#
# Safe to run twice, or after a setup that failed half way.
set -uo pipefail

[[ $# -eq 1 ]] || { printf 'usage: %s STATE_DIR\n' "$0" >&2; exit 2; }
STATE=$1
[[ -d $STATE ]] || exit 0
STATE=$(cd "$STATE" && pwd)

FUSERMOUNT=fusermount3
command -v fusermount3 >/dev/null || FUSERMOUNT=fusermount

status=0
for side in a b suite; do
    mnt=$STATE/$side
    # A mount shows in /proc/self/mounts with its path as the second field.
    if awk -v m="$mnt" '$2 == m { found = 1 } END { exit !found }' /proc/self/mounts; then
        # A process still inside the mount (a test child that outlived its
        # test) makes a plain unmount fail with EBUSY: retry, then detach
        # lazily so the directory can go.
        ok=
        for _ in 1 2 3 4 5; do
            if "$FUSERMOUNT" -u "$mnt" 2>/dev/null; then ok=1; break; fi
            sleep 1
        done
        if [[ -z $ok ]]; then
            printf 'sshfs teardown: %s is busy, detaching it lazily\n' "$mnt" >&2
            "$FUSERMOUNT" -u -z "$mnt" || status=1
        fi
    fi
done

if [[ -s $STATE/sshd.pid ]]; then
    pid=$(cat "$STATE/sshd.pid")
    # Only the listener whose pid file we wrote; its per-connection children
    # exit with the sshfs clients unmounted above.
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
fi

if awk -v s="$STATE/" 'index($2, s) == 1 { found = 1 } END { exit !found }' /proc/self/mounts; then
    printf 'sshfs teardown: something is still mounted below %s; not deleting it\n' "$STATE" >&2
    exit 1
fi
rm -rf "$STATE"
exit $status
