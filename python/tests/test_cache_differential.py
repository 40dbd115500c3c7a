"""Differential tests: ``diskcache.Cache`` (5.6.3, the reference) versus the
candidate ``Cache`` on identical operation sequences.

Written from python-diskcache 5.6.3's documented API (constants,
exceptions, ``Disk``, ``Cache`` and the compatibility points listed in
docs/api-contract.md).
Every expiry-related test runs under the fake clock of ``conftest.py`` so
that expire times are exact; nothing sleeps.

Run against the reference itself to validate the harness::

    DISKCACHE_GO_TEST_IMPL=diskcache python -m pytest -q python/tests
"""

import os
import pathlib
import pickle
import random
import shutil
import tempfile

import pytest


# Start of the fake clock (conftest.CLOCK_START); checked by
# test_fake_clock_is_patched.
T0 = 1_700_000_000.0
MiB = 2**20
KiB = 2**10
BIG_BYTES = b'B' * (40 * KiB)
BIG_STR = 'S' * (40 * KiB)
BIG_OBJ = list(range(20000))  # pickles to well over 32 KiB
assert len(pickle.dumps(BIG_OBJ, pickle.HIGHEST_PROTOCOL)) >= 32 * KiB


class StrSub(str):
    """A str subclass: pickled as a key (exact type check, spec 4.1)."""


class IntSub(int):
    """An int subclass: pickled as a key (exact type check, spec 4.1)."""


SETTING_NAMES = (
    'statistics',
    'tag_index',
    'eviction_policy',
    'size_limit',
    'cull_limit',
    'sqlite_auto_vacuum',
    'sqlite_cache_size',
    'sqlite_journal_mode',
    'sqlite_mmap_size',
    'sqlite_synchronous',
    'disk_min_file_size',
    'disk_pickle_protocol',
)


# ---------------------------------------------------------------------------
# Module surface, constructor, properties, settings
# ---------------------------------------------------------------------------


def test_fake_clock_is_patched(clock):
    import time

    assert time.time() == T0
    clock.advance(1.5)
    assert time.time() == T0 + 1.5


def test_timeout_is_exception_subclass(impl):
    assert issubclass(impl.Timeout, Exception)
    assert impl.Timeout.__name__ == 'Timeout'
    assert impl.Timeout(3).args == (3,)
    assert impl.Timeout().args == ()
    with pytest.raises(impl.Timeout):
        raise impl.Timeout(0)


def test_cache_without_directory_uses_temp_dir(impl, refmod):
    for module in (refmod, impl):
        cache = module.Cache()
        try:
            directory = cache.directory
            assert isinstance(directory, str)
            assert os.path.isdir(directory)
            assert os.path.basename(directory).startswith('diskcache-')
            assert os.path.dirname(directory) == tempfile.gettempdir()
            cache['key'] = 'value'
            assert cache['key'] == 'value'
        finally:
            cache.close()
            shutil.rmtree(directory, ignore_errors=True)


def test_cache_accepts_pathlib_path(impl, refmod, tmp_path, both):
    caches = []
    for module, name in ((refmod, 'ref'), (impl, 'new')):
        path = pathlib.Path(str(tmp_path)) / name / 'sub'
        assert isinstance(path, pathlib.PurePath)
        cache = module.Cache(path)
        caches.append(cache)
        assert type(cache.directory) is str
        assert cache.directory == str(path)
        assert os.path.isdir(str(path))
    try:
        ref, new = caches
        both(ref, new, lambda c: c.set('k', 1))
        assert both(ref, new, lambda c: c.get('k')) == 1
    finally:
        for cache in caches:
            cache.close()


def test_directory_property_is_str(pair, tmp_path):
    ref, new = pair
    assert type(ref.directory) is str
    assert type(new.directory) is str
    assert new.directory == str(tmp_path / os.path.basename(new.directory))


def test_fresh_cache_settings_attributes(pair):
    ref, new = pair
    expected = {
        'statistics': 0,
        'tag_index': 0,
        'eviction_policy': 'least-recently-stored',
        'size_limit': 2**30,
        'cull_limit': 10,
        'sqlite_auto_vacuum': 1,
        'sqlite_cache_size': 2**13,
        'sqlite_journal_mode': 'wal',
        'sqlite_mmap_size': 2**26,
        'sqlite_synchronous': 1,
        'disk_min_file_size': 2**15,
        'disk_pickle_protocol': pickle.HIGHEST_PROTOCOL,
    }
    ref_values = {name: getattr(ref, name) for name in SETTING_NAMES}
    new_values = {name: getattr(new, name) for name in SETTING_NAMES}
    assert ref_values == expected
    assert new_values == ref_values
    assert {k: type(v) for k, v in new_values.items()} == {
        k: type(v) for k, v in ref_values.items()
    }


def test_count_attribute_is_cached_until_reset(pair, both):
    ref, new = pair
    assert both(ref, new, lambda c: c.count) == 0
    both(ref, new, lambda c: c.set('a', 1))
    # Cached attribute: still stale after the write (spec 5.2).
    assert both(ref, new, lambda c: c.count) == 0
    assert both(ref, new, lambda c: c.reset('count')) == 1
    assert both(ref, new, lambda c: c.count) == 1
    both(ref, new, lambda c: c.set('b', 2))
    assert both(ref, new, lambda c: c.count) == 1
    # __len__ refreshes ``count``.
    assert both(ref, new, len) == 2
    assert both(ref, new, lambda c: c.count) == 2


def test_settings_persist_on_reopen_and_kwargs_override(make_pair, both):
    ref, new = make_pair(
        size_limit=12345678,
        cull_limit=3,
        eviction_policy='least-recently-used',
    )
    both(ref, new, lambda c: c.set('k', 'v'))
    ref.close()
    new.close()

    def settings(c):
        return {name: getattr(c, name) for name in SETTING_NAMES}

    ref2, new2 = make_pair.reopen(ref, new)
    got = both(ref2, new2, settings)
    assert got['size_limit'] == 12345678
    assert got['cull_limit'] == 3
    assert got['eviction_policy'] == 'least-recently-used'
    assert both(ref2, new2, lambda c: c.get('k')) == 'v'
    ref2.close()
    new2.close()

    ref3, new3 = make_pair.reopen(ref, new, size_limit=999999, cull_limit=5)
    got = both(ref3, new3, settings)
    assert got['size_limit'] == 999999
    assert got['cull_limit'] == 5
    assert got['eviction_policy'] == 'least-recently-used'
    ref3.close()
    new3.close()

    # The override was persisted.
    ref4, new4 = make_pair.reopen(ref, new)
    got = both(ref4, new4, settings)
    assert got['size_limit'] == 999999
    assert got['cull_limit'] == 5
    assert got['eviction_policy'] == 'least-recently-used'


# ---------------------------------------------------------------------------
# set / get
# ---------------------------------------------------------------------------


