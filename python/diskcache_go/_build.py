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
import shlex
import shutil
import subprocess
import sys
import time

#: The oldest Go release that can build the project (go.mod says ``go 1.22``).
MIN_GO = (1, 22)

#: Base name of the shared library, without the platform suffix (Windows
#: DLLs take no "lib" prefix: diskcache_go.dll, as tests/wine/run.sh names it).
LIBRARY_BASENAME = "libdiskcache_go"
WINDOWS_BASENAME = "diskcache_go"

#: Go package (relative to the module root) that holds the C exports.
CAPI_PACKAGE = "./capi"

#: Seconds between the "still building" lines printed while go build runs.
#: pip hides a build's output unless run with -v, but turns its spinner on
#: every line the build prints: these lines keep it turning.
PROGRESS_INTERVAL = 5.0

# The three things a build from source needs and a user may lack, each
# reported in one sentence that says what to install or set ({why} is the
# detail found).
GO_NEEDED = (
    "diskcache-go needs Go >= %d.%d to build from source; install it from "
    "https://go.dev/dl/ (or with your package manager) or set $GO to a go "
    "binary ({why})." % MIN_GO
)
CC_NEEDED = (
    "diskcache-go needs a C compiler (gcc or clang) for cgo and its cffi "
    "extension; install one (apt-get install gcc, dnf install gcc, apk add "
    "build-base, or xcode-select --install on macOS) or set $CC to it ({why})."
)
# On Windows cgo needs gcc (MSVC can not build Go's c-shared DLL); the
# extension is compiled by MSVC, which setuptools finds itself
# (EXTENSION_CC_NEEDED_WINDOWS when it can not).
CC_NEEDED_WINDOWS = (
    "diskcache-go needs a C compiler for cgo: Go builds its DLL with gcc, not "
    "MSVC; install mingw-w64's gcc (MSYS2: pacman -S mingw-w64-ucrt-x86_64-gcc, "
    "then put its bin folder on PATH) or set $CC to it ({why})."
)

EXTENSION_CC_NEEDED_WINDOWS = (
    "diskcache-go's cffi extension is compiled with MSVC on Windows; install "
    "the Microsoft C++ Build Tools (https://visualstudio.microsoft.com/"
    "visual-cpp-build-tools/, workload \"Desktop development with C++\") ({why})."
)


def cc_needed(why, platform=None):
    """The sentence saying which C compiler to install, for *platform*."""
    platform = sys.platform if platform is None else platform
    text = CC_NEEDED_WINDOWS if platform.startswith("win") else CC_NEEDED
    return text.format(why=why)
DOWNLOAD_FAILED = (
    "Go could not download the module{s} {modules} that diskcache-go needs; "
    "set GOPROXY (and HTTPS_PROXY if you are behind an HTTP proxy) so that Go "
    "can reach a module proxy{alternative}."
)
FROM_SDIST = ", or install from the sdist, which carries the modules"

# Lines of Go's output that mean a module could not be fetched (proxy off,
# no network, DNS, TLS, an HTTP error of the proxy, the checksum database).
_DOWNLOAD_PATTERNS = (
    "module lookup disabled",
    "dial tcp",
    "no such host",
    "connection refused",
    "i/o timeout",
    "TLS handshake",
    "proxyconnect",
    "verifying module",
    'Get "http',
    "reading http",
    "unrecognized import path",
    "x509:",
)


class BuildError(Exception):
    """The library could not be built; the message says why."""


def say(message):
    """Print one progress line of the build (pip shows them with -v)."""
    print("diskcache-go: %s" % message, flush=True)


def library_suffix(platform=None):
    """Return the shared-library suffix for *platform* (default: this one)."""
    platform = sys.platform if platform is None else platform
    if platform.startswith("win") or platform == "cygwin":
        return ".dll"
    if platform == "darwin":
        return ".dylib"
    return ".so"


def library_filename(platform=None):
    """Return the file name of the shared library: ``libdiskcache_go.so``,
    ``libdiskcache_go.dylib`` or ``diskcache_go.dll``."""
    suffix = library_suffix(platform)
    return (WINDOWS_BASENAME if suffix == ".dll" else LIBRARY_BASENAME) + suffix


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


def vendored(root):
    """True if *root* carries its Go modules in ``vendor/`` (an sdist does;
    a git checkout does not, and builds in module mode)."""
    return os.path.isfile(os.path.join(root, "vendor", "modules.txt"))


def find_go():
    """Return the path of the ``go`` command, or raise :class:`BuildError`.

    ``$GO`` may name a specific go binary; otherwise ``go`` is searched on PATH.
    """
    go = os.environ.get("GO") or "go"
    path = shutil.which(go)
    if path is None:
        if go == "go":
            why = "`go` is not on PATH"
        else:
            why = "$GO=%r is not an executable" % go
        raise BuildError(GO_NEEDED.format(why=why))
    return path


def _go_output(go, args, root=None, env=None):
    """Run ``go ARGS`` and return (exit status, combined output)."""
    try:
        proc = subprocess.run(
            [go] + list(args),
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
            check=False,
        )
    except OSError as exc:
        raise BuildError(GO_NEEDED.format(why="cannot run %s: %s" % (go, exc)))
    return proc.returncode, proc.stdout or ""


