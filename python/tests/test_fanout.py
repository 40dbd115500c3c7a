"""Differential tests of FanoutCache (spec sections 6, 3 and 12).

Every scenario runs on the reference ``diskcache.FanoutCache`` and on the
candidate's ``FanoutCache`` (the module named by ``DISKCACHE_GO_TEST_IMPL``,
see conftest.py) and compares results and exceptions with ``both``.  Paths
are compared relative to each fanout's own directory.  Timeouts are
simulated by replacing a shard object's method, identically on both sides.

The cross-process test runs on the candidate alone: 4 ``spawn``-ed processes
increment counters through one FanoutCache directory, and a fresh process
then reads the same items.
"""

import importlib
import itertools
import multiprocessing
import os
import os.path as op
import pathlib
import pickle
import shutil
import sqlite3
import sys
import threading

import pytest

import diskcache as reference

TESTS_DIR = op.dirname(op.abspath(__file__))
SHARD_NAMES = ['%03d' % n for n in range(8)]

# Keys of many storage classes: native str/bytes/int/float, and pickled
# ones (None, bool, tuples, ints beyond int64, str subclass values).
ROUTING_KEYS = (
    ['k%d' % n for n in range(40)]
    + [b'b%d' % n for n in range(20)]
    + list(range(-10, 30))
    + [n + 0.5 for n in range(20)]
    + [2**63, -2**63 - 1, 2**80, None, True, False, (), ('t', 1), (1, 2.5, 'x')]
    + ['', b'', 1e300, 'é\u2603', 'x' * 1000]
)


# -- fixtures and helpers ----------------------------------------------------


def ref_hash(key):
    """The reference's routing hash, with the Disk settings a Cache uses."""
    disk = reference.Disk(None, min_file_size=2**15, pickle_protocol=pickle.HIGHEST_PROTOCOL)
    return disk.hash(key)


@pytest.fixture
def make_fanouts(impl, clock, tmp_path):
    """``make_fanouts(per_module=None, **kwargs) -> (ref, new)``.

    ``per_module(module)`` may return extra keyword arguments that must be
    built from each module (a Disk class, for instance).  Everything made
    here is closed at teardown.
    """
    created = []
    counter = itertools.count(1)

    def factory(per_module=None, **kwargs):
        n = next(counter)
        out = []
        for label, module in (('ref', reference), ('new', impl)):
            extra = dict(kwargs)
            if per_module is not None:
                extra.update(per_module(module))
            fanout = module.FanoutCache(str(tmp_path / ('%s%d' % (label, n))), **extra)
            created.append(fanout)
            out.append(fanout)
        return tuple(out)

    factory.created = created
    yield factory
    for fanout in created:
        fanout.close()


@pytest.fixture
def fanouts(make_fanouts):
    return make_fanouts()


def module_of(fanout):
    """The diskcache-like module a FanoutCache object comes from."""
    return importlib.import_module(type(fanout).__module__.rsplit('.', 1)[0])


def rel(fanout, path):
    return op.relpath(path, fanout.directory)


def shard_index(fanout, key):
    """Indexes of the shards that hold ``key`` (live)."""
    return [i for i, shard in enumerate(fanout._shards) if key in shard]


def patch_method(monkeypatch, fanout, name, behaviour, shards=None):
    """Replace ``name`` on the shard objects (all, or the given indexes).

    ``behaviour(original, index, calls, *args, **kwargs)`` runs instead of
    the method; ``calls`` is the list of earlier calls of that shard.
    Returns the call log: ``[(index, args, kwargs), ...]``.
    """
    log = []
    indexes = range(len(fanout._shards)) if shards is None else shards
    for index in indexes:
        shard = fanout._shards[index]
        original = getattr(shard, name)

        def replacement(*args, _original=original, _index=index, **kwargs):
            calls = [entry for entry in log if entry[0] == _index]
            log.append((_index, args, kwargs))
            return behaviour(_original, _index, calls, *args, **kwargs)

        monkeypatch.setattr(shard, name, replacement)
    return log


def raise_timeout(fanout, *args_of_timeout):
    """A ``patch_method`` behaviour raising the fanout module's Timeout."""
    timeout = module_of(fanout).Timeout

    def behaviour(original, index, calls, *args, **kwargs):
        raise timeout(*args_of_timeout)
    return behaviour


class StorageError(sqlite3.OperationalError):
    """A storage failure as the candidate engine reports it (a subclass of
    ``sqlite3.OperationalError``)."""


# -- construction, layout, settings --------------------------------------------


def test_shard_directories(fanouts, both):
    both(*fanouts, lambda f: sorted(os.listdir(f.directory)))
    both(*fanouts, lambda f: [rel(f, s.directory) for s in f._shards])
    both(*fanouts, lambda f: (type(f._shards).__name__, len(f._shards)))
    for fanout in fanouts:
        assert sorted(os.listdir(fanout.directory)) == SHARD_NAMES
        for name in SHARD_NAMES:
            assert op.isdir(op.join(fanout.directory, name))


def test_shard_count_and_type(make_fanouts, both):
    pair = make_fanouts(shards=3)
    both(*pair, lambda f: sorted(os.listdir(f.directory)))
    both(*pair, lambda f: [type(s).__name__ for s in f._shards])
    for fanout in pair:
        assert all(isinstance(s, module_of(fanout).Cache) for s in fanout._shards)
    pair = make_fanouts(shards=12)
    both(*pair, lambda f: sorted(os.listdir(f.directory)))
    both(*pair, lambda f: f.size_limit)


def test_zero_shards(impl, tmp_path, both):
    both(reference, impl, lambda m: m.FanoutCache(str(tmp_path / m.__name__), shards=0))