def test_set_get_basic_shapes(pair, both):
    ref, new = pair
    assert both(ref, new, lambda c: c.set('a', 1)) is True
    assert both(ref, new, lambda c: c.get('a')) == 1
    assert both(ref, new, lambda c: c.get('missing')) is None
    assert both(ref, new, lambda c: c.get('missing', 'dflt')) == 'dflt'
    assert both(ref, new, lambda c: c.get('a', expire_time=True)) == (1, None)
    assert both(ref, new, lambda c: c.get('a', tag=True)) == (1, None)
    assert both(ref, new, lambda c: c.get('a', expire_time=True, tag=True)) == (
        1,
        None,
        None,
    )
    assert both(ref, new, lambda c: c.get('zz', expire_time=True)) == (None, None)
    assert both(ref, new, lambda c: c.get('zz', 5, tag=True)) == (5, None)
    assert both(
        ref, new, lambda c: c.get('zz', default=7, expire_time=True, tag=True)
    ) == (7, None, None)


def test_set_with_expire_and_tag(pair, both, clock):
    ref, new = pair
    assert both(ref, new, lambda c: c.set('a', 'x', expire=10, tag='red')) is True
    assert both(ref, new, lambda c: c.get('a', expire_time=True, tag=True)) == (
        'x',
        T0 + 10,
        'red',
    )
    assert both(ref, new, lambda c: c.get('a', expire_time=True)) == (
        'x',
        T0 + 10,
    )
    clock.advance(9.5)
    assert both(ref, new, lambda c: c.get('a')) == 'x'
    clock.advance(1)
    assert both(ref, new, lambda c: c.get('a')) is None
    assert both(ref, new, lambda c: c.get('a', 'd', expire_time=True, tag=True)) == (
        'd',
        None,
        None,
    )
    # Overwrite without expire: expiry and tag are cleared.
    both(ref, new, lambda c: c.set('a', 'y'))
    assert both(ref, new, lambda c: c.get('a', expire_time=True, tag=True)) == (
        'y',
        None,
        None,
    )


@pytest.mark.parametrize('tag', [None, 'text', b'bytes', 7, 2.5])
def test_tag_types_round_trip(pair, both, tag):
    ref, new = pair
    both(ref, new, lambda c: c.set('k', 'v', tag=tag))
    got = both(ref, new, lambda c: c.get('k', tag=True))
    assert got == ('v', tag)
    assert type(got[1]) is type(tag)


def test_expiry_boundary_is_exact(pair, both, clock):
    ref, new = pair
    both(ref, new, lambda c: c.set('k', 1, expire=5))
    both(ref, new, lambda c: c.set('n', 1, expire=5))
    clock.set(T0 + 5)  # now == expire_time
    # get / in / pop / delete / touch / add treat expire_time == now as expired.
    assert both(ref, new, lambda c: c.get('k')) is None
    assert both(ref, new, lambda c: 'k' in c) is False
    assert both(ref, new, lambda c: c.pop('k', 'gone')) == 'gone'
    assert both(ref, new, lambda c: c.delete('k')) is False
    assert both(ref, new, lambda c: c.touch('k', 100)) is False
    # incr uses a strict comparison: at the boundary the key is still live.
    assert both(ref, new, lambda c: c.incr('n')) == 2
    assert both(ref, new, lambda c: c.get('n')) is None
    assert both(ref, new, lambda c: c.add('k', 'new')) is True
    assert both(ref, new, lambda c: c.get('k')) == 'new'
    assert both(ref, new, list) == ['k', 'n']


def test_zero_and_negative_expire(pair, both, clock):
    ref, new = pair
    assert both(ref, new, lambda c: c.set('zero', 1, expire=0)) is True
    assert both(ref, new, lambda c: c.set('neg', 1, expire=-3)) is True
    assert both(ref, new, lambda c: c.get('zero', expire_time=True)) == (None, None)
    assert both(ref, new, lambda c: c.get('neg')) is None
    # The cull inside set() removes rows with expire_time < now, including
    # the row just written with a negative expire; 'zero' has
    # expire_time == now and survives the cull (but reads as expired).
    assert both(ref, new, len) == 1
    assert both(ref, new, list) == ['zero']


# ---------------------------------------------------------------------------
# add
# ---------------------------------------------------------------------------


def test_add(pair, both, clock):
    ref, new = pair
    assert both(ref, new, lambda c: c.add('a', 1)) is True
    assert both(ref, new, lambda c: c.add('a', 2)) is False
    assert both(ref, new, lambda c: c.get('a')) == 1
    assert both(ref, new, lambda c: c.add('b', BIG_BYTES, expire=2, tag='t')) is True
    assert both(ref, new, lambda c: c.add('c', 3)) is True
    assert both(ref, new, lambda c: c.add('b', BIG_STR)) is False
    assert both(ref, new, lambda c: c.get('b', tag=True)) == (BIG_BYTES, 't')
    clock.advance(3)
    # Expired: replaced in place, keeps its position.
    assert both(ref, new, lambda c: c.add('b', 'fresh', tag='u')) is True
    assert both(ref, new, lambda c: c.get('b', expire_time=True, tag=True)) == (
        'fresh',
        None,
        'u',
    )
    assert both(ref, new, list) == ['a', 'b', 'c']
    assert both(ref, new, len) == 3


def test_add_does_not_leave_value_file(pair, both, count_val_files):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', BIG_BYTES))
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 1
    assert both(ref, new, lambda c: c.add('a', BIG_STR)) is False
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 1
    assert both(ref, new, lambda c: c.get('a')) == BIG_BYTES


# ---------------------------------------------------------------------------
# incr / decr
# ---------------------------------------------------------------------------


def test_incr_missing_paths(pair, both):
    ref, new = pair
    assert both(ref, new, lambda c: c.incr('a')) == 1
    assert both(ref, new, lambda c: c.incr('b', 5)) == 5
    assert both(ref, new, lambda c: c.incr('c', 2, default=10)) == 12
    assert both(ref, new, lambda c: c.decr('d')) == -1
    assert both(ref, new, lambda c: c.decr('bob', default=-9)) == -10
    exc = both(ref, new, lambda c: c.incr('nokey', default=None))
    assert isinstance(exc, KeyError) and exc.args == ('nokey',)
    exc = both(ref, new, lambda c: c.decr(('t', 1), default=None))
    assert isinstance(exc, KeyError) and exc.args == (('t', 1),)
    assert both(ref, new, lambda c: 'nokey' in c) is False
    assert both(ref, new, list) == ['a', 'b', 'c', 'd', 'bob']


def test_incr_live_path_keeps_expire_and_tag(pair, both, clock):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 10, expire=100, tag='t'))
    both(ref, new, lambda c: c.set('b', 1))
    assert both(ref, new, lambda c: c.incr('a')) == 11
    assert both(ref, new, lambda c: c.incr('a', 5)) == 16
    assert both(ref, new, lambda c: c.decr('a', 20)) == -4
    assert both(ref, new, lambda c: c.incr('a', default=None)) == -3
    assert both(ref, new, lambda c: c.get('a', expire_time=True, tag=True)) == (
        -3,
        T0 + 100,
        't',
    )
    assert both(ref, new, list) == ['a', 'b']


