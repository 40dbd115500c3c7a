"""Differential tests of ``Deque`` and ``Index``: ``diskcache`` 5.6.3 (the
reference) versus the candidate module, on identical scenarios.

Written from python-diskcache 5.6.3's documented API of ``Deque`` and
``Index`` (docs/api-contract.md). Every scenario runs on a reference object and a candidate object and
compares results, exceptions (type and message), contents, iteration orders
and the keys used in the backing cache. The cross-process tests (a Deque and
an Index pickled into spawned processes, a Deque used as a work queue by 4
processes) run on the candidate only.

Run against the reference itself to validate the tests::

    DISKCACHE_GO_TEST_IMPL=diskcache PYTHONPATH=python \\
        python -m pytest -q python/tests/test_persistent.py
"""

import collections
import copy
import importlib
import multiprocessing
import os
import pathlib
import pickle
import sys
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import diskcache as reference

FIRST_KEY = 500000000000000
JOIN_TIMEOUT = 60

# The values every scenario stores: natives of each kind, a pickled tuple,
# None and a value large enough to live in its own file.
BIG = 'x' * (40 * 1024)
VALUES = [0, 1.5, 'a', b'b', None, (1, 'two'), BIG]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def private_tempdir(tmp_path, monkeypatch):
    """Temporary directories made by ``Cache(None)`` (Deque(), Index(),
    Deque.reverse) go below this test's tmp_path."""
    path = tmp_path / 'tempdir'
    path.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(path))
    return path


class Pair:
    """A reference object and a candidate object run in lock step."""

    def __init__(self, ref, new, both):
        self.ref = ref
        self.new = new
        self._both = both

    def __iter__(self):
        return iter((self.ref, self.new))

    def same(self, fn, exc_args=None):
        """Run ``fn`` on both objects, compare outcomes, then compare the
        whole state; return the reference's raw result."""
        result = self._both(self.ref, self.new, fn, exc_args=exc_args)
        self.check()
        return result

    def check(self):
        both = self._both
        both(self.ref, self.new, lambda obj: len(obj))
        both(self.ref, self.new, lambda obj: list(obj))
        both(self.ref, self.new, lambda obj: list(reversed(obj)))
        both(self.ref, self.new, lambda obj: list(obj.cache.iterkeys()))
        both(self.ref, self.new, lambda obj: list(obj.cache))
        if isinstance(self.ref, reference.Index):
            both(self.ref, self.new, lambda obj: list(obj.items()))


@pytest.fixture
def deques(impl, tmp_path, both):
    """``deques(iterable=(), maxlen=None) -> Pair`` of Deques in fresh
    directories."""
    made = []

    def make(iterable=(), maxlen=None):
        n = len(made)
        items = list(iterable)
        ref = reference.Deque(items, str(tmp_path / ('dq-ref%d' % n)), maxlen)
        new = impl.Deque(items, str(tmp_path / ('dq-new%d' % n)), maxlen)
        made.append((ref, new))
        return Pair(ref, new, both)

    yield make
    for ref, new in made:
        ref.cache.close()
        new.cache.close()


@pytest.fixture
def indexes(impl, tmp_path, both):
    """``indexes(*args, **kwargs) -> Pair`` of Indexes in fresh directories
    (the arguments after the directory go to both constructors)."""
    made = []

    def make(*args, **kwargs):
        n = len(made)
        ref = reference.Index(str(tmp_path / ('ix-ref%d' % n)), *args, **kwargs)
        new = impl.Index(str(tmp_path / ('ix-new%d' % n)), *args, **kwargs)
        made.append((ref, new))
        return Pair(ref, new, both)

    yield make
    for ref, new in made:
        ref.cache.close()
        new.cache.close()


# ---------------------------------------------------------------------------
# Deque: construction and properties
# ---------------------------------------------------------------------------


def test_deque_constructor(deques):
    pair = deques(VALUES)
    pair.check()
    pair.same(lambda d: d.maxlen)
    pair.same(lambda d: type(d.maxlen).__name__)
    pair.same(lambda d: list(d.cache.iterkeys())[0])
    assert list(pair.new.cache.iterkeys())[0] == FIRST_KEY


def test_deque_constructor_maxlen_trims_from_left(deques):
    pair = deques('abcdef', maxlen=3)
    pair.check()
    pair.same(lambda d: d.maxlen)
    pair = deques('abc', maxlen=0)
    pair.check()


def test_deque_properties(impl, deques):
    pair = deques([1])
    for mod, deque in ((reference, pair.ref), (impl, pair.new)):
        assert isinstance(deque, mod.Deque)
        assert isinstance(deque, collections.abc.Sequence)
        assert isinstance(deque.cache, mod.Cache)
        assert deque.cache is deque._cache
        assert type(deque.directory) is str
        assert deque.directory == deque.cache.directory
        assert repr(deque) == 'Deque(directory=%r)' % deque.directory
        assert deque.maxlen == float('inf')
        with pytest.raises(TypeError):
            hash(deque)
        assert type(deque).__hash__ is None
        assert mod.persistent.Deque is mod.Deque


def test_deque_default_directory_is_temporary(impl, private_tempdir):
    for mod in (reference, impl):
        deque = mod.Deque([1, 2])
        assert os.path.dirname(deque.directory) == str(private_tempdir)
        assert os.path.basename(deque.directory).startswith('diskcache-')
        assert list(deque) == [1, 2]
        deque.cache.close()


