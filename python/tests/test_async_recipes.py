"""The recipes under asyncio (aio_recipes.py, and memoize in aio.py).

* ``memoize`` (Cache, FanoutCache, Index) and ``memoize_stampede`` on an
  ``async def`` function cache the awaited result, and concurrent callers
  of one missing key run the function once.
* ``Lock``, ``RLock`` and ``BoundedSemaphore`` work with ``async with``:
  they exclude other tasks (and other processes) and, while another
  process holds the lock, the loop keeps running.
* ``throttle`` and ``barrier`` decorate coroutine functions.
"""

import asyncio
import os
import subprocess
import sys
import textwrap

import pytest

from diskcache_go import BoundedSemaphore, Cache, FanoutCache, Index, Lock, RLock
from diskcache_go import barrier, memoize_stampede, throttle

PYTHON_SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(coro):
    return asyncio.run(coro)


def make_store(kind, tmp_path):
    if kind == 'cache':
        return Cache(str(tmp_path), eviction_policy='none')
    if kind == 'fanout':
        return FanoutCache(str(tmp_path), shards=3, eviction_policy='none')
    return Index(str(tmp_path))


@pytest.mark.parametrize('kind', ['cache', 'fanout', 'index'])
def test_memoize_async_def_computes_once(kind, tmp_path):
    store = make_store(kind, tmp_path)
    calls = []

    @store.memoize()
    async def slow_square(number):
        calls.append(number)
        await asyncio.sleep(0.01)
        return number * number

    async def main():
        first = await asyncio.gather(*(slow_square(7) for _ in range(20)))
        again = await slow_square(7)
        other = await slow_square(8)
        return first, again, other

    first, again, other = run(main())
    assert first == [49] * 20 and again == 49 and other == 64
    assert calls == [7, 8]
    assert store[slow_square.__cache_key__(7)] == 49
    assert asyncio.iscoroutinefunction(slow_square)


def test_memoize_async_error_reaches_every_waiter(tmp_path):
    cache = Cache(str(tmp_path))
    calls = []

    @cache.memoize()
    async def failing(number):
        calls.append(number)
        await asyncio.sleep(0.01)
        raise ValueError(number)

    async def main():
        return await asyncio.gather(*(failing(1) for _ in range(5)), return_exceptions=True)

    results = run(main())
    assert [type(result) for result in results] == [ValueError] * 5
    assert calls == [1]
    assert len(cache) == 0


def test_memoize_async_with_unhashable_arguments(tmp_path):
    cache = Cache(str(tmp_path))

    @cache.memoize()
    async def total(values):
        return sum(values)

    assert run(total([1, 2, 3])) == 6
    assert cache[total.__cache_key__([1, 2, 3])] == 6


def test_memoize_stampede_async(tmp_path):
    cache = Cache(str(tmp_path))
    calls = []

    @memoize_stampede(cache, expire=60)
    async def cube(number):
        calls.append(number)
        await asyncio.sleep(0.01)
        return number ** 3

    async def main():
        return await asyncio.gather(*(cube(3) for _ in range(10))), await cube(3)

    results, again = run(main())
    assert results == [27] * 10 and again == 27
    assert calls == [3]
    value, seconds = cache[cube.__cache_key__(3)]
    assert value == 27 and seconds >= 0


def test_memoize_stampede_async_refreshes_in_the_background(tmp_path):
    cache = Cache(str(tmp_path))
    calls = []

    @memoize_stampede(cache, expire=60, beta=1)
    async def value(number):
        calls.append(number)
        return len(calls)

    key = value.__cache_key__(1)

    async def main():
        # Stored as if the call took far longer than the time left: the
        # next call is past its early-recompute point.
        await cache.aset(key, ('stale', 1e6), expire=1)
        stale = await value(1)
        for _ in range(100):
            if cache.get(key)[0] != 'stale':
                break
            await asyncio.sleep(0.01)
        return stale

    assert run(main()) == 'stale'
    assert calls == [1]
    assert cache.get(key)[0] == 1


@pytest.mark.parametrize('factory', [Lock, RLock, lambda c, k: BoundedSemaphore(c, k, value=1)])
def test_async_with_excludes_other_tasks(factory, tmp_path):
    cache = Cache(str(tmp_path), eviction_policy='none')
    inside = []
    most = []

    async def worker(lock):
        async with lock:
            inside.append(1)
            most.append(len(inside))
            await asyncio.sleep(0.002)
            inside.pop()

    async def main():
        # One lock object per task, as one per process would be.
        await asyncio.gather(*(worker(factory(cache, 'lock')) for _ in range(8)))

    run(main())
    assert most == [1] * 8


