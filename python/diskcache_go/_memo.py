"""python-diskcache's memoize: the cache key of a call (``args_to_key``)
and the decorator ``Cache.memoize`` and the recipes share.
"""

import functools as ft
import inspect

from ._settings import ENOVAL


def full_name(func):
    """Return the module and qualified name of ``func``."""
    return func.__module__ + '.' + func.__qualname__


def args_to_key(base, args, kwargs, typed, ignore=()):
    """Build the cache key of a memoized call.

    ``ignore`` may be left out (nothing ignored), as diskcache_rs allows;
    python-diskcache requires it.

    The key is ``base`` plus the positional arguments whose index is not in
    ``ignore``, then ``None`` as a separator, then the keyword arguments not
    in ``ignore`` as name, value pairs sorted by name; with ``typed``, the
    types of those arguments follow.
    """
    kept = tuple(arg for index, arg in enumerate(args) if index not in ignore)
    key = base + kept + (None,)
    items = sorted((name, value) for name, value in kwargs.items() if name not in ignore) if kwargs else []
    for item in items:
        key += item
    if typed:
        key += tuple(type(arg) for arg in kept)
        key += tuple(type(value) for _, value in items)
    return key


def _memoizer(cache, name, typed, expire, tag, ignore):
    """The memoize decorator of Cache, FanoutCache and Index."""

    def store(key, result):
        if expire is None or expire > 0:
            cache.set(key, result, expire, tag=tag, retry=True)

    async def astore(key, result):
        if expire is None or expire > 0:
            await cache.aset(key, result, expire, tag=tag, retry=True)

    return _memoize_with(name, typed, ignore, lambda key: cache.get(key, default=ENOVAL, retry=True), store,
                         lambda key: cache.aget(key, default=ENOVAL, retry=True), astore)


def _memoize_with(name, typed, ignore, lookup, store, alookup=None, astore=None):
    """A memoize decorator over ``lookup(key)`` (ENOVAL on a miss) and
    ``store(key, result)``, with python-diskcache's keys (`args_to_key`);
    an ``async def`` function gets an async wrapper over their awaitable
    twins ``alookup`` and ``astore`` (aio.memoize_coroutine)."""
    if callable(name):
        raise TypeError('name cannot be callable')

    def decorator(func):
        base = (full_name(func),) if name is None else (name,)

        if alookup is not None and inspect.iscoroutinefunction(func):
            from .aio import memoize_coroutine

            wrapper = memoize_coroutine(func, alookup, astore)
        else:
            @ft.wraps(func)
            def wrapper(*args, **kwargs):
                key = wrapper.__cache_key__(*args, **kwargs)
                result = lookup(key)
                if result is ENOVAL:
                    result = func(*args, **kwargs)
                    store(key, result)
                return result

        def __cache_key__(*args, **kwargs):
            return args_to_key(base, args, kwargs, typed, ignore)

        wrapper.__cache_key__ = __cache_key__
        return wrapper

    return decorator
