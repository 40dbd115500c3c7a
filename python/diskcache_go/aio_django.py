"""Django's async cache API on `DjangoCache`, natively (docs/async.md).

Django's ``BaseCache`` runs each ``a``-method as its sync twin in a thread
(``sync_to_async``): about 200 microseconds a call. These run on the event
loop through `FanoutCache`'s awaitable methods (aio.py), which go to a
thread only when a call would wait, with the sync methods' arguments,
results and exceptions.
"""

from django.core.cache.backends.base import BaseCache

try:
    from django.core.cache.backends.base import DEFAULT_TIMEOUT
except ImportError:  # Django releases without the sentinel: 300 seconds
    DEFAULT_TIMEOUT = 300

# What a backend's aincr says of a missing key under this Django, which the
# python-diskcache backend (that has no aincr of its own) says too: Django
# 6.1 hands aincr to an overridden incr (whose message names the made key,
# ":1:key"); 5.2's generic aincr names the key as given. Told apart by
# whether BaseCache.aincr looks at ``incr.__func__``.
_AINCR_NAMES_MADE_KEY = '__func__' in BaseCache.aincr.__code__.co_names

__all__ = ['AsyncDjangoMixin']


class AsyncDjangoMixin:
    """The awaitable methods of `DjangoCache` (``self._cache`` is its
    `FanoutCache`)."""

    async def aadd(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, read=False, tag=None,
                   retry=True):
        """Awaitable `DjangoCache.add`."""
        made = self.make_key(key, version=version)
        seconds = self.get_backend_timeout(timeout=timeout)
        return await self._cache.aadd(made, value, seconds, read, tag, retry)

    async def aget(self, key, default=None, version=None, read=False, expire_time=False, tag=False,
                   retry=False):
        """Awaitable `DjangoCache.get`."""
        made = self.make_key(key, version=version)
        return await self._cache.aget(made, default, read, expire_time, tag, retry)

    async def aread(self, key, version=None):
        """Awaitable `DjangoCache.read`."""
        made = self.make_key(key, version=version)
        return await self._cache.aread(made)

    async def aset(self, key, value, timeout=DEFAULT_TIMEOUT, version=None, read=False, tag=None,
                   retry=True):
        """Awaitable `DjangoCache.set`."""
        made = self.make_key(key, version=version)
        seconds = self.get_backend_timeout(timeout=timeout)
        return await self._cache.aset(made, value, seconds, read, tag, retry)

    async def atouch(self, key, timeout=DEFAULT_TIMEOUT, version=None, retry=True):
        """Awaitable `DjangoCache.touch`."""
        made = self.make_key(key, version=version)
        seconds = self.get_backend_timeout(timeout=timeout)
        return await self._cache.atouch(made, seconds, retry)

    async def apop(self, key, default=None, version=None, expire_time=False, tag=False, retry=True):
        """Awaitable `DjangoCache.pop`."""
        made = self.make_key(key, version=version)
        return await self._cache.apop(made, default, expire_time, tag, retry)

    async def adelete(self, key, version=None, retry=True):
        """Awaitable `DjangoCache.delete`."""
        made = self.make_key(key, version=version)
        return await self._cache.adelete(made, retry)

    async def aincr(self, key, delta=1, version=None, default=None, retry=True):
        """Awaitable `DjangoCache.incr`: atomic, as the sync one (Django's
        default ``aincr`` is a get then a set).

        :raises ValueError: if ``key`` is missing and ``default`` is None,
            with the message Django's ``aincr`` gives for python-diskcache's
            backend (see _AINCR_NAMES_MADE_KEY)
        """
        made = self.make_key(key, version=version)
        try:
            return await self._cache.aincr(made, delta, default, retry)
        except KeyError:
            named = made if _AINCR_NAMES_MADE_KEY else key
            raise ValueError("Key '%s' not found" % named) from None

    async def adecr(self, key, delta=1, version=None, default=None, retry=True):
        """Awaitable `DjangoCache.decr`."""
        return await self.aincr(key, -delta, version, default, retry)

    async def ahas_key(self, key, version=None):
        """Awaitable `DjangoCache.has_key`."""
        made = self.make_key(key, version=version)
        return await self._cache.acontains(made)

    async def aget_many(self, keys, version=None):
        """Awaitable ``get_many``: a dict of the keys found."""
        found = {}
        missing = self._missing_key
        for key in keys:
            value = await self.aget(key, missing, version=version)
            if value is not missing:
                found[key] = value
        return found

    async def aset_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        """Awaitable ``set_many``; returns the keys that failed (none)."""
        for key, value in data.items():
            await self.aset(key, value, timeout=timeout, version=version)
        return []

    async def adelete_many(self, keys, version=None):
        """Awaitable ``delete_many``."""
        for key in keys:
            await self.adelete(key, version=version)

    async def aclear(self):
        """Awaitable `DjangoCache.clear` (in a thread)."""
        return await self._cache.aclear()

    async def aclose(self, **kwargs):
        """Awaitable `DjangoCache.close`: closing only drops handles."""
        self.close(**kwargs)

    async def aexpire(self):
        """Awaitable `DjangoCache.expire` (in a thread)."""
        return await self._cache.aexpire()

    async def aevict(self, tag):
        """Awaitable `DjangoCache.evict` (in a thread)."""
        return await self._cache.aevict(tag)

    async def acull(self):
        """Awaitable `DjangoCache.cull` (in a thread)."""
        return await self._cache.acull()

    async def astats(self, enable=True, reset=False):
        """Awaitable `DjangoCache.stats`."""
        return await self._cache.astats(enable=enable, reset=reset)
