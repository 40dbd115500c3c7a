"""Differential tests of edge cases where SQLite's semantics show through
python-diskcache (issue 15 B): NaN keys and expire times (SQLite stores NaN
as NULL), incr beyond int64, a negative cull_limit (SQLite's LIMIT -1 is no
limit) and the statistics of a get whose value file is gone.

Each scenario runs on ``diskcache`` 5.6.3 and on the candidate and compares
results and exceptions with ``both`` (conftest.py).
"""

import itertools
import os

import pytest

import diskcache as reference

NAN = float('nan')
KiB = 2**10
MiB = 2**20
BIG_BYTES = b'B' * (40 * KiB)
BIG_STR = 'S' * (40 * KiB)
BIG_OBJ = list(range(20000))  # pickles to well over 32 KiB


def run(ref, new, both, steps):
    """Run each step on both caches, in order, comparing outcomes."""
    return [both(ref, new, step) for step in steps]


# -- 1. a NaN key is stored as NULL, which equals nothing ---------------------


def test_nan_key_is_a_new_row_that_nothing_finds(pair, both):
    ref, new = pair
    run(ref, new, both, [
        lambda c: c.set(NAN, 1),
        lambda c: c.get(NAN, 'default'),
        len,
        lambda c: c.set(NAN, 2),  # a second row, not a replacement
        len,
        list,
        lambda c: list(reversed(c)),
        lambda c: NAN in c,
        lambda c: c.delete(NAN),
        lambda c: c.touch(NAN, 10),
        lambda c: c.pop(NAN, 'default'),
        lambda c: c.add(NAN, 3),
        lambda c: c.incr(NAN, 5),
        lambda c: c.incr(NAN, 1, default=None),
        lambda c: c[NAN],
        lambda c: c.get(-NAN, 'default'),
        len,
        list,
        lambda c: c.peekitem(),
        lambda c: c.peekitem(last=False),
        lambda c: c.set(NAN, BIG_BYTES),  # with a value file
        len,
        lambda c: c.peekitem(),
        # Inside a tuple the key is pickled: an ordinary key.
        lambda c: c.set((NAN,), 1),
        lambda c: c.get((NAN,)),
        lambda c: c.set((NAN,), 2),
        len,
    ])


def test_nan_key_sorts_as_null_in_iterkeys(pair, both):
    ref, new = pair
    run(ref, new, both, [
        lambda c: list(c.iterkeys()),
        lambda c: c.set(NAN, 0),
        lambda c: list(c.iterkeys()),
        lambda c: list(c.iterkeys(reverse=True)),
        lambda c: [c.set(k, k) for k in ('a', 2, 1.5, b'b', 'z')],
        lambda c: c.set(NAN, 1),
        # NULL sorts first, and SQLite's "key > NULL" matches nothing: the
        # forward walk stops after it and the reverse one never reaches it.
        lambda c: list(c.iterkeys()),
        lambda c: list(c.iterkeys(reverse=True)),
        list,
        lambda c: c.pull(),
        lambda c: c.peek(side='back'),
    ])


def test_nan_keys_survive_reopen_and_clear(make_pair, both):
    ref, new = make_pair()
    run(ref, new, both, [lambda c: [c.set(NAN, i) for i in range(3)]])
    ref2, new2 = make_pair.reopen(ref, new)
    run(ref2, new2, both, [
        len,
        list,
        lambda c: c.peekitem(last=False),
        lambda c: c.stats(enable=True),
        lambda c: c.get(NAN),
        lambda c: c.stats(),
        lambda c: c.clear(),
        len,
    ])


# -- 2. a NaN expire time is NULL: the item never expires ---------------------