def test_deque_missing_methods(deques):
    pair = deques([1, 2])
    # close() and the context manager are diskcache_rs's additions, present
    # here only (test_diskcache_rs_api.py tests them).
    for name in ('insert', '__add__', '__mul__', '__imul__'):
        pair.same(lambda d: hasattr(d, name))
    pair.same(lambda d: d + [3])
    pair.same(lambda d: d * 2)
    pair.same(lambda d: d[0:1])
    pair.same(lambda d: d['a'])


def test_deque_fromcache(impl, make_pair, both):
    ref_cache, new_cache = make_pair(eviction_policy='none')
    ref = reference.Deque.fromcache(ref_cache, 'abcd', maxlen=3)
    new = impl.Deque.fromcache(new_cache, 'abcd', maxlen=3)
    assert ref.cache is ref_cache and new.cache is new_cache
    pair = Pair(ref, new, both)
    pair.check()
    pair.same(lambda d: d.maxlen)
    pair.same(lambda d: d.directory == d.cache.directory)
    # Without maxlen: unbounded, extends what the cache holds.
    ref2 = reference.Deque.fromcache(ref_cache, 'xy')
    new2 = impl.Deque.fromcache(new_cache, 'xy')
    pair = Pair(ref2, new2, both)
    pair.check()
    pair.same(lambda d: d.maxlen)


def test_deque_keys_push_front_and_back(deques):
    pair = deques()
    pair.same(lambda d: d.append('b'))
    pair.same(lambda d: d.appendleft('a'))
    pair.same(lambda d: d.append('c'))
    assert list(pair.new.cache.iterkeys()) == [
        FIRST_KEY - 1, FIRST_KEY, FIRST_KEY + 1]


# ---------------------------------------------------------------------------
# Deque: adding and removing
# ---------------------------------------------------------------------------


def test_deque_append_appendleft_extend(deques):
    pair = deques()
    for value in VALUES:
        pair.same(lambda d: d.append(value))
        pair.same(lambda d: d.appendleft(value))
    pair.same(lambda d: d.extend(range(3)))
    pair.same(lambda d: d.extendleft('xyz'))
    pair.same(lambda d: d.extend(iter([7, 8])))
    pair.same(lambda d: d.extendleft([]))


def test_deque_iadd_returns_self(deques):
    pair = deques([1])

    def iadd(deque):
        before = deque
        deque += [2, 3]
        deque += 'ab'
        return deque is before

    assert pair.same(iadd) is True


def test_deque_maxlen_on_append_and_appendleft(deques):
    pair = deques(maxlen=3)
    pair.same(lambda d: d.extend(range(5)))
    pair.same(lambda d: d.appendleft('front'))  # drops from the back
    pair.same(lambda d: d.append('back'))       # drops from the front
    pair.same(lambda d: d.extendleft('xy'))
    pair.same(lambda d: d.__iadd__('pq') is d)


def test_deque_maxlen_setter(deques):
    pair = deques('abcdefg')
    pair.same(lambda d: setattr(d, 'maxlen', 5))
    pair.same(lambda d: d.maxlen)
    pair.same(lambda d: d.append('h'))
    pair.same(lambda d: setattr(d, 'maxlen', 10))
    pair.same(lambda d: d.extend('ijklmn'))
    pair.same(lambda d: setattr(d, 'maxlen', 2.5))
    pair.same(lambda d: d.maxlen)
    pair.same(lambda d: setattr(d, 'maxlen', float('inf')))
    pair.same(lambda d: d.extend('uvw'))
    pair.same(lambda d: setattr(d, 'maxlen', 0))
    pair.same(lambda d: d.append('z'))
    pair.same(lambda d: d.appendleft('z'))


def test_deque_maxlen_is_per_object(impl, deques):
    pair = deques('abc', maxlen=3)
    for mod, deque in ((reference, pair.ref), (impl, pair.new)):
        other = mod.Deque(directory=deque.directory)
        assert other.maxlen == float('inf')
        other.append('d')
        assert list(deque) == ['a', 'b', 'c', 'd']
        deque.append('e')  # this object trims by one only
        assert list(deque) == ['b', 'c', 'd', 'e']
        other.cache.close()


def test_deque_pop_popleft_peek_peekleft(deques):
    pair = deques(VALUES)
    pair.same(lambda d: d.peek())
    pair.same(lambda d: d.peekleft())
    pair.same(lambda d: d.pop())
    pair.same(lambda d: d.popleft())
    while len(pair.ref):
        pair.same(lambda d: d.pop())
    for name in ('pop', 'popleft', 'peek', 'peekleft'):
        exc = pair.same(lambda d: getattr(d, name)())
        assert isinstance(exc, IndexError)
    assert pair.same(lambda d: d.pop()).args == ('pop from an empty deque',)
    assert pair.same(lambda d: d.peek()).args == ('peek from an empty deque',)


def test_deque_remove(deques):
    pair = deques(['a', 'b', 'a', 1, 1.0, True, None])
    pair.same(lambda d: d.remove('a'))
    pair.same(lambda d: d.remove(1.0))   # removes the first equal item: 1
    pair.same(lambda d: d.remove(None))
    exc = pair.same(lambda d: d.remove('zzz'))
    assert exc.args == ('deque.remove(value): value not in deque',)
    pair.same(lambda d: d.remove(True))  # True == 1.0
    pair.same(lambda d: d.remove(1))
    exc = pair.same(lambda d: d.remove(1))
    assert isinstance(exc, ValueError)


def test_deque_clear(deques):
    pair = deques(VALUES)
    assert pair.same(lambda d: d.clear()) is None
    pair.same(lambda d: d.append('after'))  # keys start over
    pair.same(lambda d: d.clear())
    pair.same(lambda d: d.pop())


