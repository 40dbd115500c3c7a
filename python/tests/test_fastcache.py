"""FastCache: the in-memory cache.

* a hypothesis state machine runs the same operations on a FastCache and on
  the reference ``diskcache.Cache`` (under a fake clock) and requires the
  same results for the shared API subset;
* LRU eviction by entry count and by size, statistics, memoize, pickling;
* thread safety (with lock-free hits and with locked, counted hits) and a
  fork while another thread holds the lock;
* the benchmark script runs, and a hit stays within a loose bound of a
  Python dict with lru_cache-style bookkeeping.
"""

import collections
import gc
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from unittest import mock

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

try:
    import diskcache_go  # noqa: F401  (FastCache/FanoutIndex exist only here)
except ModuleNotFoundError:  # not installed: use the in-tree package
    sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from diskcache_go.core import args_to_key  # noqa: E402
from diskcache_go.fastcache import FastCache  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_EXAMPLES = int(os.environ.get('DISKCACHE_GO_HYPOTHESIS_EXAMPLES', '25'))
STEP_COUNT = int(os.environ.get('DISKCACHE_GO_HYPOTHESIS_STEPS', '40'))


# -- differential against diskcache.Cache -------------------------------------

# Keys whose dict equality and Cache identity agree (no 1 / 1.0 / True).
KEYS = st.sampled_from([0, 1, -1, 2**64, 'a', '', 'ключ', b'a', (1, 'x'), None])
VALUES = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, min_value=-1e12, max_value=1e12),
    st.text(max_size=6),
    st.binary(max_size=6),
    st.none(),
    st.booleans(),
    st.tuples(st.integers(-3, 3), st.text(max_size=2)),
)
TAGS = st.sampled_from([None, 'red', 'blue', 1, b't'])
EXPIRES = st.sampled_from([None, None, 0, 0.5, 1, 2, 3, 5, -1])
DEFAULTS = st.sampled_from([None, 0, 'dflt'])
DELTAS = st.one_of(st.integers(-5, 5), st.sampled_from([0.5, -2.25]))
INCR_DEFAULTS = st.sampled_from([0, 0, None, 7, 1.5])
ADVANCE = st.one_of(st.integers(0, 4), st.sampled_from([0.5, 2.5]))


