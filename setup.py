"""Build and install diskcache-go.

``pip install .`` runs the ``build_ext`` command below, which calls the Go
toolchain (``go build -buildmode=c-shared ./capi``) and writes the shared
library into the built ``diskcache_go`` package, so the installed package
always carries its library.  The build logic itself lives in
``python/diskcache_go/_build.py`` (shared with ``./build.sh build``); it is
loaded here by file path, without importing the package.

``setup.py sdist`` (and ``python -m build --sdist``) also writes the Go
modules the build needs into the sdist's ``vendor/`` (``go mod vendor``), so
that installing the sdist needs no network; ``vendor/`` is never committed,
and a git checkout builds in Go's module mode.
"""

import importlib.util
import os
import platform
import re
import struct

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

try:  # distutils errors make setup() print "error: <message>" and exit 1
    from setuptools.errors import ExecError
except ImportError:  # setuptools < 59
    from distutils.errors import DistutilsExecError as ExecError

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_DIR = os.path.join(HERE, "python", "diskcache_go")


def read_version():
    with open(os.path.join(PKG_DIR, "_version.py"), encoding="utf-8") as f:
        m = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", f.read(), re.M)
    if m is None:
        raise RuntimeError("cannot find __version__ in python/diskcache_go/_version.py")
    return m.group(1)