def test_bounded_semaphore_async_allows_value_holders(tmp_path):
    cache = Cache(str(tmp_path), eviction_policy='none')
    inside = []
    most = []

    async def worker():
        async with BoundedSemaphore(cache, 'sem', value=2):
            inside.append(1)
            most.append(len(inside))
            await asyncio.sleep(0.005)
            inside.pop()

    async def main():
        await asyncio.gather(*(worker() for _ in range(6)))
        semaphore = BoundedSemaphore(cache, 'sem', value=2)
        with pytest.raises(AssertionError, match='un-acquired semaphore'):
            await semaphore.arelease()

    run(main())
    assert max(most) == 2
    assert cache['sem'] == 2


def test_rlock_async_reenters_in_one_task_only(tmp_path):
    cache = Cache(str(tmp_path), eviction_policy='none')
    lock = RLock(cache, 'r')
    events = []

    async def holder(entered, release):
        async with lock:
            async with lock:
                entered.set()
                await release.wait()
        events.append('holder out')

    async def other(entered):
        await entered.wait()
        with pytest.raises(AssertionError, match='un-acquired lock'):
            await lock.arelease()
        async with lock:
            events.append('other in')

    async def main():
        entered, release = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(holder(entered, release)), asyncio.create_task(other(entered))]
        await entered.wait()
        await asyncio.sleep(0.03)
        events.append('release')
        release.set()
        await asyncio.gather(*tasks)

    run(main())
    assert events == ['release', 'holder out', 'other in']


LOCK_HOLDER = textwrap.dedent('''
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from diskcache_go import Cache, Lock
    lock = Lock(Cache(sys.argv[2], eviction_policy='none'), 'shared')
    with lock:
        print('held', flush=True)
        time.sleep(0.5)
''')


def test_lock_held_by_another_process_does_not_block_the_loop(tmp_path):
    directory = str(tmp_path)
    cache = Cache(directory, eviction_policy='none')
    child = subprocess.Popen([sys.executable, '-c', LOCK_HOLDER, PYTHON_SRC, directory],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == 'held'

        async def main():
            ticks = 0
            acquired = asyncio.create_task(Lock(cache, 'shared').aacquire())
            while not acquired.done():
                await asyncio.sleep(0.005)
                ticks += 1
            await acquired
            return ticks, await Lock(cache, 'shared').alocked()

        ticks, locked = run(main())
    finally:
        child.wait(timeout=30)
    # The loop ran other work while the lock was held elsewhere.
    assert ticks > 10
    assert locked


def test_throttle_coroutine(tmp_path):
    cache = Cache(str(tmp_path), eviction_policy='none')
    clock = [0.0]
    waits = []

    async def fake_sleep(delay):
        waits.append(delay)
        clock[0] += delay

    @throttle(cache, 2, 1, time_func=lambda: clock[0], sleep_func=fake_sleep)
    async def tick():
        return clock[0]

    async def main():
        return [await tick() for _ in range(4)]

    assert run(main()) == [0.0, 0.0, 0.5, 1.0]
    assert waits == [0.5, 0.5]
    assert asyncio.iscoroutinefunction(tick)


def test_throttle_coroutine_sleeps_on_the_loop(tmp_path):
    cache = Cache(str(tmp_path), eviction_policy='none')

    @throttle(cache, 1, 0.05)
    async def limited():
        return asyncio.get_running_loop().time()

    async def main():
        return [await limited() for _ in range(3)]

    times = run(main())
    assert times == sorted(times)


def test_barrier_coroutine(tmp_path):
    cache = Cache(str(tmp_path), eviction_policy='none')
    inside = []
    most = []

    @barrier(cache, Lock)
    async def work(number):
        inside.append(number)
        most.append(len(inside))
        await asyncio.sleep(0.002)
        inside.pop()
        return number * 2

    async def main():
        return await asyncio.gather(*(work(i) for i in range(5)))

    assert run(main()) == [0, 2, 4, 6, 8]
    assert most == [1] * 5

    class NoAsync:
        def __init__(self, cache, key, expire=None, tag=None):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            return False

    with pytest.raises(TypeError, match='async with'):
        @barrier(cache, NoAsync)
        async def refused():
            return None