def test_directory_handling(impl, tmp_path, monkeypatch, both):
    made = []

    def open_(module, directory):
        fanout = module.FanoutCache(directory)
        made.append(fanout)
        return fanout

    try:
        # None: a fresh temporary directory named diskcache-*
        def temp(m):
            fanout = open_(m, None)
            return (op.basename(fanout.directory).startswith('diskcache-'),
                    sorted(os.listdir(fanout.directory)))
        assert both(reference, impl, temp) == (True, SHARD_NAMES)

        # pathlib.Path is str()-converted
        def path(m):
            fanout = open_(m, pathlib.Path(tmp_path / ('p-' + m.__name__)))
            return type(fanout.directory).__name__, rel(fanout, fanout._shards[0].directory)
        assert both(reference, impl, path) == ('str', '000')

        # ~ and $VAR are expanded
        monkeypatch.setenv('HOME', str(tmp_path / 'home'))
        monkeypatch.setenv('DCG_FANOUT_DIR', 'var-dir')

        def expand(m):
            fanout = open_(m, '~/$DCG_FANOUT_DIR/' + m.__name__)
            return op.relpath(fanout.directory, str(tmp_path)), sorted(os.listdir(fanout.directory))
        both(reference, impl, lambda m: expand(m)[1])
        for module in (reference, impl):
            assert op.isdir(str(tmp_path / 'home' / 'var-dir' / module.__name__ / '000'))
    finally:
        for fanout in made:
            fanout.close()
            if op.basename(fanout.directory).startswith('diskcache-'):
                shutil.rmtree(fanout.directory, ignore_errors=True)


def test_size_limit_divided(make_fanouts, both):
    ref, new = make_fanouts()
    assert both(ref, new, lambda f: f.size_limit) == 2**27
    both(ref, new, lambda f: [s.size_limit for s in f._shards])
    assert type(ref.size_limit) is float

    pair = make_fanouts(shards=3, size_limit=1000)
    assert both(*pair, lambda f: [s.size_limit for s in f._shards]) == [1000 / 3] * 3

    pair = make_fanouts(shards=4, size_limit=2**20, cull_limit=3, statistics=1)
    both(*pair, lambda f: [(s.size_limit, s.cull_limit, s.statistics) for s in f._shards])


def test_size_limit_reset_on_reopen(make_fanouts, impl, both):
    ref, new = make_fanouts(shards=4, size_limit=4000)
    both(ref, new, lambda f: f.reset('size_limit', 123))
    both(ref, new, lambda f: [s.size_limit for s in f._shards])

    reopened = []

    def reopen(f, **kwargs):
        fanout = type(f)(f.directory, shards=4, **kwargs)
        reopened.append(fanout)
        return fanout

    try:
        # No size_limit given: each shard gets DEFAULT/shards again, the
        # persisted 123 is overwritten; other persisted settings survive.
        both(ref, new, lambda f: [(s.size_limit, s.cull_limit)
                                  for s in reopen(f)._shards])
        both(ref, new, lambda f: [s.size_limit for s in reopen(f, size_limit=80)._shards])
    finally:
        for fanout in reopened:
            fanout.close()


def test_settings_forwarded_to_shard_zero(make_fanouts, both):
    ref, new = make_fanouts()
    for name in sorted(reference.DEFAULT_SETTINGS):
        both(ref, new, lambda f: getattr(f, name))
    assert both(ref, new, lambda f: f.timeout) == 0.010
    both(ref, new, lambda f: type(f.disk).__name__)
    for fanout in (ref, new):
        assert fanout.disk is fanout._shards[0].disk
        assert isinstance(fanout.disk, module_of(fanout).Disk)

    pair = make_fanouts(timeout=2.5, cull_limit=4, eviction_policy='least-recently-used')
    both(*pair, lambda f: (f.timeout, f.cull_limit, f.eviction_policy))


def test_getattr_refuses_other_names(make_fanouts, both):
    ref, new = make_fanouts(foo=1)
    names = ['count', 'size', 'hits', 'misses', 'push', 'pull', 'peek', 'peekitem',
             'iterkeys', 'foo', 'no_such_name', '_disk_hash']
    for name in names:
        exc = both(ref, new, lambda f: getattr(f, name))
        assert type(exc) is AssertionError
        assert exc.args == ('cannot access %s in cache shard' % name,)
    # hasattr does not turn the AssertionError into False.
    both(ref, new, lambda f: hasattr(f, 'iterkeys'))
    # The extra setting reached every shard all the same.
    both(ref, new, lambda f: [s.foo for s in f._shards])


def test_setattr_on_instance(fanouts, both):
    def run(f):
        for name in sorted(reference.DEFAULT_SETTINGS):
            setattr(f, name, 7)
        return ([getattr(f, name) for name in sorted(reference.DEFAULT_SETTINGS)],
                f._shards[0].cull_limit, f._shards[0].size_limit)
    both(*fanouts, run)


# -- routing -------------------------------------------------------------------


def test_routing_matches_reference(fanouts, both):
    ref, new = fanouts
    for key in ROUTING_KEYS:
        both(ref, new, lambda f: f.set(key, repr(key)))
    for key in ROUTING_KEYS:
        where = both(ref, new, lambda f: shard_index(f, key))
        assert where == [ref_hash(key) % 8]
        both(ref, new, lambda f: f.get(key))
        both(ref, new, lambda f: key in f)
    both(ref, new, lambda f: [len(s) for s in f._shards])
    # 1 and 1.0 are one key in a Cache but may route to different shards.
    for key in (0.0, -0.0, 1.0, 2.0, 5.0, 7.0, 255.0):
        both(ref, new, lambda f: (key in f, f.get(key), shard_index(f, key)))
        both(ref, new, lambda f: f[key])