def test_incr_float_values(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set('f', 1.5))
    assert both(ref, new, lambda c: c.incr('f')) == 2.5
    assert both(ref, new, lambda c: c.incr('f', 0.25)) == 2.75
    assert both(ref, new, lambda c: c.decr('f', 2)) == 0.75
    both(ref, new, lambda c: c.set('i', 1))
    got = both(ref, new, lambda c: c.incr('i', 0.5))
    assert got == 1.5 and type(got) is float
    got = both(ref, new, lambda c: c.get('i'))
    assert got == 1.5 and type(got) is float
    got = both(ref, new, lambda c: c.incr('m', 0.5, default=1))
    assert got == 1.5 and type(got) is float
    both(ref, new, lambda c: c.get('m'))


@pytest.mark.cache_settings(cull_limit=0)
def test_incr_expired_paths(pair, both, clock):
    # cull_limit=0 keeps the other expired rows in place (no lazy cull).
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 100, expire=1, tag='t'))
    both(ref, new, lambda c: c.set('b', BIG_BYTES, expire=1))
    both(ref, new, lambda c: c.set('c', 5, expire=1))
    both(ref, new, lambda c: c.set('z', 0))
    clock.advance(2)
    # Expired: reset to default + delta, no expiry, no tag, same position.
    assert both(ref, new, lambda c: c.incr('a', 3)) == 3
    assert both(ref, new, lambda c: c.get('a', expire_time=True, tag=True)) == (
        3,
        None,
        None,
    )
    # An expired file-backed value is replaced too (old file removed).
    assert both(ref, new, lambda c: c.decr('b', default=10)) == 9
    exc = both(ref, new, lambda c: c.incr('c', default=None))
    assert isinstance(exc, KeyError) and exc.args == ('c',)
    assert both(ref, new, list) == ['a', 'b', 'c', 'z']
    assert both(ref, new, len) == 4


def test_incr_expired_path_runs_cull(pair, both, clock, count_val_files):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 100, expire=1, tag='t'))
    both(ref, new, lambda c: c.set('b', BIG_BYTES, expire=1))
    both(ref, new, lambda c: c.set('c', 5, expire=1))
    both(ref, new, lambda c: c.set('z', 0))
    clock.advance(2)
    # 'a' is updated in place, then the cull removes the other expired rows.
    assert both(ref, new, lambda c: c.incr('a', 3)) == 3
    assert both(ref, new, list) == ['a', 'z']
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 0
    assert both(ref, new, lambda c: c.decr('b', default=10)) == 9
    assert both(ref, new, list) == ['a', 'z', 'b']


def test_incr_live_path_does_not_cull(pair, both, clock):
    ref, new = pair
    both(ref, new, lambda c: c.set('n', 1))
    both(ref, new, lambda c: c.set('e', 1, expire=1))
    clock.advance(2)
    assert both(ref, new, lambda c: c.incr('n')) == 2
    assert both(ref, new, list) == ['n', 'e']
    assert both(ref, new, lambda c: c.incr('m')) == 1  # insert path culls
    assert both(ref, new, list) == ['n', 'm']


@pytest.mark.parametrize(
    'value',
    [
        'text',
        b'bytes',
        (1, 2),
        True,
        None,
        [1],
        2**64,
        BIG_STR,
        BIG_BYTES,
    ],
    ids=[
        'str',
        'bytes',
        'tuple',
        'bool',
        'none',
        'list',
        'bigint',
        'filestr',
        'filebytes',
    ],
)
def test_incr_non_numeric_raises_type_error(pair, both, value):
    ref, new = pair
    both(ref, new, lambda c: c.set('k', value, tag='t'))
    exc = both(ref, new, lambda c: c.incr('k'))
    assert isinstance(exc, TypeError)
    exc = both(ref, new, lambda c: c.decr('k', 2))
    assert isinstance(exc, TypeError)
    # The stored value is untouched.
    got = both(ref, new, lambda c: c.get('k', tag=True))
    assert got == (value, 't')


def test_incr_overflow_on_live_path(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set('max', 2**63 - 1, tag='x'))
    both(ref, new, lambda c: c.set('min', -(2**63)))
    exc = both(ref, new, lambda c: c.incr('max'))
    assert isinstance(exc, OverflowError)
    exc = both(ref, new, lambda c: c.decr('min'))
    assert isinstance(exc, OverflowError)
    # Rolled back: values unchanged.
    assert both(ref, new, lambda c: c.get('max', tag=True)) == (2**63 - 1, 'x')
    assert both(ref, new, lambda c: c.get('min')) == -(2**63)
    assert both(ref, new, lambda c: c.decr('max')) == 2**63 - 2
    assert both(ref, new, len) == 2


def test_incr_huge_int_on_missing_path_is_pickled(pair, both):
    ref, new = pair
    # Missing path: default + delta is stored through Disk.store, so an int
    # beyond int64 is pickled instead of overflowing.
    assert both(ref, new, lambda c: c.incr('big', default=2**63 - 1)) == 2**63
    got = both(ref, new, lambda c: c.get('big'))
    assert got == 2**63 and type(got) is int
    # ... and a pickled value cannot be incremented any more.
    exc = both(ref, new, lambda c: c.incr('big'))
    assert isinstance(exc, TypeError)
    assert both(ref, new, lambda c: c.decr('neg', 2**70)) == -(2**70)
    assert both(ref, new, lambda c: c.get('neg')) == -(2**70)


# ---------------------------------------------------------------------------
# pop / delete / touch
# ---------------------------------------------------------------------------


def test_pop(pair, both, clock):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 1, expire=10, tag='t'))
    both(ref, new, lambda c: c.set('b', BIG_BYTES))
    both(ref, new, lambda c: c.set('c', 3, tag=b'x'))
    assert both(ref, new, lambda c: c.pop('a', expire_time=True, tag=True)) == (
        1,
        T0 + 10,
        't',
    )
    assert both(ref, new, lambda c: c.pop('a')) is None
    assert both(ref, new, lambda c: c.pop('a', 'dflt')) == 'dflt'
    assert both(ref, new, lambda c: c.pop('a', default=5, expire_time=True)) == (
        5,
        None,
    )
    assert both(ref, new, lambda c: c.pop('a', 6, tag=True)) == (6, None)
    assert both(ref, new, lambda c: c.pop('a', 7, expire_time=True, tag=True)) == (
        7,
        None,
        None,
    )
    assert both(ref, new, lambda c: c.pop('b')) == BIG_BYTES
    assert both(ref, new, lambda c: c.pop('c', tag=True)) == (3, b'x')
    assert both(ref, new, len) == 0


def test_pop_expired_returns_default_and_keeps_row(pair, both, clock):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 1, expire=1))
    clock.advance(2)
    assert both(ref, new, lambda c: c.pop('a', 'd', expire_time=True, tag=True)) == (
        'd',
        None,
        None,
    )
    assert both(ref, new, len) == 1
    assert both(ref, new, list) == ['a']


