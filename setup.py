"""Build and install diskcache-go.

``pip install .`` runs the ``build_ext`` command below, which calls the Go
toolchain (``go build -buildmode=c-shared ./capi``) and writes the shared
library into the built ``diskcache_go`` package, so the installed package
always carries its library.  The build logic itself lives in
``python/diskcache_go/_build.py`` (shared with ``./build.sh build``); it is
loaded here by file path, without importing the package.
"""

import importlib.util
import os
import re

from setuptools import find_packages, setup
from setuptools.command.build_ext import build_ext
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


cmdclass = {"build_ext": build_go}

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
            return "cp39", "abi3", plat

    cmdclass["bdist_wheel"] = bdist_wheel_platform
except ImportError:  # no wheel support: pip would not build a wheel anyway
    pass


PACKAGES = find_packages("python", include=["diskcache_go", "diskcache_go.*"])
if "diskcache_go" not in PACKAGES:
    raise RuntimeError("python/diskcache_go/__init__.py is missing: nothing to install")

try:
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        long_description = f.read()
except OSError:
    long_description = ""

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
    package_data={"diskcache_go": [LIBRARY, "_dcg.*.so", "_dcg.*.pyd"]},
    include_package_data=False,
    install_requires=["cffi>=1.15"],
    distclass=BinaryDistribution,
    cmdclass=cmdclass,
    zip_safe=False,
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Go",
        "Operating System :: POSIX :: Linux",
        "Operating System :: MacOS",
        "Operating System :: Microsoft :: Windows",
        "Topic :: Database",
        "Topic :: Software Development :: Libraries",
    ],
)
