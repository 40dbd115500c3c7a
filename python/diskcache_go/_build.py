"""Build the diskcache-go shared library with the Go toolchain.

This file is the one place that knows how the C ABI library is built.  It has
three callers, which must all build the library the same way:

* ``setup.py`` (``pip install .`` / ``pip wheel .``) loads this file by path
  (it must not import the ``diskcache_go`` package) and calls
  :func:`build_library` with the build directory of the package;
* ``./build.sh build`` and ``./build.sh test`` run it as a script to build
  into ``python/diskcache_go/`` (in-tree, for development)::

      python3 python/diskcache_go/_build.py [--outdir DIR]

* the package's loader may import :func:`library_filename` to find the file.

It only uses the standard library and works on Python >= 3.9.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys

#: The oldest Go release that can build the project (go.mod says ``go 1.22``).
MIN_GO = (1, 22)

#: Base name of the shared library, without the platform suffix.
LIBRARY_BASENAME = "libdiskcache_go"

#: Go package (relative to the module root) that holds the C exports.
CAPI_PACKAGE = "./capi"

GO_MISSING = (
    "diskcache-go needs the Go toolchain (https://go.dev/dl/) to build from "
    "source: {why}"
)


class BuildError(Exception):
    """The library could not be built; the message says why."""


def library_suffix(platform=None):
    """Return the shared-library suffix for *platform* (default: this one)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("win") or platform == "cygwin":
        return ".dll"
    if platform == "darwin":
        return ".dylib"
    return ".so"


def library_filename(platform=None):
    """Return the file name of the shared library, e.g. ``libdiskcache_go.so``."""
    return LIBRARY_BASENAME + library_suffix(platform)


def find_module_root(start=None):
    """Return the Go module root (the directory holding go.mod and capi/).

    *start* defaults to the directory two levels above this file
    (``<root>/python/diskcache_go/_build.py``).
    """
    if start is None:
        start = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    root = os.path.abspath(start)
    if not os.path.isfile(os.path.join(root, "go.mod")) or not os.path.isdir(
        os.path.join(root, "capi")
    ):
        raise BuildError(
            "cannot build diskcache-go: %s has no go.mod and capi/ (the Go "
            "sources are missing from this source tree)" % root
        )
    return root


def find_go():
    """Return the path of the ``go`` command, or raise :class:`BuildError`.

    ``$GO`` may name a specific go binary; otherwise ``go`` is searched on PATH.
    """
    go = os.environ.get("GO") or "go"
    path = shutil.which(go)
    if path is None:
        if go == "go":
            why = "`go` was not found on PATH (PATH=%s)" % os.environ.get("PATH", "")
        else:
            why = "$GO=%r is not an executable" % go
        raise BuildError(GO_MISSING.format(why=why))
    return path


def go_version(go):
    """Return the (major, minor) version of the *go* binary."""
    try:
        out = subprocess.run(
            [go, "env", "GOVERSION"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            check=False,
        )
    except OSError as exc:
        raise BuildError(GO_MISSING.format(why="cannot run %s: %s" % (go, exc)))
    text = out.stdout.strip()
    m = re.search(r"go(\d+)\.(\d+)", text)
    if out.returncode != 0 or m is None:
        raise BuildError(
            GO_MISSING.format(
                why="`%s env GOVERSION` failed (exit %d):\n%s" % (go, out.returncode, text)
            )
        )
    return int(m.group(1)), int(m.group(2))


def build_library(outdir, module_root=None, go=None, verbose=True):
    """Build the shared library into *outdir* and return its path.

    Runs ``go build -buildmode=c-shared -trimpath -o OUTDIR/LIB ./capi`` in the
    module root, then deletes the C header that go build writes next to the
    library.  Raises :class:`BuildError` (with Go's own output) on failure.
    """
    root = find_module_root(module_root)
    go = go or find_go()
    version = go_version(go)
    if version < MIN_GO:
        raise BuildError(
            GO_MISSING.format(
                why="found Go %d.%d at %s, but Go >= %d.%d is required"
                % (version + (go,) + MIN_GO)
            )
        )

    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    target = os.path.join(outdir, library_filename())
    header = os.path.splitext(target)[0] + ".h"

    cmd = [
        go,
        "build",
        "-buildmode=c-shared",
        "-trimpath",
        # A source tree without git metadata (sdist) or owned by another user
        # must build the same as a clone: don't stamp VCS info.
        "-buildvcs=false",
        "-o",
        target,
        CAPI_PACKAGE,
    ]
    env = dict(os.environ)
    # c-shared needs cgo; say so explicitly so a missing C compiler gives
    # cgo's clear error instead of "cgo is not enabled".
    env["CGO_ENABLED"] = "1"
    if verbose:
        print("diskcache-go: (cd %s && %s)" % (root, " ".join(cmd)), flush=True)
    try:
        proc = subprocess.run(
            cmd,
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            check=False,
        )
    except OSError as exc:
        raise BuildError(GO_MISSING.format(why="cannot run %s: %s" % (go, exc)))
    output = proc.stdout or ""
    if proc.returncode != 0:
        hint = ""
        if "C compiler" in output:
            hint = (
                "\n(-buildmode=c-shared uses cgo, which needs a C compiler such "
                "as gcc or clang on PATH, or named by $CC)"
            )
        raise BuildError(
            "go build of the diskcache-go shared library failed (exit %d):\n%s%s"
            % (proc.returncode, output.rstrip(), hint)
        )
    if output.strip() and verbose:
        print(output.rstrip(), flush=True)
    if os.path.exists(header):
        os.remove(header)
    if not os.path.isfile(target):
        raise BuildError("go build succeeded but did not write %s" % target)
    if verbose:
        print("diskcache-go: built %s" % target, flush=True)
    return target


def build_extension(outdir):
    """Compile the cffi extension ``_dcg`` (the shim the package calls the
    library through) into ``outdir``."""
    spec = importlib.util.spec_from_file_location(
        "_diskcache_go_ffi_build", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ffi_build.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        return module.build_extension(outdir)
    except ImportError as exc:
        raise BuildError("building the diskcache-go extension needs cffi (pip install cffi): %s" % exc) from None
    except Exception as exc:  # cffi reports compiler failures with its own types
        raise BuildError("compiling the diskcache-go extension failed: %s" % exc) from None


def main(argv=None):
    import argparse

    default_outdir = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--outdir",
        default=default_outdir,
        help="directory to write %s into (default: %s)"
        % (library_filename(), default_outdir),
    )
    parser.add_argument(
        "--module-root",
        default=None,
        help="Go module root holding go.mod and capi/ (default: found from this file)",
    )
    args = parser.parse_args(argv)
    try:
        build_library(args.outdir, module_root=args.module_root)
        built = build_extension(args.outdir)
    except BuildError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print("diskcache-go: built %s" % built, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
