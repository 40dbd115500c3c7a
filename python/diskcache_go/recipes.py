"""Recipes built on a cache: averages, locks, semaphores, rate limits,
barriers and stampede-proof memoization.

Every recipe uses only ``transact(retry=True)``, ``get``, ``set``, ``add``,
``delete``, ``pop`` and ``in``, so it works with `Cache` and with
`FanoutCache`, across threads and processes. The keys a recipe uses must
not be evicted: open the cache with ``eviction_policy='none'``.
"""

import functools
import inspect
import math
import os
import random
import threading
import time

from . import aio_recipes
from .core import ENOVAL, args_to_key, full_name

__all__ = [
    'Averager',
    'BoundedSemaphore',
    'Lock',
    'RLock',
    'barrier',
    'memoize_stampede',
    'throttle',
]

# Seconds between two attempts of a spinning acquire.
_SPIN_DELAY = 0.001


class Averager:
    """Running average kept as ``(total, count)`` under one key.

    >>> import diskcache_go
    >>> cache = diskcache_go.Cache(eviction_policy='none')
    >>> average = Averager(cache, 'latency')
    >>> average.add(0.080)
    >>> average.add(0.120)
    >>> average.get()
    0.1
    >>> average.add(0.160)
    >>> average.pop()
    0.12
    >>> print(average.get())
    None
    """

    def __init__(self, cache, key, expire=None, tag=None):
        self._cache = cache
        self._key = key
        self._expire = expire
        self._tag = tag

    def add(self, value):
        """Add ``value`` to the average (atomic read-modify-write)."""
        cache = self._cache
        with cache.transact(retry=True):
            total, count = cache.get(self._key, default=(0.0, 0))
            cache.set(
                self._key,
                (total + value, count + 1),
                expire=self._expire,
                tag=self._tag,
            )

    def get(self):
        """The current average, or None when nothing was added."""
        pair = self._cache.get(self._key, default=(0.0, 0), retry=True)
        return _mean(pair)

    def pop(self):
        """The current average (None when nothing was added); the key is
        deleted."""
        pair = self._cache.pop(self._key, default=(0.0, 0), retry=True)
        return _mean(pair)


def _mean(pair):
    total, count = pair
    if count == 0:
        return None
    return total / count


class Lock(aio_recipes.AsyncLockMixin):
    """Lock shared by threads and processes: held while the key exists.

    >>> import diskcache_go
    >>> cache = diskcache_go.Cache(eviction_policy='none')
    >>> lock = Lock(cache, 'report-123')
    >>> lock.acquire()
    >>> lock.locked()
    True
    >>> lock.release()
    >>> with lock:
    ...     lock.locked()
    True
    >>> lock.locked()
    False
    """

    def __init__(self, cache, key, expire=None, tag=None):
        self._cache = cache
        self._key = key
        self._expire = expire
        self._tag = tag

    def acquire(self):
        """Wait until the key can be added, polling every millisecond."""
        while not self._cache.add(
            self._key,
            None,
            expire=self._expire,
            tag=self._tag,
            retry=True,
        ):
            time.sleep(_SPIN_DELAY)

    def release(self):
        """Release the lock by deleting the key (whoever holds it)."""
        self._cache.delete(self._key, retry=True)

    def locked(self):
        """True while the lock is held."""
        return self._key in self._cache

    def __enter__(self):
        self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def _owner():
    """Identity of the calling thread across processes."""
    return '%d-%d' % (os.getpid(), threading.get_ident())


