"""FanoutCache: a cache spread over several `Cache` shards.

Each key lives in exactly one shard, chosen by ``disk.hash(key) % shards``
with the Disk of shard 0, so the layout on disk (``<dir>/000``,
``<dir>/001``, ...) and the routing are those of python-diskcache. Writers
of different shards never wait for each other; a writer that cannot get its
shard's lock within ``timeout`` gives up, and the single-key methods report
that as a failed operation (``False``, ``None`` or ``default``) instead of
raising `Timeout`.
"""

import contextlib as cl
import itertools as it
import os.path as op
import sqlite3
import tempfile
import time

from .aio import AsyncFanoutMixin
from .core import DEFAULT_SETTINGS, ENOVAL, Cache, Disk, Stats, Timeout, _memoizer
from .pyimport import fanout_shards

__all__ = ['FanoutCache']

# Names that __getattr__ hands over to shard 0 besides the settings.
_SHARD_ATTRIBUTES = frozenset(('timeout', 'disk'))


class FanoutCache(AsyncFanoutMixin):
    """Cache made of `Cache` shards; keys are routed to shards by hash."""

    def __init__(self, directory=None, shards=None, timeout=0.010, disk=Disk, **settings):
        """Open (or create) the sharded cache in ``directory``.

        A FanoutCache directory python-diskcache wrote is imported on its
        first open, shard by shard (see `Cache` and docs/migration.md).

        :param str directory: cache directory; a new temporary one if None
        :param int shards: number of shards (sub-directories ``000``...);
            None (the default) means the number python-diskcache used when
            it wrote the directory, else 8
        :param float timeout: seconds a shard waits for its writer lock
        :param type disk: `Disk` subclass used by every shard
        :param settings: settings for every shard; ``size_limit`` is the
            limit of the whole cache and each shard gets an equal share
        """
        if directory is None:
            directory = tempfile.mkdtemp(prefix='diskcache-')
        directory = op.expandvars(op.expanduser(str(directory)))

        # The shards python-diskcache wrote are imported here, so that one
        # warning covers them all; the shards are then opened with
        # 'ignore' (there is nothing left for them to do), the named
        # sub-stores with the mode given.
        self._pydiskcache = settings.pop('pydiskcache', None)
        shards = fanout_shards(directory, shards, self._pydiskcache, stacklevel=2)

        total_limit = settings.pop('size_limit', DEFAULT_SETTINGS['size_limit'])
        # None: no limit, for every shard (see core._engine_limits).
        shard_limit = None if total_limit is None else total_limit / shards

        self._count = shards
        self._directory = directory
        self._disk = disk
        self._shards = tuple(
            Cache(
                directory=op.join(directory, '%03d' % number),
                timeout=timeout,
                disk=disk,
                size_limit=shard_limit,
                pydiskcache='ignore',
                **settings,
            )
            for number in range(shards)
        )
        self._hash = self._shards[0].disk.hash
        self._caches = {}
        self._deques = {}
        self._indexes = {}

    def _shard(self, key):
        return self._shards[self._hash(key) % self._count]

    @property
    def directory(self):
        """Cache directory."""
        return self._directory

    def __getattr__(self, name):
        # Only reached for names the instance and class lack: settings,
        # ``timeout`` and ``disk`` are read from shard 0; anything else is
        # refused with an assertion, as in python-diskcache.
        allowed = name in DEFAULT_SETTINGS or name in _SHARD_ATTRIBUTES
        assert allowed, 'cannot access %s in cache shard' % name
        return getattr(self._shards[0], name)

    # -- transactions ------------------------------------------------------

    @cl.contextmanager
    def transact(self, retry=True):
        """Context manager holding every shard's writer lock.

        The shards' transactions are entered in shard order (each with
        ``retry=True``) and nested, so the block sees a consistent cache and
        no other writer gets in. ``retry`` must be true.

        :raises AssertionError: if ``retry`` is false
        """
        assert retry, 'retry must be True in FanoutCache'
        with cl.ExitStack() as stack:
            for shard in self._shards:
                stack.enter_context(shard.transact(retry=True))
            yield

    # -- single-key operations ---------------------------------------------

    def set(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Store ``value`` under ``key``; see `Cache.set`.

        :return: True if stored, False if the shard's lock timed out
        """
        shard = self._shard(key)
        try:
            return shard.set(key, value, expire, read, tag, retry)
        except Timeout:
            return False

    def __setitem__(self, key, value):
        """``cache[key] = value``: store, waiting for the lock as needed."""
        shard = self._shard(key)
        shard[key] = value

    def touch(self, key, expire=None, retry=False):
        """Change the expiry of a live ``key``; see `Cache.touch`.

        :return: True if touched; False if missing, expired or timed out
        """
        shard = self._shard(key)
        try:
            return shard.touch(key, expire, retry)
        except Timeout:
            return False

    def add(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Store ``value`` only if ``key`` is absent or expired.

        :return: True if added; False if present or the lock timed out
        """
        shard = self._shard(key)
        try:
            return shard.add(key, value, expire, read, tag, retry)
        except Timeout:
            return False

    def incr(self, key, delta=1, default=0, retry=False):
        """Add ``delta`` to the number stored under ``key``; see `Cache.incr`.

        :return: the new value, or None if the shard's lock timed out
        :raises KeyError: if ``key`` is missing and ``default`` is None
        """
        shard = self._shard(key)
        try:
            return shard.incr(key, delta, default, retry)
        except Timeout:
            return None

    def decr(self, key, delta=1, default=0, retry=False):
        """Subtract ``delta`` from the number stored under ``key``.

        :return: the new value, or None if the shard's lock timed out
        :raises KeyError: if ``key`` is missing and ``default`` is None
        """
        shard = self._shard(key)
        try:
            return shard.decr(key, delta, default, retry)
        except Timeout:
            return None

    def get(self, key, default=None, read=False, expire_time=False, tag=False, retry=False):
        """Value stored under ``key``; see `Cache.get`.

        On a lock timeout or a storage error (``sqlite3.OperationalError``)
        the plain ``default`` is returned, without the tuple packing that
        ``expire_time``/``tag`` ask for on an ordinary miss.
        """
        shard = self._shard(key)
        try:
            return shard.get(key, default, read, expire_time, tag, retry)
        except (Timeout, sqlite3.OperationalError):
            return default

    def __getitem__(self, key):
        """``cache[key]``; waits for the lock as needed.

        :raises KeyError: if ``key`` is missing or expired
        """
        shard = self._shard(key)
        return shard[key]

    def read(self, key):
        """Open binary file handle of the value under ``key``.

        Inline values are returned as they are. The lock is waited for.

        :raises KeyError: if ``key`` is missing or expired
        """
        handle = self.get(key, default=ENOVAL, read=True, retry=True)
        if handle is ENOVAL:
            raise KeyError(key)
        return handle

    def __contains__(self, key):
        """True if ``key`` is present and not expired."""
        shard = self._shard(key)
        return key in shard

    def pop(self, key, default=None, expire_time=False, tag=False, retry=False):
        """Remove ``key`` and return its value; see `Cache.pop`.

        :return: the value, or ``default`` if missing, expired or timed out
        """
        shard = self._shard(key)
        try:
            return shard.pop(key, default, expire_time, tag, retry)
        except Timeout:
            return default

    def delete(self, key, retry=False):
        """Remove ``key``.

        :return: True if removed; False if missing, expired or timed out
        """
        shard = self._shard(key)
        try:
            return shard.delete(key, retry)
        except Timeout:
            return False

    def __delitem__(self, key):
        """``del cache[key]``; waits for the lock as needed.

        :raises KeyError: if ``key`` is missing or expired
        """
        shard = self._shard(key)
        del shard[key]

    def memoize(self, name=None, typed=False, expire=None, tag=None, ignore=()):
        """Decorator caching a function's results in this cache.

        Works as `Cache.memoize`, through this object's `get` and `set`.

        :raises TypeError: if used without parentheses
        """
        return _memoizer(self, name, typed, expire, tag, ignore)

    # -- whole-cache operations --------------------------------------------

    def check(self, fix=False, retry=False):
        """Check every shard; the shards' warning lists, concatenated.

        :raises Timeout: if a shard's lock timed out
        """
        found = []
        for shard in self._shards:
            found.extend(shard.check(fix, retry))
        return found

    def _drain(self, method_name, args=(), retry=False):
        """Run a bulk removal on every shard, adding up the removed counts.

        A shard that times out reports its partial count in ``Timeout(n)``;
        that count is kept and the shard is run again until it finishes.
        """
        removed = 0
        for shard in self._shards:
            method = getattr(shard, method_name)
            while True:
                try:
                    removed += method(*args, retry=retry)
                except Timeout as timeout:
                    removed += timeout.args[0]
                else:
                    break
        return removed

    def expire(self, retry=False, *, now=None):
        """Remove the items of every shard that expired before ``now``
        (default: the current time); the count removed.

        ``now`` is diskcache_rs's addition and keyword-only: the first
        positional parameter stays python-diskcache's ``retry``.
        """
        if now is None:
            now = time.time()
        elif isinstance(now, bool) or not isinstance(now, (int, float)):
            raise TypeError('expire() now must be a time in seconds (int or float), not %r' % (now,))
        return self._drain('expire', args=(now,), retry=retry)

    def vacuum(self, retry=False):
        """`Cache.vacuum` on every shard: remove the expired items and
        compact the segment files; the count removed."""
        return self._drain('vacuum', retry=retry)

    def evict(self, tag, retry=False):
        """Remove the items tagged ``tag`` from every shard; the count."""
        return self._drain('evict', args=(tag,), retry=retry)

    def cull(self, retry=False):
        """Expire, then evict down to each shard's size limit; the count."""
        return self._drain('cull', retry=retry)

    def clear(self, retry=False):
        """Remove every item of every shard; the count removed."""
        return self._drain('clear', retry=retry)

    def create_tag_index(self):
        """Create the tag index of every shard."""
        for shard in self._shards:
            shard.create_tag_index()

    def drop_tag_index(self):
        """Drop the tag index of every shard."""
        for shard in self._shards:
            shard.drop_tag_index()

    def stats(self, enable=True, reset=False):
        """Summed ``(hits, misses)`` of the shards, a `Stats` named tuple;
        see `Cache.stats`."""
        hits = misses = 0
        for shard in self._shards:
            shard_hits, shard_misses = shard.stats(enable, reset)
            hits += shard_hits
            misses += shard_misses
        return Stats(hits, misses)

    def volume(self):
        """Estimated bytes on disk, summed over the shards."""
        return sum(shard.volume() for shard in self._shards)

    def reset(self, key, value=ENOVAL):
        """Read or change a setting on every shard; see `Cache.reset`.

        The value is applied as given (``size_limit`` is not divided). A
        shard that times out is retried. Returns the last shard's result.
        """
        result = None
        for shard in self._shards:
            while True:
                try:
                    result = shard.reset(key, value)
                except Timeout:
                    continue
                break
        return result

    # -- calls diskcache_rs's users know -----------------------------------

    def exists(self, key):
        """Whether ``key`` is present and unexpired: ``key in cache`` by
        diskcache_rs's name."""
        return key in self

    def keys(self):
        """A list of the keys: ``list(cache)``, shard 0's in insertion
        order, then shard 1's, ... (expired items not yet removed
        included; see `Cache.keys`)."""
        return list(self)

    def values(self):
        """A list of the values of the unexpired items, in the order of
        `keys` (see `Cache.values`)."""
        return [value for shard in self._shards for value in shard.values()]

    def items(self):
        """A list of the ``(key, value)`` pairs of the unexpired items, in
        the order of `keys`."""
        return [item for shard in self._shards for item in shard.items()]

    # -- iteration and size ------------------------------------------------

    def __iter__(self):
        """Keys of shard 0, then shard 1, ... (expired items included)."""
        return it.chain.from_iterable(iter(shard) for shard in self._shards)

    def __reversed__(self):
        """Keys of the last shard reversed, then the one before, ..."""
        return it.chain.from_iterable(reversed(shard) for shard in reversed(self._shards))

    def __len__(self):
        """Number of items in all shards, expired ones included."""
        return sum(len(shard) for shard in self._shards)

    # -- lifecycle ---------------------------------------------------------

    def close(self):
        """Close the shards' connections for the calling thread.

        The named sub-caches, deques and indexes are forgotten (a later call
        opens new objects) but not closed.
        """
        for shard in self._shards:
            shard.close()
        self._caches.clear()
        self._deques.clear()
        self._indexes.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()

    def __getstate__(self):
        return (self._directory, self._count, self.timeout, type(self.disk))

    def __setstate__(self, state):
        self.__init__(*state)

    # -- named sub-stores --------------------------------------------------

    def _subdirectory(self, kind, name):
        return op.join(self._directory, kind, *name.split('/'))

    def cache(self, name, timeout=60, disk=None, **settings):
        """The `Cache` named ``name``, at ``<directory>/cache/<name>``.

        ``name`` may contain ``/`` to nest directories. The object is kept:
        later calls with the same name return it and ignore the other
        arguments. With ``disk=None`` this cache's Disk class is used; given
        any ``disk``, the base `Disk` is used (as python-diskcache does).
        """
        try:
            return self._caches[name]
        except KeyError:
            pass
        if self._pydiskcache is not None:
            settings.setdefault('pydiskcache', self._pydiskcache)
        sub = Cache(
            directory=self._subdirectory('cache', name),
            timeout=timeout,
            disk=self._disk if disk is None else Disk,
            **settings,
        )
        self._caches[name] = sub
        return sub

    def deque(self, name, maxlen=None):
        """The `Deque` named ``name``, at ``<directory>/deque/<name>``.

        Kept like `cache`: a later call with the same name returns the same
        object.
        """
        try:
            return self._deques[name]
        except KeyError:
            pass
        from .persistent import Deque

        store = Cache(
            directory=self._subdirectory('deque', name),
            disk=self._disk,
            eviction_policy='none',
            pydiskcache=self._pydiskcache,
        )
        sub = Deque.fromcache(store, maxlen=maxlen)
        self._deques[name] = sub
        return sub

    def index(self, name):
        """The `Index` named ``name``, at ``<directory>/index/<name>``.

        Kept like `cache`: a later call with the same name returns the same
        object.
        """
        try:
            return self._indexes[name]
        except KeyError:
            pass
        from .persistent import Index

        store = Cache(
            directory=self._subdirectory('index', name),
            disk=self._disk,
            eviction_policy='none',
            pydiskcache=self._pydiskcache,
        )
        sub = Index.fromcache(store)
        self._indexes[name] = sub
        return sub