def test_delete(pair, both, clock):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 1))
    both(ref, new, lambda c: c.set('b', 2, expire=1))
    assert both(ref, new, lambda c: c.delete('a')) is True
    assert both(ref, new, lambda c: c.delete('a')) is False
    assert both(ref, new, lambda c: c.delete('missing')) is False
    clock.advance(1)
    assert both(ref, new, lambda c: c.delete('b')) is False
    assert both(ref, new, len) == 1  # expired row is not deleted


def test_touch(pair, both, clock):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 1))
    both(ref, new, lambda c: c.set('b', 2, expire=5, tag='t'))
    assert both(ref, new, lambda c: c.touch('a', 10)) is True
    assert both(ref, new, lambda c: c.get('a', expire_time=True)) == (
        1,
        T0 + 10,
    )
    assert both(ref, new, lambda c: c.touch('b')) is True  # removes expiry
    assert both(ref, new, lambda c: c.get('b', expire_time=True, tag=True)) == (
        2,
        None,
        't',
    )
    assert both(ref, new, lambda c: c.touch('missing', 1)) is False
    clock.advance(10)
    assert both(ref, new, lambda c: c.touch('a', 10)) is False  # expired
    assert both(ref, new, lambda c: c.get('a')) is None
    clock.advance(1)
    assert both(ref, new, lambda c: c.touch('b', 2.5)) is True
    assert both(ref, new, lambda c: c.get('b', expire_time=True)) == (
        2,
        T0 + 13.5,
    )
    assert both(ref, new, list) == ['a', 'b']


# ---------------------------------------------------------------------------
# expire / evict / clear
# ---------------------------------------------------------------------------


def test_expire(pair, both, clock):
    ref, new = pair
    for i in range(6):
        both(ref, new, lambda c, i=i: c.set(i, i, expire=i + 1))
    both(ref, new, lambda c: c.set('forever', BIG_BYTES))
    both(ref, new, lambda c: c.set('big', BIG_BYTES, expire=1))
    assert both(ref, new, lambda c: c.expire()) == 0
    clock.advance(2.5)  # 0 and 1 and 'big' expired
    assert both(ref, new, lambda c: c.expire()) == 3
    assert both(ref, new, list) == [2, 3, 4, 5, 'forever']
    # Explicit "now": strict comparison expire_time < now.
    assert both(ref, new, lambda c: c.expire(T0 + 4)) == 1
    assert both(ref, new, list) == [3, 4, 5, 'forever']
    assert both(ref, new, lambda c: c.expire(T0 + 100)) == 3
    # now=0 means time.time().
    both(ref, new, lambda c: c.set('x', 1, expire=1))
    clock.advance(2)
    assert both(ref, new, lambda c: c.expire(0)) == 1
    assert both(ref, new, list) == ['forever']


def test_evict(pair, both, clock):
    ref, new = pair
    for i in range(5):
        both(ref, new, lambda c, i=i: c.set(i, i, tag='even' if i % 2 == 0 else 'odd'))
    both(ref, new, lambda c: c.set('none', 1))
    both(ref, new, lambda c: c.set('file', BIG_BYTES, tag='odd'))
    both(ref, new, lambda c: c.set('exp', 1, expire=1, tag='even'))
    clock.advance(5)
    assert both(ref, new, lambda c: c.evict(None)) == 0  # tag = NULL never matches
    assert both(ref, new, lambda c: c.evict('missing')) == 0
    assert both(ref, new, lambda c: c.evict('even')) == 4  # expired rows too
    assert both(ref, new, list) == [1, 3, 'none', 'file']
    assert both(ref, new, lambda c: c.evict('odd')) == 3
    assert both(ref, new, list) == ['none']


def test_evict_tag_types(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set('i', 1, tag=1))
    both(ref, new, lambda c: c.set('s', 1, tag='1'))
    both(ref, new, lambda c: c.set('b', 1, tag=b'1'))
    both(ref, new, lambda c: c.set('f', 1, tag=2.5))
    assert both(ref, new, lambda c: c.evict(b'1')) == 1
    assert both(ref, new, lambda c: c.evict('1')) == 1
    assert both(ref, new, lambda c: c.evict(2.5)) == 1
    assert both(ref, new, lambda c: c.evict(1)) == 1
    assert both(ref, new, len) == 0


def test_evict_numeric_tag_matches_across_int_and_float(pair, both):
    # Tags are stored with their SQLite type and compared by SQLite, so an
    # int tag matches an equal float tag (not stated in the spec; observed
    # upstream behaviour, consistent with key 1 == key 1.0).
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 1, tag=1))
    both(ref, new, lambda c: c.set('b', 2, tag=1.0))
    both(ref, new, lambda c: c.set('c', 3, tag='1'))
    assert both(ref, new, lambda c: c.evict(1)) == 2
    assert both(ref, new, list) == ['c']


def test_clear(pair, both, clock, count_val_files):
    ref, new = pair
    for i in range(250):
        both(ref, new, lambda c, i=i: c.set(i, i))
    both(ref, new, lambda c: c.set('file', BIG_BYTES))
    both(ref, new, lambda c: c.set('exp', 1, expire=1))
    clock.advance(2)
    assert both(ref, new, lambda c: c.clear()) == 252
    assert both(ref, new, len) == 0
    assert both(ref, new, list) == []
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 0
    assert both(ref, new, lambda c: c.clear()) == 0
    both(ref, new, lambda c: c.set('again', 1))
    assert both(ref, new, list) == ['again']


# ---------------------------------------------------------------------------
# Mapping protocol
# ---------------------------------------------------------------------------


def test_getitem_setitem_delitem(pair, both, clock):
    ref, new = pair
    assert both(ref, new, lambda c: c.__setitem__('a', 1)) is None
    assert both(ref, new, lambda c: c['a']) == 1
    exc = both(ref, new, lambda c: c['missing'])
    assert isinstance(exc, KeyError) and exc.args == ('missing',)
    assert both(ref, new, lambda c: c.__delitem__('a')) is True
    exc = both(ref, new, lambda c: c.__delitem__('a'))
    assert isinstance(exc, KeyError) and exc.args == ('a',)
    both(ref, new, lambda c: c.set(('t', 2), 'v', expire=1))
    clock.advance(1)
    exc = both(ref, new, lambda c: c[('t', 2)])
    assert isinstance(exc, KeyError) and exc.args == (('t', 2),)
    exc = both(ref, new, lambda c: c.__delitem__(('t', 2)))
    assert isinstance(exc, KeyError) and exc.args == (('t', 2),)
    assert both(ref, new, len) == 1  # expired row not deleted by del
    both(ref, new, lambda c: c.__setitem__(('t', 2), 'w'))
    assert both(ref, new, lambda c: c[('t', 2)]) == 'w'


def test_getitem_none_value_is_a_hit(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.__setitem__('n', None))
    assert both(ref, new, lambda c: c['n']) is None
    assert both(ref, new, lambda c: 'n' in c) is True


