"""Differential tests of the recipes (``Averager``, ``Lock``, ``RLock``,
``BoundedSemaphore``, ``throttle``, ``barrier``, ``memoize_stampede``):
``diskcache`` 5.6.3 (the reference) versus the candidate module.

Written from python-diskcache 5.6.3's documented recipes
(docs/api-contract.md). Each scenario is a function of ``(module, cache)``
run once on the reference and once on the candidate, under the fake clock of conftest.py (time.time is
patched, so expire times are exact); results, exceptions and the rows the
recipe leaves in the cache are compared. ``throttle`` gets an injected
``time_func``/``sleep_func`` and ``memoize_stampede`` a patched
``random.random``, so nothing depends on real timing except the tests that
check that a waiting thread or process really waits.

The cross-process tests (a Lock, an RLock and a BoundedSemaphore(value=2)
guarding a critical section of 4 spawned processes) run on the candidate
only.

Run against the reference itself to validate the tests::

    DISKCACHE_GO_TEST_IMPL=diskcache PYTHONPATH=python \\
        python -m pytest -q python/tests/test_recipes.py
"""

import importlib
import multiprocessing
import os
import sys
import threading
import time
from unittest import mock

import pytest

import diskcache as reference

T0 = 1_700_000_000.0  # conftest.CLOCK_START
JOIN_TIMEOUT = 60
WAIT = 10  # seconds a test waits for a thread that should make progress


@pytest.fixture
def run(impl, make_pair, both, clock):
    """``run(scenario, **settings)``: ``scenario(module, cache)`` on the
    reference and on the candidate (fresh caches, policy 'none' unless
    given), each starting with the fake clock at T0; asserts identical
    outcomes and returns the reference's."""

    def runner(scenario, exc_args=None, **settings):
        settings.setdefault('eviction_policy', 'none')
        ref_cache, new_cache = make_pair(**settings)

        def from_t0(pair):
            clock.set(T0)
            return scenario(*pair)

        return both((reference, ref_cache), (impl, new_cache), from_t0,
                    exc_args=exc_args)

    return runner


def row(cache, key):
    """The full state of one key: (value, expire_time, tag)."""
    return cache.get(key, default=KeyError, expire_time=True, tag=True)


