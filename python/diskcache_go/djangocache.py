"""DjangoCache: a Django cache backend stored in a `FanoutCache`.

Configure it like any other Django backend::

    CACHES = {
        'default': {
            'BACKEND': 'diskcache_go.DjangoCache',
            'LOCATION': '/var/tmp/django_cache',
            'TIMEOUT': 300,            # Django's default timeout, seconds
            'SHARDS': 8,               # FanoutCache shards
            'DATABASE_TIMEOUT': 0.010, # seconds a shard waits for its lock
            'OPTIONS': {'size_limit': 2 ** 30},  # FanoutCache settings
        },
    }

Every process and thread that names the same ``LOCATION`` shares the cache.
The backend behaves as python-diskcache's ``diskcache.DjangoCache``:

* timeouts are handed to the cache as *relative* seconds (``None`` never
  expires, ``0`` expires at once);
* writes wait for the shard lock (``retry=True``) while ``get`` gives up
  after ``DATABASE_TIMEOUT`` and returns the default;
* ``OPTIONS`` are cache settings (``size_limit``, ``eviction_policy``,
  ``cull_limit``, ``statistics``...); Django's ``MAX_ENTRIES`` and
  ``CULL_FREQUENCY`` are accepted and stored but do not limit anything:
  culling follows ``size_limit``;
* keys go through `make_key` but are not validated, so keys that memcached
  would refuse raise no ``CacheKeyWarning``.
"""


from django.core.cache.backends.base import BaseCache

try:
    from django.core.cache.backends.base import DEFAULT_TIMEOUT
except ImportError:  # Django releases without the sentinel: 300 seconds
    DEFAULT_TIMEOUT = 300

from .aio_django import AsyncDjangoMixin
from .core import ENOVAL, _memoize_with
from .fanout import FanoutCache

__all__ = ['DjangoCache']