def test_deque_copy_shares_directory(impl, deques):
    pair = deques('abc', maxlen=4)
    for mod, deque in ((reference, pair.ref), (impl, pair.new)):
        other = deque.copy()
        assert type(other) is mod.Deque
        assert other is not deque
        assert other.directory == deque.directory
        assert other.maxlen == 4
        other.append('d')
        assert list(deque) == ['a', 'b', 'c', 'd']
        deque.append('e')
        assert list(other) == ['b', 'c', 'd', 'e']
        other.cache.close()


# ---------------------------------------------------------------------------
# Deque: indexing
# ---------------------------------------------------------------------------


def test_deque_getitem(deques):
    pair = deques('abcde')
    for index in range(-7, 7):
        pair.same(lambda d: d[index])
    exc = pair.same(lambda d: d[5])
    assert exc.args == ('deque index out of range',)
    exc = pair.same(lambda d: d[-6])
    assert exc.args == ('deque index out of range',)
    for index in (True, False, 1.0, -1.0, 0.5, -0.5, 2.0, 99.5):
        pair.same(lambda d: d[index])
    for index in ('a', None, slice(0, 2), slice(None)):
        pair.same(lambda d: d[index])


def test_deque_getitem_empty(deques):
    pair = deques()
    for index in (0, -1, 1):
        exc = pair.same(lambda d: d[index])
        assert exc.args == ('deque index out of range',)


def test_deque_setitem(deques):
    pair = deques('abcde')
    for index, value in ((0, 'A'), (-1, 'E'), (2, BIG), (-4, None), (1, (1,))):
        pair.same(lambda d: d.__setitem__(index, value))
    for index in (5, -6, 100):
        exc = pair.same(lambda d: d.__setitem__(index, 'zz'))
        assert exc.args == ('deque index out of range',)
    pair.same(lambda d: d.__setitem__(slice(0, 1), ['q']))


def test_deque_delitem(deques):
    pair = deques('abcdefg')
    for index in (0, -1, 2, -2):
        pair.same(lambda d: d.__delitem__(index))
    for index in (3, -4, 10):
        exc = pair.same(lambda d: d.__delitem__(index))
        assert exc.args == ('deque index out of range',)
    # A gap in the key space is harmless.
    pair.same(lambda d: d.append('h'))
    pair.same(lambda d: d.appendleft('0'))
    pair.same(lambda d: d[1])


def test_deque_skips_keys_that_vanish(impl, deques):
    """Keys listed by iterkeys but gone by the time they are read (deleted
    by another process) are skipped, never reported."""
    pair = deques('abc')
    for deque in pair:
        real = deque.cache.iterkeys

        def with_ghosts(reverse=False, real=real):
            yield 1  # a key that does not exist
            for key in real(reverse=reverse):
                yield key
                yield 2  # another one

        deque.cache.iterkeys = with_ghosts
    pair.same(lambda d: list(d))
    pair.same(lambda d: list(reversed(d)))
    pair.same(lambda d: [d[0], d[1], d[2], d[-1], d[-3]])
    pair.same(lambda d: d.remove('b'))
    pair.same(lambda d: d.__delitem__(-1))
    pair.same(lambda d: d.count('a'))


# ---------------------------------------------------------------------------
# Deque: reading
# ---------------------------------------------------------------------------


def test_deque_reading_mixins(deques):
    pair = deques(['a', 'b', 'c', 'b', 1, 1.0])
    pair.same(lambda d: d.count('b'))
    pair.same(lambda d: d.count(1))
    pair.same(lambda d: d.count('zz'))
    pair.same(lambda d: 'c' in d)
    pair.same(lambda d: 'zz' in d)
    pair.same(lambda d: d.index('b'))
    pair.same(lambda d: d.index('b', 2))
    pair.same(lambda d: d.index('b', -3))
    pair.same(lambda d: d.index('c', 0, 2))
    pair.same(lambda d: d.index('zz'))
    pair.same(lambda d: list(iter(d)))
    pair.same(lambda d: list(d.__reversed__()))


def test_deque_iterators_are_lazy(deques):
    """Iteration is not a snapshot: an item appended while iterating is
    seen (spec section 5.5, iterkeys)."""
    pair = deques('abc')

    def partial(deque):
        it = iter(deque)
        first = next(it)
        deque.append('d')
        return [first] + list(it)

    pair.same(partial)


# ---------------------------------------------------------------------------
# Deque: reverse and rotate
# ---------------------------------------------------------------------------


def test_deque_reverse(deques, private_tempdir):
    pair = deques(VALUES)
    assert pair.same(lambda d: d.reverse()) is None
    # The temporary deque's directory was deleted.
    assert os.listdir(str(private_tempdir)) == []
    pair.same(lambda d: d.append('end'))
    pair = deques()
    pair.same(lambda d: d.reverse())
    pair = deques('abcde', maxlen=5)
    pair.same(lambda d: d.reverse())
    assert os.listdir(str(private_tempdir)) == []


@pytest.mark.parametrize('steps', [1, 2, 4, 5, 6, 13, 0, -1, -2, -5, -7, -13,
                                   True, False])
def test_deque_rotate(deques, steps):
    pair = deques('abcde')
    pair.same(lambda d: d.rotate(steps))


def test_deque_rotate_default_and_empty(deques):
    pair = deques('abc')
    pair.same(lambda d: d.rotate())
    pair = deques()
    pair.same(lambda d: d.rotate(3))
    pair.same(lambda d: d.rotate(-3))