def go_version(go):
    """Return the (major, minor) version of the *go* binary."""
    status, text = _go_output(go, ["env", "GOVERSION"])
    text = text.strip()
    m = re.search(r"go(\d+)\.(\d+)", text)
    if status != 0 or m is None:
        raise BuildError(
            GO_NEEDED.format(
                why="`%s env GOVERSION` failed (exit %d): %s" % (go, status, text or "no output")
            )
        )
    return int(m.group(1)), int(m.group(2))


def check_go(go=None):
    """Return the path of a go binary recent enough to build the project,
    or raise :class:`BuildError` saying what to install."""
    go = go or find_go()
    version = go_version(go)
    if version < MIN_GO:
        raise BuildError(
            GO_NEEDED.format(why="found Go %d.%d at %s" % (version + (go,)))
        )
    return go


def check_c_compiler(go, env=None):
    """Raise :class:`BuildError` unless the C compiler cgo will use (``$CC``,
    or ``go env CC``: Go's default is gcc, clang on macOS and the BSDs)
    can be found. Returns its command."""
    env = os.environ if env is None else env
    explicit = env.get("CC", "").strip()
    if explicit:
        cc = explicit
    else:
        status, out = _go_output(go, ["env", "CC"], env=env)
        cc = out.strip().splitlines()[-1].strip() if status == 0 and out.strip() else "gcc"
    try:
        words = shlex.split(cc)
    except ValueError:
        words = cc.split()
    program = words[0] if words else cc
    if shutil.which(program, path=env.get("PATH")) is None:
        if explicit:
            why = "CC=%s, which was not found" % explicit
        else:
            why = "%s, the compiler Go uses by default, is not on PATH" % program
        raise BuildError(cc_needed(why))
    return cc


def failed_modules(output):
    """The modules (``path@version``) Go's *output* says it could not
    download; an empty list if the output does not show a download failure."""
    failing = [line for line in output.splitlines() if any(p in line for p in _DOWNLOAD_PATTERNS)]
    if not failing:
        return []
    found = []
    for line in failing:
        for module in re.findall(r"([\w.~-]+(?:/[\w.~-]+)+@v[\w.+-]+)", line):
            if module not in found:
                found.append(module)
    if not found:  # "module lookup disabled by GOPROXY=off" names no module:
        # the "go: downloading PATH VERSION" lines before it do.
        for path, version in re.findall(r"^go: downloading (\S+) (\S+)$", output, re.M):
            module = "%s@%s" % (path, version)
            if module not in found:
                found.append(module)
    return found or ["listed in go.mod"]


def download_error(modules, alternative=FROM_SDIST):
    """The sentence for a failed module download of *modules*."""
    return DOWNLOAD_FAILED.format(
        s="s" if len(modules) > 1 else "",
        modules=", ".join(modules),
        alternative=alternative,
    )


def run_with_progress(cmd, cwd, env, doing, interval=None, verbose=True):
    """Run *cmd* and return (exit status, combined output), printing
    "still DOING (N s)" every *interval* seconds while it runs."""
    interval = PROGRESS_INTERVAL if interval is None else interval
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            universal_newlines=True,
        )
    except OSError as exc:
        raise BuildError(GO_NEEDED.format(why="cannot run %s: %s" % (cmd[0], exc)))
    while True:
        try:
            output, _ = proc.communicate(timeout=interval)
            break
        except subprocess.TimeoutExpired:  # communicate() again loses nothing
            if verbose:
                say("still %s (%d s)" % (doing, time.monotonic() - start))
    return proc.returncode, output or ""