class DjangoCache(AsyncDjangoMixin, BaseCache):
    """Django cache backend kept on disk by a `FanoutCache`.

    Besides Django's cache API it offers the extras of python-diskcache's
    backend: `read`, `pop`, `expire`, `evict`, `cull`, `stats`,
    `create_tag_index`, `drop_tag_index`, `memoize` and the named stores
    `cache`, `deque` and `index`.
    """

    def __init__(self, directory, params):
        """Open the cache; Django passes ``LOCATION`` and the config dict.

        :param str directory: the cache directory (``LOCATION``)
        :param dict params: the cache's entry in ``settings.CACHES``;
            ``SHARDS`` (default 8), ``DATABASE_TIMEOUT`` (default 0.010
            seconds) and ``OPTIONS`` (cache settings, default none) are
            read here, the rest by Django's ``BaseCache``; without
            ``SHARDS``, a directory python-diskcache wrote is opened with
            the shard count it used (and imported, see `FanoutCache`)
        """
        super().__init__(params)
        shard_count = params.get('SHARDS')
        lock_timeout = params.get('DATABASE_TIMEOUT', 0.010)
        settings = params.get('OPTIONS', {})
        self._cache = FanoutCache(directory, shard_count, lock_timeout, **settings)

    @property
    def directory(self):
        """The cache directory."""
        return self._cache.directory

    # -- named stores ------------------------------------------------------

    def cache(self, name):
        """The `Cache` at ``<directory>/cache/<name>`` (kept per name)."""
        return self._cache.cache(name)

    def deque(self, name, maxlen=None):
        """The `Deque` at ``<directory>/deque/<name>`` (kept per name)."""
        return self._cache.deque(name, maxlen=maxlen)

    def index(self, name):
        """The `Index` at ``<directory>/index/<name>`` (kept per name)."""
        return self._cache.index(name)

    # -- Django's cache API ------------------------------------------------

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, read=False, tag=None,
            retry=True):
        """Store ``value`` only if ``key`` is missing or expired.

        :param timeout: seconds to live; ``None`` forever, ``0`` expires at
            once; by default the cache's ``TIMEOUT``
        :param version: key version (default: the cache's ``VERSION``)
        :param bool read: ``value`` is a binary file to copy from
        :param tag: tag stored with the item
        :param bool retry: wait for the shard lock
        :return: True if stored, False if the key was present (or the lock
            timed out)
        """
        made = self.make_key(key, version=version)
        seconds = self.get_backend_timeout(timeout=timeout)
        return self._cache.add(made, value, seconds, read, tag, retry)

    def get(self, key, default=None, version=None, read=False, expire_time=False, tag=False,
            retry=False):
        """The value stored under ``key``, or ``default``.

        With ``expire_time`` and/or ``tag`` the result is a tuple
        ``(value, expire_time, tag)`` (as `Cache.get`). If the shard's lock
        cannot be had within ``DATABASE_TIMEOUT`` the plain ``default`` is
        returned.
        """
        made = self.make_key(key, version=version)
        return self._cache.get(made, default, read, expire_time, tag, retry)

    def read(self, key, version=None):
        """Binary file handle of the value under ``key`` (inline values are
        returned as they are).

        :raises KeyError: if ``key`` is missing or expired
        """
        made = self.make_key(key, version=version)
        return self._cache.read(made)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, read=False, tag=None,
            retry=True):
        """Store ``value`` under ``key``.

        :param timeout: seconds to live; ``None`` forever, ``0`` expires at
            once; by default the cache's ``TIMEOUT``
        :return: True if stored (False only if the lock timed out with
            ``retry=False``)
        """
        made = self.make_key(key, version=version)
        seconds = self.get_backend_timeout(timeout=timeout)
        return self._cache.set(made, value, seconds, read, tag, retry)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None, retry=True):
        """Give a live ``key`` a new timeout.

        :return: True if touched, False if missing or expired
        """
        made = self.make_key(key, version=version)
        seconds = self.get_backend_timeout(timeout=timeout)
        return self._cache.touch(made, seconds, retry)

    def pop(self, key, default=None, version=None, expire_time=False, tag=False, retry=True):
        """Remove ``key`` and return its value (``default`` if missing);
        atomic."""
        made = self.make_key(key, version=version)
        return self._cache.pop(made, default, expire_time, tag, retry)

    def delete(self, key, version=None, retry=True):
        """Remove ``key``.

        :return: True if it was there, False if missing or expired
        """
        made = self.make_key(key, version=version)
        return self._cache.delete(made, retry)

    def incr(self, key, delta=1, version=None, default=None, retry=True):
        """Add ``delta`` to the number under ``key``, atomically across
        threads and processes, and return the new value.

        A missing key starts from ``default`` when one is given.

        :return: the new value, or None if the shard's lock timed out
        :raises ValueError: if ``key`` is missing and ``default`` is None
        :raises TypeError: if the stored value is not an int or float
        """
        made = self.make_key(key, version=version)
        try:
            return self._cache.incr(made, delta, default, retry)
        except KeyError:
            raise ValueError("Key '%s' not found" % made) from None

    def decr(self, key, delta=1, version=None, default=None, retry=True):
        """Subtract ``delta`` from the number under ``key``; see `incr`.

        :raises ValueError: if ``key`` is missing and ``default`` is None
        """
        return self.incr(key, -delta, version, default, retry)

    def has_key(self, key, version=None):
        """True if ``key`` is present and not expired."""
        made = self.make_key(key, version=version)
        return made in self._cache

    def clear(self):
        """Remove every item; returns how many were removed."""
        return self._cache.clear()

    def close(self, **kwargs):
        """Close the calling thread's connections (Django calls this when a
        request ends); the cache reopens them when next used."""
        self._cache.close()

    def get_backend_timeout(self, timeout=DEFAULT_TIMEOUT):
        """Seconds to live for ``timeout``, relative to now.

        The ``DEFAULT_TIMEOUT`` sentinel gives the cache's ``TIMEOUT``,
        ``0`` gives -1 (already expired), ``None`` stays None (never
        expires); other numbers are returned unchanged.
        """
        if timeout == DEFAULT_TIMEOUT:
            return self.default_timeout
        if timeout == 0:
            return -1
        return timeout

    # -- extras ------------------------------------------------------------

    def expire(self):
        """Remove the expired items; returns how many."""
        return self._cache.expire()

    def evict(self, tag):
        """Remove the items tagged ``tag``; returns how many."""
        return self._cache.evict(tag)

    def cull(self):
        """Remove expired items, then evict down to ``size_limit``; returns
        how many were removed."""
        return self._cache.cull()

    def stats(self, enable=True, reset=False):
        """``(hits, misses)`` counted by `get`; ``enable`` turns counting on
        or off and ``reset`` zeroes the counts after reading them."""
        return self._cache.stats(enable=enable, reset=reset)

    def create_tag_index(self):
        """Create the index that speeds up `evict`."""
        self._cache.create_tag_index()

    def drop_tag_index(self):
        """Drop the index made by `create_tag_index`."""
        self._cache.drop_tag_index()

    def memoize(self, name=None, timeout=DEFAULT_TIMEOUT, version=None, typed=False, tag=None,
                ignore=()):
        """Decorator caching a function's results in this cache.

        The cache key is built from ``name`` (by default the function's
        module and qualified name) and the arguments, as in `Cache.memoize`,
        then passed through `make_key` with ``version``. Results are stored
        only when ``timeout`` is None, the default, or above zero; with
        ``timeout=0`` the function runs on every call. The wrapper has a
        ``__cache_key__(*args, **kwargs)`` attribute giving the key.

        :raises TypeError: if used as ``@memoize`` without parentheses
        """
        def store(key, result):
            if timeout is None or timeout == DEFAULT_TIMEOUT or timeout > 0:
                self.set(key, result, timeout, version, tag=tag, retry=True)

        async def astore(key, result):
            if timeout is None or timeout == DEFAULT_TIMEOUT or timeout > 0:
                await self.aset(key, result, timeout, version, tag=tag, retry=True)

        return _memoize_with(name, typed, ignore, lambda key: self.get(key, ENOVAL, version, retry=True), store,
                             lambda key: self.aget(key, ENOVAL, version, retry=True), astore)