@pytest.mark.parametrize('steps', [1.0, '1', None, [1], 2.5])
def test_deque_rotate_rejects_non_int(deques, steps):
    pair = deques('abc')
    exc = pair.same(lambda d: d.rotate(steps), exc_args=True)
    assert exc.args == (
        'integer argument expected, got %s' % type(steps).__name__,)
    pair = deques()
    pair.same(lambda d: d.rotate(steps), exc_args=True)


@pytest.mark.parametrize('steps', [2, -2])
def test_deque_rotate_stops_when_emptied(deques, steps):
    """Another process empties the deque in the middle of a rotation."""
    pair = deques('abcd')
    for deque in pair:
        cache = deque.cache
        calls = []

        def pull(*args, real=cache.pull, cache=cache, calls=calls, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                cache.clear()  # before the second pop
            return real(*args, **kwargs)

        cache.pull = pull
    pair.same(lambda d: d.rotate(steps))


def test_deque_rotate_with_maxlen(deques):
    pair = deques('abc', maxlen=3)
    pair.same(lambda d: d.rotate(1))
    pair.same(lambda d: d.rotate(-2))


# ---------------------------------------------------------------------------
# Deque: comparisons
# ---------------------------------------------------------------------------


def test_deque_compare_with_sequences(deques):
    pair = deques([1, 2, 3])
    others = [[1, 2, 3], (1, 2, 3), [1, 2], [1, 2, 3, 4], [1, 2, 4], [0],
              [2], [], (1, 2.0, 3), 'abc', range(1, 4), [1, 2, 3.5]]
    for other in others:
        pair.same(lambda d: d == other)
        pair.same(lambda d: d != other)
        pair.same(lambda d: d < other)
        pair.same(lambda d: d <= other)
        pair.same(lambda d: d > other)
        pair.same(lambda d: d >= other)
        pair.same(lambda d: other == d)
        pair.same(lambda d: other < d)


def test_deque_compare_non_sequences(deques):
    pair = deques([1])
    for other in ({}, {1: 2}, 5, None, {1}):
        pair.same(lambda d: d == other)
        pair.same(lambda d: d != other)
        pair.same(lambda d: d < other)
        pair.same(lambda d: d.__eq__(other) is NotImplemented)
        pair.same(lambda d: d.__lt__(other) is NotImplemented)


def test_deque_compare_strings_and_types(deques):
    pair = deques('abc')
    for other in ('abc', 'abd', 'ab', 'abcd', 'b'):
        for op in ('__eq__', '__ne__', '__lt__', '__le__', '__gt__',
                   '__ge__'):
            pair.same(lambda d: getattr(d, op)(other))
    pair = deques([1, 'a'])
    pair.same(lambda d: d < [1, 2])      # 'a' < 2: TypeError
    pair.same(lambda d: d == [1, 2])


def test_deque_compare_with_deques(impl, tmp_path, both):
    specs = ['abc', 'abc', 'abd', 'ab']
    made = {}
    for mod, tag in ((reference, 'ref'), (impl, 'new')):
        made[tag] = [mod.Deque(items, str(tmp_path / ('%s%d' % (tag, n))))
                     for n, items in enumerate(specs)]
    for a in range(len(specs)):
        for b in range(len(specs)):
            ref = (made['ref'][a], made['ref'][b])
            new = (made['new'][a], made['new'][b])
            for op in ('__eq__', '__ne__', '__lt__', '__le__', '__gt__',
                       '__ge__'):
                both(ref, new, lambda p: getattr(p[0], op)(p[1]))
    for deques in made.values():
        for deque in deques:
            deque.cache.close()


# ---------------------------------------------------------------------------
# Deque: transactions and pickling
# ---------------------------------------------------------------------------


def test_deque_transact(deques):
    pair = deques('ab')

    def block(deque):
        with deque.transact() as value:
            deque.append('c')
            deque.appendleft('z')
            with deque.transact():
                deque.pop()
            return value, list(deque)

    pair.same(block)

    def failing(deque):
        with deque.transact():
            deque.append('lost')
            deque.popleft()
            raise RuntimeError('boom')

    exc = pair.same(failing)
    assert exc.args == ('boom',)


def test_deque_pickle_round_trip(impl, deques):
    pair = deques('abc', maxlen=5)
    unbounded = deques('xyz')
    for mod, deque, other in ((reference, pair.ref, unbounded.ref),
                              (impl, pair.new, unbounded.new)):
        assert deque.__getstate__() == (deque.directory, 5)
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            clone = pickle.loads(pickle.dumps(deque, protocol))
            assert type(clone) is mod.Deque
            assert clone.directory == deque.directory
            assert clone.maxlen == 5
            assert list(clone) == ['a', 'b', 'c']
            clone.cache.close()
        clone = pickle.loads(pickle.dumps(other))
        assert clone.maxlen == float('inf')
        clone.cache.close()
        clone = copy.copy(deque)
        assert clone is not deque and clone.directory == deque.directory
        clone.append('d')
        assert list(deque) == ['a', 'b', 'c', 'd']
        clone.cache.close()


# ---------------------------------------------------------------------------
# Deque: random operation sequences (hypothesis)
# ---------------------------------------------------------------------------


DEQUE_OPS = st.one_of(
    st.tuples(st.sampled_from(['append', 'appendleft', 'remove', 'count']),
              st.integers(0, 4)),
    st.tuples(st.sampled_from(['pop', 'popleft', 'peek', 'peekleft',
                               'reverse', 'clear', 'len', 'list']),
              st.none()),
    st.tuples(st.sampled_from(['rotate', 'get', 'del']),
              st.integers(-6, 6)),
    st.tuples(st.just('set'), st.tuples(st.integers(-6, 6),
                                        st.integers(0, 4))),
    st.tuples(st.just('extend'), st.lists(st.integers(0, 4), max_size=3)),
    st.tuples(st.just('maxlen'), st.one_of(st.none(), st.integers(0, 6))),
)


def apply_deque_op(deque, op):
    name, arg = op
    if name in ('append', 'appendleft', 'remove', 'count', 'rotate'):
        return getattr(deque, name)(arg)
    if name in ('pop', 'popleft', 'peek', 'peekleft', 'reverse', 'clear'):
        return getattr(deque, name)()
    if name == 'len':
        return len(deque)
    if name == 'list':
        return list(deque)
    if name == 'get':
        return deque[arg]
    if name == 'del':
        del deque[arg]
        return None
    if name == 'set':
        deque[arg[0]] = arg[1]
        return None
    if name == 'extend':
        return deque.extend(arg)
    if name == 'maxlen':
        deque.maxlen = float('inf') if arg is None else arg
        return deque.maxlen
    raise AssertionError(name)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(DEQUE_OPS, max_size=25))