def test_contains(pair, both, clock):
    ref, new = pair
    both(ref, new, lambda c: c.set('live', 1))
    both(ref, new, lambda c: c.set('exp', 1, expire=1))
    assert both(ref, new, lambda c: 'live' in c) is True
    assert both(ref, new, lambda c: 'exp' in c) is True
    assert both(ref, new, lambda c: 'missing' in c) is False
    clock.advance(1)
    assert both(ref, new, lambda c: 'exp' in c) is False


def test_len_counts_expired(pair, both, clock):
    ref, new = pair
    for i in range(5):
        both(ref, new, lambda c, i=i: c.set(i, i, expire=1))
    clock.advance(10)
    assert both(ref, new, len) == 5
    assert both(ref, new, lambda c: [c.get(i) for i in range(5)]) == [None] * 5
    assert both(ref, new, list) == [0, 1, 2, 3, 4]
    assert both(ref, new, lambda c: list(reversed(c))) == [4, 3, 2, 1, 0]


def test_set_culls_expired_rows_lazily(pair, both, clock):
    ref, new = pair
    for i in range(15):
        both(ref, new, lambda c, i=i: c.set(i, i, expire=1 + i % 3))
    clock.advance(10)
    assert both(ref, new, len) == 15
    both(ref, new, lambda c: c.set('x', 1))  # culls up to cull_limit=10
    assert both(ref, new, len) == 6
    both(ref, new, lambda c: c.set('y', 1))
    assert both(ref, new, len) == 2
    assert both(ref, new, list) == ['x', 'y']


@pytest.mark.cache_settings(cull_limit=0)
def test_cull_limit_zero_disables_lazy_expiry(pair, both, clock):
    ref, new = pair
    for i in range(5):
        both(ref, new, lambda c, i=i: c.set(i, i, expire=1))
    clock.advance(10)
    both(ref, new, lambda c: c.set('x', 1))
    assert both(ref, new, len) == 6
    assert both(ref, new, lambda c: c.expire()) == 5  # expire ignores cull_limit


# ---------------------------------------------------------------------------
# Iteration order
# ---------------------------------------------------------------------------


def test_iteration_insertion_order(pair, both):
    ref, new = pair
    keys = ['b', 3, 'a', b'z', 1.5, (1,), None, -7]
    for k in keys:
        both(ref, new, lambda c, k=k: c.set(k, 1))
    assert both(ref, new, list) == keys
    assert both(ref, new, lambda c: list(reversed(c))) == keys[::-1]
    # Overwrite keeps position.
    both(ref, new, lambda c: c.set('a', 'changed'))
    both(ref, new, lambda c: c.set(3, BIG_BYTES))
    assert both(ref, new, list) == keys
    # Delete + reinsert moves to the end.
    both(ref, new, lambda c: c.delete('b'))
    both(ref, new, lambda c: c.set('b', 2))
    both(ref, new, lambda c: c.pop(1.5))
    both(ref, new, lambda c: c.add(1.5, 2))
    assert both(ref, new, list) == [3, 'a', b'z', (1,), None, -7, 'b', 1.5]
    assert both(ref, new, lambda c: list(reversed(c))) == both(
        ref, new, lambda c: list(c)[::-1]
    )


def test_iterator_bounded_at_creation(pair, both):
    ref, new = pair
    for i in range(5):
        both(ref, new, lambda c, i=i: c.set(i, i))

    def scenario(c):
        it = iter(c)
        rit = reversed(c)
        c.set('later', 1)
        c.set(2, 'overwritten')
        c.delete(4)
        return list(it), list(rit), list(c)

    assert both(ref, new, scenario) == (
        [0, 1, 2, 3],
        [3, 2, 1, 0],
        [0, 1, 2, 3, 'later'],
    )


def test_iteration_over_many_rows(pair, both):
    ref, new = pair

    def fill(c):
        with c.transact():
            for i in range(350):
                c.set(i, None)
            for i in range(0, 350, 7):
                c.delete(i)

    both(ref, new, fill)
    assert both(ref, new, list) == [i for i in range(350) if i % 7]
    assert both(ref, new, lambda c: list(reversed(c))) == [
        i for i in reversed(range(350)) if i % 7
    ]
    assert both(ref, new, len) == 300


def test_empty_iteration(pair, both):
    ref, new = pair
    assert both(ref, new, list) == []
    assert both(ref, new, lambda c: list(reversed(c))) == []
    assert both(ref, new, len) == 0


# ---------------------------------------------------------------------------
# stats / volume / close / context manager / transact
# ---------------------------------------------------------------------------


def test_stats(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 1))
    both(ref, new, lambda c: c.get('a'))  # statistics off: not counted
    assert both(ref, new, lambda c: c.statistics) == 0
    assert both(ref, new, lambda c: c.stats()) == (0, 0)
    assert both(ref, new, lambda c: c.statistics) is True  # stats() enables
    both(ref, new, lambda c: c.get('a'))
    both(ref, new, lambda c: c.get('a', expire_time=True, tag=True))
    both(ref, new, lambda c: c['a'])
    both(ref, new, lambda c: c.get('missing'))
    both(ref, new, lambda c: c['missing'])
    # Not counted: in, pop, incr.
    both(ref, new, lambda c: 'a' in c)
    both(ref, new, lambda c: 'zz' in c)
    both(ref, new, lambda c: c.incr('n'))
    both(ref, new, lambda c: c.pop('zz'))
    assert both(ref, new, lambda c: c.stats()) == (3, 2)
    assert both(ref, new, lambda c: c.stats(reset=True)) == (3, 2)
    assert both(ref, new, lambda c: c.stats()) == (0, 0)
    both(ref, new, lambda c: c.get('a'))
    assert both(ref, new, lambda c: c.stats(enable=False)) == (1, 0)
    assert both(ref, new, lambda c: c.statistics) is False
    both(ref, new, lambda c: c.get('a'))
    both(ref, new, lambda c: c.get('missing'))
    assert both(ref, new, lambda c: c.stats(enable=False)) == (1, 0)
    assert both(ref, new, lambda c: (c.hits, c.misses)) == (1, 0)


def test_stats_persisted_on_reopen(make_pair, both):
    ref, new = make_pair()
    both(ref, new, lambda c: c.stats())
    both(ref, new, lambda c: c.get('x'))
    ref2, new2 = make_pair.reopen(ref, new)
    assert both(ref2, new2, lambda c: c.statistics) == 1
    assert both(ref2, new2, lambda c: (c.hits, c.misses)) == (0, 1)
    both(ref2, new2, lambda c: c.get('x'))
    assert both(ref2, new2, lambda c: c.stats()) == (0, 2)


def test_volume(pair):
    ref, new = pair
    for cache in (ref, new):
        v0 = cache.volume()
        assert type(v0) is int and v0 > 0
        for i in range(5):
            cache.set(i, bytes([i]) * MiB)
        v1 = cache.volume()
        assert type(v1) is int
        assert v1 >= v0 + 5 * MiB
        for i in range(3):
            assert cache.delete(i) is True
        v2 = cache.volume()
        assert v2 <= v1 - 3 * MiB + 64 * KiB
        assert v2 > 0


