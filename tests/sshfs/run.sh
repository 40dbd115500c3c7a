#!/usr/bin/env bash
# Run the Python test suite with its cache directories on sshfs.
#
#   tests/sshfs/run.sh [TEST PATHS] [PYTEST OPTIONS]   (default: the list below)
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

    # With no test paths, run what can behave differently on a network
    # filesystem: the engine's own tests (Cache and FanoutCache semantics,
    # processes, crashes, fork, durability, corruption, timeouts, network
    # detection) and the layers' cross-process tests. The rest only call
    # the Cache API and run in network mode on a local disk (build.sh
    # test_network_mode), where an operation costs 0.1 ms instead of ~3 ms.
    # DISKCACHE_GO_SSHFS_ALL=1 runs all of python/tests here.
    local selected=(
        python/tests/test_network.py
        python/tests/test_processes.py
        python/tests/test_crash.py
        python/tests/test_fork.py
        python/tests/test_durability.py
        python/tests/test_corruption.py
        python/tests/test_timeout.py
        python/tests/test_torture.py
        python/tests/test_cache_parity.py
        python/tests/test_cache_differential.py
        python/tests/test_cache_hypothesis.py
        python/tests/test_model.py
        python/tests/test_fanout.py
        python/tests/test_fanoutindex.py
        python/tests/test_recipes.py::test_lock_across_processes
        python/tests/test_persistent.py::test_pickled_into_spawned_process
        python/tests/test_persistent.py::test_deque_work_queue_across_processes
        python/tests/test_django.py::test_four_prefork_workers_share_the_cache
    )
    # Options alone (run.sh -k expire) select within that list.
    if [[ $# -eq 0 || $1 == -* ]]; then
        if [[ ${DISKCACHE_GO_SSHFS_ALL:-} == 1 ]]; then
            set -- python/tests "$@"
        else
            set -- "${selected[@]}" "$@"
        fi
    fi
    # Left out even when named, unless DISKCACHE_GO_SSHFS_ALL=1, each for
    # the reason printed.
    local left_out=(
        "python/tests/test_migrate.py::test_big|reads back 100,000 migrated entries one by one, several times: test_big_values_expiry_tags alone ran over 6 minutes on sshfs"
        "python/tests/test_leaks.py|runs 120,000 iterations (about 290,000 operations) and 1,100 open/close cycles: about 20 minutes on sshfs; leaks do not depend on the filesystem"
    )
    local entry
    if [[ ${DISKCACHE_GO_SSHFS_ALL:-} != 1 ]]; then
        for entry in "${left_out[@]}"; do
            set -- "$@" --deselect "${entry%%|*}"
        done
    fi
    # The trial-count tests run fewer trials here: each trial copies and
    # opens a cache, ~100 sftp round trips (unless set by the caller).
    export DISKCACHE_GO_CORRUPTION_TRIALS=${DISKCACHE_GO_CORRUPTION_TRIALS:-50}
    export DISKCACHE_GO_TORTURE_SECONDS=${DISKCACHE_GO_TORTURE_SECONDS:-10}
    # python-diskcache's caches in the differential tests (the oracle) stay
    # on a local disk (conftest.py, make_pair).
    mkdir -p "$STATE/reference"
    export DISKCACHE_GO_TEST_REFERENCE_TMP=$STATE/reference
    cd "$ROOT"
    # NetworkFilesystemWarning is expected at every open here; test_network.py
    # checks it with pytest.warns, which sees warnings whatever the filter.
    rc=0
    PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m pytest -q --durations=15 \
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