def test_routing_uses_shard_zero_disk(make_fanouts, both):
    def per_module(module):
        class RecordingDisk(module.Disk):
            seen = []

            def hash(self, key):
                self.seen.append(id(self))
                return 13 if isinstance(key, str) else super().hash(key)
        return {'disk': RecordingDisk}

    ref, new = make_fanouts(per_module)
    keys = ['a', 'b', 'c', b'x', 7]
    for key in keys:
        both(ref, new, lambda f: f.set(key, 1))
    both(ref, new, lambda f: [shard_index(f, k) for k in keys])
    assert shard_index(ref, 'a') == [13 % 8]
    for fanout in (ref, new):
        seen = type(fanout.disk).seen
        assert len(seen) == len(keys) and set(seen) == {id(fanout._shards[0].disk)}


# -- single-key operations -------------------------------------------------------


def test_single_key_operations(fanouts, clock, both):
    ref, new = fanouts
    ops = [
        lambda f: f.set('a', 1),
        lambda f: f.set(b'b', b'bytes', expire=10, tag='t1'),
        lambda f: f.set(3, [1, 2, 3], tag=7),
        lambda f: f.set(('t', 4), 4.5, expire=5),
        lambda f: f.get('a'),
        lambda f: f.get('missing'),
        lambda f: f.get('missing', 'dflt', expire_time=True, tag=True),
        lambda f: f.get(b'b', expire_time=True, tag=True),
        lambda f: f.get(3, tag=True),
        lambda f: f.add('a', 2),
        lambda f: f.add('new', 2, expire=1, tag='t2'),
        lambda f: f.incr('a'),
        lambda f: f.incr('a', 10),
        lambda f: f.decr('a', 3),
        lambda f: f.decr('ctr', default=-9),
        lambda f: f.incr('fresh', 2, default=100),
        lambda f: f.incr('nope', default=None),
        lambda f: f.incr(b'b'),
        lambda f: f.touch('a', expire=100),
        lambda f: f.touch('missing'),
        lambda f: f.get('a', expire_time=True),
        lambda f: f.pop('missing'),
        lambda f: f.pop('missing', 'dflt', expire_time=True, tag=True),
        lambda f: f.pop(3, tag=True),
        lambda f: f.pop(3),
        lambda f: f.delete('fresh'),
        lambda f: f.delete('fresh'),
        lambda f: 'a' in f,
        lambda f: 3 in f,
        lambda f: f['a'],
        lambda f: f['missing'],
        lambda f: f.__setitem__('c', 'cee'),
        lambda f: f['c'],
        lambda f: f.__delitem__('c'),
        lambda f: f.__delitem__('c'),
        lambda f: f.read('a'),
        lambda f: f.read('missing'),
        lambda f: len(f),
        lambda f: list(f),
    ]
    for op_ in ops:
        both(ref, new, op_)
    clock.advance(5)  # ('t', 4) expires exactly now; 'new' is long gone
    for op_ in [
        lambda f: f.get(('t', 4)),
        lambda f: ('t', 4) in f,
        lambda f: f.touch(('t', 4), 1),
        lambda f: f.add('new', 'again'),
        lambda f: f.get('new'),
        lambda f: f.pop(('t', 4), 'gone'),
        lambda f: f.delete(('t', 4)),
        lambda f: f[('t', 4)],
        lambda f: len(f),
        lambda f: f.get(b'b', expire_time=True, tag=True),
        lambda f: f.get('a', expire_time=True),
    ]:
        both(ref, new, op_)


def test_read_file_handles(make_fanouts, both):
    ref, new = make_fanouts(disk_min_file_size=64)
    big = os.urandom(1000)
    both(ref, new, lambda f: f.set('big', big))
    both(ref, new, lambda f: f.set('small', b'x'))
    both(ref, new, lambda f: f.set('text', 'y' * 100))

    def read_big(f):
        with f.read('big') as handle:
            return handle.read(), op.isfile(handle.name)
    assert both(ref, new, read_big) == (big, True)
    both(ref, new, lambda f: f.read('small'))
    both(ref, new, lambda f: f.read('text'))
    exc = both(ref, new, lambda f: f.read('gone'))
    assert type(exc) is KeyError and exc.args == ('gone',)
    # read() has no retry parameter.
    both(ref, new, lambda f: f.read('big', retry=True))


def test_signatures(fanouts, both):
    ref, new = fanouts
    # expire(now=...) is diskcache_rs's addition here (a TypeError in
    # python-diskcache): test_diskcache_rs_api.py tests it.
    for call in [
        lambda f: f.expire(retry=True),
        lambda f: f.reset('cull_limit', 3, update=False),
        lambda f: f.read('k', retry=False),
        lambda f: f.transact(False).__enter__(),
        lambda f: f.evict(),
        lambda f: f.get('k', None, False, False, False, False),
        lambda f: f.set('k', 1, None, False, None, True),
        lambda f: f.pop('k', 'd', False, False, False),
        lambda f: f.incr('n', 1, 0, True),
        lambda f: f.decr('n', 1, 0, True),
        lambda f: f.touch('k', None, True),
        lambda f: f.add('k2', 1, None, False, None, True),
        lambda f: f.delete('k', True),
        lambda f: f.check(False, True),
        lambda f: f.stats(False, False),
    ]:
        both(ref, new, call)


# -- Timeout swallowing -----------------------------------------------------------


