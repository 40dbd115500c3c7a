"""Persistent data types built on `Cache`: `Deque` and `Index`.

Both are plain Python over a `Cache` opened with ``eviction_policy='none'``,
so nothing they store is ever culled. Several objects, in any threads and
processes, may work on the same directory at once.

>>> deque = Deque('abc')
>>> deque.append('d')
>>> list(deque)
['a', 'b', 'c', 'd']
>>> index = Index(alpha=1)
>>> index['beta'] = 2
>>> list(index.items())
[('alpha', 1), ('beta', 2)]
"""

import collections
import collections.abc as cabc
import contextlib
import operator
import shutil

from .aio import AsyncDequeMixin, AsyncIndexMixin
from .core import ENOVAL, Cache, _memoizer

__all__ = ['Deque', 'Index']


def _sequence_comparison(relation, text):
    """Build a rich comparison of a Deque with any Sequence.

    Items are compared pairwise; the first unequal pair decides, and when
    one side is a prefix of the other the lengths decide. Lengths that differ
    settle ``==`` and ``!=`` without looking at the items.
    """

    def comparison(self, other):
        if not isinstance(other, cabc.Sequence):
            return NotImplemented
        size, other_size = len(self), len(other)
        if size != other_size:
            if relation is operator.eq:
                return False
            if relation is operator.ne:
                return True
        for mine, theirs in zip(self, other):
            if mine != theirs:
                return relation(mine, theirs)
        return relation(size, other_size)

    comparison.__name__ = '__%s__' % relation.__name__
    comparison.__doc__ = 'True when the deque is %s `other`, a Sequence.' % text
    return comparison


class _Closable:
    """``close()`` and ``with`` for the stores built on a `Cache`
    (diskcache_rs's additions): closing closes the cache's engine handle,
    as `Cache.close` does; the store stays usable and reopens it on next
    use."""

    def close(self):
        """Close the underlying cache's engine handle (it reopens on use)."""
        self._cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()


