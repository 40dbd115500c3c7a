#!/usr/bin/env bash
# Export one directory over sftp from a private sshd on 127.0.0.1 and mount
# it three times with sshfs: twice with options that keep the two mounts
# coherent (`a/` and `b/`, standing in for two machines sharing a cache
# directory), and once with sshfs's default options (`suite/`, one machine
# with sshfs mounted the way people mount it, where the whole test suite
# runs).
#
#   tests/sshfs/setup.sh STATE_DIR
#
# STATE_DIR (created if missing) receives everything: a throwaway ssh key
# pair and host key, the sshd's config, pid file and log, the exported
# directory `export/`, the three mount points, and `env`, shell assignments
# naming them (DISKCACHE_GO_TEST_NETFS_A, _B, _SUITE, _EXPORT) for `source`
# or run.sh. tests/sshfs/teardown.sh STATE_DIR undoes it all.
#
# Installs sshfs and openssh-server with apt-get when they are missing (as
# root). Exits 77 with the reason on stderr when this machine cannot run it
# (no /dev/fuse, packages missing and not installable); any other failure
# exits 1. $DISKCACHE_GO_SSHFS_OPTIONS replaces the options of `a/` and `b/`,
# $DISKCACHE_GO_SSHFS_SUITE_OPTIONS those of `suite/`.
set -euo pipefail

SKIP=77

die() {
    printf 'sshfs setup: %s\n' "$*" >&2
    exit 1
}

skip() {
    printf 'sshfs setup: skipped: %s\n' "$*" >&2
    exit "$SKIP"
}

