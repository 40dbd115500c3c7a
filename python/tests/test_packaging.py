"""Packaging: the wheel, the sdist, the version and the library names.

* ``pip wheel .`` builds one ``cp39-abi3`` wheel with a manylinux tag (on
  glibc Linux; the tag is what auditwheel finds, when it is installed) that
  ships the library, the extension, py.typed and the stubs;
* the wheel installs into a fresh virtualenv with no Go toolchain on PATH
  and passes a smoke test run from outside the repository, under this
  Python and under every other supported CPython found on the machine
  (python3.X on PATH, or pyenv's versions);
* the sdist carries the Go and Python sources and ``pip install`` builds it;
* the version has one source, and the library is named per platform.

The build tests need pip to reach the package index (build isolation and
cffi); set ``DISKCACHE_GO_SKIP_PACKAGING=1`` to skip them offline. They take
about a minute.
"""

import glob
import importlib.util
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
PYTHON_SRC = os.path.dirname(TESTS)
ROOT = os.path.dirname(PYTHON_SRC)
PACKAGE = os.path.join(PYTHON_SRC, 'diskcache_go')

# The CPython minors the package supports; the wheel is tried on each found.
SUPPORTED = ['3.9', '3.10', '3.11', '3.12', '3.13', '3.14']

build_tests = pytest.mark.skipif(
    os.environ.get('DISKCACHE_GO_SKIP_PACKAGING') == '1',
    reason='DISKCACHE_GO_SKIP_PACKAGING=1: wheel and sdist builds skipped',
)

SMOKE = '''\
import os, shutil, sys, tempfile
import diskcache_go as dc

assert 'site-packages' in dc.__file__, 'not the installed package: ' + dc.__file__
assert shutil.which('go') is None, 'go is on PATH: ' + shutil.which('go')
root = tempfile.mkdtemp()
with dc.Cache(os.path.join(root, 'cache')) as cache:
    cache.set('key', 'value', expire=60, tag='t')
    assert cache.get('key') == 'value' and cache.incr('n') == 1
with dc.FanoutCache(os.path.join(root, 'fanout'), shards=2) as fanout:
    fanout[b'k'] = [1, 2]
    assert fanout[b'k'] == [1, 2] and len(fanout) == 1
deque = dc.Deque([1, 2], directory=os.path.join(root, 'deque'))
deque.append(3)
assert list(deque) == [1, 2, 3]
index = dc.Index(os.path.join(root, 'index'), a=1)
index['b'] = 2
assert dict(index) == {'a': 1, 'b': 2}
shutil.rmtree(root)
print('smoke ok', dc.__version__, '%d.%d' % sys.version_info[:2])
'''


def _run(cmd, cwd=None, env=None, timeout=300):
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=timeout)
    assert proc.returncode == 0, '%s failed (exit %d):\n%s' % (' '.join(cmd), proc.returncode, proc.stdout)
    return proc.stdout


def _version():
    with open(os.path.join(PACKAGE, '_version.py'), encoding='utf-8') as f:
        return re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", f.read(), re.M).group(1)


def _without_go(bin_dir):
    """An environment with no Go toolchain: PATH keeps only directories
    without a ``go`` executable, and the Go variables are unset."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(('GO', 'PYTHON', 'VIRTUAL_ENV'))}
    path = [d for d in os.environ.get('PATH', '').split(os.pathsep)
            if d and not os.path.exists(os.path.join(d, 'go'))]
    env['PATH'] = os.pathsep.join([bin_dir] + path)
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    env['PIP_ROOT_USER_ACTION'] = 'ignore'
    return env


def _venv(python, where):
    """A fresh virtualenv of *python*; returns its bin directory."""
    _run([python, '-m', 'venv', where])
    return os.path.join(where, 'Scripts' if sys.platform == 'win32' else 'bin')


def _smoke(bin_dir, cwd):
    """Run the smoke test with the virtualenv's Python, outside the repo."""
    script = os.path.join(cwd, 'smoke.py')
    with open(script, 'w') as f:
        f.write(SMOKE)
    out = _run([os.path.join(bin_dir, 'python'), script], cwd=cwd, env=_without_go(bin_dir))
    assert 'smoke ok %s' % _version() in out, out
    return out