class Deque(AsyncDequeMixin, _Closable, cabc.Sequence):
    """Double-ended queue stored in a cache directory.

    Works like `collections.deque` with these differences: items live on
    disk (pickled as by `Disk`), ``maxlen`` is ``float('inf')`` when
    unbounded, indexing walks the keys (O(n)), slices, ``insert``, ``+`` and
    ``*`` are not supported, and ``copy()`` shares the directory.

    Items are rows with integer keys made by `Cache.push`; their position is
    the sorted order of those keys.

    >>> deque = Deque(range(5), maxlen=3)
    >>> list(deque)
    [2, 3, 4]
    >>> deque.appendleft(1)
    >>> list(deque)
    [1, 2, 3]
    >>> deque.rotate(-1)
    >>> deque[0], deque[-1]
    (2, 1)
    """

    def __init__(self, iterable=(), directory=None, maxlen=None):
        """Open the deque in ``directory`` (a new temporary one if None).

        :param iterable: items appended, one by one, to the back
        :param str directory: cache directory
        :param maxlen: maximum length (None for unbounded)
        """
        self._cache = Cache(directory, eviction_policy='none')
        self._maxlen = float('inf') if maxlen is None else maxlen
        self._extend(iterable)

    @classmethod
    def fromcache(cls, cache, iterable=(), maxlen=None):
        """Make a deque over an existing ``cache`` (Cache or compatible).

        :param cache: the cache holding the items
        :param iterable: items appended, one by one, to the back
        :param maxlen: maximum length (None for unbounded)
        :return: the deque
        """
        self = cls.__new__(cls)
        self._cache = cache
        self._maxlen = float('inf') if maxlen is None else maxlen
        self._extend(iterable)
        return self

    # -- properties --------------------------------------------------------

    @property
    def cache(self):
        """The `Cache` holding the items."""
        return self._cache

    @property
    def directory(self):
        """The directory of the cache, a str."""
        return self._cache.directory

    @property
    def maxlen(self):
        """Maximum length; ``float('inf')`` when unbounded.

        Assigning a smaller value drops items from the front, in one
        transaction, until the deque fits.
        """
        return self._maxlen

    @maxlen.setter
    def maxlen(self, value):
        self._maxlen = value
        with self._cache.transact(retry=True):
            while len(self._cache) > self._maxlen:
                self._popleft()

    @contextlib.contextmanager
    def transact(self):
        """Context manager holding the cache's writer lock (retrying).

        Other threads and processes cannot change the deque inside the
        block, so a sequence of calls is atomic.
        """
        with self._cache.transact(retry=True):
            yield

    # -- positional access -------------------------------------------------

    def _at(self, index, action):
        """Call ``action(key)`` with the key at position ``index``.

        Walks the keys from the front (or, for a negative index, from the
        back). A key deleted meanwhile (``KeyError``) is passed over and the
        next one takes its place.
        """
        size = len(self)
        if index >= 0:
            if index >= size:
                raise IndexError('deque index out of range')
            keys = self._cache.iterkeys()
            remaining = index
        else:
            if index < -size:
                raise IndexError('deque index out of range')
            keys = self._cache.iterkeys(reverse=True)
            remaining = -index - 1
        for key in keys:
            if remaining == 0:
                try:
                    return action(key)
                except KeyError:
                    continue
            remaining -= 1
        raise IndexError('deque index out of range')

    def __getitem__(self, index):
        """``deque[index]``: the item at ``index`` (negative counts back).

        :raises IndexError: if ``index`` is out of range
        """
        return self._at(index, self._cache.__getitem__)

    def __setitem__(self, index, value):
        """``deque[index] = value``: replace the item at ``index``.

        :raises IndexError: if ``index`` is out of range
        """
        cache = self._cache

        def store(key):
            cache[key] = value

        self._at(index, store)

    def __delitem__(self, index):
        """``del deque[index]``: remove the item at ``index``.

        :raises IndexError: if ``index`` is out of range
        """
        self._at(index, self._cache.__delitem__)

    # -- reading -----------------------------------------------------------

    def __iter__(self):
        """Items from front to back; items removed meanwhile are skipped."""
        cache = self._cache
        for key in cache.iterkeys():
            try:
                value = cache[key]
            except KeyError:
                continue
            yield value

    def __reversed__(self):
        """Items from back to front; items removed meanwhile are skipped."""
        cache = self._cache
        for key in cache.iterkeys(reverse=True):
            try:
                value = cache[key]
            except KeyError:
                continue
            yield value

    def __len__(self):
        """Number of items."""
        return len(self._cache)

    def count(self, value):
        """Number of items equal to ``value``."""
        return sum(1 for item in self if value == item)

    def __repr__(self):
        return '%s(directory=%r)' % (type(self).__name__, self.directory)

    __eq__ = _sequence_comparison(operator.eq, 'equal to')
    __ne__ = _sequence_comparison(operator.ne, 'not equal to')
    __lt__ = _sequence_comparison(operator.lt, 'less than')
    __le__ = _sequence_comparison(operator.le, 'less than or equal to')
    __gt__ = _sequence_comparison(operator.gt, 'greater than')
    __ge__ = _sequence_comparison(operator.ge, 'greater than or equal to')

    __hash__ = None

    # -- adding ------------------------------------------------------------

    def append(self, value):
        """Add ``value`` at the back; past ``maxlen`` the front item goes."""
        with self._cache.transact(retry=True):
            self._cache.push(value, retry=True)
            if len(self._cache) > self._maxlen:
                self._popleft()

    def appendleft(self, value):
        """Add ``value`` at the front; past ``maxlen`` the back item goes."""
        with self._cache.transact(retry=True):
            self._cache.push(value, side='front', retry=True)
            if len(self._cache) > self._maxlen:
                self._pop()

    def extend(self, iterable):
        """Append every item of ``iterable`` at the back, in order."""
        for value in iterable:
            self._append(value)

    def extendleft(self, iterable):
        """Add every item of ``iterable`` at the front, one at a time, so
        they end up in reverse order."""
        for value in iterable:
            self._appendleft(value)

    def __iadd__(self, iterable):
        """``deque += iterable``: extend at the back and return the deque."""
        self._extend(iterable)
        return self

    # -- removing ----------------------------------------------------------

    def _take(self, pull, side, verb):
        _, value = pull(default=(None, ENOVAL), side=side, retry=True)
        if value is ENOVAL:
            raise IndexError('%s from an empty deque' % verb)
        return value

    def pop(self):
        """Remove and return the back item.

        :raises IndexError: if the deque is empty
        """
        return self._take(self._cache.pull, 'back', 'pop')

    def popleft(self):
        """Remove and return the front item.

        :raises IndexError: if the deque is empty
        """
        return self._take(self._cache.pull, 'front', 'pop')

    def peek(self):
        """Return the back item without removing it.

        :raises IndexError: if the deque is empty
        """
        return self._take(self._cache.peek, 'back', 'peek')

    def peekleft(self):
        """Return the front item without removing it.

        :raises IndexError: if the deque is empty
        """
        return self._take(self._cache.peek, 'front', 'peek')

    def remove(self, value):
        """Remove the first item equal to ``value``.

        :raises ValueError: if no item equals ``value``
        """
        cache = self._cache
        for key in cache.iterkeys():
            try:
                item = cache[key]
            except KeyError:
                continue
            if value != item:
                continue
            try:
                del cache[key]
            except KeyError:
                continue
            return
        raise ValueError('deque.remove(value): value not in deque')

    def clear(self):
        """Remove every item."""
        self._cache.clear(retry=True)

    # -- reordering --------------------------------------------------------

    def reverse(self):
        """Reverse the items in place (not atomic).

        The items are copied, back to front, into a temporary deque in a new
        temporary directory, then copied back; the temporary directory is
        removed afterwards.
        """
        scratch = Deque(iterable=reversed(self))
        try:
            self._clear()
            self._extend(scratch)
        finally:
            scratch_dir = scratch.directory
            scratch._cache.close()
            del scratch
            shutil.rmtree(scratch_dir)

    def rotate(self, steps=1):
        """Rotate the deque ``steps`` places to the right (left if negative).

        Stops quietly if the deque empties meanwhile.

        :raises TypeError: if ``steps`` is not an int
        """
        if not isinstance(steps, int):
            raise TypeError(
                'integer argument expected, got %s' % type(steps).__name__
            )
        size = len(self)
        if not size:
            return
        if steps >= 0:
            take, put, moves = self._pop, self._appendleft, steps % size
        else:
            take, put, moves = self._popleft, self._append, -steps % size
        for _ in range(moves):
            try:
                value = take()
            except IndexError:
                return
            put(value)

    def copy(self):
        """A new deque object on the same directory with the same maxlen.

        The items are shared, not copied.
        """
        return type(self)(directory=self.directory, maxlen=self.maxlen)

    # -- pickling ----------------------------------------------------------

    def __getstate__(self):
        return self.directory, self.maxlen

    def __setstate__(self, state):
        directory, maxlen = state
        self.__init__(directory=directory, maxlen=maxlen)

    # Internal aliases: the methods above keep working when a subclass
    # overrides the public names.
    _append = append
    _appendleft = appendleft
    _extend = extend
    _pop = pop
    _popleft = popleft
    _clear = clear


