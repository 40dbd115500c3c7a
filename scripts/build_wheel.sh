#!/usr/bin/env bash
# Build diskcache-go's release files into OUTDIR (default: dist/):
#
#   scripts/build_wheel.sh [OUTDIR]
#
# * the wheel, with `pip wheel . --no-deps`: one cp39-abi3 wheel for CPython
#   >= 3.9. On glibc Linux setup.py tags it manylinux_X_Y_<arch> from the
#   glibc symbol versions the built libraries need; when auditwheel is
#   installed (pip install auditwheel) this script checks that auditwheel
#   finds the same tag. The tag is as old as the glibc of the build machine
#   allows: build inside a manylinux container (e.g. manylinux2014, with Go
#   installed) for a wheel that older distributions can install.
# * the sdist, with `python -m build --sdist` (or `setup.py sdist` when the
#   build package is missing): the Go and Python sources and the Go modules
#   they import (`go mod vendor` writes them into the sdist's vendor/);
#   installing it needs Go >= 1.22 and a C compiler, but no network for Go.
#
# Needs what `pip install .` needs (Go, a C compiler, pip reaching the
# package index for the build requirements), and Go reaching its module
# proxy (or a module cache that holds go.mod's modules: `go mod download`)
# to vendor the modules. $PYTHON picks the interpreter
# (default: python3). Works unchanged on macOS, where the wheel is tagged
# macosx_<version>_<arch>.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-python3}
OUT=${1:-dist}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore

die() {
    printf 'build_wheel.sh: %s\n' "$*" >&2
    exit 1
}

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
rm -f "$OUT"/diskcache_go-*.whl "$OUT"/diskcache_go-*.tar.gz

printf '==> wheel: %s -m pip wheel --no-deps -w %s .\n' "$PYTHON" "$OUT"
"$PYTHON" -m pip wheel --no-deps -w "$OUT" .
wheels=("$OUT"/diskcache_go-*.whl)
[[ ${#wheels[@]} -eq 1 && -f "${wheels[0]}" ]] || die "expected one wheel in $OUT"
wheel=${wheels[0]}

printf '==> sdist\n'
# (setuptools' build/ directory here would import as a namespace package:
# pypa's build has a __file__.)
if "$PYTHON" -c 'import build, sys; sys.exit(getattr(build, "__file__", None) is None)' 2>/dev/null; then
    "$PYTHON" -m build --sdist --outdir "$OUT" .
else
    echo "(the build package is missing: using setup.py sdist; pip install build to use it)"
    "$PYTHON" setup.py -q sdist --dist-dir "$OUT"
fi

plat=${wheel##*-abi3-}
plat=${plat%.whl}
if [[ $(uname -s) == Linux ]]; then
    if "$PYTHON" -c 'import auditwheel' 2>/dev/null; then
        printf '==> auditwheel show %s\n' "$(basename "$wheel")"
        report=$("$PYTHON" -m auditwheel show "$wheel" 2>&1) || die "auditwheel show failed:\n$report"
        printf '%s\n' "$report"
        found=$(printf '%s' "$report" | tr '\n' ' ' | sed -n 's/.*following platform tag: *"\([^"]*\)".*/\1/p')
        [[ -n "$found" ]] || die "could not read the platform tag from auditwheel's report"
        [[ "${plat%%.*}" == "$found" ]] ||
            die "the wheel is tagged $plat but auditwheel finds $found (run: auditwheel repair --plat $found $wheel)"
    else
        echo "(auditwheel is not installed: the manylinux tag was not audited; pip install auditwheel)"
    fi
fi

printf '==> built in %s:\n' "$OUT"
ls -l "$OUT"/diskcache_go-*