def _python_minor(candidate):
    """The X.Y of the interpreter *candidate*, or None if it does not run
    (a pyenv shim of a version that is not selected fails, for example)."""
    try:
        proc = subprocess.run([candidate, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              universal_newlines=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def _other_pythons():
    """{minor: interpreter} of every supported CPython other than this one
    that is installed by pyenv or on PATH as python3.X."""
    found = {}
    pyenv_root = os.environ.get('PYENV_ROOT') or os.path.expanduser('~/.pyenv')
    current = '%d.%d' % sys.version_info[:2]
    for minor in SUPPORTED:
        if minor == current:
            continue
        candidates = sorted(glob.glob(os.path.join(pyenv_root, 'versions', minor + '.*', 'bin', 'python3')),
                            reverse=True)
        candidates.append(shutil.which('python' + minor))
        for candidate in candidates:
            if candidate and _python_minor(candidate) == minor:
                found[minor] = candidate
                break
    return found


# -- the wheel ---------------------------------------------------------------


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """The wheel ``pip wheel .`` builds from this checkout (built once)."""
    if shutil.which('go') is None and not os.environ.get('GO'):
        pytest.skip('building the wheel needs the Go toolchain')
    out = str(tmp_path_factory.mktemp('wheelhouse'))
    _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--disable-pip-version-check', '-w', out, ROOT],
         timeout=600)
    wheels = glob.glob(os.path.join(out, '*.whl'))
    assert len(wheels) == 1, wheels
    return wheels[0]


@build_tests
def test_wheel_name_and_tags(wheel):
    name = os.path.basename(wheel)
    m = re.match(r'diskcache_go-(?P<version>[^-]+)-cp39-abi3-(?P<plat>[^-]+)\.whl$', name)
    assert m, name
    assert m.group('version') == _version()
    with zipfile.ZipFile(wheel) as zf:
        wheel_info = zf.read('diskcache_go-%s.dist-info/WHEEL' % _version()).decode()
    tags = re.findall(r'^Tag: (\S+)$', wheel_info, re.M)
    assert tags == ['cp39-abi3-' + plat for plat in m.group('plat').split('.')], wheel_info
    assert 'Root-Is-Purelib: false' in wheel_info
    libc = os.confstr('CS_GNU_LIBC_VERSION') if hasattr(os, 'confstr') else None
    if sys.platform.startswith('linux') and libc and libc.startswith('glibc'):
        assert m.group('plat').startswith('manylinux_'), name


@build_tests
def test_wheel_tag_agrees_with_auditwheel(wheel):
    if shutil.which('auditwheel') is None:
        pytest.skip('auditwheel is not installed (pip install auditwheel)')
    if not sys.platform.startswith('linux'):
        pytest.skip('auditwheel audits Linux wheels')
    out = _run(['auditwheel', 'show', wheel])
    m = re.search(r'consistent\s+with\s+the\s+following\s+platform\s+tag:\s+"([^"]+)"', out)
    assert m, out
    plat = re.search(r'-cp39-abi3-([^-]+)\.whl$', wheel).group(1)
    assert m.group(1) == plat.split('.')[0], out


@build_tests
def test_wheel_contents(wheel):
    version = _version()
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        metadata = zf.read('diskcache_go-%s.dist-info/METADATA' % version).decode()
        entry_points = zf.read('diskcache_go-%s.dist-info/entry_points.txt' % version).decode()
    suffix = {'darwin': '.dylib', 'win32': '.dll'}.get(sys.platform, '.so')
    assert 'diskcache_go/libdiskcache_go' + suffix in names
    assert any(re.match(r'diskcache_go/_dcg\.[^/]*(abi3|pyd)', name) for name in names), names
    # Type information (PEP 561): py.typed and every stub of the checkout.
    assert 'diskcache_go/py.typed' in names
    stubs = {'diskcache_go/' + os.path.basename(p) for p in glob.glob(os.path.join(PACKAGE, '*.pyi'))}
    assert stubs and stubs <= names, stubs - names
    modules = {'diskcache_go/' + os.path.basename(p) for p in glob.glob(os.path.join(PACKAGE, '*.py'))}
    assert modules <= names, modules - names
    assert not [name for name in names if name.endswith(('.h', '.pyc', '.c', '.o'))]
    # Metadata.
    assert re.search(r'^Version: %s$' % re.escape(version), metadata, re.M)
    assert re.search(r'^Requires-Python: >=3\.9$', metadata, re.M)
    assert re.search(r'^Requires-Dist: cffi>=1\.15', metadata, re.M)
    for minor in SUPPORTED:
        assert 'Classifier: Programming Language :: Python :: %s\n' % minor in metadata
    assert 'Classifier: Typing :: Typed' in metadata
    assert re.search(r'^diskcache-go = diskcache_go\.cli:main$', entry_points, re.M), entry_points


@pytest.fixture(scope='module')
def installed(wheel, tmp_path_factory):
    """A virtualenv of this Python with the wheel installed, Go out of
    sight; returns (bin directory, environment, scratch directory)."""
    where = tmp_path_factory.mktemp('installed')
    bin_dir = _venv(sys.executable, str(where / 'venv'))
    env = _without_go(bin_dir)
    _run([os.path.join(bin_dir, 'python'), '-m', 'pip', 'install', '-q', wheel], cwd=str(where), env=env)
    return bin_dir, env, str(where)


@build_tests
def test_wheel_installs_and_runs_without_go(installed):
    bin_dir, env, cwd = installed
    _smoke(bin_dir, cwd)
    # The installed version is the wheel's, which is _version.py's.
    out = _run([os.path.join(bin_dir, 'python'), '-c',
                'import importlib.metadata as m, diskcache_go; '
                'print(m.version("diskcache-go"), diskcache_go.__version__)'],
               cwd=cwd, env=env)
    assert out.split() == [_version(), _version()]


@build_tests
def test_console_script(installed):
    bin_dir, env, cwd = installed
    has_main = _run([os.path.join(bin_dir, 'python'), '-c',
                     'import importlib.util as u\n'
                     'if u.find_spec("diskcache_go.cli") is None: print("no")\n'
                     'else:\n import diskcache_go.cli as c; print("yes" if callable(getattr(c, "main", None)) else "no")'],
                    cwd=cwd, env=env).strip()
    if has_main != 'yes':
        pytest.skip('diskcache_go.cli has no main() yet: the console script is not tested')
    script = os.path.join(bin_dir, 'diskcache-go')
    assert os.path.exists(script) or os.path.exists(script + '.exe')
    out = _run([script, '--help'], cwd=cwd, env=env)
    assert 'usage' in out.lower(), out


@build_tests
def test_installed_wheel_is_typed(installed):
    """PEP 561: mypy, pointed at the virtualenv (not at the checkout), finds
    the installed package's stubs through py.typed."""
    if importlib.util.find_spec('mypy') is None:
        pytest.skip('mypy is not installed (pip install mypy)')
    bin_dir, env, cwd = installed
    example = os.path.join(cwd, 'typing_example.py')
    shutil.copy(os.path.join(TESTS, 'typing_example.py'), example)
    check_env = {key: value for key, value in os.environ.items() if key not in ('MYPYPATH', 'PYTHONPATH')}
    out = _run([sys.executable, '-m', 'mypy', '--strict', '--no-error-summary', '--cache-dir',
                os.path.join(cwd, 'mypy-cache'), '--python-executable', os.path.join(bin_dir, 'python'),
                example], cwd=cwd, env=check_env)
    assert out.strip() == '', out
    # The example also runs against the installed wheel.
    out = _run([os.path.join(bin_dir, 'python'), example], cwd=cwd, env=env)
    assert 'typing example: ok' in out, out


@build_tests
@pytest.mark.parametrize('minor', [m for m in SUPPORTED if m != '%d.%d' % sys.version_info[:2]])
def test_wheel_on_other_pythons(wheel, tmp_path, minor):
    """The abi3 wheel installs and works on every other supported CPython."""
    python = _other_pythons().get(minor)
    if python is None:
        pytest.skip('no Python %s found (python%s on PATH, or pyenv)' % (minor, minor))
    bin_dir = _venv(python, str(tmp_path / 'venv'))
    _run([os.path.join(bin_dir, 'python'), '-m', 'pip', 'install', '-q', wheel], cwd=str(tmp_path),
         env=_without_go(bin_dir))
    _smoke(bin_dir, str(tmp_path))


# -- the sdist ---------------------------------------------------------------


@pytest.fixture(scope='module')
def sdist(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('sdist'))
    if importlib.util.find_spec('build') is not None:
        _run([sys.executable, '-m', 'build', '--sdist', '--outdir', out, ROOT], cwd=ROOT, timeout=600)
    else:  # setuptools alone
        _run([sys.executable, 'setup.py', '-q', 'sdist', '--dist-dir', out], cwd=ROOT, timeout=600)
    found = glob.glob(os.path.join(out, '*.tar.gz'))
    assert len(found) == 1, found
    return found[0]


@build_tests
def test_sdist_contents(sdist):
    version = _version()
    assert os.path.basename(sdist) == 'diskcache_go-%s.tar.gz' % version
    prefix = 'diskcache_go-%s/' % version
    with tarfile.open(sdist) as tf:
        names = {name[len(prefix):] for name in tf.getnames() if name.startswith(prefix)}
    for required in ['setup.py', 'pyproject.toml', 'MANIFEST.in', 'LICENSE', 'README.md', 'CHANGELOG.md',
                     'go.mod', 'go.sum', 'PKG-INFO', 'python/diskcache_go/py.typed']:
        assert required in names, required
    for directory in ('capi', 'core'):
        sources = {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, directory, '*.go'))}
        assert sources and sources <= names, sources - names
    python = {os.path.relpath(p, ROOT) for pattern in ('*.py', '*.pyi')
              for p in glob.glob(os.path.join(PACKAGE, pattern))}
    assert python <= names, python - names
    built = [name for name in names if name.endswith(('.so', '.dylib', '.dll', '.pyd', '.h', '.pyc'))
             and not name.startswith(('capi/', 'core/'))]
    assert not built, built


