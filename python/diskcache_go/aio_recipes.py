"""The recipes (recipes.py) for asyncio: ``async with`` on the locks, and
`throttle`, `barrier` and `memoize_stampede` over ``async def`` functions.

Waiting is never done on the event loop: a lock that is taken is polled
again after ``asyncio.sleep`` pauses that grow from a millisecond to
`POLL_MAX`, and each attempt is one awaitable cache call (docs/async.md).
"""

import asyncio
import functools
import math
import os
import random
import threading
import time

from .core import ENOVAL, args_to_key, full_name

__all__ = [
    'AsyncLockMixin',
    'AsyncRLockMixin',
    'AsyncSemaphoreMixin',
    'POLL_MAX',
    'barrier_coroutine',
    'memoize_stampede_coroutine',
    'throttle_coroutine',
]

# The first and the longest pause between two attempts at a taken lock.
POLL_FIRST = 0.001
POLL_MAX = 0.016


class _Backoff:
    """Pauses between attempts: POLL_FIRST, doubling up to POLL_MAX."""

    __slots__ = ('pause',)

    def __init__(self):
        self.pause = POLL_FIRST

    async def wait(self):
        await asyncio.sleep(self.pause)
        self.pause = min(self.pause * 2, POLL_MAX)


def _task_owner():
    """Identity of the calling task across processes: the async twin of
    recipes._owner, whose thread is shared by every task of a loop."""
    task = asyncio.current_task()
    return '%d-%d-%x' % (os.getpid(), threading.get_ident(), id(task))


class AsyncLockMixin:
    """``async with lock:`` and ``await lock.aacquire()`` for `Lock`."""

    async def aacquire(self):
        """Wait (on the loop) until the key can be added."""
        backoff = _Backoff()
        while not await self._cache.aadd(self._key, None, expire=self._expire, tag=self._tag,
                                         retry=True):
            await backoff.wait()

    async def arelease(self):
        """Release the lock by deleting the key (whoever holds it)."""
        await self._cache.adelete(self._key, retry=True)

    async def alocked(self):
        """True while the lock is held."""
        return await self._cache.acontains(self._key)

    async def __aenter__(self):
        await self.aacquire()

    async def __aexit__(self, *exc_info):
        await self.arelease()


class AsyncRLockMixin:
    """``async with rlock:`` for `RLock`. The owner is the task (its
    process, thread and task), so one task re-enters and another task of
    the same loop waits; a task's async and sync acquires are different
    owners."""

    async def aacquire(self):
        """Take the lock (again, if this task holds it), polling while
        another owner holds it."""
        me = _task_owner()
        cache = self._cache
        backoff = _Backoff()
        while True:
            async with cache.atransact(retry=True):
                owner, count = await cache.aget(self._key, default=(None, 0))
                if count == 0 or owner == me:
                    await cache.aset(self._key, (me, count + 1), expire=self._expire,
                                     tag=self._tag)
                    return
            await backoff.wait()

    async def arelease(self):
        """Undo one `aacquire`.

        :raises AssertionError: if the calling task does not hold the lock
        """
        me = _task_owner()
        cache = self._cache
        async with cache.atransact(retry=True):
            owner, count = await cache.aget(self._key, default=(None, 0))
            if owner != me or count <= 0:
                raise AssertionError('cannot release un-acquired lock')
            await cache.aset(self._key, (owner, count - 1), expire=self._expire, tag=self._tag)

    async def __aenter__(self):
        await self.aacquire()

    async def __aexit__(self, *exc_info):
        await self.arelease()


class AsyncSemaphoreMixin:
    """``async with semaphore:`` for `BoundedSemaphore`."""

    async def aacquire(self):
        """Take one unit, polling while none is left."""
        cache = self._cache
        backoff = _Backoff()
        while True:
            async with cache.atransact(retry=True):
                left = await cache.aget(self._key, default=self._value)
                if left > 0:
                    await cache.aset(self._key, left - 1, expire=self._expire, tag=self._tag)
                    return
            await backoff.wait()

    async def arelease(self):
        """Give one unit back.

        :raises AssertionError: if every unit is already free
        """
        cache = self._cache
        async with cache.atransact(retry=True):
            left = await cache.aget(self._key, default=self._value)
            if not self._value > left:
                raise AssertionError('cannot release un-acquired semaphore')
            await cache.aset(self._key, left + 1, expire=self._expire, tag=self._tag)

    async def __aenter__(self):
        await self.aacquire()

    async def __aexit__(self, *exc_info):
        await self.arelease()