class RLock(aio_recipes.AsyncRLockMixin):
    """Re-entrant lock shared by threads and processes.

    The key holds ``(owner, count)`` where the owner is
    ``'<pid>-<thread id>'``; the count drops back to 0 on the last release
    and the key stays.

    >>> import diskcache_go
    >>> cache = diskcache_go.Cache(eviction_policy='none')
    >>> rlock = RLock(cache, 'user-123')
    >>> rlock.acquire()
    >>> rlock.acquire()
    >>> rlock.release()
    >>> with rlock:
    ...     pass
    >>> rlock.release()
    >>> rlock.release()
    Traceback (most recent call last):
      ...
    AssertionError: cannot release un-acquired lock
    """

    def __init__(self, cache, key, expire=None, tag=None):
        self._cache = cache
        self._key = key
        self._expire = expire
        self._tag = tag

    def acquire(self):
        """Take the lock (again, if this thread holds it), polling every
        millisecond while another thread holds it."""
        me = _owner()
        cache = self._cache
        while True:
            with cache.transact(retry=True):
                owner, count = cache.get(self._key, default=(None, 0))
                if count == 0 or owner == me:
                    cache.set(
                        self._key,
                        (me, count + 1),
                        expire=self._expire,
                        tag=self._tag,
                    )
                    return
            time.sleep(_SPIN_DELAY)

    def release(self):
        """Undo one acquire.

        :raises AssertionError: if the calling thread does not hold the lock
        """
        me = _owner()
        cache = self._cache
        with cache.transact(retry=True):
            owner, count = cache.get(self._key, default=(None, 0))
            if owner != me or count <= 0:
                raise AssertionError('cannot release un-acquired lock')
            cache.set(
                self._key,
                (owner, count - 1),
                expire=self._expire,
                tag=self._tag,
            )

    def __enter__(self):
        self.acquire()

    def __exit__(self, *exc_info):
        self.release()


class BoundedSemaphore(aio_recipes.AsyncSemaphoreMixin):
    """Semaphore shared by threads and processes; the key holds the number
    of acquires still possible (``value`` when absent).

    >>> import diskcache_go
    >>> cache = diskcache_go.Cache(eviction_policy='none')
    >>> semaphore = BoundedSemaphore(cache, 'max-cons', value=2)
    >>> semaphore.acquire()
    >>> semaphore.acquire()
    >>> semaphore.release()
    >>> with semaphore:
    ...     pass
    >>> semaphore.release()
    >>> semaphore.release()
    Traceback (most recent call last):
      ...
    AssertionError: cannot release un-acquired semaphore
    """

    def __init__(self, cache, key, value=1, expire=None, tag=None):
        self._cache = cache
        self._key = key
        self._value = value
        self._expire = expire
        self._tag = tag

    def acquire(self):
        """Take one unit, polling every millisecond while none is left."""
        cache = self._cache
        while True:
            with cache.transact(retry=True):
                left = cache.get(self._key, default=self._value)
                if left > 0:
                    cache.set(
                        self._key,
                        left - 1,
                        expire=self._expire,
                        tag=self._tag,
                    )
                    return
            time.sleep(_SPIN_DELAY)

    def release(self):
        """Give one unit back.

        :raises AssertionError: if every unit is already free
        """
        cache = self._cache
        with cache.transact(retry=True):
            left = cache.get(self._key, default=self._value)
            if not self._value > left:
                raise AssertionError('cannot release un-acquired semaphore')
            cache.set(
                self._key,
                left + 1,
                expire=self._expire,
                tag=self._tag,
            )

    def __enter__(self):
        self.acquire()

    def __exit__(self, *exc_info):
        self.release()


def throttle(
    cache,
    count,
    seconds,
    name=None,
    expire=None,
    tag=None,
    time_func=time.time,
    sleep_func=time.sleep,
):
    """Decorator letting at most ``count`` calls through per ``seconds``,
    across threads and processes (a token bucket).

    The bucket, ``(last time, tokens)`` under ``name`` (default: the
    function's full name), is reset to full when the function is decorated.
    Each call refills it at ``count / seconds`` tokens per second and takes
    one token, sleeping (outside the transaction) until one is available.

    >>> import diskcache_go
    >>> cache = diskcache_go.Cache(eviction_policy='none')
    >>> clock = [0.0]
    >>> @throttle(cache, 2, 1, time_func=lambda: clock[0],
    ...           sleep_func=lambda delay: clock.__setitem__(0, clock[0] + delay))
    ... def tick():
    ...     return clock[0]
    >>> [tick() for _ in range(4)]
    [0.0, 0.0, 0.5, 1.0]
    """

    def decorator(func):
        rate = count / float(seconds)
        key = full_name(func) if name is None else name
        cache.set(key, (time_func(), count), expire=expire, tag=tag, retry=True)
        if inspect.iscoroutinefunction(func):
            return aio_recipes.throttle_coroutine(func, cache, key, count, rate, expire, time_func,
                                                  sleep_func)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            while True:
                delay = _take_token(cache, key, count, rate, expire, time_func)
                if not delay:
                    break
                sleep_func(delay)
            return func(*args, **kwargs)

        return wrapper

    return decorator