def build_library(outdir, module_root=None, go=None, verbose=True):
    """Build the shared library into *outdir* and return its path.

    Runs ``go build -buildmode=c-shared -trimpath -o OUTDIR/LIB ./capi`` in the
    module root (with ``-mod=vendor`` when the root carries ``vendor/``, as
    an sdist does), then deletes the C header that go build writes next to
    the library. Checks Go's version and the C compiler first, and raises
    :class:`BuildError` with one sentence saying what to install or set
    (then Go's own output, if it ran) on failure.
    """
    root = find_module_root(module_root)
    go = check_go(go)
    env = dict(os.environ)
    # c-shared needs cgo; say so explicitly so that Go does not quietly turn
    # cgo off when it finds no C compiler (check_c_compiler reports that).
    env["CGO_ENABLED"] = "1"
    if sys.platform.startswith("win") and not env.get("CC", "").strip():
        # Go's default CC is "gcc"; mingw-w64's own name for it is taken
        # first where both are on PATH (an MSYS2 or a cross toolchain).
        mingw = shutil.which("x86_64-w64-mingw32-gcc", path=env.get("PATH"))
        if mingw is not None:
            env["CC"] = mingw
    check_c_compiler(go, env)

    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    target = os.path.join(outdir, library_filename())
    header = os.path.splitext(target)[0] + ".h"

    cmd = [go, "build", "-buildmode=c-shared", "-trimpath"]
    if vendored(root):
        # The sdist's modules; explicit, so that a GOFLAGS=-mod=mod in the
        # environment can not send Go to the network.
        cmd.append("-mod=vendor")
    cmd += [
        # A source tree without git metadata (sdist) or owned by another user
        # must build the same as a clone: don't stamp VCS info.
        "-buildvcs=false",
        "-o",
        target,
        CAPI_PACKAGE,
    ]
    if verbose:
        say(
            "building the Go library %s (go build -buildmode=c-shared; about a minute "
            "the first time, seconds once Go's build cache holds it)" % library_filename()
        )
        if vendored(root):
            say("using the Go modules from vendor/ (no download)")
        else:
            say("using the Go modules from Go's module cache, downloading any it lacks through GOPROXY")
        say("(cd %s && %s)" % (root, " ".join(cmd)))
    start = time.monotonic()
    status, output = run_with_progress(cmd, root, env, "building the Go library", verbose=verbose)
    if status != 0:
        modules = failed_modules(output)
        if modules:
            sentence = download_error(modules)
        elif "C compiler" in output:
            sentence = cc_needed("go build could not run it")
        else:
            sentence = "go build of the diskcache-go shared library failed (exit %d)." % status
        raise BuildError("%s\ngo build's output:\n%s" % (sentence, output.rstrip()))
    if output.strip() and verbose:
        print(output.rstrip(), flush=True)
    if os.path.exists(header):
        os.remove(header)
    if not os.path.isfile(target):
        raise BuildError("go build succeeded but did not write %s" % target)
    if verbose:
        say("built %s in %.0f s" % (target, time.monotonic() - start))
    return target


def vendor_modules(dest, module_root=None, go=None, verbose=True):
    """Write the Go modules the build needs into *dest* (an sdist's
    ``vendor/``), so that the sdist builds with no network.

    Copies the source tree's own ``vendor/`` if it has one (an unpacked
    sdist), else runs ``go mod vendor -o DEST`` (which downloads what Go's
    module cache lacks). Raises :class:`BuildError` on failure.
    """
    root = find_module_root(module_root)
    if os.path.exists(dest):
        shutil.rmtree(dest)
    if vendored(root):
        if verbose:
            say("copying vendor/ into the sdist")
        shutil.copytree(os.path.join(root, "vendor"), dest)
        return dest
    go = check_go(go)
    cmd = [go, "mod", "vendor", "-o", dest]
    if verbose:
        say("putting the Go modules into the sdist: (cd %s && %s)" % (root, " ".join(cmd)))
    env = dict(os.environ)
    # go mod vendor refuses -mod=vendor or -mod=readonly from GOFLAGS.
    env["GOFLAGS"] = " ".join(
        flag for flag in env.get("GOFLAGS", "").split() if not flag.startswith("-mod=")
    )
    status, output = run_with_progress(cmd, root, env, "vendoring the Go modules", verbose=verbose)
    if status != 0:
        modules = failed_modules(output)
        if modules:
            sentence = download_error(modules, alternative="")
        else:
            sentence = "go mod vendor failed (exit %d)." % status
        raise BuildError("%s\ngo mod vendor's output:\n%s" % (sentence, output.rstrip()))
    if not os.path.isfile(os.path.join(dest, "modules.txt")):
        raise BuildError("go mod vendor succeeded but did not write %s" % os.path.join(dest, "modules.txt"))
    return dest


def build_extension(outdir, verbose=True, werror=False):
    """Compile the cffi extension ``_dcg`` (the shim the package calls the
    library through, ``_c/*.c``) into ``outdir``; ``werror`` makes the
    compiler's warnings errors (the test command's build)."""
    spec = importlib.util.spec_from_file_location(
        "_diskcache_go_ffi_build", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ffi_build.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if verbose:
        say("compiling the cffi extension _dcg (a few seconds)")
    start = time.monotonic()
    try:
        built = module.build_extension(outdir, extra_cflags=["-Werror"] if werror else ())
    except ImportError as exc:
        raise BuildError("building the diskcache-go extension needs cffi (pip install cffi): %s" % exc) from None
    except Exception as exc:  # cffi reports compiler failures with its own types
        text = str(exc)
        if re.search(r"command '?[^']*'? failed|not found|No such file or directory", text) and (
            "command" in text or "compiler" in text
        ):
            needed = EXTENSION_CC_NEEDED_WINDOWS if sys.platform.startswith("win") else CC_NEEDED
            raise BuildError("%s\n%s" % (needed.format(why="compiling the extension failed"), text)) from None
        raise BuildError("compiling the diskcache-go extension failed: %s" % text) from None
    if verbose:
        say("built %s in %.0f s" % (built, time.monotonic() - start))
    return built


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
    parser.add_argument(
        "--werror",
        action="store_true",
        help="compile the extension's C with -Werror (as ./build.sh test does)",
    )
    args = parser.parse_args(argv)
    try:
        build_library(args.outdir, module_root=args.module_root)
        build_extension(args.outdir, werror=args.werror)
    except BuildError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
