"""Shared harness for the differential tests of diskcache-go.

The candidate module is named by the environment variable
``DISKCACHE_GO_TEST_IMPL`` (default ``diskcache_go``).  Running the suite
with ``DISKCACHE_GO_TEST_IMPL=diskcache`` makes the candidate the reference
itself, which validates the tests.

Fixtures provided here:

* ``impl``        -- the candidate module (session scope).
* ``refmod``      -- the reference module, ``diskcache`` 5.6.3.
* ``clock``       -- a mutable fake ``time.time`` (patched for the test).
* ``make_pair``   -- factory ``make_pair(**settings) -> (ref, new)``; caches
                     live in fresh temp directories and are closed at
                     teardown.  ``make_pair.reopen(ref, new, **settings)``
                     opens new Cache objects on the same two directories.
* ``pair``        -- ``make_pair()`` with default settings, or with the
                     settings given by ``@pytest.mark.cache_settings(...)``.
* ``both``        -- the comparison helper ``both(ref, new, fn)``.
* ``outcome``     -- ``outcome(fn, *args)`` capturing result or exception.
* ``count_val_files`` -- number of ``*.val`` files below a directory.
* ``harness``     -- all helpers above as one namespace.

The fake clock: both implementations must read ``time.time()`` through the
``time`` module at call time (spec, notation paragraph and checklist 9),
so patching ``time.time`` makes every expiry computation exact.
"""

import importlib
import os
import pathlib
import shutil
import sys
import tempfile
import types
from unittest import mock

import pytest

import diskcache as _reference

IMPL_ENV = 'DISKCACHE_GO_TEST_IMPL'
REFERENCE_TMP_ENV = 'DISKCACHE_GO_TEST_REFERENCE_TMP'
DEFAULT_IMPL = 'diskcache_go'

# An integral epoch value: adding integral or dyadic offsets stays exact.
CLOCK_START = 1_700_000_000.0

# Messages of these exception types are not part of the contract (spec
# section 3 and 5.5 name only the type), so by default only their type is
# compared.  Everything else (KeyError in particular) compares ``args`` too.
TYPE_ONLY_EXCEPTIONS = ('TypeError', 'OverflowError')


PYTHON_SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_impl():
    """Import the candidate; if it is not installed, fall back to the
    in-tree package (``python/`` of this repository)."""
    name = os.environ.get(IMPL_ENV, DEFAULT_IMPL)
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name.split('.')[0] or PYTHON_SRC in sys.path:
            raise
    sys.path.append(PYTHON_SRC)
    return importlib.import_module(name)


class FakeClock:
    """A callable replacing ``time.time``; advanced explicitly by tests."""

    def __init__(self, start=CLOCK_START):
        self.now = float(start)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds
        return self.now

    def set(self, value):
        self.now = float(value)
        return self.now


def normalize(value):
    """Type-tagged, comparable form of a result.

    ``1 == 1.0 == True`` in Python, so plain equality would hide type
    differences; this keeps the exact type name at every level.
    """
    if isinstance(value, (list, tuple)):
        name = type(value).__name__
        if name == 'Stats' and type(value).__module__.endswith('.core'):
            # stats()'s named tuple (diskcache_rs's stats().hits): a tuple
            # equal to python-diskcache's, different only by design in name.
            name = 'tuple'
        return (name, [normalize(v) for v in value])
    if isinstance(value, dict):
        return (
            type(value).__name__,
            [(normalize(k), normalize(v)) for k, v in value.items()],
        )
    if isinstance(value, float) and value != value:
        return ('float', 'nan')
    if isinstance(value, BaseException):
        return ('exception', type(value).__name__, normalize(value.args))
    return (type(value).__name__, value)