@build_tests
def test_sdist_builds_and_installs(sdist, tmp_path):
    if shutil.which('go') is None and not os.environ.get('GO'):
        pytest.skip('installing from the sdist builds the library: it needs the Go toolchain')
    bin_dir = _venv(sys.executable, str(tmp_path / 'venv'))
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK='1', PIP_ROOT_USER_ACTION='ignore')
    env.pop('PYTHONPATH', None)
    _run([os.path.join(bin_dir, 'python'), '-m', 'pip', 'install', '-q', sdist], cwd=str(tmp_path), env=env,
         timeout=600)
    _smoke(bin_dir, str(tmp_path))


# -- the version and the library names ---------------------------------------


def test_version_is_single_sourced():
    """setup.py reads _version.py; __init__ re-exports it; __build__ (the
    hex form python-diskcache also has) must agree with it."""
    import diskcache_go

    version = _version()
    assert diskcache_go.__version__ == version
    assert re.match(r'^\d+\.\d+\.\d+$', version), version
    major, minor, patch = (int(part) for part in version.split('.'))
    assert diskcache_go.__build__ == (major << 16) | (minor << 8) | patch, hex(diskcache_go.__build__)
    setup = _load_setup()
    assert setup.read_version() == version


def _load_builder():
    spec = importlib.util.spec_from_file_location('_dcg_build_for_tests', os.path.join(PACKAGE, '_build.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_setup():
    """setup.py as a module (it calls setup() only when run as __main__)."""
    spec = importlib.util.spec_from_file_location('_dcg_setup_for_tests', os.path.join(ROOT, 'setup.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LIBRARY_NAMES = [
    ('linux', 'libdiskcache_go.so'),
    ('darwin', 'libdiskcache_go.dylib'),
    ('win32', 'libdiskcache_go.dll'),
]


@pytest.mark.parametrize('platform, expected', LIBRARY_NAMES)
def test_library_name_per_platform(platform, expected):
    """The build (_build.py, used by setup.py and build.sh) names the
    library by platform."""
    assert _load_builder().library_filename(platform) == expected


def test_setup_ships_the_platform_library():
    """setup.py ships, and the loader (_ffi.py) loads, the file the build
    names: both ask _build.library_filename()."""
    setup = _load_setup()
    assert setup.LIBRARY == _load_builder().library_filename()
    with open(os.path.join(PACKAGE, '_ffi.py'), encoding='utf-8') as f:
        assert 'LIBNAME = library_filename()' in f.read()


# -- the platform tag (setup.py) ---------------------------------------------


def _native_libraries():
    files = glob.glob(os.path.join(PACKAGE, 'libdiskcache_go.*')) + glob.glob(os.path.join(PACKAGE, '_dcg.*'))
    files = [f for f in files if f.endswith(('.so', '.dylib', '.dll', '.pyd'))]
    if not files:
        pytest.skip('the library is not built (./build.sh build)')
    return files


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='ELF libraries are Linux ones')
def test_elf_dependencies_of_the_built_libraries():
    setup = _load_setup()
    for path in _native_libraries():
        with open(path, 'rb') as f:
            needed, versions = setup.elf_dependencies(f.read())
        assert 'libc.so.6' in needed, (path, needed)
        assert set(needed) <= setup.MANYLINUX_LIBRARIES, (path, needed)
        assert any(library == 'libc.so.6' and name.startswith('GLIBC_2.') for library, name in versions)
    glibc = setup.manylinux_glibc(_native_libraries())
    assert glibc is not None and glibc >= (2, 17)
    # The libraries cannot need a newer glibc than the one they were built on.
    libc = os.confstr('CS_GNU_LIBC_VERSION')
    if libc and libc.startswith('glibc '):
        running = tuple(int(part) for part in libc.split()[1].split('.')[:2])
        assert glibc <= running


def test_platform_tag_rules(tmp_path, monkeypatch):
    setup = _load_setup()
    monkeypatch.delenv('DISKCACHE_GO_WHEEL_PLAT', raising=False)
    not_elf = tmp_path / 'lib.so'
    not_elf.write_bytes(b'not a library')
    # No ELF file: the plain tag stays.
    assert setup.platform_tag('linux_x86_64', [str(not_elf)]) == 'linux_x86_64'
    assert setup.platform_tag('win_amd64', []) == 'win_amd64'
    # An ELF file whose dependencies cannot be read (no section headers):
    # no manylinux claim.
    sectionless = bytearray(64)
    sectionless[:7] = b'\x7fELF\x02\x01\x01'
    assert setup.elf_dependencies(bytes(sectionless)) is None
    stripped = tmp_path / 'stripped.so'
    stripped.write_bytes(bytes(sectionless))
    assert setup.platform_tag('linux_x86_64', [str(stripped)]) == 'linux_x86_64'
    if sys.platform.startswith('linux'):
        libs = _native_libraries()
        glibc = setup.manylinux_glibc(libs)
        arch = sysconfig.get_platform().split('-', 1)[1].replace('-', '_')
        expected = 'manylinux_%d_%d_%s' % (glibc + (arch,))
        assert setup.platform_tag('linux_' + arch, libs).split('.')[0] == expected
    # macOS: the machine's architecture instead of universal2, and at least
    # the macOS version the library was built for.
    macho = tmp_path / 'libdiskcache_go.dylib'
    header = struct.pack('<IiiIIII', 0xFEEDFACF, 0x0100000C, 0, 6, 1, 24, 0) + b'\0' * 4
    build_version = struct.pack('<IIIIII', 0x32, 24, 1, (12 << 16) | (3 << 8), 14 << 16, 0)
    macho.write_bytes(header + build_version)
    assert setup.macho_min_macos(macho.read_bytes()) == (12, 3)
    assert setup.platform_tag('macosx_10_9_universal2', [str(macho)], machine='arm64') == 'macosx_12_0_arm64'
    old = tmp_path / 'old.dylib'
    old.write_bytes(header + struct.pack('<IIII', 0x24, 16, (10 << 16) | (15 << 8), 0))
    assert setup.platform_tag('macosx_10_9_x86_64', [str(old)]) == 'macosx_10_15_x86_64'
    # The override.
    monkeypatch.setenv('DISKCACHE_GO_WHEEL_PLAT', 'linux_x86_64')
    assert setup.platform_tag('linux_x86_64', _native_libraries() if sys.platform.startswith('linux') else []) \
        == 'linux_x86_64'
