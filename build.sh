#!/usr/bin/env bash
# Developer entry point for diskcache-go.
#
#   ./build.sh build          build the Go shared library and the cffi extension into python/diskcache_go/
#   ./build.sh test [ARGS]    install test deps, build, gofmt, go vet, go test -race,
#                             then pytest python/tests (ARGS go to pytest, e.g. -k foo)
#   ./build.sh bench [ARGS]   build, then python benchmarks/bench_basic.py ARGS
#   ./build.sh wheel [OUTDIR] build the wheel and the sdist into OUTDIR (dist/)
#
# $PYTHON picks the interpreter (default: python3); run inside a virtualenv to
# keep the test dependencies out of your system Python.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}

TEST_DEPS=(pytest hypothesis "diskcache==5.6.3" psutil "cffi>=1.15" django "mypy<2" build auditwheel)

step() {
    printf '\n==> %s\n' "$*"
}

die() {
    printf 'build.sh: %s\n' "$*" >&2
    exit 1
}

cmd_build() {
    step "build: go build -buildmode=c-shared ./capi -> python/diskcache_go/, and the cffi extension"
    # Same build as `pip install .` (setup.py calls the same helper), which
    # also says what to install when Go or a C compiler is missing. ARGS:
    # --werror compiles the extension's C (python/diskcache_go/_c/) with
    # -Wall -Wextra -Werror, as the test command does.
    "$PYTHON" "$ROOT/python/diskcache_go/_build.py" --outdir "$ROOT/python/diskcache_go" "$@"
}