def outcome(fn, *args, exc_args=None):
    """Run ``fn(*args)``; return ``('ok', normalized result)`` or
    ``('raise', exception type name, normalized args)``.

    ``exc_args``: ``True`` always compares args, ``False`` never, ``None``
    compares args except for ``TYPE_ONLY_EXCEPTIONS``.
    """
    try:
        result = fn(*args)
    except Exception as exc:  # captured for comparison, never swallowed
        name = type(exc).__name__
        keep = exc_args
        if keep is None:
            keep = name not in TYPE_ONLY_EXCEPTIONS
        return ('raise', name, normalize(exc.args) if keep else None)
    return ('ok', normalize(result))


def both(ref, new, fn, exc_args=None):
    """Run ``fn(ref)`` and ``fn(new)``, assert identical outcomes.

    Returns the reference outcome in raw form: the plain result, or the
    exception instance raised by the reference (so a test may assert on it).
    """
    try:
        raw = fn(ref)
    except Exception as exc:  # captured for comparison, never swallowed
        raw = exc
        name = type(exc).__name__
        keep = exc_args
        if keep is None:
            keep = name not in TYPE_ONLY_EXCEPTIONS
        expected = ('raise', name, normalize(exc.args) if keep else None)
    else:
        expected = ('ok', normalize(raw))
    actual = outcome(fn, new, exc_args=exc_args)
    assert actual == expected, (
        'candidate differs from reference:\n  reference: %r\n  candidate: %r'
        % (expected, actual)
    )
    return raw


def count_val_files(directory):
    total = 0
    for _root, _dirs, files in os.walk(directory):
        total += sum(1 for name in files if name.endswith('.val'))
    return total


def pytest_configure(config):
    config.addinivalue_line(
        'markers',
        'cache_settings(**kw): settings passed to both caches of the `pair`'
        ' fixture',
    )


@pytest.fixture(scope='session')
def impl():
    return load_impl()


@pytest.fixture(scope='session')
def refmod():
    return _reference


@pytest.fixture
def clock():
    fake = FakeClock()
    with mock.patch('time.time', fake):
        yield fake


@pytest.fixture
def make_pair(impl, clock, tmp_path):
    created = []
    counter = [0]
    # The reference is the oracle, not under test: tests/sshfs/run.sh keeps
    # its caches on a local disk (this variable) while the candidate's are
    # on sshfs, which halves the time of the differential tests there.
    ref_root = tmp_path
    local_root = os.environ.get(REFERENCE_TMP_ENV)
    if local_root:
        ref_root = pathlib.Path(tempfile.mkdtemp(dir=local_root))

    def factory(**settings):
        counter[0] += 1
        n = counter[0]
        ref_dir = ref_root / ('ref%d' % n)
        new_dir = tmp_path / ('new%d' % n)
        ref = _reference.Cache(str(ref_dir), **settings)
        created.append(ref)
        new = impl.Cache(str(new_dir), **settings)
        created.append(new)
        return ref, new

    def reopen(ref, new, **settings):
        """Open second Cache objects on the directories of ``ref``/``new``."""
        ref2 = _reference.Cache(ref.directory, **settings)
        created.append(ref2)
        new2 = impl.Cache(new.directory, **settings)
        created.append(new2)
        return ref2, new2

    factory.reopen = reopen

    yield factory

    for cache in created:
        cache.close()
    if local_root:
        shutil.rmtree(str(ref_root))


@pytest.fixture
def pair(request, make_pair):
    marker = request.node.get_closest_marker('cache_settings')
    settings = dict(marker.kwargs) if marker else {}
    return make_pair(**settings)


@pytest.fixture(name='both')
def both_fixture():
    return both


@pytest.fixture(name='outcome')
def outcome_fixture():
    return outcome


@pytest.fixture
def harness():
    """The helpers as one namespace, for code that cannot import conftest
    (e.g. a hypothesis state machine)."""
    return types.SimpleNamespace(
        FakeClock=FakeClock,
        both=both,
        outcome=outcome,
        normalize=normalize,
        count_val_files=count_val_files,
        reference=_reference,
    )


@pytest.fixture(name='count_val_files')
def count_val_files_fixture():
    return count_val_files