def test_nan_expire_never_expires(pair, both, clock):
    ref, new = pair
    run(ref, new, both, [
        lambda c: c.set('a', 1, expire=NAN),
        lambda c: c.get('a', expire_time=True),
        lambda c: c.set('f', 1.5, expire=NAN),  # the Python path's set
        lambda c: c.set('big', BIG_BYTES, expire=NAN),
        lambda c: c.set('b', 2, expire=1),
        lambda c: c.touch('b', expire=NAN),
        lambda c: c.add('a', 3, expire=NAN),
        lambda c: c.add('c', 3, expire=NAN),
        lambda c: c.push('v', expire=NAN),
        lambda c: c.peek(expire_time=True),
    ])
    clock.advance(10**6)
    run(ref, new, both, [
        lambda c: [c.get(k, 'gone', expire_time=True) for k in ('a', 'f', 'b', 'c')],
        lambda c: len(c.get('big')),
        lambda c: 'a' in c,
        lambda c: c.expire(),
        lambda c: c.cull(),
        len,
        lambda c: c.incr('a'),
        lambda c: c.get('a', expire_time=True),
        lambda c: c.pull(expire_time=True),
    ])


# -- 3. incr beyond int64 ---------------------------------------------------


def test_incr_float_by_huge_int(pair, both, clock):
    ref, new = pair
    run(ref, new, both, [
        lambda c: c.set('f', 1.5, expire=100, tag='t'),
        lambda c: c.incr('f', 2**64),
        lambda c: c.get('f', expire_time=True, tag=True),
        lambda c: c.decr('f', 2**64),
        lambda c: c.decr('f', -2**128),
        lambda c: c.get('f'),
        lambda c: c.incr('f', 2**1100),  # OverflowError: int too large to convert to float
        lambda c: c.get('f'),
        lambda c: c.set('g', -1e300),
        lambda c: c.incr('g', -2**1023),
        lambda c: c.get('g'),
    ])


def test_incr_int_by_huge_int(pair, both, clock):
    ref, new = pair
    run(ref, new, both, [
        lambda c: c.set('i', 5),
        lambda c: c.incr('i', 2**64),  # OverflowError from SQLite's binding
        lambda c: c.decr('i', 2**64),
        lambda c: c.incr('i', 2**63 - 1),
        lambda c: c.get('i'),
        # A delta beyond int64 whose sum is back in range.
        lambda c: c.set('j', -2**63, expire=100, tag='t'),
        lambda c: c.incr('j', 2**63 + 5),
        lambda c: c.get('j', expire_time=True, tag=True),
        lambda c: c.decr('j', -2**63),
        lambda c: c.set('k', 2**63 - 1),
        lambda c: c.decr('k', 2**64 - 1),
        lambda c: c.get('k'),
        lambda c: c.incr('missing', 2**64),  # stored pickled, as upstream
        lambda c: c.get('missing'),
        lambda c: c.decr('missing2', 2**64, default=2**64),
        lambda c: c.get('missing2'),
        len,
        list,
    ])


def test_incr_nan_sum_is_stored_as_null(pair, both):
    ref, new = pair
    run(ref, new, both, [
        lambda c: c.set('n', 1.0),
        lambda c: c.incr('n', NAN),
        lambda c: c.get('n', 'default'),
        lambda c: 'n' in c,
        lambda c: c.incr('n', 1),  # None + 1: TypeError
        lambda c: c.incr('m', NAN),  # missing: default + NaN
        lambda c: c.get('m', 'default'),
        lambda c: c.incr('d', 1, default=NAN),
        lambda c: c.get('d', 'default'),
        lambda c: c.set('inf', float('inf')),
        lambda c: c.incr('inf', float('-inf')),
        lambda c: c.get('inf', 'default'),
        len,
    ])


# -- 4. a negative cull_limit culls without a limit ---------------------------


def _fill(cache, clock, n=20):
    for i in range(n):
        clock.advance(1)
        cache.set(i, bytes([i]) * MiB)