def test_deque_random_operations(impl, both, ops):
    base = tempfile.mkdtemp()
    ref = reference.Deque(directory=os.path.join(base, 'ref'))
    new = impl.Deque(directory=os.path.join(base, 'new'))
    try:
        pair = Pair(ref, new, both)
        for op in ops:
            pair.same(lambda d: apply_deque_op(d, op))
    finally:
        ref.cache.close()
        new.cache.close()


# ---------------------------------------------------------------------------
# Index: construction and properties
# ---------------------------------------------------------------------------


def test_index_constructor_forms(impl, tmp_path, private_tempdir, both):
    mapping = {'a': 1, 'b': 2}
    pairs = [('z', 26), ('y', 25), ('z', 0)]

    def build(mod, *args, **kwargs):
        index = mod.Index(*args, **kwargs)
        try:
            return list(index.items()), index.directory
        finally:
            index.cache.close()

    def each(args_fn, kwargs=None):
        """Run Index(*args_fn(tag), **kwargs) on both; compare the items
        and whether the directory was the one given."""
        results = []
        for mod, tag in ((reference, 'ref'), (impl, 'new')):
            args = args_fn(tag)
            items, directory = build(mod, *args, **(kwargs or {}))
            given = args[0] if args and isinstance(args[0], str) else None
            results.append((items, directory == given if given else
                            os.path.dirname(directory)))
        assert results[0] == results[1]
        return results[0]

    n = [0]

    def fresh(tag):
        n[0] += 1
        return str(tmp_path / ('%s-ctor%d' % (tag, n[0])))

    temp = str(private_tempdir)
    assert each(lambda tag: ()) == ([], temp)
    assert each(lambda tag: (None, mapping)) == ([('a', 1), ('b', 2)], temp)
    assert each(lambda tag: (None,), {'k': 'v'}) == ([('k', 'v')], temp)
    assert each(lambda tag: (fresh(tag), mapping)) == (
        [('a', 1), ('b', 2)], True)
    assert each(lambda tag: (fresh(tag), pairs)) == (
        [('z', 0), ('y', 25)], True)
    assert each(lambda tag: (fresh(tag),), {'a': 1, 'b': 2}) == (
        [('a', 1), ('b', 2)], True)
    assert each(lambda tag: (fresh(tag), mapping), {'c': 3}) == (
        [('a', 1), ('b', 2), ('c', 3)], True)
    assert each(lambda tag: (enumerate('ab'),)) == ([(0, 'a'), (1, 'b')], temp)
    assert each(lambda tag: (), {'x': 1}) == ([('x', 1)], temp)

    # Errors from MutableMapping.update.
    exc = both(reference, impl, lambda mod: build(mod, fresh('p'), {}, {}))
    assert isinstance(exc, TypeError)
    both(reference, impl, lambda mod: build(mod, 5))
    both(reference, impl, lambda mod: build(mod, [(1, 2, 3)]))


def test_index_path_is_not_a_directory(impl, tmp_path, both):
    """A pathlib.Path first argument goes to update(): TypeError."""
    exc = both(reference, impl,
               lambda mod: mod.Index(pathlib.Path(str(tmp_path / 'p'))))
    assert isinstance(exc, TypeError)


def test_index_bytes_directory(impl, tmp_path, monkeypatch):
    """bytes becomes str(b'...') (the quirk of spec section 8)."""
    results = []
    for mod, tag in ((reference, 'ref'), (impl, 'new')):
        work = tmp_path / ('bytes-' + tag)
        work.mkdir()
        monkeypatch.chdir(str(work))
        index = mod.Index(b'name', {'a': 1})
        results.append((index.directory, os.path.isdir("b'name'"),
                        list(index.items())))
        index.cache.close()
    assert results[0] == results[1] == ("b'name'", True, [('a', 1)])


def test_index_properties(impl, indexes):
    pair = indexes({'a': 1})
    for mod, index in ((reference, pair.ref), (impl, pair.new)):
        assert isinstance(index, mod.Index)
        assert isinstance(index, collections.abc.MutableMapping)
        assert isinstance(index.cache, mod.Cache)
        assert index.cache is index._cache
        assert type(index.directory) is str
        assert index.directory == index.cache.directory
        assert repr(index) == 'Index(%r)' % index.directory
        assert type(index).__hash__ is None
        with pytest.raises(TypeError):
            hash(index)
        assert mod.persistent.Index is mod.Index
        # close() and the context manager are diskcache_rs's additions,
        # present here only (test_diskcache_rs_api.py tests them).
        assert not hasattr(index, 'peek')
        added = mod.__name__ != 'diskcache'
        assert hasattr(index, 'close') is added
        assert hasattr(index, '__enter__') is added