[[ $# -eq 1 ]] || die "usage: $0 STATE_DIR"
STATE=$1

# Options of mounts a/ and b/, chosen so that two mounts of one export are as coherent as
# two NFS clients that revalidate after taking a lock. Each mount is its own
# FUSE filesystem with its own kernel caches, and nothing tells mount A that
# a file changed through mount B, so every cache between the process and
# the sftp server is turned off:
#   direct_io        reads and writes bypass the kernel page cache, which is
#                    per mount and is not invalidated by writes through the
#                    other mount (a file held open on A would keep returning
#                    the pages it read before B's write). Also makes shared
#                    writable mmap fail on the mount, so nothing silently
#                    relies on a mapping.
#   attr_timeout=0, entry_timeout=0, negative_timeout=0
#                    the kernel asks sshfs again for sizes, mtimes, names and
#                    absences instead of trusting them for a second: a file
#                    grown or created through B is seen at once on A.
#   dir_cache=no     sshfs's own cache of names and attributes (20 s by
#                    default) is off for the same reason.
#   no_readahead     sshfs otherwise reads ahead into its own buffers, which
#                    could hand out data fetched before the other mount's
#                    write.
#   sshfs_sync       a write returns once the server has applied it (not
#                    when it is queued), so its error, ENOSPC for one, is
#                    reported by that write and not by a later call.
# With these, what one mount writes is visible to the next read through the
# other mount (tests/sshfs/coherence.py checks it at setup). What sshfs
# cannot give is a lock between the mounts: flock and fcntl locks on a FUSE
# mount that does not implement them (sshfs does not) are kept by the local
# kernel per mount, so they do not exclude the other mount; only an atomic
# create (O_EXCL, carried to the server as SSH_FXF_EXCL) does.
# (Measured with coherence.py: with sshfs's defaults B misses A's writes,
# size changes and unlinks; with dir_cache=no and the three timeouts at 0 it
# still misses A's writes to a file it holds open; adding direct_io but not
# no_readahead, it sometimes reads stale bytes past a file's old end.)
#
# The price of direct_io: a shared mapping of a file fails with ENODEV on
# these mounts (Linux allows it on a direct_io FUSE mount only when the
# filesystem asks for it, which libfuse 3.14 cannot). SQLite's WAL index is
# such a mapping, so python-diskcache, the reference that most of the suite
# runs side by side with diskcache-go, fails on a/ and b/ with "disk I/O
# error". That is why the suite runs on suite/ instead: a mount with sshfs's
# defaults, where processes of one machine share the mount's page cache.
COHERENT_OPTIONS=direct_io,attr_timeout=0,entry_timeout=0,negative_timeout=0,dir_cache=no,no_readahead,sshfs_sync
OPTIONS=${DISKCACHE_GO_SSHFS_OPTIONS:-$COHERENT_OPTIONS}
# sshfs's defaults but one: by default sshfs refuses to read an absolute
# symlink (EPERM), and pytest makes one per test in --basetemp
# (`test_xcurrent` -> `.../test_x0`) and reads them all at exit.
SUITE_OPTIONS=${DISKCACHE_GO_SSHFS_SUITE_OPTIONS:-no_contain_symlinks}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# -- what the machine must have --------------------------------------------
[[ -e /dev/fuse ]] || skip "/dev/fuse does not exist on this machine (no FUSE)"
SSHD=/usr/sbin/sshd
if ! command -v sshfs >/dev/null || [[ ! -x $SSHD ]] || ! command -v ssh-keygen >/dev/null; then
    if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
        skip "sshfs or openssh-server is not installed, and installing them needs root and apt-get"
    fi
    printf 'sshfs setup: apt-get install sshfs openssh-server\n' >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sshfs openssh-server) >&2 ||
        die "apt-get install sshfs openssh-server failed"
fi
command -v fusermount3 >/dev/null || command -v fusermount >/dev/null ||
    die "neither fusermount3 nor fusermount is installed (package fuse3): teardown needs one"
command -v python3 >/dev/null || die "python3 is needed (to find a free port)"

mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
chmod 700 "$STATE"
mkdir -p "$STATE/export" "$STATE/a" "$STATE/b" "$STATE/suite"
USER_NAME=$(id -un)

# -- keys: a client key and a host key, both throwaway ---------------------
rm -f "$STATE"/id_ed25519* "$STATE"/host_ed25519*
ssh-keygen -q -t ed25519 -N '' -C dcg-sshfs-client -f "$STATE/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C dcg-sshfs-host -f "$STATE/host_ed25519"
cp "$STATE/id_ed25519.pub" "$STATE/authorized_keys"

# -- a private sshd on 127.0.0.1 -------------------------------------------
# sshd refuses to start without its privilege separation directory, which
# the package creates only when the service starts.
if [[ $(id -u) -eq 0 ]]; then
    mkdir -p /run/sshd
    chmod 755 /run/sshd
fi

start_sshd() {
    local port=$1
    cat >"$STATE/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $STATE/host_ed25519
PidFile $STATE/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
AllowUsers $USER_NAME
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding no
PrintMotd no
Subsystem sftp internal-sftp
LogLevel ERROR
CONF
    rm -f "$STATE/sshd.pid"
    "$SSHD" -f "$STATE/sshd_config" -E "$STATE/sshd.log" || return 1
    local i
    for i in $(seq 50); do
        [[ -s "$STATE/sshd.pid" ]] && return 0
        sleep 0.1
    done
    return 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

PORT=
for attempt in 1 2 3; do
    candidate=$(free_port)
    if start_sshd "$candidate"; then
        PORT=$candidate
        break
    fi
done
[[ -n $PORT ]] || die "sshd did not start (log: $STATE/sshd.log): $(cat "$STATE/sshd.log" 2>/dev/null)"

printf '[127.0.0.1]:%s %s\n' "$PORT" "$(cut -d' ' -f1,2 "$STATE/host_ed25519.pub")" >"$STATE/known_hosts"
cat >"$STATE/ssh_config" <<CONF
Host dcg-sshfs
    HostName 127.0.0.1
    Port $PORT
    User $USER_NAME
    IdentityFile $STATE/id_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile $STATE/known_hosts
    GlobalKnownHostsFile /dev/null
    StrictHostKeyChecking yes
    BatchMode yes
    ServerAliveInterval 15
CONF

# -- the export, mounted three times ---------------------------------------
# Three sshfs processes, three ssh connections, three FUSE filesystems: the
# mounts share nothing on this machine but the server's directory.
mount_export() {
    sshfs -F "$STATE/ssh_config" "dcg-sshfs:$STATE/export" "$STATE/$1" -o "$2" ||
        die "sshfs mount of $STATE/export on $STATE/$1 failed (sshd log: $(cat "$STATE/sshd.log"))"
}
mount_export a "$OPTIONS"
mount_export b "$OPTIONS"
mount_export suite "$SUITE_OPTIONS"

cat >"$STATE/env" <<ENV
DISKCACHE_GO_TEST_NETFS_A=$STATE/a
DISKCACHE_GO_TEST_NETFS_B=$STATE/b
DISKCACHE_GO_TEST_NETFS_SUITE=$STATE/suite
DISKCACHE_GO_TEST_NETFS_EXPORT=$STATE/export
DISKCACHE_GO_TEST_NETFS_OPTIONS=$OPTIONS
DISKCACHE_GO_TEST_NETFS_SUITE_OPTIONS=$SUITE_OPTIONS
ENV

# -- is it what the tests assume? ------------------------------------------
python3 "$HERE/coherence.py" "$STATE/a" "$STATE/b" ||
    die "the two mounts are not coherent with options $OPTIONS (see above)"

printf 'sshfs setup: %s exported by sshd on 127.0.0.1:%s, mounted at %s and %s (-o %s) and %s (-o %s)\n' \
    "$STATE/export" "$PORT" "$STATE/a" "$STATE/b" "$OPTIONS" "$STATE/suite" "$SUITE_OPTIONS" >&2