def load_builder():
    spec = importlib.util.spec_from_file_location(
        "_diskcache_go_build", os.path.join(PKG_DIR, "_build.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_builder = load_builder()
LIBRARY = _builder.library_filename()


class BinaryDistribution(Distribution):
    """The package ships a native library: never a pure (py3-none-any) wheel.

    This makes ``build`` run ``build_ext``, ``install`` use platlib and
    ``bdist_wheel`` use a platform tag.
    """

    def has_ext_modules(self):
        return True


class build_go(build_ext):
    """build_ext that builds the Go c-shared library instead of C extensions."""

    description = "build the diskcache-go shared library with the Go toolchain"

    def _target_dir(self):
        if self.inplace:  # build_ext --inplace / editable installs
            return PKG_DIR
        return os.path.join(self.build_lib, "diskcache_go")

    def run(self):
        target_dir = self._target_dir()
        try:
            _builder.build_library(target_dir, module_root=HERE)
            self._extension = _builder.build_extension(target_dir)
        except _builder.BuildError as exc:
            raise ExecError(str(exc)) from None

    def get_outputs(self):
        outputs = [os.path.join(self._target_dir(), LIBRARY)]
        extension = getattr(self, "_extension", None)
        if extension:
            outputs.append(extension)
        return outputs

    def get_source_files(self):
        return []

    def get_output_mapping(self):
        # Used by setuptools' editable installs (PEP 660).
        built = os.path.join(self.build_lib, "diskcache_go", LIBRARY)
        return {built: os.path.join(PKG_DIR, LIBRARY)}


class sdist_with_modules(sdist):
    """sdist that carries the Go modules: after the release tree is made
    from MANIFEST.in, ``go mod vendor`` writes them into its ``vendor/``,
    and the build then uses ``go build -mod=vendor``."""

    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        try:
            _builder.vendor_modules(os.path.join(base_dir, "vendor"), module_root=HERE)
        except _builder.BuildError as exc:
            raise ExecError(str(exc)) from None


cmdclass = {"build_ext": build_go, "sdist": sdist_with_modules}


# -- platform tag -------------------------------------------------------------
#
# On Linux the wheel gets a manylinux tag (PEP 600) computed from the built
# libraries themselves, as auditwheel would: every ELF file of the package
# may link only libraries of the manylinux policy (libc, libpthread, libdl...)
# and the newest GLIBC_x.y symbol version any of them needs gives the tag
# manylinux_x_y_<arch>. Go's c-shared library and the cffi extension link
# only libc, so this always succeeds with glibc; anything else (musl, a
# library outside the policy, GLIBC_PRIVATE) keeps the plain linux_<arch>
# tag, which PyPI refuses but pip installs locally. On macOS a universal2
# interpreter would tag the wheel universal2, but Go builds one architecture:
# the tag names the machine's, and its macOS version is raised to the
# minimum the libraries were built for. $DISKCACHE_GO_WHEEL_PLAT overrides
# the platform tag (e.g. linux_x86_64, to run auditwheel repair yourself).

#: Libraries a manylinux wheel may link without shipping them (the part of
#: auditwheel's policy a C or Go library can use).
MANYLINUX_LIBRARIES = frozenset((
    "libc.so.6", "libpthread.so.0", "libdl.so.2", "libm.so.6", "librt.so.1",
    "libresolv.so.2", "libutil.so.1", "libnsl.so.1", "libgcc_s.so.1",
    "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1", "ld-linux.so.2",
    "ld-linux-armhf.so.3", "ld64.so.2", "ld64.so.1",
))
#: The oldest glibc a manylinux tag here claims (manylinux2014's).
MANYLINUX_FLOOR = (2, 17)

_SHT_DYNAMIC = 6
_SHT_GNU_VERNEED = 0x6FFFFFFE
_DT_NEEDED = 1


def elf_dependencies(data):
    """Return ``(needed, versions)`` of an ELF shared object: its DT_NEEDED
    libraries, and the (library, version name) pairs of its symbol version
    requirements, such as ``("libc.so.6", "GLIBC_2.34")``. None if *data*
    is not ELF or has no dynamic section to read them from."""
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    end = "<" if data[5] == 1 else ">"
    if data[4] == 2:  # ELFCLASS64
        shoff = struct.unpack_from(end + "Q", data, 0x28)[0]
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x3A)
        section_format, dyn_format = end + "IIQQQQIIQQ", end + "qQ"
    else:
        shoff = struct.unpack_from(end + "I", data, 0x20)[0]
        shentsize, shnum = struct.unpack_from(end + "HH", data, 0x2E)
        section_format, dyn_format = end + "IIIIIIIIII", end + "iI"
    sections = [
        struct.unpack_from(section_format, data, shoff + index * shentsize)
        for index in range(shnum)
    ]

    def string(strtab, offset):
        start = sections[strtab][4] + offset
        return data[start:data.index(b"\0", start)].decode("ascii", "replace")

    needed, versions = [], []
    if not any(section[1] == _SHT_DYNAMIC for section in sections):
        return None  # no dynamic section (or no section headers): unknown
    for _, kind, _, _, offset, size, link, info, _, _ in sections:
        if kind == _SHT_DYNAMIC:
            step = struct.calcsize(dyn_format)
            for pos in range(offset, offset + size, step):
                tag, value = struct.unpack_from(dyn_format, data, pos)
                if tag == _DT_NEEDED:
                    needed.append(string(link, value))
        elif kind == _SHT_GNU_VERNEED:
            pos = offset
            for _ in range(info):
                _, count, file_name, aux, next_need = struct.unpack_from(end + "HHIII", data, pos)
                library = string(link, file_name)
                aux_pos = pos + aux
                for _ in range(count):
                    _, _, _, name, next_aux = struct.unpack_from(end + "IHHII", data, aux_pos)
                    versions.append((library, string(link, name)))
                    aux_pos += next_aux
                pos += next_need
    return needed, versions


def manylinux_glibc(paths):
    """The (major, minor) glibc version the shared libraries at *paths* need,
    at least MANYLINUX_FLOOR; None if any of them is outside the manylinux
    policy (another library, a non-GLIBC version, an ELF file whose
    dependencies cannot be read) or if none is an ELF file."""
    newest = MANYLINUX_FLOOR
    found = False
    for path in paths:
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] != b"\x7fELF":
            continue
        deps = elf_dependencies(data)
        if deps is None:
            return None
        found = True
        needed, versions = deps
        if any(library not in MANYLINUX_LIBRARIES for library in needed):
            return None
        for library, version in versions:
            if library not in MANYLINUX_LIBRARIES:
                return None
            m = re.match(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?$", version)
            if m is None:
                if version.startswith("GCC_") and library == "libgcc_s.so.1":
                    continue
                return None  # GLIBC_PRIVATE or an unknown version namespace
            newest = max(newest, (int(m.group(1)), int(m.group(2))))
    return newest if found else None


def macho_min_macos(data):
    """The minimum macOS (major, minor) of a thin 64-bit Mach-O file, from
    LC_BUILD_VERSION or LC_VERSION_MIN_MACOSX; None if not found."""
    if data[:4] != b"\xcf\xfa\xed\xfe":  # MH_MAGIC_64, little-endian
        return None
    ncmds = struct.unpack_from("<I", data, 16)[0]
    pos = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, pos)
        if cmd == 0x32:  # LC_BUILD_VERSION: platform, minos, sdk, ntools
            platform_id, minos = struct.unpack_from("<II", data, pos + 8)
            if platform_id == 1:  # PLATFORM_MACOS
                return minos >> 16, (minos >> 8) & 0xFF
        elif cmd == 0x24:  # LC_VERSION_MIN_MACOSX: version, sdk
            version = struct.unpack_from("<I", data, pos + 8)[0]
            return version >> 16, (version >> 8) & 0xFF
        pos += size
    return None


