#!/usr/bin/env bash
# Run the Python test suite with its cache directories on sshfs.
#
#   tests/sshfs/run.sh [TEST PATHS] [PYTEST OPTIONS]   (default path: python/tests)
#
# Sets up a private sshd and three sshfs mounts of one export
# (tests/sshfs/setup.sh), runs pytest with --basetemp on the `suite` mount,
# so every tmp_path of every test is on sshfs, with the environment naming
# the mounts (DISKCACHE_GO_TEST_NETFS_A/_B, used by test_network.py for the
# two-machine test), then tears it all down, whatever happened. Tests too
# slow for sshfs are deselected, with the reason printed (list below);
# DISKCACHE_GO_SSHFS_ALL=1 runs them too.
#
# Exits 0 after printing why when the machine cannot run it (no /dev/fuse,
# sshfs not installable), or when DISKCACHE_GO_SKIP_SSHFS=1. $PYTHON picks
# the interpreter (default python3), as in build.sh.
set -euo pipefail

# All in a function, so that bash has read the whole file before running
# any of it (an edit during a run cannot change what runs).
main() {
    HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    ROOT=$(cd "$HERE/../.." && pwd)
    PYTHON=${PYTHON:-python3}

    if [[ ${DISKCACHE_GO_SKIP_SSHFS:-} == 1 ]]; then
        printf 'sshfs tests skipped: DISKCACHE_GO_SKIP_SSHFS=1\n'
        exit 0
    fi

    STATE=$(mktemp -d "${TMPDIR:-/tmp}/dcg-sshfs.XXXXXX")
    trap '"$HERE/teardown.sh" "$STATE"' EXIT

    rc=0
    "$HERE/setup.sh" "$STATE" || rc=$?
    if [[ $rc -eq 77 ]]; then
        printf 'sshfs tests skipped: the machine cannot mount sshfs (reason above)\n'
        exit 0
    elif [[ $rc -ne 0 ]]; then
        printf 'sshfs tests: setup failed (exit %d)\n' "$rc" >&2
        exit 1
    fi
    set -a
    # shellcheck disable=SC1091
    source "$STATE/env"
    set +a

    # Options alone (run.sh -k expire) select within python/tests.
    if [[ $# -eq 0 || $1 == -* ]]; then
        set -- python/tests "$@"
    fi
    # Left out unless DISKCACHE_GO_SSHFS_ALL=1, each for the reason printed.
    # An operation costs about 3 ms on sshfs (a few sftp round trips for
    # the lock and the reads) against 0.1 ms on a local disk in network mode.
    local left_out=(
        "python/tests/test_migrate.py::test_big|reads back 100,000 migrated entries one by one, several times: test_big_values_expiry_tags alone ran over 6 minutes on sshfs"
        "python/tests/test_leaks.py|runs 120,000 iterations (about 290,000 operations) and 1,100 open/close cycles: about 20 minutes on sshfs; leaks do not depend on the filesystem"
    )
    local entry
    if [[ ${DISKCACHE_GO_SSHFS_ALL:-} != 1 ]]; then
        for entry in "${left_out[@]}"; do
            printf 'sshfs tests: not run here (DISKCACHE_GO_SSHFS_ALL=1 runs it): %s: %s\n' "${entry%%|*}" "${entry#*|}"
            set -- "$@" --deselect "${entry%%|*}"
        done
    fi
    # The trial-count tests run fewer trials here: each trial copies and
    # opens a cache, ~100 sftp round trips (unless set by the caller).
    export DISKCACHE_GO_CORRUPTION_TRIALS=${DISKCACHE_GO_CORRUPTION_TRIALS:-150}
    export DISKCACHE_GO_TORTURE_SECONDS=${DISKCACHE_GO_TORTURE_SECONDS:-10}
    cd "$ROOT"
    # NetworkFilesystemWarning is expected at every open here; test_network.py
    # checks it with pytest.warns, which sees warnings whatever the filter.
    rc=0
    PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m pytest -q \
        --basetemp "$DISKCACHE_GO_TEST_NETFS_SUITE/pytest" \
        -W 'ignore::diskcache_go.core.NetworkFilesystemWarning' \
        "$@" || rc=$?
    if [[ $rc -eq 5 ]]; then
        printf 'sshfs tests: pytest collected no tests (exit 5)\n' >&2
        exit 1
    fi
    exit $rc
}

main "$@"