def make_machine(harness):
    outcome = harness.outcome
    reference = harness.reference

    class FastCacheComparison(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.clock = harness.FakeClock()
            self.patcher = mock.patch('time.time', self.clock)
            self.patcher.start()
            self.root = tempfile.mkdtemp(prefix='diskcache-go-fast-')
            self.ref = reference.Cache(self.root, eviction_policy='none')
            self.new = FastCache()
            assert self.ref.stats() == self.new.stats() == (0, 0)

        def teardown(self):
            try:
                self.ref.close()
            finally:
                self.patcher.stop()
                shutil.rmtree(self.root, ignore_errors=True)

        def same(self, fn, *args):
            expected = outcome(fn, self.ref, *args)
            actual = outcome(fn, self.new, *args)
            assert actual == expected, (fn.__name__, args, expected, actual)

        @rule(key=KEYS, value=VALUES, expire=EXPIRES, tag=TAGS)
        def set(self, key, value, expire, tag):
            self.same(lambda c, *a: c.set(key, value, expire=expire, tag=tag))

        @rule(key=KEYS, value=VALUES)
        def setitem(self, key, value):
            def setitem(c):
                c[key] = value

            self.same(setitem)

        @rule(key=KEYS, value=VALUES, expire=EXPIRES, tag=TAGS)
        def add(self, key, value, expire, tag):
            self.same(lambda c: c.add(key, value, expire=expire, tag=tag))

        @rule(key=KEYS, default=DEFAULTS, expire_time=st.booleans(), tag=st.booleans())
        def get(self, key, default, expire_time, tag):
            self.same(lambda c: c.get(key, default, expire_time=expire_time, tag=tag))

        @rule(key=KEYS)
        def getitem(self, key):
            self.same(lambda c: c[key])

        @rule(key=KEYS)
        def contains(self, key):
            self.same(lambda c: key in c)

        @rule(key=KEYS, default=DEFAULTS, expire_time=st.booleans(), tag=st.booleans())
        def pop(self, key, default, expire_time, tag):
            self.same(lambda c: c.pop(key, default, expire_time=expire_time, tag=tag))

        @rule(key=KEYS)
        def delete(self, key):
            self.same(lambda c: c.delete(key))

        @rule(key=KEYS)
        def delitem(self, key):
            def delitem(c):
                del c[key]

            self.same(delitem)

        @rule(key=KEYS, expire=EXPIRES)
        def touch(self, key, expire):
            self.same(lambda c: c.touch(key, expire))

        @rule(key=KEYS, delta=DELTAS, default=INCR_DEFAULTS, down=st.booleans())
        def incr(self, key, delta, default, down):
            if down:
                self.same(lambda c: c.decr(key, delta, default))
            else:
                self.same(lambda c: c.incr(key, delta, default))

        @rule(tag=TAGS)
        def evict(self, tag):
            self.same(lambda c: c.evict(tag))

        @rule()
        def expire(self):
            self.same(lambda c: c.expire())

        @rule(data=st.data())
        def clear(self, data):
            if data.draw(st.integers(0, 9)) == 0:  # rarely
                self.same(lambda c: c.clear())

        @rule(seconds=ADVANCE)
        def advance(self, seconds):
            self.clock.advance(seconds)

        @invariant()
        def same_contents(self):
            self.same(len)
            self.same(lambda c: sorted(map(repr, c)))
            self.same(lambda c: c.stats())

    return FastCacheComparison


def test_differential_against_cache(harness):
    machine = make_machine(harness)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=MAX_EXAMPLES,
            stateful_step_count=STEP_COUNT,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


# -- API ----------------------------------------------------------------------


def test_basic_api(clock):
    cache = FastCache()
    assert cache.set('a', 1) is True
    cache['b'] = 2
    assert cache['a'] == 1 and cache.get('b') == 2
    assert cache.get('zz') is None and cache.get('zz', 'd') == 'd'
    with pytest.raises(KeyError) as info:
        cache['zz']
    assert info.value.args == ('zz',)
    assert 'a' in cache and 'zz' not in cache and len(cache) == 2
    assert cache.add('a', 9) is False and cache.add('c', 3) is True
    assert cache.incr('n') == 1 and cache.decr('n', 5) == -4 and cache.incr('f', 0.5, 1) == 1.5
    with pytest.raises(KeyError):
        cache.incr('missing', default=None)
    cache['s'] = 'text'
    with pytest.raises(TypeError):
        cache.incr('s')
    cache['flag'] = True
    with pytest.raises(TypeError):
        cache.incr('flag')
    assert cache.pop('c') == 3 and cache.pop('c', 'gone') == 'gone'
    assert cache.delete('a') is True and cache.delete('a') is False
    with pytest.raises(KeyError):
        del cache['a']
    del cache['b']
    assert cache.clear() == 4 and len(cache) == 0
    assert repr(FastCache(max_entries=5)) == 'FastCache(max_entries=5, size_limit=None)'
    with FastCache() as scoped:
        scoped['x'] = 1
    scoped.close()
    for bad in (-1, True):
        with pytest.raises(ValueError):
            FastCache(max_entries=bad)
        with pytest.raises(ValueError):
            FastCache(size_limit=bad)


def test_expiry_and_shapes(clock):
    cache = FastCache()
    now = clock.now
    cache.set('k', 'v', expire=10, tag='t')
    cache.set('forever', 'v')
    assert cache.get('k', expire_time=True) == ('v', now + 10)
    assert cache.get('k', tag=True) == ('v', 't')
    assert cache.get('k', expire_time=True, tag=True) == ('v', now + 10, 't')
    assert cache.get('nope', 'd', expire_time=True, tag=True) == ('d', None, None)
    assert cache.get('nope', expire_time=True) == (None, None)
    assert cache.pop('nope', tag=True) == (None, None)
    clock.advance(10)
    # expire_time == now counts as expired for lookups (as in Cache) ...
    assert cache.get('k') is None and 'k' not in cache
    with pytest.raises(KeyError):
        cache['k']
    assert cache.touch('k') is False and cache.delete('k') is False
    assert cache.pop('k', 'd') == 'd'
    # ... but expired items stay counted until removed
    assert len(cache) == 2
    # ... and expire() removes only expire_time < now.
    assert cache.expire() == 0
    clock.advance(0.5)
    assert cache.expire() == 1 and len(cache) == 1
    cache.set('soon', 1, expire=1)
    assert cache.touch('soon', None) is True
    clock.advance(100)
    assert cache['soon'] == 1
    cache.set('x', 1, expire=5)
    assert cache.expire(now=clock.now + 6) == 1


def test_writes_remove_expired_items(clock):
    cache = FastCache()
    cache.set('gone', 1, expire=-1)  # removed by its own write, as in Cache
    assert len(cache) == 0
    for n in range(15):
        cache.set(n, n, expire=1)
    cache.set('zero', 0, expire=0)  # expire_time == now: kept until later
    assert len(cache) == 16
    clock.advance(2)
    cache['a'] = 1  # removes ten expired items, earliest first
    assert list(cache) == [9, 10, 11, 12, 13, 14, 'a']
    cache.touch('a', 1)
    assert cache.add('b', 2) is True and list(cache) == ['a', 'b']
    cache.incr('a')  # a live incr is not a store: nothing removed
    clock.advance(5)
    cache.incr('a')  # 'a' expired: stored again, and expired items go
    assert sorted(map(str, cache)) == ['a', 'b'] and cache['a'] == 1
    keep = FastCache(cull_limit=0)
    keep.set('k', 1, expire=-1)
    keep['x'] = 1
    assert len(keep) == 2 and keep.cull() == 1
    # Rewriting one expiring key many times does not grow the bookkeeping.
    for n in range(1000):
        keep.set('hot', n, expire=100)
    assert len(keep._heap) < 200


def test_patched_clock_is_read_through_time_module():
    cache = FastCache()
    with mock.patch('time.time', return_value=1000.0):
        cache.set('k', 1, expire=5)
        assert cache.get('k', expire_time=True) == (1, 1005.0)
    with mock.patch('time.time', return_value=1006.0):
        assert cache.get('k') is None


def test_lru_eviction_by_count():
    cache = FastCache(max_entries=3)
    for key in 'abc':
        cache[key] = key
    assert cache['a'] == 'a'  # a is now the most recently used
    cache['d'] = 'd'
    assert list(cache) == ['c', 'a', 'd'] and 'b' not in cache
    assert list(reversed(cache)) == ['d', 'a', 'c']
    assert 'c' in cache  # membership is not a use ...
    cache.touch('c', 100)  # ... nor is touch
    cache.set('a', 'A')  # but writes are
    cache['e'] = 'e'
    assert list(cache) == ['d', 'a', 'e']
    cache.incr('n')  # incr is a write
    assert list(cache) == ['a', 'e', 'n']
    cache.max_entries = 1
    assert list(cache) == ['n'] and cache.max_entries == 1
    cache.max_entries = None
    for n in range(100):
        cache[n] = n
    assert len(cache) == 101


def test_lru_eviction_by_size():
    cache = FastCache(size_limit=35, sizeof=len)
    for key in 'abc':
        cache[key] = b'x' * 10
    assert cache.volume() == 30
    cache['a']
    cache['d'] = b'y' * 10
    assert list(cache) == ['c', 'a', 'd'] and cache.volume() == 30
    cache['c'] = b'z'  # overwrite adjusts the size
    assert cache.volume() == 21
    cache['big'] = b'b' * 100  # bigger than the limit: nothing stays
    assert len(cache) == 0 and cache.volume() == 0
    cache.size_limit = None
    cache['w'] = b'w' * 1000
    assert cache.volume() == 1000  # measured on demand
    cache['v'] = b'v' * 10
    cache.size_limit = 500  # measures, then evicts the LRU item
    assert list(cache) == ['v'] and cache.volume() == 10
    assert cache.cull() == 0


def test_cull_removes_expired_then_over_limit(clock):
    cache = FastCache()
    cache.set('old', 1, expire=1)
    for key in 'abc':
        cache[key] = key
    clock.advance(2)
    cache._max_entries = 2  # limit lowered behind the cache's back
    cache._bounded = True
    assert cache.cull() == 2 and list(cache) == ['b', 'c']


def test_stats():
    cache = FastCache()
    cache['a'] = 1
    cache.get('a')
    assert cache.stats(enable=False) == (0, 0)  # off by default
    assert cache.stats() == (0, 0)  # stats() turns counting on
    cache.get('a')
    cache['a']
    cache.get('b')
    with pytest.raises(KeyError):
        cache['b']
    'a' in cache
    cache.pop('a')
    assert cache.stats(reset=True) == (2, 2)
    assert cache.stats() == (0, 0)
    cache.get('a')
    assert cache.stats(enable=False) == (0, 1)
    cache.get('a')
    assert cache.stats(enable=False) == (0, 1)
    assert FastCache(statistics=True).stats() == (0, 0)


def test_memoize(clock):
    cache = FastCache()
    calls = collections.Counter()

    with pytest.raises(TypeError):
        cache.memoize(lambda: 1)

    @cache.memoize()
    def add(x, y):
        calls['add'] += 1
        return x + y

    @cache.memoize(name='short', expire=5, tag='memo', typed=True, ignore={1, 'z'})
    def short(x, y, z=0):
        calls['short'] += 1
        return x

    @cache.memoize(expire=0)
    def never(x):
        calls['never'] += 1
        return x

    assert [add(1, 2), add(1, 2), add(2, 1), add(1, y=2)] == [3, 3, 3, 3]
    assert calls['add'] == 3
    assert add.__cache_key__(1, 2) == args_to_key(
        (add.__module__ + '.' + add.__qualname__,), (1, 2), {}, False, ()
    )
    assert cache[add.__cache_key__(1, 2)] == 3
    assert [short(1, 'a'), short(1, 'b', z=9), short(1.0, 'c')] == [1, 1, 1.0]
    assert calls['short'] == 2  # typed: 1 and 1.0 differ; y and z ignored
    assert cache.evict('memo') == 2
    short(1, 'a')
    clock.advance(6)
    short(1, 'a')
    assert calls['short'] == 4
    never(1)
    never(1)
    assert calls['never'] == 2 and never.__wrapped__(5) == 5


def test_pickle_copies_items_and_limits():
    cache = FastCache(max_entries=10, size_limit=1000, statistics=True)
    for n in range(5):
        cache.set(n, 'v%d' % n, tag='t' if n % 2 else None)
    cache.get(0)
    cache.get('missing')
    copy = pickle.loads(pickle.dumps(cache))
    assert list(copy) == list(cache) == [1, 2, 3, 4, 0]
    assert copy.get(3, tag=True) == ('v3', 't')
    assert (copy.max_entries, copy.size_limit, copy.volume()) == (10, 1000, cache.volume())
    assert copy.stats() == (2, 1)
    copy[99] = 1
    assert 99 not in cache


# -- threads and fork ---------------------------------------------------------


@pytest.mark.parametrize('statistics', [False, True], ids=['lock-free-hits', 'counted-hits'])
def test_threads(statistics):
    cache = FastCache(max_entries=50, statistics=statistics)
    cache['counter'] = 0
    errors = []
    gets = [0] * 6

    def work(n):
        try:
            for i in range(1500):
                key = (n * 7 + i) % 80
                cache.set(key, i)
                cache.get(key)
                cache.get(key + 1000)
                gets[n] += 2
                cache.incr('counter')
                if i % 50 == 0:
                    cache.delete(key)
                    list(cache)
                assert len(cache) <= 50
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old)
    assert errors == []
    assert len(cache) <= 50
    if statistics:
        hits, misses = cache.stats(reset=True)
        assert hits + misses == sum(gets)
        assert misses >= 6 * 1500  # the key + 1000 lookups always miss
    assert cache['counter'] == 6 * 1500