cmd_test() {
    step "test deps: $PYTHON -m pip install ${TEST_DEPS[*]}"
    PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
        "$PYTHON" -m pip install -q "${TEST_DEPS[@]}"

    cmd_build --werror

    step "gofmt -l"
    # Every package directory of the module (skips testdata/ and non-Go dirs).
    local listed dir unformatted
    local pkgdirs=()
    listed=$(go list -f '{{.Dir}}' ./...)
    while IFS= read -r dir; do
        [[ -n "$dir" ]] && pkgdirs+=("$dir")
    done <<<"$listed"
    [[ ${#pkgdirs[@]} -gt 0 ]] || die "go list found no Go packages"
    unformatted=$(gofmt -l "${pkgdirs[@]}")
    if [[ -n "$unformatted" ]]; then
        printf '%s\n' "$unformatted" >&2
        die "gofmt: the files above need formatting (run: gofmt -w <file>)"
    fi

    step "go vet ./..."
    go vet ./...

    step "go test -race -count=1 -timeout 20m ./..."
    go test -race -count=1 -timeout 20m ./...

    # Fuzzing, bounded by a number of executions (about 10 s each here)
    # rather than a duration: a duration ends in a context deadline that Go's
    # fuzzer can report as a failure on a busy machine. FUZZSCALE multiplies.
    local target pkg name count
    for target in core:FuzzRecord:500000 core:FuzzCorruptIndex:3000 capi:FuzzWrite:150000 capi:FuzzRead:300000; do
        IFS=: read -r pkg name count <<<"$target"
        count=$((count * ${FUZZSCALE:-1}))
        step "go test -fuzz $name -fuzztime ${count}x ./$pkg"
        go test -run '^$' -fuzz "^$name\$" -fuzztime "${count}x" "./$pkg"
    done

    step "C example: capi/example/example.c against the built library"
    mkdir -p "$ROOT/build"
    "${CC:-cc}" -Wall -Wextra -Werror -I "$ROOT/capi" "$ROOT/capi/example/example.c" \
        -L "$ROOT/python/diskcache_go" -ldiskcache_go -Wl,-rpath,"$ROOT/python/diskcache_go" \
        -o "$ROOT/build/example"
    local example_dir
    example_dir=$(mktemp -d)
    "$ROOT/build/example" "$example_dir"
    "$ROOT/build/example" "$example_dir" | grep -qx 'counter = 2' ||
        die "C example: the second run did not see the first run's counter"
    rm -rf "$example_dir"

    # The scale test (a million entries) is built only without -race.
    step "go test -count=1 -run Scale -v ./tests (without -race)"
    go test -count=1 -timeout 20m -run Scale -v ./tests

    step "pytest -q python/tests $*"
    local rc=0
    PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" -m pytest -q --durations=15 python/tests "$@" || rc=$?
    if [[ $rc -eq 5 ]]; then
        die "pytest collected no tests (exit 5): treating that as a failure"
    elif [[ $rc -ne 0 ]]; then
        die "pytest failed (exit $rc)"
    fi

    # Django's current release needs a newer Python than the oldest supported
    # LTS, which the main run tests; when such a Python is here, run the
    # Django tests again under it (the extension is abi3, so it loads there).
    local newer
    newer=$(find_python_312)
    if [[ -n "$newer" ]]; then
        step "Django's current release under $("$newer" --version): pytest python/tests/test_django.py"
        local venv="$ROOT/build/venv-django-current"
        rm -rf "$venv"
        "$newer" -m venv "$venv"
        PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \
            "$venv/bin/python" -m pip install -q pytest hypothesis "diskcache==5.6.3" "cffi>=1.15" django
        "$venv/bin/python" -c 'import django; print("django", django.__version__)'
        PYTHONPATH="$ROOT/python" "$venv/bin/python" -m pytest -q python/tests/test_django.py ||
            die "Django tests failed under the current Django release"
    else
        step "skipped: Django's current release needs Python >= 3.12, and none was found (PATH or pyenv)"
    fi

    test_platforms

    test_sshfs "$@"

    step "all tests passed"
}

# test_platforms checks the other platforms from this Linux machine:
# go vet of the engine for linux/arm64, darwin/amd64, darwin/arm64 and
# windows/amd64; the C ABI cross-built for darwin with zig
# (tests/darwin/build.sh); and Windows for real under Wine: the Go tests of
# core and tests, and the C example against the DLL (tests/wine/run.sh, which
# installs Wine and mingw-w64 with apt-get or says why it skips).
test_platforms() {
    local t
    for t in linux/arm64 darwin/amd64 darwin/arm64 windows/amd64; do
        step "GOOS=${t%/*} GOARCH=${t#*/} go vet ./core ./tests"
        GOOS=${t%/*} GOARCH=${t#*/} CGO_ENABLED=0 go vet ./core ./tests
    done
    step "macOS: the C ABI cross-built with zig (tests/darwin/build.sh)"
    "$ROOT/tests/darwin/build.sh" || die "the darwin cross-build failed"
    step "Windows under Wine: Go tests and the C example (tests/wine/run.sh)"
    "$ROOT/tests/wine/run.sh" || die "the Windows tests under Wine failed"
}

# The test files build.sh runs in network mode on a local disk: those that
# tests/sshfs/run.sh does not select.
NETWORK_MODE_LOCAL_TESTS=(test_persistent.py test_recipes.py test_django.py test_cli.py test_migrate.py
    test_fastpath.py test_fastcache.py test_compress.py test_security.py test_leaks.py)

# test_sshfs runs the Python tests again with their directories on sshfs
# (tests/sshfs/run.sh: a private sshd on 127.0.0.1, one export mounted three
# times), wherever /dev/fuse exists; otherwise it says why it skips.
test_sshfs() {
    # The layers over the Cache, which run.sh leaves out on sshfs (they can
    # behave differently only through the Cache, and an operation there
    # costs ~3 ms), run in network mode on a local disk.
    step "pytest in network mode on a local disk: the layers run.sh leaves out on sshfs"
    DISKCACHE_GO_NETWORK_MODE=network PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" \
        "$PYTHON" -m pytest -q --durations=10 "${NETWORK_MODE_LOCAL_TESTS[@]/#/python/tests/}" ||
        die "pytest in network mode failed"
    if [[ ! -e /dev/fuse ]]; then
        step "skipped: pytest on sshfs needs FUSE, and /dev/fuse does not exist here"
        return
    fi
    step "pytest on sshfs: tests/sshfs/run.sh $*"
    PYTHON="$PYTHON" "$ROOT/tests/sshfs/run.sh" "$@" ||
        die "pytest on sshfs failed"
}

# find_python_312 prints a Python >= 3.12 interpreter that runs, from PATH
# or from pyenv's installed versions, or nothing.
find_python_312() {
    local candidate
    local candidates=(python3.14 python3.13 python3.12)
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root=$(pyenv root)
        candidates+=("$root"/versions/3.1[2-9]*/bin/python3)
    fi
    for candidate in "${candidates[@]}"; do
        if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then
            command -v "$candidate"
            return
        fi
    done
}

cmd_bench() {
    cmd_build
    step "bench: python benchmarks/bench_basic.py $*"
    [[ -f benchmarks/bench_basic.py ]] || die "benchmarks/bench_basic.py does not exist yet"
    PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" "$PYTHON" benchmarks/bench_basic.py "$@"
}

usage() {
    sed -n '2,10s/^# \{0,1\}//p' "$0"
}

main() {
    local cmd=${1:-}
    [[ $# -gt 0 ]] && shift
    case "$cmd" in
        build) cmd_build "$@" ;;
        test) cmd_test "$@" ;;
        bench) cmd_bench "$@" ;;
        wheel) "$ROOT/scripts/build_wheel.sh" "$@" ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