class FakeTime:
    """Injected ``time_func``/``sleep_func`` for throttle: sleeping
    advances the clock and is recorded."""

    def __init__(self, now=0.0):
        self.now = now
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def wait_for(predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


# ---------------------------------------------------------------------------
# Module surface
# ---------------------------------------------------------------------------


NAMES = ('Averager', 'BoundedSemaphore', 'Lock', 'RLock', 'barrier',
         'memoize_stampede', 'throttle')


def test_recipes_exported(impl):
    for name in NAMES:
        assert getattr(impl, name) is getattr(impl.recipes, name)
        assert name in impl.__all__


def test_recipes_signatures(impl):
    import inspect

    for name in NAMES:
        ref = inspect.signature(getattr(reference.recipes, name))
        new = inspect.signature(getattr(impl.recipes, name))
        assert list(new.parameters) == list(ref.parameters), name
        for param in ref.parameters.values():
            other = new.parameters[param.name]
            if param.name in ('time_func', 'sleep_func'):
                assert other.default in (time.time, time.sleep)
            else:
                assert other.default == param.default, (name, param.name)
            assert other.kind == param.kind


def test_candidate_doctests(impl, tmp_path, monkeypatch):
    import doctest
    import tempfile

    if impl.__name__ != 'diskcache_go':
        pytest.skip('doctests of diskcache_go only')
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    failed, attempted = doctest.testmod(impl.recipes)
    assert attempted and not failed


# ---------------------------------------------------------------------------
# Averager
# ---------------------------------------------------------------------------


def test_averager_doctest(run):
    def scenario(mod, cache):
        average = mod.Averager(cache, 'latency')
        out = [average.get(), average.add(0.080), average.add(0.120),
               average.get(), cache['latency'], average.add(0.160),
               average.pop(), 'latency' in cache, average.get(),
               average.pop()]
        return out

    out = run(scenario)
    assert out[3] == 0.1 and out[6] == 0.12 and out[8] is None


def test_averager_expire_and_tag(run, clock):
    def scenario(mod, cache):
        average = mod.Averager(cache, 'avg', expire=10, tag='stats')
        average.add(4)
        out = [row(cache, 'avg')]
        clock.advance(5)
        average.add(8)
        out += [row(cache, 'avg'), average.get()]
        clock.advance(10)  # expired: starts over
        out += [average.get(), average.add(1), row(cache, 'avg'),
                average.get()]
        return out

    run(scenario)


def test_averager_ints_and_overwrites(run):
    def scenario(mod, cache):
        average = mod.Averager(cache, 'avg')
        cache['avg'] = (10, 4)
        out = [average.get(), average.add(2), cache['avg'], average.get()]
        other = mod.Averager(cache, 'avg')  # shares the key
        other.add(3)
        return out + [average.get(), average.pop(), other.get()]

    run(scenario)


# ---------------------------------------------------------------------------
# Lock
# ---------------------------------------------------------------------------


def test_lock_basics(run):
    def scenario(mod, cache):
        lock = mod.Lock(cache, 'report-123')
        out = [lock.locked(), lock.acquire(), lock.locked(),
               row(cache, 'report-123'), lock.release(), lock.locked(),
               'report-123' in cache, lock.release()]
        with lock as entered:
            out += [entered, lock.locked()]
        out.append(lock.locked())
        try:
            with lock:
                raise KeyError('inside')
        except KeyError as exc:
            out += [exc.args, lock.locked()]
        return out

    run(scenario)


def test_lock_expire_and_tag(run, clock):
    def scenario(mod, cache):
        lock = mod.Lock(cache, 'lk', expire=30, tag='locks')
        lock.acquire()
        out = [row(cache, 'lk')]
        clock.advance(29)
        out.append(lock.locked())
        clock.advance(1)  # expire_time == now: expired
        out.append(lock.locked())
        lock.acquire()  # does not wait: the expired row is replaced
        out += [row(cache, 'lk'), lock.locked()]
        return out

    run(scenario)


@pytest.mark.parametrize('kind', ['Lock', 'RLock', 'BoundedSemaphore'])
def test_lock_blocks_other_thread(impl, tmp_path, kind):
    """Another thread waits while the lock is held, and gets it after the
    release (real time: the spin loop sleeps)."""
    for mod in (reference, impl):
        cache = mod.Cache(str(tmp_path / (mod.__name__ + kind)),
                          eviction_policy='none')
        lock = getattr(mod, kind)(cache, 'key')
        lock.acquire()
        got = threading.Event()
        done = threading.Event()

        def contender():
            lock.acquire()
            got.set()
            lock.release()
            done.set()

        thread = threading.Thread(target=contender, daemon=True)
        thread.start()
        assert not got.wait(0.15), (mod.__name__, 'did not wait')
        lock.release()
        assert done.wait(WAIT), (mod.__name__, 'never acquired')
        thread.join(WAIT)
        cache.close()


# ---------------------------------------------------------------------------
# RLock
# ---------------------------------------------------------------------------


def test_rlock_reentrant(run):
    def scenario(mod, cache):
        rlock = mod.RLock(cache, 'user-123')
        owner = '%d-%d' % (os.getpid(), threading.get_ident())
        out = [rlock.acquire(), rlock.acquire(), cache['user-123'] ==
               (owner, 2), rlock.release(), cache['user-123'] == (owner, 1)]
        with rlock as entered:
            out += [entered, cache['user-123'][1]]
        out += [rlock.release(), cache['user-123'] == (owner, 0),
                'user-123' in cache]
        try:
            rlock.release()
        except AssertionError as exc:
            out.append(exc.args)
        out.append(cache['user-123'] == (owner, 0))
        return out

    out = run(scenario)
    assert out[-2] == ('cannot release un-acquired lock',)


def test_rlock_release_unacquired(run):
    def scenario(mod, cache):
        return mod.RLock(cache, 'fresh').release()

    exc = run(scenario)
    assert isinstance(exc, AssertionError)
    assert exc.args == ('cannot release un-acquired lock',)


def test_rlock_release_by_other_thread(run):
    def scenario(mod, cache):
        rlock = mod.RLock(cache, 'owned')
        rlock.acquire()
        errors = []

        def intruder():
            try:
                rlock.release()
            except AssertionError as exc:
                errors.append(exc.args)

        thread = threading.Thread(target=intruder)
        thread.start()
        thread.join(WAIT)
        out = [errors, cache['owned'][1], rlock.release()]
        # Count 0: any thread may take it now.
        taken = []

        def taker():
            rlock.acquire()
            taken.append(cache['owned'][1])
            rlock.release()

        thread = threading.Thread(target=taker)
        thread.start()
        thread.join(WAIT)
        return out + [taken, cache['owned'][1]]

    run(scenario)


def test_rlock_expire_and_tag(run, clock):
    def scenario(mod, cache):
        rlock = mod.RLock(cache, 'rl', expire=7, tag=b'tag')
        rlock.acquire()
        first = row(cache, 'rl')
        clock.advance(3)
        rlock.acquire()
        second = row(cache, 'rl')
        clock.advance(1)
        rlock.release()
        third = row(cache, 'rl')
        return [(first[0][1],) + first[1:], (second[0][1],) + second[1:],
                (third[0][1],) + third[1:]]

    run(scenario)


# ---------------------------------------------------------------------------
# BoundedSemaphore
# ---------------------------------------------------------------------------


def test_semaphore_counts(run):
    def scenario(mod, cache):
        semaphore = mod.BoundedSemaphore(cache, 'max-cons', value=2)
        out = [cache.get('max-cons'), semaphore.acquire(),
               cache['max-cons'], semaphore.acquire(), cache['max-cons'],
               semaphore.release(), cache['max-cons']]
        with semaphore as entered:
            out += [entered, cache['max-cons']]
        out += [cache['max-cons'], semaphore.release(), cache['max-cons']]
        try:
            semaphore.release()
        except AssertionError as exc:
            out.append(exc.args)
        out.append(cache['max-cons'])
        return out

    out = run(scenario)
    assert out[-2] == ('cannot release un-acquired semaphore',)


def test_semaphore_default_value_and_over_release(run):
    def scenario(mod, cache):
        return mod.BoundedSemaphore(cache, 'sem').release()

    exc = run(scenario)
    assert exc.args == ('cannot release un-acquired semaphore',)

    def scenario2(mod, cache):
        semaphore = mod.BoundedSemaphore(cache, 'sem')
        semaphore.acquire()
        out = [cache['sem'], semaphore.release(), cache['sem']]
        return out

    assert run(scenario2) == [0, None, 1]


def test_semaphore_expire_and_tag(run, clock):
    def scenario(mod, cache):
        semaphore = mod.BoundedSemaphore(cache, 's', value=3, expire=5,
                                         tag=1)
        semaphore.acquire()
        out = [row(cache, 's')]
        clock.advance(2)
        semaphore.release()
        out.append(row(cache, 's'))
        clock.advance(5)  # the row expired: back to `value`
        semaphore.acquire()
        out.append(row(cache, 's'))
        return out

    run(scenario)


# ---------------------------------------------------------------------------
# throttle
# ---------------------------------------------------------------------------


def test_throttle_doctest_deterministic(run):
    """The doctest: 2 calls per second for 2 seconds lets 6 or 7 calls
    through; with an injected clock the count is exact."""

    def scenario(mod, cache):
        fake = FakeTime(100.0)
        calls = []

        @mod.throttle(cache, 2, 1, time_func=fake.time,
                      sleep_func=fake.sleep)
        def increment():
            calls.append(fake.now)

        start = fake.time()
        while fake.time() - start <= 2:
            increment()
        return calls, fake.sleeps

    calls, _ = run(scenario)
    assert len(calls) in (6, 7)


def test_throttle_bucket_states(run, clock):
    def scenario(mod, cache):
        # Dyadic numbers only: the arithmetic of the bucket stays exact, so
        # a fake sleep of (1 - tally) / rate really refills one token.
        fake = FakeTime(64.0)

        @mod.throttle(cache, 4, 2, name='bucket', expire=60, tag='tg',
                      time_func=fake.time, sleep_func=fake.sleep)
        def call(value, *, extra=None):
            return value, extra

        out = [row(cache, 'bucket')]
        for step in (0, 0, 0.125, 0, 0.25, 5, 0, 0, 0, 0, 0, 0.375, 0):
            fake.now += step
            out.append((call(step, extra='x'), row(cache, 'bucket'),
                        list(fake.sleeps)))
        return out, call.__name__, call.__wrapped__(1)

    run(scenario)


def test_throttle_default_name_and_reset(run):
    def scenario(mod, cache):
        fake = FakeTime()

        def func():
            return 'ran'

        wrapped = mod.throttle(cache, 1, 1, time_func=fake.time,
                               sleep_func=fake.sleep)(func)
        key = func.__module__ + '.' + func.__qualname__
        out = [cache[key], wrapped(), cache[key], wrapped(), fake.sleeps]
        # Decorating again resets the bucket to full.
        mod.throttle(cache, 1, 1, time_func=fake.time,
                     sleep_func=fake.sleep)(func)
        out += [cache[key], wrapped(), fake.sleeps]
        return out

    run(scenario)


def test_throttle_real_time_smoke(impl, tmp_path):
    """Without injection: 20 calls per 0.1 s starts with 20 tokens and earns
    200 a second, so 60 calls cannot end before 40 tokens were earned, 0.2 s
    after the decoration. Only this lower bound is asserted: a slow machine
    or filesystem makes the calls take longer, never shorter."""
    cache = impl.Cache(str(tmp_path / 'thr'), eviction_policy='none')
    count = [0]
    start = time.monotonic()

    @impl.throttle(cache, 20, 0.1)
    def tick():
        count[0] += 1

    for _ in range(60):
        tick()
    elapsed = time.monotonic() - start
    assert count[0] == 60
    # Sleeps may end a little early by the clock; 5 ms of slack for that.
    assert elapsed >= 0.2 - 0.005, elapsed
    cache.close()


# ---------------------------------------------------------------------------
# barrier
# ---------------------------------------------------------------------------


def test_barrier_serializes_two_threads(impl, tmp_path):
    """The doctest: a Lock barrier and a 2-thread pool run the workers one
    after the other."""
    from multiprocessing.pool import ThreadPool

    for mod in (reference, impl):
        cache = mod.Cache(str(tmp_path / mod.__name__))
        events = []

        @mod.barrier(cache, mod.Lock)
        def work(num):
            events.append(('started', num))
            time.sleep(0.1)
            events.append(('finished', num))
            return num * 10

        pool = ThreadPool(2)
        try:
            results = pool.map(work, range(2))
        finally:
            pool.terminate()
        assert results == [0, 10]
        assert [name for name, _ in events] == [
            'started', 'finished', 'started', 'finished']
        assert events[0][1] == events[1][1] != events[2][1] == events[3][1]
        cache.close()


def test_barrier_lock_factory_arguments(run):
    def scenario(mod, cache):
        made = []

        def factory(*args, **kwargs):
            made.append((args[1:], sorted(kwargs.items())))
            return mod.Lock(*args, **kwargs)

        @mod.barrier(cache, factory)
        def first(value):
            return value, cache.get(
                first.__module__ + '.' + first.__qualname__,
                default='no lock', expire_time=True, tag=True)

        @mod.barrier(cache, factory, name='second', expire=9, tag='bt')
        def second():
            return row(cache, 'second')

        def fails():
            raise ValueError('inside barrier')

        third = mod.barrier(cache, mod.RLock, name='third')(fails)
        out = [made, first(1), second(), first.__name__, 'second' in cache]
        try:
            third()
        except ValueError as exc:
            out.append(exc.args)
        out.append(cache['third'][1])  # released despite the error
        fourth = mod.barrier(cache, mod.BoundedSemaphore, name='fourth')(
            lambda: cache['fourth'])
        out += [fourth(), cache['fourth']]
        return out

    run(scenario)


# ---------------------------------------------------------------------------
# memoize_stampede
# ---------------------------------------------------------------------------


def test_stampede_miss_hit_and_early_recompute(run, clock):
    def scenario(mod, cache):
        calls = []
        gate = threading.Event()

        @mod.memoize_stampede(cache, expire=60, tag='st')
        def compute(num):
            calls.append((num, threading.current_thread() is
                          threading.main_thread()))
            if len(calls) == 1:
                clock.advance(2)  # the first computation takes 2 s
            else:
                assert gate.wait(WAIT)
            return num * len(calls)

        key = compute.__cache_key__(7)
        out = []
        with mock.patch('random.random', return_value=0.5):
            out.append(compute(7))                  # miss: computed here
            out.append(row(cache, key))             # ((7, 2.0), T0+62, 'st')
            clock.advance(50)
            out.append(compute(7))                  # ttl 10 > 1.386: hit
            clock.advance(9)
            out.append(compute(7))                  # ttl 1 < 1.386: early
            thread_key = key + (mod.core.ENOVAL,)
            out.append(row(cache, thread_key))      # (None, now + 2, None)
            out.append(compute(7))                  # thread running: stale
            out.append(wait_for(lambda: len(calls) == 2))
            gate.set()
            out.append(wait_for(lambda: cache.get(key)[0] != 7))
            # Let the recompute thread finish (it closes its connection).
            out.append(wait_for(lambda: threading.active_count() == threads))
            out.append(row(cache, key))             # ((14, 0.0), now+60, 'st')
            out.append(compute(7))                  # fresh hit
            out.append(sorted(calls))
        return out

    threads = threading.active_count()
    out = run(scenario)
    assert out[0] == out[2] == out[3] == out[5] == 7
    assert out[6] is out[7] is out[8] is True
    assert out[10] == 14
    assert out[11] == [(7, False), (7, True)]


def test_stampede_random_and_beta(run, clock):
    def scenario(mod, cache):
        calls = []

        @mod.memoize_stampede(cache, 10, name='beta0', beta=0)
        def never_early(num):
            calls.append(num)
            clock.advance(1)
            return num

        @mod.memoize_stampede(cache, 10, name='beta1')
        def normal(num):
            calls.append(-num)
            clock.advance(1)
            return num

        out = [never_early(1), normal(1)]
        clock.advance(8.5)  # ttl: 0.5 for never_early, 1.5 for normal
        with mock.patch('random.random', return_value=1.0):
            out += [never_early(1), normal(1)]  # -delta*ln(1) = 0 < ttl
        with mock.patch('random.random', return_value=0.3):
            out += [never_early(1)]  # beta 0: 0 < ttl, a hit
        out.append(list(calls))
        clock.advance(2)  # both expired now: misses, computed here
        out += [never_early(1), normal(1), list(calls)]
        return out

    run(scenario)


def test_stampede_keys_and_wrapping(run, clock):
    def scenario(mod, cache):
        def func(a, b=0, *, c=0):
            return a + b + c

        plain = mod.memoize_stampede(cache, 5)(func)
        typed = mod.memoize_stampede(cache, 5, name='t', typed=True)(func)
        ignoring = mod.memoize_stampede(cache, 5, name='i',
                                        ignore={1, 'c'})(func)
        out = [plain(1, 2, c=3), plain.__cache_key__(1, 2, c=3),
               typed(1.0), typed.__cache_key__(1.0),
               typed.__cache_key__(1),
               ignoring(1, 2, c=3), ignoring(1, 5, c=9),
               ignoring.__cache_key__(1, 5, c=9),
               plain.__name__, plain.__wrapped__ is func,
               sorted(map(repr, cache))]
        return out

    run(scenario)


def test_stampede_requires_expire(run):
    """No callable-name check: forgetting the call is a TypeError only
    because ``expire`` is required."""

    def scenario(mod, cache):
        return mod.memoize_stampede(cache)

    assert isinstance(run(scenario), TypeError)

    def scenario2(mod, cache):
        decorator = mod.memoize_stampede(cache, expire=1, name='n')
        return callable(decorator)

    assert run(scenario2) is True


def test_stampede_none_results_and_expiry(run, clock):
    def scenario(mod, cache):
        calls = []

        @mod.memoize_stampede(cache, expire=3)
        def nothing():
            calls.append(1)

        with mock.patch('random.random', return_value=0.9):
            out = [nothing(), nothing(), len(calls)]
            clock.advance(3)  # expire_time == now: a miss
            out += [nothing(), len(calls)]
        return out

    run(scenario)


# ---------------------------------------------------------------------------
# Recipes on a FanoutCache
# ---------------------------------------------------------------------------


def test_recipes_on_fanout(impl, tmp_path, clock, both):
    if not hasattr(impl, 'FanoutCache'):
        pytest.skip('candidate has no FanoutCache yet')

    def scenario(mod):
        cache = mod.FanoutCache(str(tmp_path / mod.__name__), shards=4,
                                eviction_policy='none')
        try:
            average = mod.Averager(cache, 'avg', expire=5)
            average.add(1)
            average.add(2)
            lock = mod.Lock(cache, 'lock')
            rlock = mod.RLock(cache, 'rlock')
            semaphore = mod.BoundedSemaphore(cache, 'sem', value=2)
            out = [average.get()]
            with lock:
                out.append(lock.locked())
            with rlock, rlock:
                out.append(cache['rlock'][1])
            with semaphore:
                out.append(cache['sem'])
            try:
                semaphore.release()
            except AssertionError as exc:
                out.append(exc.args)
            fake = FakeTime()

            @mod.throttle(cache, 1, 1, name='thr', time_func=fake.time,
                          sleep_func=fake.sleep)
            def throttled():
                return fake.now

            out += [throttled(), throttled(), throttled()]

            @mod.barrier(cache, mod.Lock, name='bar')
            def guarded():
                return 'bar' in cache

            out.append(guarded())

            @mod.memoize_stampede(cache, 60, name='ms')
            def memo(num):
                return -num

            out += [memo(3), memo(3), average.pop(), lock.locked()]
            return out
        finally:
            cache.close()

    both(reference, impl, scenario)


# ---------------------------------------------------------------------------
# Cross-process: locks guarding a critical section (candidate only)
# ---------------------------------------------------------------------------


N_WORKERS = 4
ITERATIONS = 25


@pytest.fixture
def spawn_ctx():
    ctx = multiprocessing.get_context('spawn')
    ctx.started = []
    yield ctx
    for proc in ctx.started:
        if proc.is_alive():
            proc.kill()
            proc.join(10)


def lock_worker(mod_name, src, kind, directory, log_path, start):
    """Runs in a spawned process: enter the critical section ITERATIONS
    times, logging entries and exits and counting who is inside."""
    if src not in sys.path:
        sys.path.append(src)
    mod = importlib.import_module(mod_name)
    cache = mod.Cache(directory, eviction_policy='none')
    if kind == 'BoundedSemaphore':
        guard = mod.BoundedSemaphore(cache, 'guard', value=2)
    else:
        guard = getattr(mod, kind)(cache, 'guard')
    pid = os.getpid()
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    start.wait(30)
    try:
        for _ in range(ITERATIONS):
            with guard:
                inside = cache.incr('inside', retry=True)
                os.write(fd, b'E %d %d\n' % (pid, inside))
                time.sleep(0.002)
                os.write(fd, b'X %d\n' % pid)
                cache.decr('inside', retry=True)
            if kind == 'RLock':
                with guard, guard:  # re-entry from the same thread
                    os.write(fd, b'E %d 0\n' % pid)
                    os.write(fd, b'X %d\n' % pid)
    finally:
        os.close(fd)
        cache.close()


@pytest.mark.parametrize('kind,bound', [
    ('Lock', 1), ('RLock', 1), ('BoundedSemaphore', 2)])
def test_lock_across_processes(impl, tmp_path, spawn_ctx, kind, bound):
    directory = str(tmp_path / 'cache')
    log_path = str(tmp_path / 'log')
    src = os.path.dirname(os.path.dirname(impl.__file__))
    start = spawn_ctx.Event()
    procs = []
    for _ in range(N_WORKERS):
        proc = spawn_ctx.Process(
            target=lock_worker, daemon=True,
            args=(impl.__name__, src, kind, directory, log_path, start))
        proc.start()
        spawn_ctx.started.append(proc)
        procs.append(proc)
    start.set()
    for proc in procs:
        proc.join(JOIN_TIMEOUT)
        assert not proc.is_alive(), 'worker %s hung' % proc.pid
        assert proc.exitcode == 0, 'worker exit code %s' % proc.exitcode

    with open(log_path, 'rb') as reader:
        lines = reader.read().decode().splitlines()
    inside = set()
    most = 0
    entries = 0
    for line in lines:
        fields = line.split()
        if fields[0] == 'E':
            entries += 1
            assert fields[1] not in inside or kind == 'RLock'
            inside.add(fields[1])
            if len(fields) > 2 and int(fields[2]):
                assert int(fields[2]) <= bound, line
        else:
            inside.discard(fields[1])
        most = max(most, len(inside))
        assert len(inside) <= bound, 'too many inside: %r' % lines
    assert not inside
    per_iteration = 2 if kind == 'RLock' else 1
    assert entries == N_WORKERS * ITERATIONS * per_iteration
    cache = impl.Cache(directory, eviction_policy='none')
    assert cache['inside'] == 0
    if kind == 'BoundedSemaphore':
        assert cache['guard'] == 2
    elif kind == 'RLock':
        assert cache['guard'][1] == 0
    else:
        assert 'guard' not in cache
    cache.close()