def platform_tag(plat, files, machine=None):
    """The wheel platform tag for the built *files*, given setuptools' *plat*
    (e.g. ``linux_x86_64`` or ``macosx_10_9_universal2``)."""
    override = os.environ.get("DISKCACHE_GO_WHEEL_PLAT")
    if override:
        return override
    if plat.startswith("linux_"):
        arch = plat[len("linux_"):]
        glibc = manylinux_glibc(files)
        if glibc is None:
            return plat
        tag = "manylinux_%d_%d_%s" % (glibc + (arch,))
        if glibc == (2, 17):  # the legacy alias, for pip < 20.3
            tag += ".manylinux2014_" + arch
        return tag
    m = re.match(r"macosx_(\d+)_(\d+)_(\w+)$", plat)
    if m:
        version = (int(m.group(1)), int(m.group(2)))
        arch = m.group(3)
        if arch in ("universal2", "universal", "intel", "fat", "fat3", "fat64"):
            arch = machine or platform.machine()
        for path in files:
            with open(path, "rb") as f:
                needs = macho_min_macos(f.read())
            if needs is not None:
                version = max(version, needs)
        if version[0] >= 11:  # from macOS 11 on, tags carry no minor version
            version = (version[0], 0)
        return "macosx_%d_%d_%s" % (version + (arch,))
    return plat


def native_files(root):
    """The shared libraries and extensions below *root*."""
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            if name.endswith((".so", ".dylib", ".dll", ".pyd")):
                found.append(os.path.join(dirpath, name))
    return sorted(found)


try:  # tag the wheel cp39-abi3-<platform>: the extension uses only the
    # stable ABI (cffi's py_limited_api), so one wheel serves CPython >= 3.9.
    try:
        from setuptools.command.bdist_wheel import bdist_wheel
    except ImportError:
        from wheel.bdist_wheel import bdist_wheel

    class bdist_wheel_platform(bdist_wheel):
        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            _, _, plat = super().get_tag()
            # get_tag runs after the build was installed into bdist_dir.
            files = native_files(self.bdist_dir) if self.bdist_dir else []
            return "cp39", "abi3", platform_tag(plat, files)

    cmdclass["bdist_wheel"] = bdist_wheel_platform
except ImportError:  # no wheel support: pip would not build a wheel anyway
    pass


PACKAGES = find_packages(os.path.join(HERE, "python"), include=["diskcache_go", "diskcache_go.*"])
if "diskcache_go" not in PACKAGES:
    raise RuntimeError("python/diskcache_go/__init__.py is missing: nothing to install")

try:
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        long_description = f.read()
except OSError:
    long_description = ""

# pip (setuptools.build_meta) and `python setup.py` run this file as __main__;
# the tests import it under another name to check the helpers above.
if __name__ == "__main__":
    setup(
        name="diskcache-go",
        version=read_version(),
        description=(
            "Disk and file backed cache with a Go storage engine; "
            "a drop-in replacement for python-diskcache 5.6.3"
        ),
        long_description=long_description,
        long_description_content_type="text/markdown",
        license="Apache-2.0",
        author="diskcache-go developers",
        python_requires=">=3.9",
        package_dir={"": "python"},
        packages=PACKAGES,
        # py.typed and the .pyi stubs: the package's type information (PEP 561).
        # The extension is _dcg.abi3.so on Linux and macOS, _dcg.pyd on Windows.
        package_data={"diskcache_go": [LIBRARY, "_dcg.*.so", "_dcg.pyd", "_dcg.*.pyd", "py.typed", "*.pyi"]},
        include_package_data=False,
        install_requires=["cffi>=1.15"],
        distclass=BinaryDistribution,
        cmdclass=cmdclass,
        zip_safe=False,
        entry_points={"console_scripts": ["diskcache-go = diskcache_go.cli:main"]},
        classifiers=[
            "Development Status :: 3 - Alpha",
            "Programming Language :: Python :: 3",
            "Programming Language :: Python :: 3 :: Only",
            "Programming Language :: Python :: 3.9",
            "Programming Language :: Python :: 3.10",
            "Programming Language :: Python :: 3.11",
            "Programming Language :: Python :: 3.12",
            "Programming Language :: Python :: 3.13",
            "Programming Language :: Python :: 3.14",
            "Programming Language :: Python :: Implementation :: CPython",
            "Programming Language :: Go",
            "Operating System :: POSIX :: Linux",
            "Operating System :: MacOS",
            "Operating System :: Microsoft :: Windows",
            "Topic :: Database",
            "Topic :: Software Development :: Libraries",
            "Typing :: Typed",
        ],
    )