def test_close_repeated_and_reconnect(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set('a', 1))
    assert both(ref, new, lambda c: c.close()) is None
    assert both(ref, new, lambda c: c.close()) is None
    assert both(ref, new, lambda c: c.get('a')) == 1
    both(ref, new, lambda c: c.close())
    both(ref, new, lambda c: c.set('b', BIG_BYTES))
    both(ref, new, lambda c: c.close())
    assert both(ref, new, list) == ['a', 'b']
    both(ref, new, lambda c: c.close())
    assert both(ref, new, len) == 2
    both(ref, new, lambda c: c.close())
    assert both(ref, new, lambda c: c.incr('a')) == 2


def test_context_manager(impl, refmod, tmp_path, clock, both):
    results = []
    caches = []
    for module, name in ((refmod, 'ref'), (impl, 'new')):
        cache = module.Cache(str(tmp_path / name))
        caches.append(cache)
        with cache as entered:
            assert entered is cache
            entered.set('k', 'v')
        # Closed by __exit__, yet still usable (reconnects).
        results.append(cache.get('k'))
        cache.set('k2', 'v2')
        with cache:
            pass
        with cache:
            pass
    assert results == ['v', 'v']
    try:
        ref, new = caches
        assert both(ref, new, list) == ['k', 'k2']
    finally:
        for cache in caches:
            cache.close()


def test_transact_commit_and_nesting(pair, both):
    ref, new = pair

    def scenario(c):
        seen = []
        with c.transact() as value:
            seen.append(value)
            c.set('a', 1)
            with c.transact() as inner:
                seen.append(inner)
                c.set('b', BIG_BYTES)
                c.incr('n')
            seen.append(c.get('b') == BIG_BYTES)
            c['c'] = 3
        return seen

    assert both(ref, new, scenario) == [None, None, True]
    assert both(ref, new, list) == ['a', 'b', 'n', 'c']
    assert both(ref, new, lambda c: c.get('n')) == 1


class Boom(Exception):
    pass


def test_transact_exception_rolls_back(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set('before', 1))

    def scenario(c):
        with c.transact():
            c.set('inside', 2)
            c.set('before', 'changed')
            with c.transact():
                c.set('nested', 3)
            assert c.get('inside') == 2  # own writes visible inside
            raise Boom('inside transact')

    exc = both(ref, new, scenario)
    assert isinstance(exc, Boom) and exc.args == ('inside transact',)
    assert both(ref, new, list) == ['before']
    assert both(ref, new, lambda c: c.get('before')) == 1
    assert both(ref, new, lambda c: c.get('inside')) is None
    assert both(ref, new, len) == 1
    # Still usable afterwards.
    both(ref, new, lambda c: c.set('after', 4))
    assert both(ref, new, list) == ['before', 'after']


def test_transact_rollback_from_nested_block(pair, both):
    ref, new = pair

    def scenario(c):
        with c.transact():
            c.set('x', 1)
            with c.transact():
                c.set('y', 2)
                raise KeyError('nested')

    exc = both(ref, new, scenario)
    assert isinstance(exc, KeyError) and exc.args == ('nested',)
    assert both(ref, new, list) == []


# ---------------------------------------------------------------------------
# size_limit culling and file-backed storage
# ---------------------------------------------------------------------------


def _fill_mib_values(cache, clock, n=20):
    for i in range(n):
        clock.advance(1)
        cache.set(i, bytes([i]) * MiB)