def test_len_from_another_thread_never_sees_a_set_before_its_eviction():
    cache = FastCache(max_entries=3)
    for key in range(3):
        cache[key] = key
    seen = []
    shrink = cache._shrink

    def counting_shrink():
        # Another thread counts while the set has added its item and not
        # yet evicted the oldest one.
        thread = threading.Thread(target=lambda: seen.append(len(cache)))
        thread.start()
        thread.join(0.2)
        shrink()
        counting_shrink.thread = thread
    cache._shrink = counting_shrink
    cache['new'] = 'value'
    counting_shrink.thread.join()
    assert seen == [3]


class _Cyclic:
    def __init__(self):
        self.me = self

    def __del__(self):
        pass


def test_scans_while_hits_reorder():
    """expire/evict/volume scan the items while lock-free hits move them."""
    cache = FastCache()
    for n in range(3000):
        cache.set(n, n, tag='t' if n % 3 else None)
    stop = threading.Event()
    errors = []

    def reader():
        try:
            while not stop.is_set():
                for n in range(0, 3000, 7):
                    cache.get(n)
        except BaseException as exc:  # reported below
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(3)]
    old = sys.getswitchinterval()
    old_threshold = gc.get_threshold()
    sys.setswitchinterval(1e-6)
    # Frequent collections of cyclic garbage with finalizers (Python code)
    # give the readers chances to run in the middle of a scan.
    gc.set_threshold(20)
    try:
        for thread in readers:
            thread.start()
        for _ in range(15):
            for _ in range(50):
                _Cyclic()
            cache.expire()
            cache.evict('none such')
            cache.volume()
            cache.size_limit = 10**9
            cache.size_limit = None
            list(cache)
    finally:
        stop.set()
        for thread in readers:
            thread.join()
        sys.setswitchinterval(old)
        gc.set_threshold(*old_threshold)
    assert errors == []
    assert cache.evict('t') == 2000 and len(cache) == 1000


