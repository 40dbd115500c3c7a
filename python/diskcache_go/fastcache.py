"""FastCache: a memory-only cache for one process, with the Cache API.

`FastCache` keeps its items in a Python dictionary in least-recently-used
order. Nothing is written to disk and nothing is shared with other
processes: it is for data that one process may lose at any time (a restart
empties it) and wants back fast, such as memoized computations, parsed
configuration or rendered fragments. For data that several processes
share, or that should survive a restart, use `Cache` or `FanoutCache`.
"""

import collections
import heapq
import itertools
import os
import sys
import threading
import time
import weakref

from .core import ENOVAL, Stats, _memoize_with

__all__ = ['FastCache']


def _gil_enabled():
    # Free-threaded builds (3.13t and later) report False while the GIL is
    # off; the GIL can be switched on at run time but never off again.
    check = getattr(sys, '_is_gil_enabled', None)
    return True if check is None else check()


# Every FastCache, so a forked child can give each one a fresh lock: a
# thread of the parent may have held the old one at the moment of the fork.
_INSTANCES = weakref.WeakSet()


def _renew_locks():
    for cache in list(_INSTANCES):
        cache._lock = threading.RLock()


if hasattr(os, 'fork') and hasattr(os, 'register_at_fork'):  # not on Windows
    os.register_at_fork(after_in_child=_renew_locks)


def _shape(value, expire_at, tag, want_expire_time, want_tag):
    """The result tuple of `get`/`pop` when extras are asked for."""
    if want_expire_time and want_tag:
        return value, expire_at, tag
    if want_expire_time:
        return value, expire_at
    return value, tag


def _check_limit(name, value):
    if value is None:
        return value
    try:
        negative = value < 0
    except TypeError:
        # Not a number: say which parameter, rather than "'<' not supported".
        raise TypeError('%s must be None or a number >= 0, not %r' % (name, value)) from None
    if isinstance(value, bool) or negative:
        raise ValueError('%s must be None or a number >= 0, not %r' % (name, value))
    return value