async def _take_token(cache, key, count, rate, expire, time_func):
    """recipes._take_token in an async transaction."""
    async with cache.atransact(retry=True):
        last, tally = await cache.aget(key)
        now = time_func()
        tally += (now - last) * rate
        if tally > count:
            await cache.aset(key, (now, count - 1), expire)
        elif tally >= 1:
            await cache.aset(key, (now, tally - 1), expire)
        else:
            return (1 - tally) / rate
    return 0


def throttle_coroutine(func, cache, key, count, rate, expire, time_func, sleep_func):
    """`recipes.throttle`'s wrapper of an ``async def`` function (the
    bucket is set up by the caller). Waits with ``asyncio.sleep`` unless a
    ``sleep_func`` other than ``time.sleep`` was given; that one may return
    an awaitable."""

    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        while True:
            delay = await _take_token(cache, key, count, rate, expire, time_func)
            if not delay:
                break
            if sleep_func is time.sleep:
                await asyncio.sleep(delay)
            else:
                waited = sleep_func(delay)
                if asyncio.iscoroutine(waited) or isinstance(waited, asyncio.Future):
                    await waited
        return await func(*args, **kwargs)

    return wrapper


def barrier_coroutine(func, lock):
    """`recipes.barrier`'s wrapper of an ``async def`` function: every
    call runs under ``async with lock``."""
    if not hasattr(lock, '__aenter__'):
        raise TypeError(
            'barrier on an async def function needs a lock with async with '
            '(Lock, RLock, BoundedSemaphore), not %s' % type(lock).__name__
        )

    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        async with lock:
            return await func(*args, **kwargs)

    return wrapper


def memoize_stampede_coroutine(func, cache, expire, name, typed, tag, beta, ignore):
    """`recipes.memoize_stampede` for an ``async def`` function.

    The stored pair is ``(awaited result, seconds the call took)``. A miss
    computes once per event loop however many tasks ask meanwhile (the
    others await the first one's result); past the early-recompute point
    one task (guarded across processes by the key ``key + (ENOVAL,)``, as
    the sync recipe) refreshes the value in the background while the stale
    one is returned.
    """
    base = (full_name(func),) if name is None else (name,)
    pending = {}  # (loop, key) -> future of a miss being computed
    refreshing = set()  # background refresh tasks, kept referenced

    async def timed(*args, **kwargs):
        start = time.time()
        result = await func(*args, **kwargs)
        return result, time.time() - start

    async def compute(key, args, kwargs):
        pair = await timed(*args, **kwargs)
        await cache.aset(key, pair, expire=expire, tag=tag, retry=True)
        return pair

    async def compute_once(key, args, kwargs):
        loop = asyncio.get_running_loop()
        try:
            slot = (loop, key)
            hash(slot)
        except TypeError:
            return await compute(key, args, kwargs)
        while slot in pending:
            future = pending[slot]
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                if not future.cancelled():
                    raise
        future = pending[slot] = loop.create_future()
        try:
            pair = await compute(key, args, kwargs)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" log
            raise
        else:
            future.set_result(pair)
            return pair
        finally:
            if pending.get(slot) is future:
                del pending[slot]

    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        key = wrapper.__cache_key__(*args, **kwargs)
        pair, expire_time = await cache.aget(key, default=ENOVAL, expire_time=True, retry=True)
        if pair is ENOVAL:
            return (await compute_once(key, args, kwargs))[0]

        result, delta = pair
        ttl = expire_time - time.time()
        if -delta * beta * math.log(random.random()) < ttl:
            return result

        # Past the early-recompute point: let one task refresh it.
        if await cache.aadd(key + (ENOVAL,), None, expire=delta, retry=True):
            task = asyncio.get_running_loop().create_task(compute(key, args, kwargs))
            refreshing.add(task)
            task.add_done_callback(refreshing.discard)
        return result

    def __cache_key__(*args, **kwargs):
        return args_to_key(base, args, kwargs, typed, ignore)

    wrapper.__cache_key__ = __cache_key__
    return wrapper