@pytest.mark.cache_settings(size_limit=10 * MiB + MiB // 2)
def test_size_limit_culls_least_recently_stored(pair, both, clock):
    # 10 x 1 MiB files stay under 10.5 MiB; the 11th set crosses the limit
    # and the cull removes cull_limit=10 rows (oldest store_time first) in
    # one go.  The boundary does not depend on small per-row overheads.
    ref, new = pair
    start = clock()
    _fill_mib_values(ref, clock)
    clock.set(start)
    _fill_mib_values(new, clock)
    assert both(ref, new, lambda c: sorted(c)) == list(range(10, 20))
    assert both(ref, new, len) == 10


@pytest.mark.cache_settings(size_limit=10 * MiB + MiB // 2, cull_limit=2)
def test_size_limit_culls_with_small_cull_limit(pair, both, clock):
    ref, new = pair
    start = clock()
    _fill_mib_values(ref, clock)
    clock.set(start)
    _fill_mib_values(new, clock)
    # Each crossing (11 MiB) removes the 2 oldest rows, back to 9 MiB.
    got = both(ref, new, lambda c: sorted(c))
    assert got == list(range(10, 20))
    assert both(ref, new, len) == 10


@pytest.mark.cache_settings(size_limit=10 * MiB + MiB // 2, cull_limit=0)
def test_size_limit_ignored_when_cull_limit_zero(pair, both, clock):
    ref, new = pair
    start = clock()
    _fill_mib_values(ref, clock)
    clock.set(start)
    _fill_mib_values(new, clock)
    assert both(ref, new, lambda c: sorted(c)) == list(range(20))


@pytest.mark.cache_settings(size_limit=10 * MiB + MiB // 2)
def test_size_limit_cull_prefers_expired_rows(pair, both, clock):
    # Four small rows expire together just before the set that crosses the
    # limit: the cull removes them first, and the remaining budget of
    # 10 - 4 = 6 rows goes to the policy pass (oldest store_time first).
    ref, new = pair

    def scenario(c, start):
        clock.set(start)
        for i in range(4):
            clock.advance(1)
            c.set(('exp', i), i, expire=100)
        for i in range(10):
            clock.advance(1)
            c.set(i, bytes([i]) * MiB)
        clock.advance(200)
        c.set(10, bytes([10]) * MiB)
        return sorted(c, key=repr)

    start = clock()
    got_ref = scenario(ref, start)
    got_new = scenario(new, start)
    assert got_ref == sorted(range(6, 11), key=repr)
    assert got_new == got_ref


@pytest.mark.parametrize(
    'value',
    [BIG_BYTES, BIG_STR, BIG_OBJ, 'é' * (32 * KiB), b'\x00' * (32 * KiB)],
    ids=['bytes', 'str', 'pickled', 'str-chars', 'bytes-threshold'],
)
def test_large_values_are_stored_in_files(pair, both, count_val_files, value):
    ref, new = pair
    both(ref, new, lambda c: c.set('small', 'x'))
    before = (count_val_files(ref.directory), count_val_files(new.directory))
    assert before == (0, 0)
    both(ref, new, lambda c: c.set('big', value))
    assert count_val_files(ref.directory) == 1
    assert count_val_files(new.directory) == 1
    got = both(ref, new, lambda c: c.get('big'))
    assert got == value and type(got) is type(value)
    # Overwrite with a small value removes the file.
    both(ref, new, lambda c: c.set('big', 1))
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 0
    both(ref, new, lambda c: c.set('big', value))
    both(ref, new, lambda c: c.delete('big'))
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 0


@pytest.mark.parametrize(
    'value',
    [b'x' * (32 * KiB - 1), 'x' * (32 * KiB - 1), 'é' * (32 * KiB - 1)],
    ids=['bytes', 'str', 'str-multibyte'],
)
def test_values_below_threshold_stay_inline(pair, both, count_val_files, value):
    ref, new = pair
    both(ref, new, lambda c: c.set('k', value))
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 0
    got = both(ref, new, lambda c: c.get('k'))
    assert got == value and type(got) is type(value)


def test_val_file_count_accumulates(pair, both, count_val_files):
    ref, new = pair
    for n, value in enumerate([BIG_BYTES, BIG_STR, BIG_OBJ], start=1):
        both(ref, new, lambda c, n=n, v=value: c.set(n, v))
        assert count_val_files(ref.directory) == n
        assert count_val_files(new.directory) == n
    assert both(ref, new, lambda c: [c[1], c[2], c[3]]) == [BIG_BYTES, BIG_STR, BIG_OBJ]
    assert both(ref, new, lambda c: c.pop(2)) == BIG_STR
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 2


@pytest.mark.cache_settings(disk_min_file_size=0)
def test_min_file_size_zero(pair, both, count_val_files):
    ref, new = pair
    both(ref, new, lambda c: c.set('i', 1))
    both(ref, new, lambda c: c.set('f', 1.5))
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 0
    both(ref, new, lambda c: c.set('s', 'x'))
    both(ref, new, lambda c: c.set('b', b''))
    both(ref, new, lambda c: c.set('t', (1,)))
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 3
    assert both(ref, new, lambda c: [c['i'], c['f'], c['s'], c['b'], c['t']]) == [
        1,
        1.5,
        'x',
        b'',
        (1,),
    ]


def test_large_str_universal_newlines(pair, both):
    ref, new = pair
    big = 'a\r\nb\rc\n' * 6000
    assert len(big) >= 32 * KiB
    both(ref, new, lambda c: c.set('big', big))
    assert both(ref, new, lambda c: c.get('big')) == 'a\nb\nc\n' * 6000
    small = 'a\r\nb\rc\n' * 10
    both(ref, new, lambda c: c.set('small', small))
    assert both(ref, new, lambda c: c.get('small')) == small
    # Bytes are never translated.
    bigb = b'a\r\nb\r' * 10000
    both(ref, new, lambda c: c.set('bigb', bigb))
    assert both(ref, new, lambda c: c.get('bigb')) == bigb


# ---------------------------------------------------------------------------
# Key typing
# ---------------------------------------------------------------------------


def test_int_and_float_keys_are_the_same(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set(1, 'int'))
    assert both(ref, new, lambda c: c.get(1.0)) == 'int'
    assert both(ref, new, lambda c: 1.0 in c) is True
    both(ref, new, lambda c: c.set(1.0, 'float'))
    assert both(ref, new, lambda c: c.get(1)) == 'float'
    assert both(ref, new, len) == 1
    got = both(ref, new, list)
    assert got == [1] and type(got[0]) is int  # original key type kept
    both(ref, new, lambda c: c.set(2.0, 'f'))
    assert both(ref, new, lambda c: c[2]) == 'f'
    got = both(ref, new, list)
    assert got == [1, 2.0] and type(got[1]) is float


def test_int_float_key_incr_and_delete(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set(3, 10))
    assert both(ref, new, lambda c: c.incr(3.0)) == 11
    assert both(ref, new, lambda c: c.pop(3.0)) == 11
    assert both(ref, new, len) == 0
    both(ref, new, lambda c: c.set(4.0, 1))
    assert both(ref, new, lambda c: c.delete(4)) is True
    both(ref, new, lambda c: c.set(5, 1))
    assert both(ref, new, lambda c: c.add(5.0, 2)) is False


def test_bool_key_is_distinct_from_int(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set(1, 'int'))
    both(ref, new, lambda c: c.set(True, 'bool'))
    both(ref, new, lambda c: c.set(0, 'zero'))
    both(ref, new, lambda c: c.set(False, 'false'))
    assert both(ref, new, len) == 4
    assert both(ref, new, lambda c: [c[1], c[True], c[0], c[False]]) == [
        'int',
        'bool',
        'zero',
        'false',
    ]
    got = both(ref, new, list)
    assert [type(k) for k in got] == [int, bool, int, bool]


def test_str_bytes_int_keys_distinct(pair, both):
    ref, new = pair
    for k, v in (('1', 's'), (b'1', 'b'), (1, 'i'), (1.5, 'f'), ('', 'e'), (b'', 'eb')):
        both(ref, new, lambda c, k=k, v=v: c.set(k, v))
    assert both(ref, new, len) == 6
    assert both(ref, new, lambda c: [c['1'], c[b'1'], c[1], c[1.5], c[''], c[b'']]) == [
        's',
        'b',
        'i',
        'f',
        'e',
        'eb',
    ]
    got = both(ref, new, list)
    assert got == ['1', b'1', 1, 1.5, '', b'']


def test_large_int_keys(pair, both):
    ref, new = pair
    keys = [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64, 10**30, -(10**30)]
    for i, k in enumerate(keys):
        both(ref, new, lambda c, k=k, i=i: c.set(k, i))
    assert both(ref, new, len) == len(keys)
    assert both(ref, new, lambda c: [c[k] for k in keys]) == list(range(len(keys)))
    assert both(ref, new, list) == keys
    assert both(ref, new, lambda c: c.delete(2**64)) is True
    assert both(ref, new, lambda c: 2**64 in c) is False


def test_tuple_none_and_subclass_keys(pair, both):
    ref, new = pair
    keys = [
        (1, 'a'),
        ((1, 2), 'x', b'y'),
        (),
        None,
        StrSub('a'),
        'a',
        IntSub(5),
        5,
        frozenset([1]),
    ]
    for i, k in enumerate(keys):
        both(ref, new, lambda c, k=k, i=i: c.set(k, i))
    assert both(ref, new, len) == len(keys)
    assert both(ref, new, lambda c: [c[k] for k in keys]) == list(range(len(keys)))
    got = both(ref, new, list)
    assert got == keys
    assert [type(k) for k in got] == [type(k) for k in keys]
    assert both(ref, new, lambda c: c.get(None)) == 3
    assert both(ref, new, lambda c: (1, 'a') in c) is True
    assert both(ref, new, lambda c: c.pop(StrSub('a'))) == 4
    assert both(ref, new, lambda c: c['a']) == 5


def test_unicode_keys(pair, both):
    ref, new = pair
    keys = ['ключ', '日本語', '😀', 'e\u0301', '\u00e9', 'a\x00b', 'tab\tnl\n']
    for i, k in enumerate(keys):
        both(ref, new, lambda c, k=k, i=i: c.set(k, k * 2))
    assert both(ref, new, len) == len(keys)
    assert both(ref, new, list) == keys
    assert both(ref, new, lambda c: [c[k] for k in keys]) == [k * 2 for k in keys]


# ---------------------------------------------------------------------------
# Value typing
# ---------------------------------------------------------------------------


VALUES = [
    0,
    -1,
    2**63 - 1,
    -(2**63),
    2**63,
    -(2**100),
    0.0,
    -2.5,
    1e300,
    float('inf'),
    float('-inf'),
    '',
    'text',
    'ünïcødé 😀',
    b'',
    b'\x00\xff',
    [],
    [1, 'a', b'b', None],
    {},
    {'a': 1, 2: (3, 4)},
    (),
    (1, (2.5, 'x')),
    None,
    True,
    False,
    StrSub('sub'),
    IntSub(3),
    frozenset({1, 2}),
    BIG_BYTES,
    BIG_STR,
    BIG_OBJ,
]


@pytest.mark.parametrize('value', VALUES, ids=[str(i) for i in range(len(VALUES))])
def test_value_round_trip(pair, both, value):
    ref, new = pair
    both(ref, new, lambda c: c.set('k', value))
    got = both(ref, new, lambda c: c.get('k'))
    assert got == value and type(got) is type(value)
    got = both(ref, new, lambda c: c['k'])
    assert got == value and type(got) is type(value)
    got = both(ref, new, lambda c: c.pop('k'))
    assert got == value and type(got) is type(value)


def test_nan_value_reads_back_as_none(pair, both):
    ref, new = pair
    both(ref, new, lambda c: c.set('nan', float('nan')))
    assert both(ref, new, lambda c: c.get('nan', 'default')) is None
    assert both(ref, new, lambda c: 'nan' in c) is True
    assert both(ref, new, lambda c: c.pop('nan', 'default')) is None


def test_empty_values(pair, both, count_val_files):
    ref, new = pair
    both(ref, new, lambda c: c.set('b', b''))
    both(ref, new, lambda c: c.set('s', ''))
    got = both(ref, new, lambda c: (c['b'], c['s']))
    assert got == (b'', '')
    assert count_val_files(ref.directory) == count_val_files(new.directory) == 0
    assert both(ref, new, lambda c: c.get('b', 'dflt')) == b''


# ---------------------------------------------------------------------------
# Long scripted random sequence
# ---------------------------------------------------------------------------


RANDOM_KEYS = [
    0,
    1,
    1.0,
    2,
    2.5,
    -3,
    2**64,
    'a',
    'b',
    'ключ',
    b'a',
    b'\x00',
    (1, 'x'),
    None,
    True,
]
RANDOM_VALUES = [
    0,
    1,
    -5,
    7.25,
    2**62,
    'v',
    '',
    b'v',
    b'',
    (1, 2),
    [1, 'x'],
    None,
    False,
    BIG_BYTES,
    BIG_BYTES[:-1] + b'!',
    BIG_STR,
    'r\r\n' * 12000,
    BIG_OBJ,
]
RANDOM_TAGS = [None, None, 'red', 'blue', 1, b't']
RANDOM_EXPIRES = [None, None, None, 0, 1, 2, 3.5, 10, -1]


def _random_ops(rng, count):
    """Generate (description, callable) pairs; each callable takes a cache."""
    ops = []
    for _ in range(count):
        k = rng.choice(RANDOM_KEYS)
        v = rng.choice(RANDOM_VALUES)
        tag = rng.choice(RANDOM_TAGS)
        exp = rng.choice(RANDOM_EXPIRES)
        flags = dict(expire_time=rng.random() < 0.5, tag=rng.random() < 0.5)
        default = rng.choice([None, 0, 10, 'dflt'])
        delta = rng.choice([1, -1, 3, 0.5, 2**62])
        r = rng.random()
        if r < 0.20:
            op = ('set', k, v, exp, tag)
            fn = lambda c, k=k, v=v, e=exp, t=tag: c.set(k, v, expire=e, tag=t)
        elif r < 0.32:
            op = ('get', k, default, flags)
            fn = lambda c, k=k, d=default, f=flags: c.get(k, d, **f)
        elif r < 0.38:
            op = ('add', k, v, exp, tag)
            fn = lambda c, k=k, v=v, e=exp, t=tag: c.add(k, v, expire=e, tag=t)
        elif r < 0.46:
            d = rng.choice([0, 0, 5, None, 1.5])
            op = ('incr', k, delta, d)
            fn = lambda c, k=k, x=delta, d=d: c.incr(k, x, d)
        elif r < 0.50:
            d = rng.choice([0, 0, -9, None])
            op = ('decr', k, delta, d)
            fn = lambda c, k=k, x=delta, d=d: c.decr(k, x, default=d)
        elif r < 0.56:
            op = ('pop', k, default, flags)
            fn = lambda c, k=k, d=default, f=flags: c.pop(k, d, **f)
        elif r < 0.60:
            op = ('delete', k)
            fn = lambda c, k=k: c.delete(k)
        elif r < 0.64:
            op = ('touch', k, exp)
            fn = lambda c, k=k, e=exp: c.touch(k, e)
        elif r < 0.68:
            op = ('getitem', k)
            fn = lambda c, k=k: c[k]
        elif r < 0.72:
            op = ('setitem', k, v)
            fn = lambda c, k=k, v=v: c.__setitem__(k, v)
        elif r < 0.75:
            op = ('delitem', k)
            fn = lambda c, k=k: c.__delitem__(k)
        elif r < 0.80:
            op = ('contains', k)
            fn = lambda c, k=k: k in c
        elif r < 0.82:
            op = ('expire',)
            fn = lambda c: c.expire()
        elif r < 0.84:
            t = rng.choice(RANDOM_TAGS)
            op = ('evict', t)
            fn = lambda c, t=t: c.evict(t)
        elif r < 0.845:
            op = ('clear',)
            fn = lambda c: c.clear()
        elif r < 0.87:
            op = ('list',)
            fn = list
        elif r < 0.88:
            op = ('reversed',)
            fn = lambda c: list(reversed(c))
        elif r < 0.90:
            op = ('len',)
            fn = len
        else:
            dt = rng.choice([0, 0.5, 1, 1, 2, 5])
            op = ('advance', dt)
            fn = None
        ops.append((op, fn))
    return ops


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_operation_sequence(pair, clock, outcome, seed):
    ref, new = pair
    rng = random.Random(seed)
    ops = _random_ops(rng, 1500)
    history = []
    for step, (op, fn) in enumerate(ops):
        history.append(op)
        if fn is None:
            clock.advance(op[1])
            continue
        expected = outcome(fn, ref)
        actual = outcome(fn, new)
        assert actual == expected, (
            'step %d, op %r\nreference: %r\ncandidate: %r\nrecent ops: %r'
            % (step, op, expected, actual, history[-10:])
        )
    assert outcome(list, new) == outcome(list, ref)
    assert outcome(len, new) == outcome(len, ref)
    assert outcome(lambda c: list(reversed(c)), new) == outcome(
        lambda c: list(reversed(c)), ref
    )
    assert outcome(lambda c: c.expire(), new) == outcome(lambda c: c.expire(), ref)
    assert outcome(list, new) == outcome(list, ref)
