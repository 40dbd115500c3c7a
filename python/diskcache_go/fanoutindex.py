"""FanoutIndex: an `Index` spread over shards for concurrent writers.

An `Index` is one cache directory, so its writers take turns. A
`FanoutIndex` keeps ``shards`` Index objects in ``<directory>/000``,
``<directory>/001``... and stores each key in the shard chosen by
``disk.hash(key) % shards``, exactly as `FanoutCache` routes keys; writers of
different shards never wait for each other.

The price is order: iteration goes shard by shard (each shard in its own
insertion order), not in global insertion order, so the ordered extras of
`Index` (``peekitem``, ``push``/``pull``, ordered comparison) are not
offered. Like an `Index`, it never evicts and never expires items.
"""

import collections.abc as cabc
import contextlib
import itertools as it
import os.path as op
import tempfile

from .core import ENOVAL, _memoize_with
from .persistent import Index

__all__ = ['FanoutIndex']


class FanoutIndex(cabc.MutableMapping):
    """Persistent mapping made of `Index` shards; keys are routed by hash.

    >>> index = FanoutIndex(shards=4)
    >>> index.update(a=1, b=2)
    >>> index['c'] = 3
    >>> sorted(index.items())
    [('a', 1), ('b', 2), ('c', 3)]
    >>> index.setdefault('a', 100), index.pop('b')
    (1, 2)
    """

    def __init__(self, directory=None, shards=8):
        """Open (or create) the index.

        :param directory: directory holding the shards (str or path-like;
            None makes a new temporary directory)
        :param int shards: number of shards; reopening a directory needs the
            same number, since it decides where each key lives
        """
        if directory is None:
            directory = tempfile.mkdtemp(prefix='diskcache-')
        directory = op.expandvars(op.expanduser(str(directory)))
        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ValueError('shards must be an int >= 1, not %r' % (shards,))
        self._directory = directory
        self._count = shards
        self._shards = tuple(
            Index(op.join(directory, '%03d' % number)) for number in range(shards)
        )
        self._hash = self._shards[0].cache.disk.hash

    def _shard(self, key):
        return self._shards[self._hash(key) % self._count]

    @property
    def directory(self):
        """The directory holding the shards, a str."""
        return self._directory

    @property
    def shards(self):
        """The `Index` shards, in shard order (a tuple)."""
        return self._shards

    # -- mapping -------------------------------------------------------------

    def __getitem__(self, key):
        """``index[key]``.

        :raises KeyError: if ``key`` is missing
        """
        return self._shard(key)[key]

    def __setitem__(self, key, value):
        """``index[key] = value``."""
        self._shard(key)[key] = value

    def __delitem__(self, key):
        """``del index[key]``.

        :raises KeyError: if ``key`` is missing
        """
        del self._shard(key)[key]

    def __contains__(self, key):
        """True if ``key`` is present."""
        return key in self._shard(key).cache

    def get(self, key, default=None):
        """``index[key]`` if present, else ``default``."""
        return self._shard(key).cache.get(key, default, retry=True)

    def __iter__(self):
        """Keys of shard 0 in insertion order, then shard 1, ..."""
        return it.chain.from_iterable(self._shards)

    def __reversed__(self):
        """Keys of the last shard, newest first, then the shard before..."""
        return it.chain.from_iterable(reversed(shard) for shard in reversed(self._shards))

    def __len__(self):
        """Number of items in all shards."""
        return sum(len(shard) for shard in self._shards)

    def keys(self):
        """A live view of the keys (in iteration order)."""
        return cabc.KeysView(self)

    def values(self):
        """A live view of the values (in iteration order)."""
        return cabc.ValuesView(self)

    def items(self):
        """A live view of the ``(key, value)`` pairs (in iteration order)."""
        return cabc.ItemsView(self)

    def setdefault(self, key, default=None):
        """``index[key]``, first storing ``default`` if ``key`` is missing;
        atomic, like `Index.setdefault`."""
        return self._shard(key).setdefault(key, default)

    def pop(self, key, default=ENOVAL):
        """Remove ``key`` and return its value, or ``default`` if missing.

        :raises KeyError: if ``key`` is missing and no default is given
        """
        return self._shard(key).pop(key, default)

    def popitem(self, last=True):
        """Remove and return a ``(key, value)`` pair: the newest item of the
        last non-empty shard (``last=False``: the oldest of the first).

        :raises KeyError: ``'dictionary is empty'``
        """
        shards = reversed(self._shards) if last else self._shards
        for shard in shards:
            try:
                return shard.popitem(last=last)
            except KeyError:
                continue
        raise KeyError('dictionary is empty')

    def clear(self):
        """Remove every item of every shard."""
        for shard in self._shards:
            shard.clear()

    def update(self, *args, **kwargs):
        """Store the items of a mapping or iterable of pairs, then of
        ``kwargs`` (as `dict.update`)."""
        if len(args) > 1:
            raise TypeError('update expected at most 1 positional argument, got %d' % len(args))
        if args:
            other = args[0]
            if isinstance(other, cabc.Mapping):
                pairs = ((key, other[key]) for key in other)
            elif hasattr(other, 'keys'):
                pairs = ((key, other[key]) for key in other.keys())
            else:
                pairs = other
            for key, value in pairs:
                self[key] = value
        for key, value in kwargs.items():
            self[key] = value

    # -- comparison ----------------------------------------------------------

    def __eq__(self, other):
        """Same length and equal values for every key; order is ignored."""
        if not isinstance(other, cabc.Mapping):
            return NotImplemented
        if len(self) != len(other):
            return False
        return all(self[key] == other.get(key, ENOVAL) for key in self)

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = None

    # -- transactions, memoize, lifecycle ------------------------------------

    @contextlib.contextmanager
    def transact(self):
        """Context manager holding every shard's writer lock, taken in shard
        order: the block sees (and makes) an atomic change of the index."""
        with contextlib.ExitStack() as stack:
            for shard in self._shards:
                stack.enter_context(shard.transact())
            yield

    def memoize(self, name=None, typed=False, ignore=()):
        """Decorator caching a function's results in the index (no expiry);
        see `Index.memoize`.

        :raises TypeError: if used as ``@memoize`` without parentheses
        """
        def lookup(key):
            return self._shard(key).cache.get(key, ENOVAL, retry=True)

        def store(key, result):
            self._shard(key).cache.set(key, result, retry=True)

        return _memoize_with(name, typed, ignore, lookup, store)

    def close(self):
        """Close the shards' connections for the calling thread (they reopen
        when next used)."""
        for shard in self._shards:
            shard.cache.close()

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        self.close()

    def __getstate__(self):
        return (self._directory, self._count)

    def __setstate__(self, state):
        self.__init__(*state)

    def __repr__(self):
        return '%s(%r, shards=%d)' % (type(self).__name__, self._directory, self._count)