def test_index_uses_policy_none(indexes, deques):
    for pair in (indexes(), deques()):
        pair.same(lambda obj: obj.cache.eviction_policy)


def test_index_fromcache(impl, make_pair, both):
    ref_cache, new_cache = make_pair(eviction_policy='none')
    ref = reference.Index.fromcache(ref_cache, {'a': 1}, b=2)
    new = impl.Index.fromcache(new_cache, {'a': 1}, b=2)
    assert ref.cache is ref_cache and new.cache is new_cache
    pair = Pair(ref, new, both)
    pair.check()
    pair.same(lambda i: i.directory == i.cache.directory)
    ref = reference.Index.fromcache(ref_cache, [('c', 3)])
    new = impl.Index.fromcache(new_cache, [('c', 3)])
    Pair(ref, new, both).check()


# ---------------------------------------------------------------------------
# Index: mapping operations
# ---------------------------------------------------------------------------


def test_index_get_set_del(indexes):
    pair = indexes()
    for n, value in enumerate(VALUES):
        pair.same(lambda i: i.__setitem__(('key', n), value))
        pair.same(lambda i: i[('key', n)])
    pair.same(lambda i: i.__setitem__('a', 1))
    pair.same(lambda i: i.__setitem__(('key', 0), 'overwritten'))  # keeps position
    exc = pair.same(lambda i: i['missing'])
    assert exc.args == ('missing',)
    exc = pair.same(lambda i: i.__delitem__('missing'))
    assert isinstance(exc, KeyError)
    pair.same(lambda i: i.__delitem__(('key', 3)))
    pair.same(lambda i: i.__setitem__(('key', 3), 'back at the end'))


def test_index_keys_by_serialized_form(indexes):
    pair = indexes()
    pair.same(lambda i: i.__setitem__(1, 'int'))
    pair.same(lambda i: i.__setitem__(1.0, 'float'))   # the same key as 1
    pair.same(lambda i: i.__setitem__(True, 'bool'))   # a different key
    pair.same(lambda i: i.__setitem__(b'1', 'bytes'))
    pair.same(lambda i: i.__setitem__('1', 'str'))
    pair.same(lambda i: [i[1], i[1.0], i[True], i[b'1'], i['1']])


def test_index_mixins(indexes):
    pair = indexes([('a', 1), ('b', None)])
    pair.same(lambda i: i.get('a'))
    pair.same(lambda i: i.get('b', 'dflt'))
    pair.same(lambda i: i.get('zz'))
    pair.same(lambda i: i.get('zz', 5))
    pair.same(lambda i: 'b' in i)
    pair.same(lambda i: 'zz' in i)
    pair.same(lambda i: i.update({'c': 3}, d=4))
    pair.same(lambda i: i.update([('a', 'A')]))
    pair.same(lambda i: i.update(i.__class__.fromcache(i.cache)))
    pair.same(lambda i: i.update({}, {}))
    pair.same(lambda i: len(i))
    pair.same(lambda i: list(reversed(i)))


def test_index_views_are_live(impl, indexes):
    pair = indexes({'a': 1, 'b': 2})
    views = {}
    for tag, index in (('ref', pair.ref), ('new', pair.new)):
        views[tag] = (index.keys(), index.values(), index.items())
        assert type(views[tag][0]) is collections.abc.KeysView
        assert type(views[tag][1]) is collections.abc.ValuesView
        assert type(views[tag][2]) is collections.abc.ItemsView
    pair.same(lambda i: i.__setitem__('c', 3))
    pair.same(lambda i: i.__delitem__('a'))

    def snapshot(tag):
        keys, values, items = views[tag]
        return (list(keys), list(values), list(items), len(keys), 'c' in keys,
                3 in values, ('b', 2) in items, ('b', 3) in items,
                keys == {'b', 'c'})

    assert snapshot('ref') == snapshot('new')


def test_index_setdefault(indexes):
    pair = indexes({'a': 1})
    pair.same(lambda i: i.setdefault('a', 5))
    pair.same(lambda i: i.setdefault('b', 5))
    pair.same(lambda i: i.setdefault('c'))
    pair.same(lambda i: i.setdefault('b', 6))
    pair.same(lambda i: i.setdefault('big', BIG) == BIG)


def test_index_pop(impl, indexes):
    pair = indexes({'a': 1, 'b': None})
    pair.same(lambda i: i.pop('a'))
    exc = pair.same(lambda i: i.pop('a'))
    assert exc.args == ('a',)
    pair.same(lambda i: i.pop('a', 'dflt'))
    pair.same(lambda i: i.pop('a', None))
    pair.same(lambda i: i.pop('b'))
    exc = pair.same(lambda i: i.pop(('t', 1)))
    assert exc.args == (('t', 1),)
    # An explicit ENOVAL default is the same as none.
    for mod, index in ((reference, pair.ref), (impl, pair.new)):
        with pytest.raises(KeyError):
            index.pop('zz', mod.ENOVAL)


def test_index_peekitem_popitem(indexes):
    pair = indexes([('a', 1), ('b', 2), ('c', 3), ('d', 4)])
    pair.same(lambda i: i.peekitem())
    pair.same(lambda i: i.peekitem(last=False))
    pair.same(lambda i: i.peekitem(False))
    pair.same(lambda i: i.popitem())
    pair.same(lambda i: i.popitem(last=False))
    pair.same(lambda i: i.popitem(False))
    pair.same(lambda i: i.popitem(True))
    for fn in (lambda i: i.popitem(), lambda i: i.popitem(last=False),
               lambda i: i.peekitem(), lambda i: i.peekitem(last=False)):
        exc = pair.same(fn)
        assert isinstance(exc, KeyError)
        assert exc.args == ('dictionary is empty',)