@pytest.mark.parametrize('name, call, expected', [
    ('set', lambda f: f.set('k', 1), False),
    ('set', lambda f: f.set('k', 1, expire=3, read=False, tag='t', retry=False), False),
    ('touch', lambda f: f.touch('k', 5), False),
    ('add', lambda f: f.add('k', 1), False),
    ('incr', lambda f: f.incr('k'), None),
    ('incr', lambda f: f.incr('k', 5, default=None), None),
    ('decr', lambda f: f.decr('k'), None),
    ('get', lambda f: f.get('k'), None),
    ('get', lambda f: f.get('k', 'dflt'), 'dflt'),
    ('get', lambda f: f.get('k', 'dflt', expire_time=True, tag=True), 'dflt'),
    ('get', lambda f: f.get('k', default=('a',), tag=True), ('a',)),
    ('pop', lambda f: f.pop('k'), None),
    ('pop', lambda f: f.pop('k', 'dflt', expire_time=True), 'dflt'),
    ('delete', lambda f: f.delete('k'), False),
])
def test_timeout_swallowed(fanouts, monkeypatch, both, name, call, expected):
    ref, new = fanouts
    both(ref, new, lambda f: f.set('k', 1))

    def run(f):
        log = patch_method(monkeypatch, f, name, raise_timeout(f))
        result = call(f)
        # Exactly one shard (the key's) was asked.
        return result, [index for index, _, _ in log]
    result, asked = both(ref, new, run)
    assert result == expected
    assert asked == [ref_hash('k') % 8]
    # Nothing changed underneath.
    monkeypatch.undo()
    both(ref, new, lambda f: f._shards[asked[0]].get('k'))


def test_memoize_survives_timeouts(fanouts, monkeypatch, both):
    def run(f):
        patch_method(monkeypatch, f, 'set', raise_timeout(f))
        patch_method(monkeypatch, f, 'get', raise_timeout(f))
        calls = []

        @f.memoize()
        def square(x):
            calls.append(x)
            return x * x
        return square(3), square(3), calls, len(f)
    assert both(*fanouts, run) == (9, 9, [3, 3], 0)


def test_get_swallows_operational_error(fanouts, monkeypatch, both):
    ref, new = fanouts
    both(ref, new, lambda f: f.set('k', 1))

    def raiser(exc_type):
        def behaviour(original, index, calls, *args, **kwargs):
            raise exc_type('disk I/O error')
        return behaviour

    for exc_type in (sqlite3.OperationalError, StorageError):
        def run(f):
            monkeypatch.undo()
            patch_method(monkeypatch, f, 'get', raiser(exc_type))
            return f.get('k', 'dflt', tag=True)
        assert both(ref, new, run) == 'dflt'

    # Other errors, and OperationalError in other methods, propagate.
    for name, call in [('get', lambda f: f.get('k')),
                       ('set', lambda f: f.set('k', 2)),
                       ('pop', lambda f: f.pop('k'))]:
        for exc_type in (sqlite3.DatabaseError, RuntimeError, KeyError, sqlite3.OperationalError):
            if name == 'get' and exc_type is sqlite3.OperationalError:
                continue

            def run(f):
                monkeypatch.undo()
                patch_method(monkeypatch, f, name, raiser(exc_type))
                return call(f)
            exc = both(ref, new, run)
            assert type(exc) is exc_type
    monkeypatch.undo()
    both(ref, new, lambda f: f.get('k'))


def test_timeout_not_swallowed_elsewhere(fanouts, monkeypatch, both):
    """check and create_tag_index let Timeout through; read() reports the
    key missing (it goes through FanoutCache.get)."""
    ref, new = fanouts
    both(ref, new, lambda f: f.set('k', 1))
    for name, call in [
        ('check', lambda f: f.check()),
        ('create_tag_index', lambda f: f.create_tag_index()),
        ('drop_tag_index', lambda f: f.drop_tag_index()),
        ('stats', lambda f: f.stats()),
    ]:
        def run(f):
            monkeypatch.undo()
            patch_method(monkeypatch, f, name, raise_timeout(f), shards=[5])
            return call(f)
        exc = both(ref, new, run)
        assert type(exc).__name__ == 'Timeout'

    def run_read(f):
        monkeypatch.undo()
        patch_method(monkeypatch, f, 'get', raise_timeout(f))
        return f.read('k')
    exc = both(ref, new, run_read)
    assert type(exc) is KeyError and exc.args == ('k',)
    monkeypatch.undo()


def test_incr_keyerror_propagates(fanouts, both):
    exc = both(*fanouts, lambda f: f.incr('missing', default=None))
    assert type(exc) is KeyError and exc.args == ('missing',)
    exc = both(*fanouts, lambda f: f.decr(('m', 1), default=None))
    assert type(exc) is KeyError


# -- bulk operations ------------------------------------------------------------------


def fill(f, clock, count=40):
    for n in range(count):
        f.set('k%d' % n, n, expire=(10 if n % 3 == 0 else None),
              tag=('even' if n % 2 == 0 else 'odd'))
    return len(f)


def test_bulk_operations(fanouts, clock, both):
    ref, new = fanouts
    assert both(ref, new, lambda f: fill(f, clock)) == 40
    both(ref, new, lambda f: f.expire())
    clock.advance(11)
    assert both(ref, new, lambda f: f.expire()) == 14
    both(ref, new, lambda f: len(f))
    assert both(ref, new, lambda f: f.evict('even')) == 13
    both(ref, new, lambda f: f.evict('even'))
    both(ref, new, lambda f: f.evict(None))
    both(ref, new, lambda f: f.cull())
    both(ref, new, lambda f: sorted(f, key=repr))
    assert both(ref, new, lambda f: f.clear(retry=True)) == 13
    both(ref, new, lambda f: (len(f), f.clear()))


def test_cull_expired(make_fanouts, clock, both):
    ref, new = make_fanouts(cull_limit=0)
    for n in range(40):
        both(ref, new, lambda f: f.set(n, n, expire=(5 if n % 4 else None)))
    clock.advance(6)
    assert both(ref, new, lambda f: f.cull()) == 30
    both(ref, new, lambda f: (len(f), list(f)))


def _fill_big(f, count=32):
    for n in range(count):
        f.set('k%d' % n, b'v' * 50_000)
    return [len(s) for s in f._shards]