class Index(AsyncIndexMixin, _Closable, cabc.MutableMapping):
    """Ordered mapping stored in a cache directory.

    Keys keep their first-insertion order (overwriting keeps the position).
    Keys are looked up by their serialized form, so keys and values must be
    picklable, and equal keys of different types (``1`` and ``True``) differ.

    >>> index = Index([('b', 2), ('a', 1)])
    >>> list(index)
    ['b', 'a']
    >>> index.setdefault('c', 3)
    3
    >>> index.popitem()
    ('c', 3)
    """

    def __init__(self, *args, **kwargs):
        """Open the index.

        A first positional argument that is a str or bytes names the
        directory; ``None`` there (or no directory) means a new temporary
        directory. The remaining arguments are passed to ``update``.
        """
        directory = None
        if args and isinstance(args[0], (bytes, str)):
            directory, args = args[0], args[1:]
        elif args and args[0] is None:
            args = args[1:]
        self._cache = Cache(directory, eviction_policy='none')
        self._update(*args, **kwargs)

    _update = cabc.MutableMapping.update

    @classmethod
    def fromcache(cls, cache, *args, **kwargs):
        """Make an index over an existing ``cache``; the other arguments go
        to ``update``.

        :return: the index
        """
        self = cls.__new__(cls)
        self._cache = cache
        self._update(*args, **kwargs)
        return self

    # -- properties --------------------------------------------------------

    @property
    def cache(self):
        """The `Cache` holding the items."""
        return self._cache

    @property
    def directory(self):
        """The directory of the cache, a str."""
        return self._cache.directory

    @contextlib.contextmanager
    def transact(self):
        """Context manager holding the cache's writer lock (retrying)."""
        with self._cache.transact(retry=True):
            yield

    # -- mapping -----------------------------------------------------------

    def __getitem__(self, key):
        """``index[key]``.

        :raises KeyError: if ``key`` is missing
        """
        return self._cache[key]

    def __setitem__(self, key, value):
        """``index[key] = value``; an existing key keeps its position."""
        self._cache[key] = value

    def __delitem__(self, key):
        """``del index[key]``.

        :raises KeyError: if ``key`` is missing
        """
        del self._cache[key]

    def __iter__(self):
        """Keys in insertion order."""
        return iter(self._cache)

    def __reversed__(self):
        """Keys in reverse insertion order."""
        return reversed(self._cache)

    def __len__(self):
        """Number of items."""
        return len(self._cache)

    def keys(self):
        """A live view of the keys."""
        return cabc.KeysView(self)

    def values(self):
        """A live view of the values."""
        return cabc.ValuesView(self)

    def items(self):
        """A live view of the ``(key, value)`` pairs."""
        return cabc.ItemsView(self)

    def setdefault(self, key, default=None):
        """Return ``index[key]``, first storing ``default`` if it is
        missing. Atomic: concurrent callers all see the same value."""
        cache = self._cache
        while True:
            try:
                return cache[key]
            except KeyError:
                cache.add(key, default, retry=True)

    def pop(self, key, default=ENOVAL):
        """Remove ``key`` and return its value, or ``default`` if missing.

        :raises KeyError: if ``key`` is missing and no default is given
        """
        value = self._cache.pop(key, default=default, retry=True)
        if value is ENOVAL:
            raise KeyError(key)
        return value

    def peekitem(self, last=True):
        """The last (or, with ``last=False``, first) ``(key, value)``.

        :raises KeyError: ``'dictionary is empty'``
        """
        return self._cache.peekitem(last, retry=True)

    def popitem(self, last=True):
        """Remove and return the last (or first) ``(key, value)`` pair, in
        one transaction.

        :raises KeyError: ``'dictionary is empty'``
        """
        cache = self._cache
        with cache.transact(retry=True):
            key, value = cache.peekitem(last=last)
            del cache[key]
        return key, value

    def push(self, value, prefix=None, side='back'):
        """Push ``value`` on the queue named ``prefix`` (see `Cache.push`).

        :return: the generated key
        """
        return self._cache.push(value, prefix, side, retry=True)

    def pull(self, prefix=None, default=(None, None), side='front'):
        """Remove and return ``(key, value)`` from the queue named
        ``prefix``, or ``default`` if it is empty (see `Cache.pull`)."""
        return self._cache.pull(prefix, default, side, retry=True)

    def clear(self):
        """Remove every item."""
        self._cache.clear(retry=True)

    # -- comparison --------------------------------------------------------

    def __eq__(self, other):
        """Equal lengths and items. Against an Index or OrderedDict the
        order matters too; against another mapping it does not."""
        if len(self) != len(other):
            return False
        if isinstance(other, (Index, collections.OrderedDict)):
            mine = ((key, self[key]) for key in self)
            theirs = ((key, other[key]) for key in other)
            return not any(
                key != other_key or value != other_value
                for (key, value), (other_key, other_value) in zip(mine, theirs)
            )
        return all(self[key] == other.get(key, ENOVAL) for key in self)

    def __ne__(self, other):
        return not self == other

    __hash__ = None

    # -- memoize, repr, pickling -------------------------------------------

    def memoize(self, name=None, typed=False, ignore=()):
        """Decorator caching a function's results in the index (no expiry,
        no tag); see `Cache.memoize`.

        :raises TypeError: if used without parentheses
        """
        return _memoizer(self._cache, name, typed, None, None, ignore)

    def __repr__(self):
        return '%s(%r)' % (type(self).__name__, self.directory)

    def __getstate__(self):
        return self.directory

    def __setstate__(self, state):
        self.__init__(state)