def test_index_popitem_inside_transaction(indexes):
    pair = indexes({'a': 1, 'b': 2})

    def block(index):
        with index.transact():
            first = index.popitem()
            index['c'] = 3
            second = index.popitem(last=False)
        return first, second

    pair.same(block)

    def failing(index):
        with index.transact():
            index.popitem()
            index['d'] = 4
            raise ValueError('rolled back')

    pair.same(failing)


def test_index_push_pull(indexes):
    pair = indexes({'plain': 0})
    pair.same(lambda i: i.push('a'))
    pair.same(lambda i: i.push('b', side='front'))
    pair.same(lambda i: i.push('c', prefix='jobs'))
    pair.same(lambda i: i.push('d', 'jobs', 'front'))
    pair.same(lambda i: i.push(BIG, prefix='jobs') and None)
    pair.same(lambda i: i.push('x', side='middle'))
    pair.same(lambda i: i.pull())
    pair.same(lambda i: i.pull(side='back'))
    pair.same(lambda i: i.pull())
    pair.same(lambda i: i.pull(default='empty'))
    pair.same(lambda i: i.pull(prefix='jobs'))
    pair.same(lambda i: i.pull('jobs', None, 'back')[1] == BIG)
    pair.same(lambda i: i.pull('jobs', ('k', 'v'), 'front'))
    pair.same(lambda i: i.pull('jobs', ('k', 'v'), 'front'))
    pair.same(lambda i: i.pull(prefix='jobs', side='sideways'))


def test_index_clear(indexes):
    pair = indexes({'a': 1, 'b': BIG})
    assert pair.same(lambda i: i.clear()) is None
    pair.same(lambda i: i.__setitem__('c', 3))


# ---------------------------------------------------------------------------
# Index: equality
# ---------------------------------------------------------------------------


def test_index_equality(indexes):
    pair = indexes([('a', 1), ('b', 2)])
    others = [
        {'a': 1, 'b': 2}, {'b': 2, 'a': 1}, {'a': 1}, {'a': 1, 'b': 3},
        {'a': 1, 'c': 2}, {'a': 1, 'b': 2, 'c': 3}, {},
        collections.OrderedDict([('a', 1), ('b', 2)]),
        collections.OrderedDict([('b', 2), ('a', 1)]),
        collections.OrderedDict([('a', 1), ('b', 3)]),
        {'a': 1.0, 'b': 2.0}, {'a': True, 'b': 2},
        collections.defaultdict(int, a=1, b=2),
        collections.ChainMap({'b': 2}, {'a': 1}),
    ]
    for other in others:
        pair.same(lambda i: i == other)
        pair.same(lambda i: i != other)
        pair.same(lambda i: other == i)
        pair.same(lambda i: other != i)


def test_index_equality_odd_operands(indexes):
    """Non-mappings: a length mismatch is False; otherwise errors from
    ``len`` or ``.get`` propagate (spec section 8)."""
    pair = indexes([('a', 1)])
    pair.same(lambda i: i == [])
    pair.same(lambda i: i != 'ab')
    pair.same(lambda i: i == 5)
    pair.same(lambda i: i == ['a'])
    pair.same(lambda i: i == None)  # noqa: E711


def test_index_equality_with_indexes(impl, tmp_path, both):
    specs = [[('a', 1), ('b', 2)], [('b', 2), ('a', 1)], [('a', 1), ('b', 2)],
             [('a', 1)], [('a', 1), ('b', 5)]]
    made = {}
    for mod, tag in ((reference, 'ref'), (impl, 'new')):
        made[tag] = [mod.Index(str(tmp_path / ('%s%d' % (tag, n))), items)
                     for n, items in enumerate(specs)]
    for a in range(len(specs)):
        for b in range(len(specs)):
            ref = (made['ref'][a], made['ref'][b])
            new = (made['new'][a], made['new'][b])
            both(ref, new, lambda p: p[0] == p[1])
            both(ref, new, lambda p: p[0] != p[1])
    for tag in made:
        for index in made[tag]:
            index.cache.close()


# ---------------------------------------------------------------------------
# Index: memoize, transact, pickling
# ---------------------------------------------------------------------------


def test_index_memoize(indexes):
    pair = indexes()

    def scenario(index):
        calls = []

        @index.memoize()
        def square(num, *, bias=0):
            calls.append(num)
            return num * num + bias

        @index.memoize(name='typed', typed=True)
        def ident(value):
            calls.append(value)
            return value

        @index.memoize(ignore={0, 'noise'})
        def add(noise, num, noise2=0, noise_kw=None, noise3=None, **kw):
            calls.append(num)
            return num + noise2

        results = [
            square(3), square(3), square(4), square(3, bias=1),
            square.__cache_key__(3), square.__cache_key__(3, bias=1),
            square.__wrapped__(5),
            ident(1), ident(1.0), ident(1), ident.__cache_key__(1),
            add('x', 1), add('y', 1), add('x', 1, noise='q'),
            add.__cache_key__('z', 2, noise='w'),
            square.__name__,
        ]
        return results, calls, list(index.keys())

    pair.same(scenario)
    exc = pair.same(lambda i: i.memoize(lambda: None), exc_args=True)
    assert exc.args == ('name cannot be callable',)
    pair.same(lambda i: i.memoize(name='n', typed=False, ignore=()) and None)
    pair.same(lambda i: i.memoize('n', expire=3))  # no expire parameter