def test_cull_by_size(make_fanouts, clock, both):
    """cull() brings every shard under its share of size_limit and returns
    the total number of rows removed."""
    ref, new = make_fanouts(shards=2, size_limit=2 * 600_000, disk_min_file_size=1024,
                            cull_limit=0)
    counts = both(ref, new, _fill_big)
    assert all(12 <= count <= 21 for count in counts), counts
    for fanout in (ref, new):
        removed = fanout.cull()
        assert removed == 32 - len(fanout) > 0
        assert all(s.volume() <= 600_000 for s in fanout._shards)
        assert fanout.cull() == 0


def test_cull_by_size_counts(make_fanouts, clock, both):
    # 50 kB file-backed values dwarf the engines' differing fixed overhead:
    # with a 600 kB limit per shard, a shard holding 12 to 21 values is over
    # the limit for both, and under it after one cull batch of 10 rows.
    ref, new = make_fanouts(shards=2, size_limit=2 * 600_000, disk_min_file_size=1024,
                            cull_limit=0)
    counts = both(ref, new, _fill_big)
    assert all(12 <= count <= 21 for count in counts), counts
    assert both(ref, new, lambda f: f.cull()) == 20
    both(ref, new, lambda f: sorted(f, key=repr))


@pytest.mark.parametrize('name, args', [
    ('clear', ()),
    ('expire', ()),
    ('evict', ('even',)),
    ('cull', ()),
])
def test_bulk_timeout_partial_counts(fanouts, clock, monkeypatch, both, name, args):
    """A shard raising Timeout(n) once: n counts, and the shard is rerun."""
    ref, new = fanouts
    both(ref, new, lambda f: fill(f, clock))
    clock.advance(11)

    def run(f):
        Timeout = module_of(f).Timeout

        def behaviour(original, index, calls, *call_args, **kwargs):
            if not calls:
                # Do part of the work for real, then time out.
                if name == 'clear':
                    # (expired keys are not deletable: count real ones)
                    victims = list(f._shards[index])[:3]
                    removed = sum(f._shards[index].delete(key) for key in victims)
                    raise Timeout(removed)
                raise Timeout(2)
            return original(*call_args, **kwargs)

        log = patch_method(monkeypatch, f, name, behaviour, shards=[1, 4])
        total = getattr(f, name)(*args)
        return total, log, len(f)

    total, log, remaining = both(ref, new, run)
    # Shards 1 and 4 were each called twice, with the same arguments.
    assert [index for index, _, _ in log] == [1, 1, 4, 4]
    if name == 'expire':
        assert all(call_args == (clock.now,) for _, call_args, _ in log)
    assert all(kwargs == {'retry': False} for _, _, kwargs in log)
    if name == 'clear':
        assert (total, remaining) == (40, 0)


def test_bulk_timeout_example(fanouts, monkeypatch, both):
    """The upstream example: Timeout(2), then 3, gives 5."""
    def run(f):
        Timeout = module_of(f).Timeout

        def behaviour(original, index, calls, *args, **kwargs):
            if not calls:
                raise Timeout(2)
            return 3
        patch_method(monkeypatch, f, 'clear', behaviour, shards=[0])
        return f.clear()
    assert both(*fanouts, run) == 5


def test_bulk_retries_until_done(fanouts, monkeypatch, both):
    """Several timeouts in a row on several shards; retry is forwarded."""
    def run(f):
        Timeout = module_of(f).Timeout

        def behaviour(original, index, calls, *args, **kwargs):
            if len(calls) < index % 3 + 1:
                raise Timeout(index)
            return 100
        log = patch_method(monkeypatch, f, 'evict', behaviour)
        return f.evict('tag', retry=True), log
    total, log = both(*fanouts, run)
    assert total == 800 + sum(index * (index % 3 + 1) for index in range(8))
    assert all(args == ('tag',) and kwargs == {'retry': True} for _, args, kwargs in log)


def test_expire_passes_one_now(fanouts, clock, monkeypatch, both):
    def run(f):
        log = patch_method(monkeypatch, f, 'expire',
                           lambda original, i, calls, *a, **k: original(*a, **k))
        return f.expire(), log
    count, log = both(*fanouts, run)
    assert count == 0
    assert [args for _, args, _ in log] == [(clock.now,)] * 8


# -- whole-cache methods ------------------------------------------------------------


def test_len_iter_reversed(fanouts, clock, both):
    ref, new = fanouts
    for n in range(60):
        key = ('k%d' % n) if n % 2 else n
        both(ref, new, lambda f: f.set(key, n, expire=(1 if n % 5 == 0 else None)))
    both(ref, new, lambda f: f.set('k1', 'overwrite'))
    both(ref, new, lambda f: f.delete(4))
    both(ref, new, lambda f: f.set(4, 'reinserted'))
    clock.advance(2)  # expired items still count and iterate
    assert both(ref, new, len) == 60
    forward = both(ref, new, list)
    backward = both(ref, new, lambda f: list(reversed(f)))
    for fanout in (ref, new):
        chained = [k for shard in fanout._shards for k in shard]
        assert list(fanout) == chained
        rchained = [k for shard in reversed(fanout._shards) for k in reversed(shard)]
        assert list(reversed(fanout)) == rchained
    assert sorted(forward, key=repr) == sorted(backward, key=repr)
    both(ref, new, lambda f: type(iter(f)).__name__)
    both(ref, new, lambda f: type(reversed(f)).__name__)


def test_stats(fanouts, both):
    ref, new = fanouts
    both(ref, new, lambda f: f.stats(enable=False))
    both(ref, new, lambda f: f.stats())
    both(ref, new, lambda f: [s.statistics for s in f._shards])
    for n in range(20):
        both(ref, new, lambda f: f.set(n, n))
    for n in range(30):
        both(ref, new, lambda f: f.get(n))
    assert both(ref, new, lambda f: f.stats(reset=True)) == (20, 10)
    both(ref, new, lambda f: f.get(1))
    assert both(ref, new, lambda f: f.stats(enable=False)) == (1, 0)
    both(ref, new, lambda f: f.get(2))
    both(ref, new, lambda f: (f.stats(), f.statistics))