def _check_ttl(value):
    """diskcache_rs's ``default_ttl_seconds``: None or seconds > 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError('default_ttl_seconds must be None or a number of seconds > 0, not %r' % (value,))
    if not value > 0:
        raise ValueError('default_ttl_seconds must be None or a number of seconds > 0, not %r' % (value,))
    return value


class FastCache:
    """Thread-safe in-memory cache with LRU eviction and expiry.

    It offers the part of the `Cache` API that makes sense in memory, with
    the same semantics: ``cache[key]``, `get`, `set`, `add`, `touch`,
    `incr`/`decr`, `pop`, `delete`, ``in``, ``len``, `expire`, `evict`,
    `cull`, `clear`, `stats`, `volume` and `memoize`. Expiry times are read
    from ``time.time()`` at call time, so patched clocks work. As in `Cache`,
    expired items are invisible to lookups but still count in ``len`` until
    removed: each write that stores an item (`set`, `add`, `incr` of a
    missing key) removes up to ``cull_limit`` expired items, earliest first,
    and `expire`, `cull`, `clear` and eviction remove them too.

    Limits: when ``max_entries`` items are exceeded, or the summed
    ``sizeof(value)`` exceeds ``size_limit``, the least recently used items
    are dropped (lookups and writes count as uses). A value larger than
    ``size_limit`` empties the cache, itself included. Without limits the
    cache grows without bound.

    When to use it: one process, data that may be lost, lookups that must
    cost about as much as a dictionary lookup. When not to: data several
    processes must see, data that must survive a restart, or values too big
    to keep in RAM; use `Cache`, `FanoutCache` or `DjangoCache` for those.

    Keys follow dictionary equality (``1``, ``1.0`` and ``True`` are the
    same key), unlike `Cache`, which compares stored forms. Values are kept
    as they are, not copied: mutating a cached object mutates the cached
    value.

    Thread safety: writes take a lock. With the GIL, hits do not: a lookup
    and the move to the most-recent position are each atomic dictionary
    operations. With statistics enabled, or on a free-threaded Python, every
    operation takes the lock. After ``os.fork()`` the child gets fresh locks
    and a copy of the items.

    >>> cache = FastCache(max_entries=2)
    >>> cache['a'] = 1
    >>> cache.set('b', 2, expire=60, tag='demo')
    True
    >>> cache.get('a')
    1
    >>> cache['c'] = 3          # evicts 'b', the least recently used
    >>> 'b' in cache, len(cache)
    (False, 2)
    """

    def __init__(self, max_entries=None, size_limit=None, sizeof=sys.getsizeof, statistics=False,
                 cull_limit=10, *, max_size=None, default_ttl_seconds=None):
        """Make an empty cache.

        :param int max_entries: most items kept (None: no limit)
        :param size_limit: most bytes kept, as measured by ``sizeof``
            (None: no limit, and values are not measured)
        :param sizeof: function giving a value's size in bytes; the default
            ``sys.getsizeof`` measures the object itself, not what it refers
            to (exact for bytes and str)
        :param bool statistics: count hits and misses from the start
        :param int cull_limit: most expired items a write removes (as the
            `Cache` setting; 0 leaves them to `expire` and `cull`)
        :param max_size: diskcache_rs's name for ``size_limit`` (bytes)
        :param default_ttl_seconds: diskcache_rs's default lifetime: the
            seconds until expiry of an item written with ``expire=None``
            (None: such items never expire)
        :raises TypeError: for a directory in place of ``max_entries`` (this
            cache keeps its items in memory: use `Cache` for a directory),
            or both ``size_limit`` and ``max_size``
        """
        if isinstance(max_entries, (str, bytes, os.PathLike)):
            # diskcache_rs's FastCache(directory) keeps its items in files;
            # this one keeps them in memory, so a directory would be
            # silently ignored and the items lost at exit: refuse it.
            raise TypeError(
                'FastCache keeps its items in memory and takes no directory (got %r for '
                'max_entries, its first parameter); for a cache kept in a directory use '
                'Cache(directory), or FanoutCache(directory)' % (max_entries,)
            )
        if max_size is not None:
            if size_limit is not None and size_limit != max_size:
                raise TypeError(
                    'FastCache() got size_limit=%r and max_size=%r: max_size is another name '
                    'for size_limit, give one of them' % (size_limit, max_size)
                )
            size_limit = _check_limit('max_size', max_size)
        self._default_ttl = _check_ttl(default_ttl_seconds)
        self._data = collections.OrderedDict()
        self._lookup = self._data.get
        self._move = self._data.move_to_end
        self._lock = threading.RLock()
        self._max_entries = _check_limit('max_entries', max_entries)
        self._size_limit = _check_limit('size_limit', size_limit)
        self._cull_limit = _check_limit('cull_limit', cull_limit)
        self._sizeof = sizeof
        self._size = 0
        # (expire_time, sequence, key) of the items that expire, earliest
        # first; an entry is stale once its key is gone or has another
        # expire time, and is skipped when it comes up.
        self._heap = []
        self._sequence = itertools.count()
        self._hits = 0
        self._misses = 0
        self._statistics = bool(statistics)
        self._locked_reads = self._statistics or not _gil_enabled()
        self._bounded = max_entries is not None or size_limit is not None
        _INSTANCES.add(self)

    # -- limits --------------------------------------------------------------

    @property
    def default_ttl_seconds(self):
        """Seconds until expiry of items written with ``expire=None``, or
        None (they never expire)."""
        return self._default_ttl

    @property
    def max_entries(self):
        """Most items kept, or None. Assigning evicts down to the limit."""
        return self._max_entries

    @max_entries.setter
    def max_entries(self, value):
        with self._lock:
            self._max_entries = _check_limit('max_entries', value)
            self._bounded = value is not None or self._size_limit is not None
            self._shrink()

    @property
    def size_limit(self):
        """Most bytes kept (per ``sizeof``), or None. Assigning measures the
        values if they were not measured yet, then evicts down to it."""
        return self._size_limit

    @size_limit.setter
    def size_limit(self, value):
        with self._lock:
            _check_limit('size_limit', value)
            if value is not None and self._size_limit is None:
                self._measure_all()
            elif value is None:
                self._forget_sizes()
            self._size_limit = value
            self._bounded = value is not None or self._max_entries is not None
            self._shrink()

    def _items(self):
        """The ``(key, entry)`` pairs, least recently used first; caller
        holds the lock.

        Lock-free hits reorder the dictionary at any moment, so it is never
        iterated while Python code runs (a collection triggered by
        allocating, say, the pairs can run Python callbacks and let a reader
        in, and the iteration would fail). ``list(data)`` copies the keys in
        one C loop that allocates no objects; the entries are then read one
        by one, and only writers, which hold the lock, change them.
        """
        data = self._data
        return [(key, data[key]) for key in list(data)]

    def _measure_all(self):
        data = self._data
        sizeof = self._sizeof
        total = 0
        for key, (value, expire_at, tag, _) in self._items():
            size = sizeof(value)
            data[key] = (value, expire_at, tag, size)
            total += size
        self._size = total

    def _forget_sizes(self):
        data = self._data
        for key, (value, expire_at, tag, _) in self._items():
            data[key] = (value, expire_at, tag, 0)
        self._size = 0

    def _over_limit(self):
        max_entries = self._max_entries
        size_limit = self._size_limit
        return (max_entries is not None and len(self._data) > max_entries) or (
            size_limit is not None and self._size > size_limit
        )

    def _shrink(self):
        """Drop least recently used items until within the limits; the
        count dropped. Caller holds the lock."""
        removed = 0
        data = self._data
        while data and self._over_limit():
            _, entry = data.popitem(last=False)
            self._size -= entry[3]
            removed += 1
        return removed

    def _schedule(self, key, expire_at):
        """Remember that ``key`` expires at ``expire_at``; caller holds the
        lock."""
        heap = self._heap
        heapq.heappush(heap, (expire_at, next(self._sequence), key))
        if len(heap) > 2 * len(self._data) + 64:
            # Mostly stale entries (keys rewritten or removed): rebuild.
            heap[:] = [
                (entry[1], next(self._sequence), item_key)
                for item_key, entry in self._items()
                if entry[1] is not None
            ]
            heapq.heapify(heap)

    def _cull_expired(self, now):
        """Remove up to ``cull_limit`` items that expired before ``now``,
        earliest first, as `Cache` does after a write; the count removed.
        Caller holds the lock."""
        heap = self._heap
        data = self._data
        budget = self._cull_limit
        removed = 0
        while heap and removed < budget and heap[0][0] < now:
            expire_at, _, key = heapq.heappop(heap)
            entry = data.get(key)
            if entry is not None and entry[1] == expire_at:
                del data[key]
                self._size -= entry[3]
                removed += 1
        return removed

    def _put(self, key, entry, now):
        """Store ``entry`` as the most recently used item, then remove
        expired items and evict down to the limits. Caller holds the lock.
        ``now`` is the time of the write, or None if it was not read."""
        data = self._data
        old = self._lookup(key)
        data[key] = entry
        if old is None:
            self._size += entry[3]
        else:
            self._size += entry[3] - old[3]
            self._move(key)
        if entry[1] is not None:
            self._schedule(key, entry[1])
        if self._heap and self._cull_limit:
            self._cull_expired(time.time() if now is None else now)
        if self._bounded and self._over_limit():
            self._shrink()

    def _measure_one(self, value):
        return 0 if self._size_limit is None else self._sizeof(value)

    # -- writes --------------------------------------------------------------

    def set(self, key, value, expire=None, tag=None):
        """Store ``value`` under ``key`` as the most recently used item.

        :param expire: seconds until the item expires (None: the
            ``default_ttl_seconds``, never without one)
        :param tag: any value stored with the item (see `evict`)
        :return: True
        """
        if expire is None:
            expire = self._default_ttl
        if expire is None:
            now = expire_at = None
        else:
            now = time.time()
            expire_at = now + expire
        size = 0 if self._size_limit is None else self._sizeof(value)
        with self._lock:
            # _put, inlined: this is the hot write path.
            old = self._lookup(key)
            self._data[key] = (value, expire_at, tag, size)
            if old is not None:
                self._move(key)
                size -= old[3]
            self._size += size
            if expire_at is not None:
                self._schedule(key, expire_at)
            if self._heap and self._cull_limit:
                self._cull_expired(time.time() if now is None else now)
            if self._bounded and self._over_limit():
                self._shrink()
        return True

    def __setitem__(self, key, value):
        """``cache[key] = value``: `set` without expiry or tag."""
        self.set(key, value)

    def add(self, key, value, expire=None, tag=None):
        """Store ``value`` only if ``key`` is missing or expired; atomic.

        :return: True if stored, False if a live item was there
        """
        if expire is None:
            expire = self._default_ttl
        now = time.time()
        expire_at = None if expire is None else now + expire
        size = 0 if self._size_limit is None else self._sizeof(value)
        with self._lock:
            old = self._lookup(key)
            if old is not None and (old[1] is None or old[1] > now):
                return False
            self._put(key, (value, expire_at, tag, size), now)
        return True

    def touch(self, key, expire=None):
        """Give a live ``key`` a new expiry (None: the
        ``default_ttl_seconds`` from now, never without one).

        :return: True if touched, False if missing or expired
        """
        if expire is None:
            expire = self._default_ttl
        now = time.time()
        expire_at = None if expire is None else now + expire
        with self._lock:
            old = self._lookup(key)
            if old is None or (old[1] is not None and old[1] <= now):
                return False
            self._data[key] = (old[0], expire_at, old[2], old[3])
            if expire_at is not None:
                self._schedule(key, expire_at)
        return True

    def incr(self, key, delta=1, default=0):
        """Add ``delta`` to the int or float under ``key``; atomic.

        A missing or expired key starts from ``default`` and gets no tag
        and the ``default_ttl_seconds`` (no expiry without one); a live key
        keeps its expiry and tag.

        :return: the new value
        :raises KeyError: if ``key`` is missing or expired and ``default``
            is None
        :raises TypeError: if the stored value is not an int or float
        """
        now = time.time()
        with self._lock:
            old = self._lookup(key)
            if old is None or (old[1] is not None and old[1] < now):
                if default is None:
                    raise KeyError(key)
                value = default + delta
                ttl = self._default_ttl
                expire_at = None if ttl is None else now + ttl
                self._put(key, (value, expire_at, None, self._measure_one(value)), now)
                return value
            current = old[0]
            if type(current) is not int and type(current) is not float:
                raise TypeError(
                    'incr needs an int or float value; %r holds %s' % (key, type(current).__name__)
                )
            value = current + delta
            size = self._measure_one(value)
            self._data[key] = (value, old[1], old[2], size)
            self._move(key)
            self._size += size - old[3]
            if self._bounded and self._over_limit():
                self._shrink()
            return value

    def decr(self, key, delta=1, default=0):
        """Subtract ``delta`` from the number under ``key``; see `incr`."""
        return self.incr(key, -delta, default)

    # -- reads ---------------------------------------------------------------

    def get(self, key, default=None, expire_time=False, tag=False):
        """The value under ``key``, or ``default`` if missing or expired.

        A hit makes the item the most recently used. With ``expire_time``
        and/or ``tag`` the result is ``(value, expire_time)``, ``(value,
        tag)`` or ``(value, expire_time, tag)``, and a miss gives ``default``
        in the same shape with Nones.
        """
        if self._locked_reads:
            with self._lock:
                return self._get_counted(key, default, expire_time, tag)
        entry = self._lookup(key)
        if entry is not None:
            expire_at = entry[1]
            if expire_at is None or expire_at > time.time():
                try:
                    self._move(key)
                except KeyError:  # removed by a writer since the lookup
                    pass
                if expire_time or tag:
                    return _shape(entry[0], expire_at, entry[2], expire_time, tag)
                return entry[0]
        if expire_time or tag:
            return _shape(default, None, None, expire_time, tag)
        return default

    def _get_counted(self, key, default, expire_time, tag):
        # The locked lookup: counts hits and misses when enabled.
        entry = self._data.get(key)
        if entry is not None and (entry[1] is None or entry[1] > time.time()):
            self._move(key)
            if self._statistics:
                self._hits += 1
            if expire_time or tag:
                return _shape(entry[0], entry[1], entry[2], expire_time, tag)
            return entry[0]
        if self._statistics:
            self._misses += 1
        if expire_time or tag:
            return _shape(default, None, None, expire_time, tag)
        return default

    def __getitem__(self, key):
        """``cache[key]``; a hit makes the item the most recently used.

        :raises KeyError: if ``key`` is missing or expired
        """
        if self._locked_reads:
            with self._lock:
                value = self._get_counted(key, ENOVAL, False, False)
            if value is ENOVAL:
                raise KeyError(key)
            return value
        entry = self._lookup(key)
        if entry is None:
            raise KeyError(key)
        expire_at = entry[1]
        if expire_at is not None and expire_at <= time.time():
            raise KeyError(key)
        try:
            self._move(key)
        except KeyError:  # removed by a writer since the lookup
            pass
        return entry[0]

    def exists(self, key):
        """``key in cache`` by diskcache_rs's name."""
        return key in self

    def keys(self):
        """A list of the keys of the unexpired items, least recently used
        first (unlike ``list(cache)``, which includes expired items not yet
        removed). Not counted as uses."""
        now = time.time()
        with self._lock:
            return [key for key, entry in self._items() if entry[1] is None or entry[1] > now]

    def __contains__(self, key):
        """True if ``key`` is present and not expired (not counted as a use)."""
        if self._locked_reads:
            with self._lock:
                entry = self._data.get(key)
        else:
            entry = self._data.get(key)
        return entry is not None and (entry[1] is None or entry[1] > time.time())

    # -- removal -------------------------------------------------------------

    def pop(self, key, default=None, expire_time=False, tag=False):
        """Remove ``key`` and return its value; ``default`` if missing or
        expired (an expired item is left in place). Shapes as in `get`."""
        now = time.time()
        with self._lock:
            data = self._data
            entry = data.get(key)
            if entry is not None and (entry[1] is None or entry[1] > now):
                del data[key]
                self._size -= entry[3]
            else:
                entry = None
        if entry is None:
            if expire_time or tag:
                return _shape(default, None, None, expire_time, tag)
            return default
        if expire_time or tag:
            return _shape(entry[0], entry[1], entry[2], expire_time, tag)
        return entry[0]

    def delete(self, key):
        """Remove ``key``.

        :return: True if removed, False if missing or expired
        """
        now = time.time()
        with self._lock:
            data = self._data
            entry = data.get(key)
            if entry is None or (entry[1] is not None and entry[1] <= now):
                return False
            del data[key]
            self._size -= entry[3]
        return True

    def __delitem__(self, key):
        """``del cache[key]``.

        :raises KeyError: if ``key`` is missing or expired
        """
        if not self.delete(key):
            raise KeyError(key)

    def clear(self):
        """Remove every item, expired ones included; the count removed."""
        with self._lock:
            count = len(self._data)
            self._data.clear()
            self._heap.clear()
            self._size = 0
        return count

    def _remove_where(self, predicate):
        with self._lock:
            data = self._data
            doomed = [(key, entry) for key, entry in self._items() if predicate(entry)]
            for key, entry in doomed:
                del data[key]
                self._size -= entry[3]
        return len(doomed)

    def expire(self, now=None):
        """Remove the items expired before ``now`` (default: ``time.time()``);
        the count removed."""
        now = now or time.time()
        return self._remove_where(lambda entry: entry[1] is not None and 0 < entry[1] < now)

    def evict(self, tag):
        """Remove the items whose tag equals ``tag``; the count removed. As
        in `Cache`, ``evict(None)`` removes nothing."""
        if tag is None:
            return 0
        return self._remove_where(lambda entry: entry[2] is not None and entry[2] == tag)

    def cull(self):
        """Remove the expired items, then evict down to the limits; the
        count removed."""
        removed = self.expire()
        with self._lock:
            removed += self._shrink()
        return removed

    # -- whole cache ---------------------------------------------------------

    def __len__(self):
        """Number of items, expired ones included (as in `Cache`)."""
        # Under the lock: a set adds its item before it evicts, so without
        # it another thread could count one more than max_entries.
        with self._lock:
            return len(self._data)

    def _snapshot(self):
        with self._lock:
            return list(self._data)

    def __iter__(self):
        """Keys from least to most recently used, expired ones included; a
        snapshot taken when iteration starts."""
        return iter(self._snapshot())

    def __reversed__(self):
        """Keys from most to least recently used; a snapshot."""
        return reversed(self._snapshot())

    def stats(self, enable=True, reset=False):
        """``(hits, misses)`` counted by `get` and ``cache[key]`` so far, a
        `Stats` named tuple.

        Counting starts when ``enable`` is true (calling ``stats()`` turns it
        on, as in `Cache`) and stops when it is false; ``reset`` zeroes the
        counts after they are read. While counting, every lookup takes the
        lock.
        """
        with self._lock:
            result = Stats(self._hits, self._misses)
            if reset:
                self._hits = self._misses = 0
            self._statistics = bool(enable)
            self._locked_reads = self._statistics or not _gil_enabled()
        return result

    def volume(self):
        """Bytes held, as measured by ``sizeof`` (measured now if no
        ``size_limit`` is set)."""
        if self._size_limit is not None:
            return self._size
        with self._lock:
            values = [entry[0] for _, entry in self._items()]
        return sum(self._sizeof(value) for value in values)

    def memoize(self, name=None, typed=False, expire=None, tag=None, ignore=()):
        """Decorator caching a function's results here; see `Cache.memoize`.

        Results are stored only when ``expire`` is None or above zero. The
        wrapper has ``__cache_key__(*args, **kwargs)`` giving the key.

        :raises TypeError: if used as ``@memoize`` without parentheses
        """
        def store(key, result):
            if expire is None or expire > 0:
                self.set(key, result, expire, tag)

        return _memoize_with(name, typed, ignore, lambda key: self.get(key, ENOVAL), store)

    # -- lifecycle -----------------------------------------------------------

    def close(self):
        """Nothing to close; present so code written for `Cache` works."""

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()

    def __getstate__(self):
        # A pickled FastCache is a copy: limits, statistics and the items in
        # their recency order.
        with self._lock:
            items = self._items()
            return {
                'max_entries': self._max_entries,
                'size_limit': self._size_limit,
                'sizeof': self._sizeof,
                'statistics': self._statistics,
                'cull_limit': self._cull_limit,
                'default_ttl_seconds': self._default_ttl,
                'counts': (self._hits, self._misses),
                'items': items,
            }

    def __setstate__(self, state):
        self.__init__(
            max_entries=state['max_entries'],
            size_limit=state['size_limit'],
            sizeof=state['sizeof'],
            statistics=state['statistics'],
            cull_limit=state['cull_limit'],
            # Absent from copies pickled before it existed.
            default_ttl_seconds=state.get('default_ttl_seconds'),
        )
        self._hits, self._misses = state['counts']
        for key, entry in state['items']:
            self._data[key] = entry
            self._size += entry[3]
            if entry[1] is not None:
                self._schedule(key, entry[1])

    def __repr__(self):
        return '%s(max_entries=%r, size_limit=%r)' % (
            type(self).__name__,
            self._max_entries,
            self._size_limit,
        )