def test_index_memoize_never_expires(indexes, clock):
    pair = indexes()

    def scenario(index):
        @index.memoize(name='f')
        def func(num):
            return num

        func(1)
        return index.cache.get(func.__cache_key__(1), expire_time=True,
                               tag=True)

    pair.same(scenario)


def test_index_transact(indexes):
    pair = indexes({'a': 1})

    def block(index):
        with index.transact() as value:
            index['b'] = index['a'] + 1
            with index.transact():
                index['c'] = 3
        return value

    pair.same(block)


def test_index_pickle_round_trip(impl, indexes):
    pair = indexes([('a', 1), ('b', 2)])
    for mod, index in ((reference, pair.ref), (impl, pair.new)):
        assert index.__getstate__() == index.directory
        for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
            clone = pickle.loads(pickle.dumps(index, protocol))
            assert type(clone) is mod.Index
            assert clone.directory == index.directory
            assert list(clone.items()) == [('a', 1), ('b', 2)]
            assert clone == index
            clone.cache.close()
        clone = copy.copy(index)
        clone['c'] = 3
        assert index['c'] == 3
        clone.cache.close()


# ---------------------------------------------------------------------------
# Cross-process: objects pickled into spawned processes (candidate only)
# ---------------------------------------------------------------------------


@pytest.fixture
def spawn_ctx():
    """A ``spawn`` context; processes it started are killed at teardown if
    still alive."""
    ctx = multiprocessing.get_context('spawn')
    ctx.started = []
    yield ctx
    for proc in ctx.started:
        if proc.is_alive():
            proc.kill()
            proc.join(10)


def start_process(ctx, target, *args):
    proc = ctx.Process(target=target, args=args, daemon=True)
    proc.start()
    ctx.started.append(proc)
    return proc


def join_all(procs, timeout=JOIN_TIMEOUT):
    for proc in procs:
        proc.join(timeout)
        assert not proc.is_alive(), 'worker %s hung' % proc.pid
        assert proc.exitcode == 0, 'worker %s exit code %s' % (
            proc.pid, proc.exitcode)


def _import_impl(name, path):
    if path not in sys.path:
        sys.path.append(path)
    return importlib.import_module(name)


def child_uses_pickled_objects(deque, index, mod_name, src):
    """Runs in a spawned process: the Deque and Index arrived pickled."""
    mod = _import_impl(mod_name, src)
    assert type(deque) is mod.Deque and type(index) is mod.Index
    index['seen'] = (list(deque), deque.maxlen, deque.directory)
    deque.append('from child')
    index['child'] = os.getpid()
    index.push('queued by child', prefix='q')


def test_pickled_into_spawned_process(impl, tmp_path, spawn_ctx):
    deque = impl.Deque('abcd', str(tmp_path / 'deque'), maxlen=4)
    index = impl.Index(str(tmp_path / 'index'), {'parent': os.getpid()})
    src = os.path.dirname(os.path.dirname(impl.__file__))
    proc = start_process(spawn_ctx, child_uses_pickled_objects, deque, index,
                         impl.__name__, src)
    join_all([proc])
    assert index['seen'] == (['a', 'b', 'c', 'd'], 4, deque.directory)
    assert list(deque) == ['b', 'c', 'd', 'from child']  # maxlen applied
    assert index['child'] == proc.pid
    assert list(index) == ['parent', 'seen', 'child', 'q-500000000000000']
    assert index.pull(prefix='q')[1] == 'queued by child'


N_WORKERS = 4
N_ITEMS = 200
N_REQUEUED = 40


def queue_worker(number, deque, results, start, mod_name, src):
    """Runs in a spawned process: pull items until the deque is empty;
    items below N_REQUEUED are answered by appending 1000 + item."""
    _import_impl(mod_name, src)
    start.wait(30)
    pulled = []
    while True:
        try:
            item = deque.popleft()
        except IndexError:
            break
        pulled.append(item)
        if item < N_REQUEUED:
            deque.append(1000 + item)
    results[number] = pulled


def test_deque_work_queue_across_processes(impl, tmp_path, spawn_ctx):
    deque = impl.Deque(range(N_ITEMS), str(tmp_path / 'queue'))
    results = impl.Index(str(tmp_path / 'results'))
    start = spawn_ctx.Event()
    src = os.path.dirname(os.path.dirname(impl.__file__))
    procs = [start_process(spawn_ctx, queue_worker, n, deque, results, start,
                           impl.__name__, src)
             for n in range(N_WORKERS)]
    start.set()
    join_all(procs)
    assert sorted(results) == list(range(N_WORKERS))
    pulled = [item for n in range(N_WORKERS) for item in results[n]]
    expected = list(range(N_ITEMS)) + [1000 + n for n in range(N_REQUEUED)]
    assert len(pulled) == len(expected)
    assert sorted(pulled) == expected  # each item pulled exactly once
    for n in range(N_WORKERS):
        # A worker sees the original items in queue order.
        mine = [item for item in results[n] if item < N_ITEMS]
        assert mine == sorted(mine)
    assert len(deque) == 0


# ---------------------------------------------------------------------------
# The candidate's own docstring examples
# ---------------------------------------------------------------------------


def test_candidate_doctests(impl):
    import doctest

    if impl.__name__ != 'diskcache_go':
        pytest.skip('doctests of diskcache_go only')
    failed, attempted = doctest.testmod(impl.persistent)
    assert attempted and not failed
