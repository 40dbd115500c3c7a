"""A hypothesis state machine drives diskcache_go.Cache against a plain
in-memory model of what python-diskcache promises (not against
python-diskcache itself, which test_cache_hypothesis.py does): values,
expiry, tags, insertion order, counters, queues."""

import os
import shutil
import tempfile
from unittest import mock

import pytest
from hypothesis import settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from conftest import load_impl

impl = load_impl()

KEYS = st.one_of(st.integers(-3, 3), st.sampled_from(['a', 'b', 'é', '']), st.sampled_from([b'x', b'']),
                 st.tuples(st.integers(0, 2)))
VALUES = st.one_of(st.integers(-10**6, 10**6), st.text(max_size=8), st.binary(max_size=8), st.none(),
                   st.lists(st.integers(), max_size=3), st.just(b'L' * 40000))
TAGS = st.one_of(st.none(), st.sampled_from(['red', 'blue']))
EXPIRES = st.one_of(st.none(), st.sampled_from([0.5, 1, 3]))


def norm(key):
    """Keys 1 and 1.0 are one key; everything else by type and value."""
    return ('num', key) if type(key) in (int, float) else (type(key).__name__, key)


class CacheModel(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.now = 1_000_000.0
        self.patch = mock.patch('time.time', lambda: self.now)
        self.patch.start()
        self.dir = tempfile.mkdtemp(prefix='dcg-model-')
        self.cache = impl.Cache(self.dir)
        self.items = {}  # norm(key) -> [key, value, expire_time, tag]
        self.order = []  # norm keys in insertion order

    def teardown(self):
        self.cache.close()
        self.patch.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def live(self, nk):
        item = self.items.get(nk)
        return item is not None and (item[2] is None or item[2] > self.now)

    def store(self, key, value, expire, tag):
        nk = norm(key)
        exp = None if expire is None else self.now + expire
        if nk in self.items:
            self.items[nk][1:] = [value, exp, tag]
        else:
            self.items[nk] = [key, value, exp, tag]
            self.order.append(nk)

    def remove(self, nk):
        del self.items[nk]
        self.order.remove(nk)

    @rule(seconds=st.sampled_from([0.25, 1, 2.5]))
    def tick(self, seconds):
        self.now += seconds

    @rule(key=KEYS, value=VALUES, expire=EXPIRES, tag=TAGS)
    def set(self, key, value, expire, tag):
        assert self.cache.set(key, value, expire=expire, tag=tag) is True
        self.store(key, value, expire, tag)

    @rule(key=KEYS, value=VALUES)
    def add(self, key, value):
        added = self.cache.add(key, value)
        assert added == (not self.live(norm(key)))
        if added:
            self.store(key, value, None, None)

    @rule(key=KEYS)
    def get(self, key):
        nk = norm(key)
        got = self.cache.get(key, default='MISSING', expire_time=True, tag=True)
        if self.live(nk):
            _, value, exp, tag = self.items[nk]
            assert got == (value, exp, tag)
        else:
            assert got == ('MISSING', None, None)

    @rule(key=KEYS)
    def contains(self, key):
        assert (key in self.cache) == self.live(norm(key))

    @rule(key=KEYS)
    def delete(self, key):
        nk = norm(key)
        expected = self.live(nk)
        assert self.cache.delete(key) is expected
        if expected:
            self.remove(nk)

    @rule(key=KEYS)
    def pop(self, key):
        nk = norm(key)
        got = self.cache.pop(key, default='MISSING')
        if self.live(nk):
            assert got == self.items[nk][1]
            self.remove(nk)
        else:
            assert got == 'MISSING'

    @rule(key=st.sampled_from(['n1', 'n2']), delta=st.integers(-5, 5))
    def incr(self, key, delta):
        nk = norm(key)
        # incr counts an item as expired only once expire_time < now.
        item = self.items.get(nk)
        live = item is not None and (item[2] is None or not item[2] < self.now)
        before = item[1] if live else 0
        if live and type(before) is not int:
            with pytest.raises(TypeError):
                self.cache.incr(key, delta)
            return
        assert self.cache.incr(key, delta) == before + delta
        if live:
            self.items[nk][1] = before + delta
        else:
            if nk in self.items:
                self.items[nk][1:] = [before + delta, None, None]
            else:
                self.store(key, before + delta, None, None)

    @rule(key=KEYS, expire=EXPIRES)
    def touch(self, key, expire):
        nk = norm(key)
        expected = self.live(nk)
        assert self.cache.touch(key, expire) is expected
        if expected:
            self.items[nk][2] = None if expire is None else self.now + expire

    @rule()
    def expire(self):
        removed = self.cache.expire()
        gone = [nk for nk in self.order if self.items[nk][2] is not None and self.items[nk][2] < self.now]
        assert removed == len(gone)
        for nk in gone:
            self.remove(nk)

    @rule(tag=st.sampled_from(['red', 'blue']))
    def evict(self, tag):
        removed = self.cache.evict(tag)
        gone = [nk for nk in self.order if self.items[nk][3] == tag]
        assert removed == len(gone)
        for nk in gone:
            self.remove(nk)

    @precondition(lambda self: len(self.order) > 0)
    @rule()
    def peekitem(self):
        # Expired items at the end are deleted by peekitem.
        while self.order and not (self.items[self.order[-1]][2] is None
                                  or self.items[self.order[-1]][2] >= self.now):
            self.remove(self.order[-1])
        if not self.order:
            with pytest.raises(KeyError):
                self.cache.peekitem()
            return
        key, value, _, _ = self.items[self.order[-1]]
        got_key, got_value = self.cache.peekitem()
        assert norm(got_key) == norm(key) and got_value == value

    @invariant()
    def same_keys_in_order(self):
        # The automatic cull may have removed expired items the model still
        # holds; sync them (only expired ones may vanish).
        actual = [norm(k) for k in self.cache]
        for nk in list(self.order):
            if nk not in actual:
                exp = self.items[nk][2]
                assert exp is not None and exp < self.now, 'a live item vanished: %r' % (nk,)
                self.remove(nk)
        assert actual == self.order
        assert len(self.cache) == len(self.order)


CacheModel.TestCase.settings = settings(
    max_examples=int(os.environ.get('DISKCACHE_GO_MODEL_EXAMPLES', '30')),
    stateful_step_count=int(os.environ.get('DISKCACHE_GO_MODEL_STEPS', '40')),
    deadline=None,
    database=None,
)
TestCacheModel = CacheModel.TestCase