def test_volume(fanouts, both):
    for fanout in fanouts:
        empty = fanout.volume()
        assert empty == sum(s.volume() for s in fanout._shards) > 0
        fanout.set('big', b'x' * 200_000)
        assert fanout.volume() >= empty + 200_000
        assert fanout.volume() == sum(s.volume() for s in fanout._shards)
    both(*fanouts, lambda f: type(f.volume()).__name__)


def test_check(make_fanouts, both):
    ref, new = make_fanouts(disk_min_file_size=16)
    both(ref, new, lambda f: f.check())
    for n in range(10):
        both(ref, new, lambda f: f.set(n, b'v' * 100))
    both(ref, new, lambda f: f.check())

    def stray(f):
        for index in (6, 2):
            with open(op.join(f._shards[index].directory, 'stray.txt'), 'w') as out:
                out.write('x')
        os.mkdir(op.join(f._shards[4].directory, 'empty'))

        warns = f.check()
        return type(warns).__name__, [
            (type(w).__name__, w.category.__name__,
             str(w.message).replace(f.directory, '<dir>')) for w in warns]
    kind, warns = both(ref, new, stray)
    assert kind == 'list'
    assert [w[2] for w in warns] == [
        'unknown file: <dir>/002/stray.txt',
        'empty directory: <dir>/004/empty',
        'unknown file: <dir>/006/stray.txt',
    ]
    both(ref, new, lambda f: len(f.check(fix=True)))
    both(ref, new, lambda f: f.check(retry=True))
    for fanout in (ref, new):
        assert not op.exists(op.join(fanout._shards[2].directory, 'stray.txt'))


def test_tag_index(fanouts, both):
    ref, new = fanouts
    both(ref, new, lambda f: [s.tag_index for s in f._shards])
    both(ref, new, lambda f: f.create_tag_index())
    both(ref, new, lambda f: (f.tag_index, [s.tag_index for s in f._shards]))
    both(ref, new, lambda f: [s.reset('tag_index') for s in f._shards])
    both(ref, new, lambda f: f.drop_tag_index())
    both(ref, new, lambda f: (f.tag_index, [s.reset('tag_index') for s in f._shards]))


def test_reset(fanouts, monkeypatch, both):
    ref, new = fanouts
    assert both(ref, new, lambda f: f.reset('cull_limit', 3)) == 3
    both(ref, new, lambda f: [s.cull_limit for s in f._shards])
    both(ref, new, lambda f: [s.reset('cull_limit') for s in f._shards])
    # Not divided among shards.
    assert both(ref, new, lambda f: f.reset('size_limit', 1000)) == 1000
    both(ref, new, lambda f: (f.size_limit, [s.size_limit for s in f._shards]))
    # Reading: the last shard's value.
    both(ref, new, lambda f: f._shards[7].reset('cull_limit', 9))
    assert both(ref, new, lambda f: f.reset('cull_limit')) == 9
    both(ref, new, lambda f: [s.cull_limit for s in f._shards])
    both(ref, new, lambda f: f.reset('no_such_setting'), exc_args=False)
    both(ref, new, lambda f: f.reset('no_such_setting', 1))

    def run(f):
        Timeout = module_of(f).Timeout

        def behaviour(original, index, calls, *args, **kwargs):
            if len(calls) < 2:
                raise Timeout()
            return original(*args, **kwargs)
        log = patch_method(monkeypatch, f, 'reset', behaviour, shards=[3, 6])
        result = f.reset('cull_limit', 5)
        return result, [s.cull_limit for s in f._shards], [entry[:2] for entry in log]
    result, limits, log = both(ref, new, run)
    assert result == 5 and limits == [5] * 8
    assert log == [(3, ('cull_limit', 5))] * 3 + [(6, ('cull_limit', 5))] * 3


# -- transactions -------------------------------------------------------------------


def test_transact_requires_retry(fanouts, both):
    def enter(f, **kwargs):
        with f.transact(**kwargs):
            return 'inside'
    exc = both(*fanouts, lambda f: enter(f, retry=False))
    assert type(exc) is AssertionError
    assert exc.args == ('retry must be True in FanoutCache',)
    assert both(*fanouts, lambda f: enter(f)) == 'inside'
    assert both(*fanouts, lambda f: enter(f, retry=True)) == 'inside'


def test_transact_commit_and_rollback(fanouts, both):
    ref, new = fanouts

    def commit(f):
        with f.transact() as value:
            for n in range(16):
                f.set(n, n)
            f.incr('total', 16)
            with f.transact():  # nests
                f.set('nested', True)
        return value, len(f), f.get('total'), f.get('nested')
    assert both(ref, new, commit) == (None, 18, 16, True)

    class Boom(Exception):
        pass

    def rollback(f):
        with f.transact():
            for n in range(16):
                f.set(n, -n)
            f.delete('total')
            f.set('extra', 1)
            raise Boom()
    exc = both(ref, new, rollback)
    assert type(exc) is Boom
    both(ref, new, lambda f: sorted((repr(k), f[k]) for k in f))


def _one_key_per_shard():
    keys = {}
    for n in itertools.count():
        keys.setdefault(ref_hash('w%d' % n) % 8, 'w%d' % n)
        if len(keys) == 8:
            return [keys[i] for i in range(8)]