def _take_token(cache, key, count, rate, expire, time_func):
    """One attempt of a throttled call: take a token and return 0, or
    return the seconds to wait for the next one."""
    with cache.transact(retry=True):
        last, tally = cache.get(key)
        now = time_func()
        tally += (now - last) * rate
        if tally > count:
            cache.set(key, (now, count - 1), expire)
        elif tally >= 1:
            cache.set(key, (now, tally - 1), expire)
        else:
            return (1 - tally) / rate
    return 0


def barrier(cache, lock_factory, name=None, expire=None, tag=None):
    """Decorator running every call of the function under one lock.

    The lock is ``lock_factory(cache, key, expire=expire, tag=tag)`` with
    ``key`` = ``name`` or the function's full name, built when the function
    is decorated; `Lock`, `RLock` and `BoundedSemaphore` fit.

    >>> import diskcache_go
    >>> cache = diskcache_go.Cache(eviction_policy='none')
    >>> @barrier(cache, Lock)
    ... def work(num):
    ...     return num * 2
    >>> work(21)
    42
    """

    def decorator(func):
        key = full_name(func) if name is None else name
        lock = lock_factory(cache, key, expire=expire, tag=tag)
        if inspect.iscoroutinefunction(func):
            return aio_recipes.barrier_coroutine(func, lock)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with lock:
                return func(*args, **kwargs)

        return wrapper

    return decorator


def memoize_stampede(
    cache, expire, name=None, typed=False, tag=None, beta=1, ignore=()
):
    """Memoizing decorator with probabilistic early recomputation.

    Results are stored as ``(result, seconds the call took)`` with
    ``expire``. On a hit, the stored result is returned unless
    ``-seconds * beta * ln(random())`` reaches the time left before expiry;
    then one background thread (guarded by the key ``key + (ENOVAL,)``)
    recomputes and stores the result while the stale one is returned. This
    spreads recomputation out before expiry (Vattani, Chierichetti and
    Lowenstein, "Optimal Probabilistic Cache Stampede Prevention", VLDB
    2015). A miss computes synchronously.

    ``name``, ``typed`` and ``ignore`` shape the key as in `Cache.memoize`;
    ``wrapper.__cache_key__(*args, **kwargs)`` returns it.

    >>> import diskcache_go
    >>> cache = diskcache_go.Cache()
    >>> @memoize_stampede(cache, expire=60)
    ... def square(num):
    ...     return num * num
    >>> square(12)
    144
    >>> cache[square.__cache_key__(12)][0]
    144
    """

    def decorator(func):
        if inspect.iscoroutinefunction(func):
            return aio_recipes.memoize_stampede_coroutine(func, cache, expire, name, typed, tag,
                                                          beta, ignore)
        base = (full_name(func),) if name is None else (name,)

        def timed(*args, **kwargs):
            start = time.time()
            result = func(*args, **kwargs)
            return result, time.time() - start

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = wrapper.__cache_key__(*args, **kwargs)
            pair, expire_time = cache.get(
                key, default=ENOVAL, expire_time=True, retry=True
            )
            if pair is ENOVAL:
                pair = timed(*args, **kwargs)
                cache.set(key, pair, expire=expire, tag=tag, retry=True)
                return pair[0]

            result, delta = pair
            ttl = expire_time - time.time()
            if -delta * beta * math.log(random.random()) < ttl:
                return result

            # Past the early-recompute point: let one thread refresh it.
            if cache.add(key + (ENOVAL,), None, expire=delta, retry=True):

                def recompute():
                    with cache:
                        fresh = timed(*args, **kwargs)
                        cache.set(key, fresh, expire=expire, tag=tag, retry=True)

                worker = threading.Thread(target=recompute, daemon=True)
                worker.start()
            return result

        def __cache_key__(*args, **kwargs):
            return args_to_key(base, args, kwargs, typed, ignore)

        wrapper.__cache_key__ = __cache_key__
        return wrapper

    return decorator