@pytest.mark.cache_settings(size_limit=10 * MiB + MiB // 2, cull_limit=-1)
def test_negative_cull_limit_culls_everything_over_the_limit(pair, both, clock):
    ref, new = pair
    start = clock()
    _fill(ref, clock)
    clock.set(start)
    _fill(new, clock)
    run(ref, new, both, [sorted, len, lambda c: c.cull_limit])


@pytest.mark.cache_settings(cull_limit=-1)
def test_negative_cull_limit_removes_every_expired_item(pair, both, clock):
    ref, new = pair
    run(ref, new, both, [lambda c: [c.set(i, i, expire=1) for i in range(30)]])
    clock.advance(2)
    run(ref, new, both, [lambda c: c.set('x', 1), len, list])


def test_reset_cull_limit_negative(pair, both, clock):
    ref, new = pair
    run(ref, new, both, [
        lambda c: [c.set(i, i, expire=1) for i in range(30)],
        lambda c: c.reset('cull_limit', -1),
        lambda c: c.cull_limit,
    ])
    clock.advance(2)
    run(ref, new, both, [lambda c: c.set('x', 1), len])
    ref2, new2 = type(ref)(ref.directory), type(new)(new.directory)
    try:
        run(ref2, new2, both, [
            lambda c: c.cull_limit,
            lambda c: [c.set(i, i, expire=1) for i in range(30)],
        ])
        clock.advance(2)
        run(ref2, new2, both, [lambda c: c.set('y', 1), len])
    finally:
        ref2.close()
        new2.close()


@pytest.fixture
def fanout_pair(impl, clock, tmp_path):
    created = []
    counter = itertools.count()

    def factory(**kwargs):
        n = next(counter)
        made = tuple(module.FanoutCache(str(tmp_path / ('%s%d' % (label, n))), **kwargs)
                     for label, module in (('ref', reference), ('new', impl)))
        created.extend(made)
        return made

    yield factory
    for fanout in created:
        fanout.close()


def test_negative_cull_limit_fanout(fanout_pair, both, clock):
    ref, new = fanout_pair(shards=2, cull_limit=-1)
    run(ref, new, both, [
        lambda f: [s.cull_limit for s in f._shards],
        lambda f: [f.set(i, i, expire=1) for i in range(40)],
    ])
    clock.advance(2)
    run(ref, new, both, [lambda f: [f.set(k, 1) for k in range(100, 104)], len, sorted])
    ref, new = fanout_pair(shards=2)
    run(ref, new, both, [
        lambda f: [f.set(i, i, expire=1) for i in range(40)],
        lambda f: f.reset('cull_limit', -1),
        lambda f: [s.cull_limit for s in f._shards],
    ])
    clock.advance(2)
    run(ref, new, both, [lambda f: [f.set(k, 1) for k in range(100, 104)], len, sorted])


# -- 5. a get whose value file is gone counts a miss ---------------------------


def _remove_value_files(directory):
    removed = 0
    for root, _, files in os.walk(directory):
        for name in files:
            if name.endswith('.val'):
                os.remove(os.path.join(root, name))
                removed += 1
    assert removed


LOOKUPS = {
    'get': lambda c: c.get('k', 'default'),
    'get_read': lambda c: c.get('k', 'default', read=True),
    'get_expire_time': lambda c: c.get('k', 'default', expire_time=True),
    'read': lambda c: c.read('k'),
    'getitem': lambda c: c['k'],
}


@pytest.mark.parametrize('value', [BIG_BYTES, BIG_STR, BIG_OBJ], ids=['bytes', 'str', 'pickle'])
@pytest.mark.parametrize('lookup', sorted(LOOKUPS))
@pytest.mark.parametrize('policy', ['least-recently-stored', 'least-recently-used'])
def test_missing_value_file_counts_a_miss(make_pair, both, lookup, value, policy):
    ref, new = make_pair(eviction_policy=policy)
    run(ref, new, both, [lambda c: c.stats(enable=True), lambda c: c.set('k', value)])
    for cache in (ref, new):
        _remove_value_files(cache.directory)
    run(ref, new, both, [LOOKUPS[lookup], lambda c: c.stats(), lambda c: c.get('other'),
                         lambda c: c.stats()])


@pytest.mark.parametrize('lookup', sorted(LOOKUPS))
def test_missing_value_file_counts_a_miss_fanout(fanout_pair, both, lookup):
    ref, new = fanout_pair(shards=2)
    run(ref, new, both, [lambda f: f.stats(enable=True), lambda f: f.set('k', BIG_BYTES)])
    for fanout in (ref, new):
        _remove_value_files(fanout.directory)
    run(ref, new, both, [LOOKUPS[lookup], lambda f: f.stats()])