def test_transact_holds_every_shard(fanouts, both):
    """While one thread holds fanout.transact(), writers in another thread
    time out on every shard (and FanoutCache turns that into False)."""
    ordered = _one_key_per_shard()

    def run(f):
        results = {}

        def writer(label):
            results[label] = ([f.set(k, 1) for k in ordered],
                              [f.incr('n' + k) for k in ordered],
                              [f.add('a' + k, 1) for k in ordered],
                              [f.delete(k) for k in ordered])
        with f.transact():
            f.set(ordered[0], 'mine')
            thread = threading.Thread(target=writer, args=('during',))
            thread.start()
            thread.join(30)
        thread = threading.Thread(target=writer, args=('after',))
        thread.start()
        thread.join(30)
        return results, [f.get(k) for k in ordered]
    results, values = both(*fanouts, run)
    assert results['during'] == ([False] * 8, [None] * 8, [False] * 8, [False] * 8)
    assert results['after'] == ([True] * 8, [1] * 8, [True] * 8, [True] * 8)
    assert values == [None] * 8


@pytest.mark.xfail(reason='documented difference (docs/compatibility.md): readers in other'
                          ' threads and processes see a transaction\'s writes before it commits',
                   strict=False)
def test_transact_isolates_readers(fanouts, both):
    """Writes inside fanout.transact() are invisible to other threads until
    the block ends."""
    ordered = _one_key_per_shard()

    def run(f):
        seen = {}

        def reader(label):
            seen[label] = ([f.get(k, 'absent') for k in ordered], [k in f for k in ordered])
        with f.transact():
            for k in ordered:
                f.set(k, 'mine')
            thread = threading.Thread(target=reader, args=('during',))
            thread.start()
            thread.join(30)
        reader('after')
        return seen
    seen = both(*fanouts, run)
    assert seen['during'] == (['absent'] * 8, [False] * 8)
    assert seen['after'] == (['mine'] * 8, [True] * 8)


# -- memoize --------------------------------------------------------------------------


def test_memoize(fanouts, both):
    ref, new = fanouts

    def run(f):
        calls = []

        @f.memoize(name='add', typed=True, tag='memo')
        def add(x, y=1):
            calls.append((x, y))
            return x + y

        @f.memoize(expire=0)
        def never(x):
            calls.append(('never', x))
            return x

        @f.memoize(ignore={0, 'z'})
        def ignoring(a, b, z=0):
            calls.append(('ignoring', a, b, z))
            return b

        @f.memoize()
        def none_result():
            calls.append('none')
        results = [add(1), add(1), add(1, y=2), add(1.0), add(x=1, y=2),
                   never(5), never(5), ignoring(1, 2), ignoring(9, 2, z=3),
                   none_result(), none_result(),
                   add.__cache_key__(1, y=2), never.__cache_key__(5),
                   add.__wrapped__(2)]
        return results, calls, list(f), [shard_index(f, k) for k in f]
    both(ref, new, run)
    both(ref, new, lambda f: f.evict('memo'))
    both(ref, new, lambda f: f.memoize(lambda: 1))
    both(ref, new, lambda f: type(f.memoize()).__name__)


def test_memoize_with_expire(fanouts, clock, both):
    def run(f):
        calls = []

        @f.memoize(expire=10)
        def double(x):
            calls.append(x)
            return 2 * x
        out = [double(1), double(1)]
        clock.advance(10)
        out.append(double(1))
        clock.advance(-10)
        return out, calls
    both(*fanouts, run)


# -- sub-stores ------------------------------------------------------------------------


def test_named_caches(make_fanouts, both):
    ref, new = make_fanouts(per_module=lambda m: {'disk': m.JSONDisk})

    def run(f):
        first = f.cache('first', timeout=5, cull_limit=2)
        again = f.cache('first', timeout=99, cull_limit=7)
        first.set('k', [1, 2])
        nested = f.cache('a/b/c')
        plain = f.cache('plain', disk=type(f.disk))
        other = f.cache('other', disk=module_of(f).Disk)
        return (again is first, type(first).__name__, rel(f, first.directory),
                first.timeout, first.cull_limit, type(first.disk).__name__,
                first.get('k'), rel(f, nested.directory), nested.timeout,
                type(plain.disk).__name__, type(other.disk).__name__,
                sorted(os.listdir(op.join(f.directory, 'cache'))))
    result = both(ref, new, run)
    assert result[:3] == (True, 'Cache', 'cache/first')
    # The documented quirk: any given disk means the base Disk.
    assert result[9:11] == ('Disk', 'Disk')

    def after_close(f):
        before = f.cache('first')
        f.close()
        after = f.cache('first')
        return after is before, after.get('k'), after.cull_limit, after.timeout
    assert both(ref, new, after_close)[0] is False


def test_deque_and_index(impl, make_fanouts, both):
    pytest.importorskip(impl.__name__ + '.persistent')
    ref, new = make_fanouts()

    def deque(f):
        d = f.deque('queue', maxlen=3)
        d.extend('abcd')
        same = f.deque('queue', maxlen=10) is d
        nested = f.deque('x/y')
        nested.append(1)
        return (type(d).__name__, same, list(d), d.maxlen, d.popleft(), d.pop(),
                len(d), rel(f, d.directory), d.cache.eviction_policy,
                type(d.cache.disk).__name__, rel(f, nested.directory))
    assert both(ref, new, deque)[:2] == ('Deque', True)

    def index(f):
        i = f.index('idx')
        i['a'] = 1
        i['b'] = 2
        i['c'] = 3
        same = f.index('idx') is i
        return (type(i).__name__, same, i.popitem(), list(i.items()), rel(f, i.directory),
                i.cache.eviction_policy, rel(f, f.index('p/q').directory))
    assert both(ref, new, index)[:2] == ('Index', True)

    def after_close(f):
        d, i = f.deque('queue'), f.index('idx')
        f.close()
        d2, i2 = f.deque('queue'), f.index('idx')
        return d2 is d, i2 is i, list(d2), dict(i2), d2.maxlen
    assert both(ref, new, after_close)[:2] == (False, False)


def test_deque_uses_fanout_disk(impl, make_fanouts, both):
    pytest.importorskip(impl.__name__ + '.persistent')
    ref, new = make_fanouts(per_module=lambda m: {'disk': m.JSONDisk})
    both(ref, new, lambda f: (type(f.deque('d').cache.disk).__name__,
                              type(f.index('i').cache.disk).__name__))