def test_concurrent_add_has_one_winner():
    cache = FastCache()
    barrier = threading.Barrier(16)
    wins = []

    def race(n):
        barrier.wait()
        wins.append(cache.add('key', n))

    threads = [threading.Thread(target=race, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wins.count(True) == 1


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
def test_fork_while_another_thread_holds_the_lock():
    cache = FastCache(max_entries=100)
    cache['inherited'] = 1
    holding, release = threading.Event(), threading.Event()

    def hold():
        with cache._lock:
            holding.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        with warnings.catch_warnings():
            # Python 3.12+ warns about forking a multi-threaded process:
            # that is the situation under test.
            warnings.simplefilter('ignore', DeprecationWarning)
            pid = os.fork()
        if pid == 0:
            code = 1
            try:
                cache['child'] = 2
                if cache['inherited'] == 1 and cache.incr('child') == 3:
                    code = 0
            finally:
                os._exit(code)
    finally:
        release.set()
        holder.join()
    deadline = time.monotonic() + 20
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail('the forked child deadlocked on the inherited lock')
        time.sleep(0.01)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert 'child' not in cache


# -- speed --------------------------------------------------------------------


def load_benchmark():
    import importlib.util

    path = os.path.join(ROOT, 'benchmarks', 'bench_fastcache.py')
    spec = importlib.util.spec_from_file_location('bench_fastcache', path)
    module = importlib.util.module_from_spec(spec)
    saved = list(sys.path)  # the script puts <repo>/python first
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = saved
    return module


def test_benchmark_script_runs(capsys, tmp_path):
    bench = load_benchmark()
    out_json = str(tmp_path / 'out.json')
    assert bench.main(['--keys', '50', '--number', '1', '--repeat', '2', '--json', out_json]) == 0
    printed = capsys.readouterr().out
    assert 'FastCache.get hit' in printed and 'machine:' in printed
    assert os.path.getsize(out_json) > 0


def test_hit_cost_is_close_to_a_dict_with_lru_bookkeeping():
    """A loose guard (the benchmark measures the real figure, about 1.2x):
    a FastCache hit must cost under 3x a Python dict doing lru_cache's
    bookkeeping, measured in thread CPU time, best of many samples."""
    bench = load_benchmark()
    keys = ['key-%04d' % i for i in range(500)]
    rows, empty = bench.build(keys)
    rows = [row for row in rows if row[0] in ('lru_dict', 'get', 'item')]
    gc.disable()
    try:
        ns = bench.measure(rows, empty, len(keys), 4, 40)
    finally:
        gc.enable()
    assert max(ns['get'], ns['item']) < 3 * ns['lru_dict'], ns
