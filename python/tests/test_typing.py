"""The package's type information: the .pyi stubs and py.typed.

* ``mypy --strict`` is clean on ``typing_example.py``, a program that uses
  every class, and on the stubs themselves, for the running Python and for
  Python 3.9 (the oldest supported; mypy 2 can no longer target it, so that
  case is skipped under mypy >= 2);
* mypy reports the errors it should on misuse (so the stubs are really read,
  and the decorators keep the wrapped function's signature);
* ``mypy.stubtest`` finds the stubs in agreement with the runtime modules
  (every public name typed, with the runtime's parameters);
* the example program also runs.

Whether the wheel ships py.typed and the stubs is checked in
test_packaging.py, which builds the wheel. The tests need mypy (a test
dependency); without it they are skipped.
"""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip('mypy', reason='mypy is not installed (pip install mypy): the type checks need it')

TESTS = os.path.dirname(os.path.abspath(__file__))
PYTHON_SRC = os.path.dirname(TESTS)
PACKAGE = os.path.join(PYTHON_SRC, 'diskcache_go')
EXAMPLE = os.path.join(TESTS, 'typing_example.py')
ALLOWLIST = os.path.join(TESTS, 'stubtest_allowlist.txt')
STUBS = sorted(name for name in os.listdir(PACKAGE) if name.endswith('.pyi'))

# Both targets: the running Python, and the oldest one the package supports.
TARGETS = [None, '3.9']


@pytest.fixture(scope='module')
def mypy(tmp_path_factory):
    """Run mypy on the in-tree package (MYPYPATH), from a scratch directory
    with its own cache; returns the CompletedProcess."""
    cache_dir = str(tmp_path_factory.mktemp('mypy-cache'))
    workdir = str(tmp_path_factory.mktemp('mypy-cwd'))

    def run(*args, target=None):
        cmd = [sys.executable, '-m', 'mypy', '--strict', '--cache-dir', cache_dir,
               '--no-error-summary', '--hide-error-context']
        if target is not None:
            cmd += ['--python-version', target]
        env = dict(os.environ, MYPYPATH=PYTHON_SRC)
        env.pop('PYTHONPATH', None)
        proc = subprocess.run(cmd + list(args), cwd=workdir, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
        if target is not None and 'is not supported' in proc.stdout and proc.returncode == 2:
            pytest.skip('this mypy cannot target Python %s (%s); install mypy<2 to check it'
                        % (target, proc.stdout.strip().splitlines()[-1]))
        return proc

    return run


def test_stub_files_exist():
    modules = ['__init__', '_version', 'core', 'djangocache', 'fanout', 'fanoutindex', 'fastcache',
               'persistent', 'pyimport', 'recipes']
    missing = set(modules) - {name[:-4] for name in STUBS}
    assert not missing, 'modules without a .pyi stub: %s' % sorted(missing)
    assert os.path.isfile(os.path.join(PACKAGE, 'py.typed'))


@pytest.mark.parametrize('target', TARGETS, ids=['running-python', 'python3.9'])
def test_example_is_strict_clean(mypy, target):
    proc = mypy(EXAMPLE, target=target)
    assert proc.returncode == 0 and proc.stdout.strip() == '', proc.stdout


@pytest.mark.parametrize('target', TARGETS, ids=['running-python', 'python3.9'])
def test_stubs_are_strict_clean(mypy, target):
    proc = mypy(*[os.path.join(PACKAGE, name) for name in STUBS], target=target)
    assert proc.returncode == 0 and proc.stdout.strip() == '', proc.stdout


MISUSE = textwrap.dedent('''\
    import diskcache_go as dc

    cache = dc.Cache()

    @cache.memoize()
    def square(number: int) -> int:
        return number * number

    @dc.throttle(cache, 1, 1)
    def named(a: int, *, b: str) -> None: ...

    square('x')
    cache.set('a', 1, expire='soon')
    dc.Deque(maxlen='x')
    text: str = square(2)
    named(1, b=2)
    key: int = square.__cache_key__(1)
    missing: int = dc.FanoutCache().incr('n')
    cache.no_such_method()
    ''')

# (line, text the error must contain) for each line of MISUSE that is wrong.
EXPECTED_ERRORS = [
    (12, 'Argument 1 to "__call__" of "_Memoized" has incompatible type "str"; expected "int"'),
    (13, 'Argument "expire" to "set" of "Cache" has incompatible type "str"; expected "float | None"'),
    (14, 'Argument "maxlen" to "Deque" has incompatible type "str"; expected "float | None"'),
    (15, 'Incompatible types in assignment (expression has type "int", variable has type "str")'),
    (16, 'Argument "b" to "named" has incompatible type "int"; expected "str"'),
    (17, 'expression has type "tuple[Any, ...]", variable has type "int"'),
    (18, 'expression has type "int | None", variable has type "int"'),
    (19, '"Cache" has no attribute "no_such_method"'),
]


def test_misuse_is_reported(mypy, tmp_path):
    path = tmp_path / 'misuse.py'
    path.write_text(MISUSE)
    proc = mypy(str(path))
    errors = [line for line in proc.stdout.splitlines() if ': error: ' in line]
    for number, text in EXPECTED_ERRORS:
        assert any(line.startswith('%s:%d:' % (path, number)) and text in line for line in errors), (
            'no error %r on line %d:\n%s' % (text, number, proc.stdout))
    assert len(errors) == len(EXPECTED_ERRORS), proc.stdout


def test_stubs_match_runtime(tmp_path):
    """mypy.stubtest imports the package (the built library must be there)
    and compares every public name with its stub."""
    pytest.importorskip('diskcache_go._dcg', reason='the extension is not built (./build.sh build)')
    config = tmp_path / 'stubtest.ini'
    # Modules without stubs are checked as they are: keep their own type
    # errors (untyped internals) out of this test.
    config.write_text(textwrap.dedent('''\
        [mypy]
        [mypy-diskcache_go._ffi,diskcache_go._ffi_build,diskcache_go._build,diskcache_go._binding,diskcache_go._settings,diskcache_go._trust,diskcache_go._disk,diskcache_go._memo,diskcache_go._cache,diskcache_go._cache_queue,diskcache_go._cache_scan,diskcache_go.cli,diskcache_go.migrate,diskcache_go.__main__]
        ignore_errors = True
        ignore_missing_imports = True
        '''))
    env = dict(os.environ, MYPYPATH=PYTHON_SRC, PYTHONPATH=PYTHON_SRC)
    proc = subprocess.run(
        [sys.executable, '-m', 'mypy.stubtest', '--mypy-config-file', str(config),
         '--allowlist', ALLOWLIST, '--ignore-unused-allowlist', 'diskcache_go'],
        cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stdout


def test_example_runs(tmp_path):
    env = dict(os.environ, PYTHONPATH=PYTHON_SRC)
    proc = subprocess.run([sys.executable, EXAMPLE], cwd=str(tmp_path), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=120)
    assert proc.returncode == 0 and 'typing example: ok' in proc.stdout, proc.stdout
