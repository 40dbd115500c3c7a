"""Packaging: the wheel, the sdist, the version and the library names.

* ``pip wheel .`` builds one ``cp39-abi3`` wheel with a manylinux tag (on
  glibc Linux; the tag is what auditwheel finds, when it is installed) that
  ships the library, the extension, py.typed and the stubs;
* the wheel installs into a fresh virtualenv with no Go toolchain on PATH
  and passes a smoke test run from outside the repository, under this
  Python and under every other supported CPython found on the machine
  (python3.X on PATH, or pyenv's versions);
* the sdist carries the Go and Python sources and the Go modules
  (``vendor/``), and ``pip install`` builds it, also with no network at all
  (Go's proxy off, an empty module cache, pip ``--no-index``);
* the build helper (``_build.py``) prints its progress and says in one
  sentence what to install or set when Go is missing or too old, the C
  compiler is missing or a Go module can not be downloaded (fake ``go``
  scripts on PATH);
* the version has one source, and the library is named per platform.

The build tests need pip to reach the package index (build isolation, and
the wheels the offline install uses) and Go to reach its module proxy (or a
filled module cache) to vendor the modules into the sdist; set
``DISKCACHE_GO_SKIP_PACKAGING=1`` to skip them offline. They take one to two
minutes (the offline sdist install about 20 s with Go's build cache warm, 45 s
cold).
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
    spec = importlib.util.find_spec('build')
    # (A build/ directory of setuptools in the working directory is found as
    # a namespace package, with no origin: that is not pypa's build.)
    if spec is not None and spec.origin not in (None, 'namespace'):
        _run([sys.executable, '-m', 'build', '--sdist', '--outdir', out, ROOT], cwd=ROOT, timeout=600)
    else:  # setuptools alone
        _run([sys.executable, 'setup.py', '-q', 'sdist', '--dist-dir', out], cwd=ROOT, timeout=600)
    found = glob.glob(os.path.join(out, '*.tar.gz'))
    assert len(found) == 1, found
    return found[0]


@build_tests
def test_sdist_contents(sdist):
    version = _version()
    # PEP 625's name (setuptools >= 69.3, which `python -m build` installs);
    # an older setuptools (the fallback without build) keeps the dash.
    base = os.path.basename(sdist)
    assert base in ('diskcache_go-%s.tar.gz' % version, 'diskcache-go-%s.tar.gz' % version), base
    prefix = base[:-len('.tar.gz')] + '/'
    with tarfile.open(sdist) as tf:
        names = {name[len(prefix):] for name in tf.getnames() if name.startswith(prefix)}
    for required in ['setup.py', 'pyproject.toml', 'MANIFEST.in', 'LICENSE', 'README.md', 'CHANGELOG.md',
                     'go.mod', 'go.sum', 'PKG-INFO', 'python/diskcache_go/py.typed']:
        assert required in names, required
    # The Go modules the build needs (go mod vendor), so that it needs no
    # network: one package directory per module required by go.mod.
    assert 'vendor/modules.txt' in names
    with open(os.path.join(ROOT, 'go.mod'), encoding='utf-8') as f:
        required_modules = re.findall(r'^\s*(?:require\s+)?([\w.~-]+(?:/[\w.~-]+)+)\s+v\S+', f.read(), re.M)
    assert required_modules
    for module in required_modules:
        assert any(name.startswith('vendor/%s/' % module) and name.endswith('.go') for name in names), module
    for directory in ('capi', 'core'):
        sources = {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, directory, '*.go'))}
        assert sources and sources <= names, sources - names
    python = {os.path.relpath(p, ROOT) for pattern in ('*.py', '*.pyi', '_c/*.c', '_c/*.h')
              for p in glob.glob(os.path.join(PACKAGE, pattern))}
    assert any(name.endswith('.c') for name in python)
    assert python <= names, python - names
    # The extension's C and the ABI header it is compiled against.
    assert 'capi/diskcache_go.h' in names
    built = [name for name in names if name.endswith(('.so', '.dylib', '.dll', '.pyd', '.h', '.pyc'))
             and not name.startswith(('capi/', 'core/', 'vendor/', 'python/diskcache_go/_c/'))]
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


# The Go variables a user's environment may set that would change where the
# offline install looks for modules; the offline test replaces them all.
GO_NETWORK_VARS = ('GOPROXY', 'GOFLAGS', 'GOMODCACHE', 'GONOSUMDB', 'GONOPROXY', 'GOPRIVATE', 'GOSUMDB',
                   'GOINSECURE', 'GOTOOLCHAIN', 'GOVCS')
PROXY_VARS = ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy')


@pytest.fixture(scope='module')
def build_wheelhouse(tmp_path_factory):
    """Wheels of setuptools, wheel and cffi (with pycparser), downloaded
    while the network is allowed: what a user brings to an offline machine."""
    out = str(tmp_path_factory.mktemp('build-wheelhouse'))
    _run([sys.executable, '-m', 'pip', 'download', '--disable-pip-version-check', '--only-binary', ':all:',
          '--dest', out, 'setuptools>=64', 'wheel', 'cffi>=1.15'], timeout=300)
    return out


def _offline_env(bin_dir, modcache):
    """An environment with no network for Go or pip: Go's module proxy off,
    an empty module cache, every HTTP proxy pointing at a closed port, pip
    limited to local files. Go's build cache (GOCACHE) stays: it holds
    compiled packages, never downloads."""
    env = {key: value for key, value in os.environ.items()
           if key not in GO_NETWORK_VARS and key.lower() not in PROXY_VARS
           and not key.startswith(('PIP_', 'PYTHON', 'VIRTUAL_ENV'))}
    dead = 'http://127.0.0.1:9'
    env.update(GOPROXY='off', GOMODCACHE=modcache, GOTOOLCHAIN='local',
               http_proxy=dead, https_proxy=dead, all_proxy=dead, HTTP_PROXY=dead, HTTPS_PROXY=dead,
               ALL_PROXY=dead, PIP_NO_INDEX='1', PIP_DISABLE_PIP_VERSION_CHECK='1',
               PIP_ROOT_USER_ACTION='ignore')
    env['PATH'] = os.pathsep.join([bin_dir, os.environ.get('PATH', '')])
    return env


@build_tests
def test_sdist_installs_offline(sdist, build_wheelhouse, tmp_path):
    """The sdist carries the Go modules it needs (vendor/), so it installs
    with no network at all: Go's proxy off and an empty module cache, pip
    with --no-index and --no-build-isolation (setuptools, wheel and cffi
    come from wheels downloaded beforehand). Without vendor/ in the sdist,
    go build stops with "module lookup disabled by GOPROXY=off"."""
    if shutil.which('go') is None and not os.environ.get('GO'):
        pytest.skip('installing from the sdist builds the library: it needs the Go toolchain')
    modcache = tmp_path / 'empty-gomodcache'
    modcache.mkdir()
    bin_dir = _venv(sys.executable, str(tmp_path / 'venv'))
    python = os.path.join(bin_dir, 'python')
    env = _offline_env(bin_dir, str(modcache))
    _run([python, '-m', 'pip', 'install', '-q', '--no-index', '--find-links', build_wheelhouse,
          'setuptools>=64', 'wheel', 'cffi>=1.15'], cwd=str(tmp_path), env=env)
    out = _run([python, '-m', 'pip', 'install', '-v', '--no-cache-dir', '--no-index', '--no-build-isolation', sdist],
               cwd=str(tmp_path), env=env, timeout=600)
    # pip -v shows the build's progress lines, which say where the modules came from.
    assert 'diskcache-go: building the Go library' in out, out
    assert 'Go modules from vendor/' in out, out
    assert os.listdir(str(modcache)) == [], 'Go downloaded into the empty module cache'
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
    ('win32', 'diskcache_go.dll'),
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


# -- the build helper's progress and messages (_build.py) --------------------
#
# A build from source needs Go, a C compiler and (outside an sdist) Go's
# modules; each missing piece is reported in one sentence saying what to
# install or set. Fake `go` scripts on PATH stand in for a too old Go and for
# a failed download.

FAKE_GO = r"""#!/bin/sh
# A stand-in for go: `env GOVERSION`, `env CC`, `build` and `mod vendor`.
[ -n "$FAKE_GO_LOG" ] && echo "$*" >> "$FAKE_GO_LOG"
case "$1 $2" in
"env GOVERSION") echo "%(version)s"; exit 0 ;;
"env CC") echo "${CC:-gcc}"; exit 0 ;;
esac
%(build)s
"""

# What go build prints when the module proxy is off and the module cache
# lacks the modules (copied from Go 1.26).
GOPROXY_OFF_OUTPUT = """go: downloading github.com/cespare/xxhash/v2 v2.3.0
go: downloading github.com/pierrec/lz4/v4 v4.1.33
core/compact.go:6:2: module lookup disabled by GOPROXY=off
core/compress.go:7:2: module lookup disabled by GOPROXY=off"""

# A successful build: write the file named by -o (after sleeping $FAKE_GO_SLEEP).
FAKE_BUILD_OK = r"""if [ "$1" = build ]; then
    [ -n "$FAKE_GO_SLEEP" ] && sleep "$FAKE_GO_SLEEP"
    while [ $# -gt 0 ]; do
        if [ "$1" = -o ]; then : > "$2"; fi
        shift
    done
    exit 0
fi
exit 2
"""


def _fake_go(tmp_path, monkeypatch, version='go1.26.0', build=FAKE_BUILD_OK):
    """Put a fake `go` first on PATH (and unset $GO); returns its path."""
    bin_dir = tmp_path / 'fake-bin'
    bin_dir.mkdir(exist_ok=True)
    go = bin_dir / 'go'
    go.write_text(FAKE_GO % {'version': version, 'build': build})
    go.chmod(0o755)
    monkeypatch.setenv('PATH', '%s%s%s' % (bin_dir, os.pathsep, os.environ.get('PATH', '')))
    monkeypatch.delenv('GO', raising=False)
    monkeypatch.delenv('CC', raising=False)
    return str(go)


def _module_root(tmp_path, vendor=False):
    """A minimal module root: go.mod and capi/ (and vendor/modules.txt)."""
    root = tmp_path / 'module'
    (root / 'capi').mkdir(parents=True)
    (root / 'go.mod').write_text('module example.com/m\n\ngo 1.22\n')
    if vendor:
        (root / 'vendor').mkdir()
        (root / 'vendor' / 'modules.txt').write_text('# github.com/cespare/xxhash/v2 v2.3.0\n')
    return str(root)


def test_build_message_go_too_old(tmp_path, monkeypatch):
    builder = _load_builder()
    go = _fake_go(tmp_path, monkeypatch, version='go1.21.13')
    with pytest.raises(builder.BuildError) as info:
        builder.build_library(str(tmp_path / 'out'), module_root=_module_root(tmp_path))
    message = str(info.value)
    assert message == ('diskcache-go needs Go >= 1.22 to build from source; install it from '
                       'https://go.dev/dl/ (or with your package manager) or set $GO to a go binary '
                       '(found Go 1.21 at %s).' % go), message
    assert not os.path.exists(str(tmp_path / 'out' / builder.library_filename()))


def test_build_message_go_missing(tmp_path, monkeypatch):
    builder = _load_builder()
    empty = tmp_path / 'empty-bin'
    empty.mkdir()
    monkeypatch.setenv('PATH', str(empty))
    monkeypatch.delenv('GO', raising=False)
    with pytest.raises(builder.BuildError) as info:
        builder.build_library(str(tmp_path / 'out'), module_root=_module_root(tmp_path))
    assert str(info.value).startswith('diskcache-go needs Go >= 1.22 to build from source; install it from '
                                      'https://go.dev/dl/'), info.value
    assert str(info.value).endswith('(`go` is not on PATH).'), info.value
    monkeypatch.setenv('GO', str(tmp_path / 'no-such-go'))
    with pytest.raises(builder.BuildError) as info:
        builder.find_go()
    assert 'is not an executable' in str(info.value) and 'https://go.dev/dl/' in str(info.value)


def test_build_message_c_compiler_missing(tmp_path, monkeypatch):
    builder = _load_builder()
    _fake_go(tmp_path, monkeypatch)
    missing = str(tmp_path / 'no-such-dir' / 'cc')
    monkeypatch.setenv('CC', missing)
    log = tmp_path / 'go.log'
    monkeypatch.setenv('FAKE_GO_LOG', str(log))
    with pytest.raises(builder.BuildError) as info:
        builder.build_library(str(tmp_path / 'out'), module_root=_module_root(tmp_path))
    message = str(info.value)
    assert message == ('diskcache-go needs a C compiler (gcc or clang) for cgo and its cffi extension; '
                       'install one (apt-get install gcc, dnf install gcc, apk add build-base, or '
                       'xcode-select --install on macOS) or set $CC to it (CC=%s, which was not found).'
                       % missing), message
    assert 'build' not in log.read_text().split(), 'go build ran although the compiler is missing'
    # No $CC: the compiler Go would use by default (`go env CC`) is looked up.
    monkeypatch.delenv('CC')
    empty = tmp_path / 'bin-without-gcc'
    empty.mkdir()
    monkeypatch.setenv('PATH', '%s%s%s' % (tmp_path / 'fake-bin', os.pathsep, empty))
    with pytest.raises(builder.BuildError) as info:
        builder.build_library(str(tmp_path / 'out'), module_root=_module_root(tmp_path / 'again'))
    assert str(info.value).startswith('diskcache-go needs a C compiler (gcc or clang)'), info.value
    assert str(info.value).endswith('(gcc, the compiler Go uses by default, is not on PATH).'), info.value


def test_build_message_c_compiler_missing_real_go(tmp_path, monkeypatch):
    """The same check with the real Go toolchain: CC names a missing compiler."""
    if shutil.which('go') is None:
        pytest.skip('needs the Go toolchain')
    builder = _load_builder()
    monkeypatch.delenv('GO', raising=False)
    monkeypatch.setenv('CC', str(tmp_path / 'missing-cc'))
    with pytest.raises(builder.BuildError) as info:
        builder.build_library(str(tmp_path / 'out'), module_root=ROOT)
    assert str(info.value).startswith('diskcache-go needs a C compiler (gcc or clang)'), info.value


def test_build_message_module_download_failed(tmp_path, monkeypatch):
    builder = _load_builder()
    _fake_go(tmp_path, monkeypatch, build='echo "%s"\nexit 1\n' % GOPROXY_OFF_OUTPUT)
    with pytest.raises(builder.BuildError) as info:
        builder.build_library(str(tmp_path / 'out'), module_root=_module_root(tmp_path))
    sentence, _, rest = str(info.value).partition('\n')
    assert sentence == ('Go could not download the modules github.com/cespare/xxhash/v2@v2.3.0, '
                        'github.com/pierrec/lz4/v4@v4.1.33 that diskcache-go needs; set GOPROXY (and '
                        'HTTPS_PROXY if you are behind an HTTP proxy) so that Go can reach a module proxy, '
                        'or install from the sdist, which carries the modules.'), sentence
    assert 'module lookup disabled by GOPROXY=off' in rest  # Go's own output follows
    # A proxy that can not be reached: Go names the module in the error line.
    output = ('core/compact.go:6:2: github.com/cespare/xxhash/v2@v2.3.0: Get '
              '"https://proxy.example/github.com/cespare/xxhash/v2/@v/v2.3.0.zip": dial tcp: lookup '
              'proxy.example: no such host')
    assert builder.failed_modules(output) == ['github.com/cespare/xxhash/v2@v2.3.0']
    assert builder.failed_modules('capi/capi.go:3:2: undefined: foo') == []


def test_build_message_module_download_failed_real_go(tmp_path, monkeypatch):
    """The real Go toolchain in this checkout (which has no vendor/), with
    the module proxy off and an empty module cache."""
    if shutil.which('go') is None:
        pytest.skip('needs the Go toolchain')
    builder = _load_builder()
    if builder.vendored(ROOT):
        pytest.skip('this source tree carries vendor/: the build does not download')
    monkeypatch.delenv('GO', raising=False)
    monkeypatch.setenv('GOPROXY', 'off')
    monkeypatch.setenv('GOFLAGS', '-mod=mod')
    monkeypatch.setenv('GOMODCACHE', str(tmp_path / 'empty-modcache'))
    with pytest.raises(builder.BuildError) as info:
        builder.build_library(str(tmp_path / 'out'), module_root=ROOT)
    assert str(info.value).startswith('Go could not download the modules github.com/'), info.value
    assert 'or install from the sdist, which carries the modules.' in str(info.value).split('\n')[0]


@pytest.mark.parametrize('vendor', [False, True])
def test_build_uses_vendor_when_present(tmp_path, monkeypatch, vendor):
    """-mod=vendor when the source tree carries vendor/ (an sdist), Go's
    module mode otherwise (a git checkout)."""
    builder = _load_builder()
    _fake_go(tmp_path, monkeypatch)
    log = tmp_path / 'go.log'
    monkeypatch.setenv('FAKE_GO_LOG', str(log))
    built = builder.build_library(str(tmp_path / 'out'), module_root=_module_root(tmp_path, vendor=vendor))
    assert os.path.isfile(built)
    build_args = [line.split() for line in log.read_text().splitlines() if line.startswith('build ')]
    assert len(build_args) == 1, log.read_text()
    assert ('-mod=vendor' in build_args[0]) == vendor, build_args


def test_build_prints_progress(tmp_path, monkeypatch, capsys):
    """While go build runs, a line every PROGRESS_INTERVAL seconds: pip
    hides the build's output unless -v, but turns its spinner on each line."""
    builder = _load_builder()
    _fake_go(tmp_path, monkeypatch)
    monkeypatch.setenv('FAKE_GO_SLEEP', '1')
    monkeypatch.setattr(builder, 'PROGRESS_INTERVAL', 0.2)
    builder.build_library(str(tmp_path / 'out'), module_root=_module_root(tmp_path))
    out = capsys.readouterr().out
    assert 'diskcache-go: building the Go library %s' % builder.library_filename() in out, out
    assert "diskcache-go: using the Go modules from Go's module cache, downloading any it lacks" in out, out
    assert out.count('diskcache-go: still building the Go library (') >= 2, out
    assert 'diskcache-go: built ' in out, out


def test_vendor_modules_copies_an_sdists_vendor(tmp_path):
    """An sdist made from an unpacked sdist keeps its vendor/ (no Go run)."""
    builder = _load_builder()
    root = _module_root(tmp_path, vendor=True)
    dest = str(tmp_path / 'release' / 'vendor')
    builder.vendor_modules(dest, module_root=root, verbose=False)
    with open(os.path.join(dest, 'modules.txt')) as f:
        assert 'xxhash' in f.read()


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