# -- lifecycle, pickling ------------------------------------------------------------------


def test_close_and_context_manager(fanouts, both):
    ref, new = fanouts

    def run(f):
        with f as entered:
            same = entered is f
            f.set('k', 1)
        after = f.get('k')  # reconnects after close
        f.close()
        f.close()
        return same, after, f.set('k2', 2), len(f)
    assert both(ref, new, run) == (True, 1, True, 2)

    class Boom(Exception):
        pass

    def raising(f):
        with f:
            raise Boom()
    assert type(both(ref, new, raising)) is Boom
    both(ref, new, lambda f: f.get('k2'))


def test_pickle_round_trip(make_fanouts, both):
    ref, new = make_fanouts(per_module=lambda m: {'disk': m.JSONDisk},
                            shards=4, timeout=0.5, cull_limit=3)
    for n in range(10):
        both(ref, new, lambda f: f.set('k%d' % n, [n]))

    copies = []

    def run(f):
        state = f.__getstate__()
        copy = pickle.loads(pickle.dumps(f))
        copies.append(copy)
        return ((rel(f, state[0]),) + tuple(state[1:3]) + (state[3].__name__,),
                type(copy).__name__, copy.directory == f.directory, len(copy._shards),
                copy.timeout, type(copy.disk).__name__, copy.cull_limit,
                sorted((k, copy[k]) for k in copy), copy.size_limit)
    try:
        result = both(ref, new, run)
    finally:
        for copy in copies:
            copy.close()
    assert result[0] == ('.', 4, 0.5, 'JSONDisk')
    assert result[-1] == 2**30 / 4


# -- across processes ----------------------------------------------------------------------

COUNTER_KEYS = ['c0', b'c1', 2, 3.5, ('c', 4), 'c5', 6, 'c7']
N_WORKERS = 4
ROUNDS = 200
JOIN_TIMEOUT = 120


def _incr_worker(module_name, directory, wid, rounds, result_path, go):
    module = importlib.import_module(module_name)
    fanout = module.FanoutCache(directory)
    go.wait(JOIN_TIMEOUT)
    returns = {}
    timeouts = 0
    for n in range(rounds):
        key = COUNTER_KEYS[(n * (wid + 1)) % len(COUNTER_KEYS)]
        if wid % 2:
            value = fanout.incr(key, retry=True)
        else:
            # Without retry, a timed-out incr returns None and did nothing.
            while True:
                value = fanout.incr(key)
                if value is not None:
                    break
                timeouts += 1
        returns.setdefault(key, []).append(value)
    assert fanout.set(('done', wid), os.getpid(), retry=True)
    fanout.close()
    with open(result_path, 'wb') as out:
        pickle.dump({'returns': returns, 'timeouts': timeouts}, out)


def _dump_worker(module_name, directory, result_path):
    module = importlib.import_module(module_name)
    fanout = module.FanoutCache(directory)
    dump = {
        'items': [(key, fanout[key]) for key in fanout],
        'len': len(fanout),
        'shards': {repr(key): shard_index(fanout, key) for key in fanout},
        'size_limit': fanout.size_limit,
    }
    fanout.close()
    with open(result_path, 'wb') as out:
        pickle.dump(dump, out)


def _run(ctx, started, target, *args):
    proc = ctx.Process(target=target, args=args, daemon=True)
    proc.start()
    started.append(proc)
    return proc


def _join(proc, result_path, what):
    proc.join(JOIN_TIMEOUT)
    if proc.is_alive():
        proc.kill()
        proc.join(10)
        pytest.fail('%s did not finish within %ss' % (what, JOIN_TIMEOUT))
    assert proc.exitcode == 0, '%s exit code %s (see captured stderr)' % (what, proc.exitcode)
    with open(result_path, 'rb') as result:
        return pickle.load(result)


def test_cross_process_counters(impl, tmp_path):
    if TESTS_DIR not in sys.path:
        sys.path.insert(0, TESTS_DIR)  # the children import this module
    directory = str(tmp_path / 'fanout')
    impl.FanoutCache(directory).close()
    ctx = multiprocessing.get_context('spawn')
    started = []
    go = ctx.Event()
    try:
        workers = []
        for wid in range(N_WORKERS):
            path = str(tmp_path / ('worker%d.pickle' % wid))
            workers.append((_run(ctx, started, _incr_worker, impl.__name__, directory,
                                 wid, ROUNDS, path, go), path))
        go.set()
        results = [_join(proc, path, 'worker %d' % wid)
                   for wid, (proc, path) in enumerate(workers)]

        expected = {}
        for wid in range(N_WORKERS):
            for n in range(ROUNDS):
                key = COUNTER_KEYS[(n * (wid + 1)) % len(COUNTER_KEYS)]
                expected[key] = expected.get(key, 0) + 1
        fanout = impl.FanoutCache(directory)
        try:
            for key, total in expected.items():
                assert fanout.get(key) == total, key
                returns = sorted(v for r in results for v in r['returns'].get(key, []))
                assert returns == list(range(1, total + 1)), key
            assert len(fanout) == len(expected) + N_WORKERS
            mine = {
                'items': [(key, fanout[key]) for key in fanout],
                'len': len(fanout),
                'shards': {repr(key): shard_index(fanout, key) for key in fanout},
                'size_limit': fanout.size_limit,
            }
        finally:
            fanout.close()

        path = str(tmp_path / 'dump.pickle')
        proc = _run(ctx, started, _dump_worker, impl.__name__, directory, path)
        seen = _join(proc, path, 'reader')
        assert seen == mine
        for key, where in seen['shards'].items():
            assert len(where) == 1
    finally:
        for proc in started:
            if proc.is_alive():
                proc.kill()
                proc.join(10)
