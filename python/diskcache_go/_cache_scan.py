"""Cache's walks over many keys: iteration in insertion and in sort order,
``keys``/``values``/``items``, ``set_many``/``get_many`` and ``check``.

A mixin of ``Cache`` (``_cache.py``), which it uses for everything but the
methods themselves.
"""

import os
import os.path as op
import threading
import time
import warnings

from . import _binding as _engine
from . import _ffi
from ._binding import decode_key as _decode_key
from ._disk import Disk, QUARANTINE, _quarantine
from ._settings import (
    ENOVAL, EmptyDirWarning, UnknownFileWarning, _ENGINE_PREFIX, _PLACEHOLDERS, _VALUE_DIR,
    _pydiskcache_files,
)


def _pairs(items):
    """``set_many``'s items as a list of (key, value): a mapping's items,
    or the pairs an iterable yields."""
    pairs_of = getattr(items, 'items', None)
    if callable(pairs_of):
        items = pairs_of()
    elif isinstance(items, (str, bytes)):
        raise TypeError(
            'set_many() items must be a mapping or an iterable of (key, value) pairs, not %s'
            % type(items).__name__
        )
    try:
        iterator = iter(items)
    except TypeError:
        raise TypeError(
            'set_many() items must be a mapping or an iterable of (key, value) pairs, not %s'
            % type(items).__name__
        ) from None
    pairs = []
    for number, pair in enumerate(iterator):
        try:
            key, value = pair
        except (TypeError, ValueError):
            raise TypeError(
                'set_many() items must be (key, value) pairs; item %d is %r' % (number, pair)
            ) from None
        pairs.append((key, value))
    return pairs


def _many_keys(keys):
    """An iterator over the ``keys`` of a get_many, or TypeError when they
    are a single str or bytes (a common slip: get_many('key')) or not
    iterable."""
    if isinstance(keys, (str, bytes)):
        raise TypeError(
            'get_many() keys must be an iterable of keys, not a single %s '
            '(write get_many([key]))' % type(keys).__name__
        )
    try:
        return iter(keys)
    except TypeError:
        raise TypeError(
            'get_many() keys must be an iterable of keys, not %s' % type(keys).__name__
        ) from None


class _ScanMethods:
    """Iteration, the views, bulk calls and check (see the module)."""

    def iterkeys(self, reverse=False):
        """Iterate keys in sort order: numbers, then strings, then bytes.

        The order is SQLite's, as in python-diskcache: meaningful for str,
        bytes, int and float keys. Expired keys are included.
        """
        disk = self._disk
        after = None
        while True:
            handle = self._h()
            status, bufs, keys, others = _engine.keys_sorted(handle, after, reverse, 100)
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            if status != _ffi.OK:
                self._fail(status, bufs, 'iterkeys')
            if others:
                self._trust.engine_reported()
            if not keys:
                # Not "fewer than batch": keys added meanwhile are still
                # yielded, as python-diskcache's iterators do.
                return
            for i, (key_kind, key_bytes) in enumerate(keys):
                if key_kind == _ffi.K_NULL:
                    # A NaN key, stored as NULL. Upstream goes on with
                    # "key > ?" (or "<"), which no key is to NULL: a NULL
                    # sorting first is yielded and ends the walk; reversed,
                    # where NULLs sort last, none is reached.
                    if after is None and i == 0:
                        yield None
                    return
                yield _decode_key(disk, key_kind, key_bytes)
            after = keys[-1]

    def check(self, fix=False, retry=False):
        """Verify the cache; returns a list of ``warnings.WarningMessage``.

        It checks the index (checksums, records, hash table, counters), that
        every value file exists with its recorded size, and looks for files
        the index does not know and for empty directories. With ``fix`` it
        repairs what it can: entries whose file is gone are removed, sizes
        and counters corrected, unknown files and empty directories deleted.
        """
        with warnings.catch_warnings(record=True) as warns:
            with self._locked(retry=retry):
                found, referenced = self._engine_check(fix, retry)
                for kind, message in found:
                    warnings.warn(message, UnknownFileWarning if kind == 3 else UserWarning)
                known = {op.join(self._directory, name) for name in referenced}
                # python-diskcache's own files, kept beside an import for a
                # rollback: not this cache's to report or move.
                known |= _pydiskcache_files(self._directory)
                quarantine = op.join(self._directory, QUARANTINE)
                for dirpath, dirs, files in os.walk(self._directory):
                    if dirpath == self._directory and QUARANTINE in dirs:
                        dirs.remove(QUARANTINE)
                    paths = [op.join(dirpath, name) for name in files]
                    for full_path in sorted(set(paths) - known):
                        if op.basename(full_path).startswith((_ENGINE_PREFIX,) + _PLACEHOLDERS):
                            continue
                        warnings.warn('unknown file: %s' % full_path, UnknownFileWarning)
                        if fix:
                            _quarantine(quarantine, full_path)
                # The stock Disk's 256 directories stay when they empty.
                stock = getattr(type(self._disk), 'filename', None) is Disk.filename
                for dirpath, dirs, files in os.walk(self._directory):
                    if dirpath == self._directory and QUARANTINE in dirs:
                        dirs.remove(QUARANTINE)
                    if dirs or files or (stock and op.dirname(dirpath) == self._directory
                                         and _VALUE_DIR.match(op.basename(dirpath))):
                        continue
                    warnings.warn('empty directory: %s' % dirpath, EmptyDirWarning)
                    if fix:
                        os.rmdir(dirpath)
            return warns

    def _engine_check(self, fix, retry):
        while True:
            handle = self._h()
            status, bufs, found, files = _engine.check(handle, self._timeout_seconds(retry), fix)
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            if status != _ffi.OK:
                self._fail(status, bufs, 'check')
            return found, files

    def _iter(self, ascending=True, raw=False):
        # raw: yield the engine's (kind, bytes) instead of decoded keys.
        max_rowid = self._info()[4]
        yield  # Ready: the bound is captured.
        if max_rowid == 0:
            return
        bound = max_rowid + 1
        cursor = (0, 0)
        disk = self._disk
        while True:
            handle = self._h()
            status, bufs, keys, next_cursor, others = _engine.keys(handle, cursor, bound, ascending, 100)
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            if status != _ffi.OK:
                self._fail(status, bufs, 'iterate')
            if others:
                self._trust.engine_reported()
            if raw:
                yield from keys
            else:
                for kind, kbytes in keys:
                    yield _decode_key(disk, kind, kbytes)
            if not keys:
                # Not "fewer than the batch": keys added meanwhile are
                # still yielded, as python-diskcache's iterators do.
                return
            cursor = next_cursor

    def __iter__(self):
        """Iterate keys in insertion order (expired ones included)."""
        iterator = self._iter()
        next(iterator)
        return iterator

    def __reversed__(self):
        """Iterate keys in reverse insertion order."""
        iterator = self._iter(ascending=False)
        next(iterator)
        return iterator

    def _live_items(self):
        """The ``(key, value)`` pairs of the items unexpired at the moment of
        the call, in insertion order.

        Read lock-free: the reads are not counted in `stats` and, under the
        LRU and LFU policies, not recorded as uses (a listing is not a
        use). An item removed while the listing runs is left out.
        """
        now = time.time()
        disk = self._disk
        raw_keys = self._iter(raw=True)
        next(raw_keys)
        found = []
        for key_enc in raw_keys:
            status, bufs = self._read(key_enc, now, 0)
            if status == _ffi.NOTFOUND:
                continue
            if status != _ffi.OK:
                self._fail(status, bufs, 'items')
            mode, filename, db_value, _, _ = self._item(bufs)
            try:
                value = disk.fetch(mode, filename, db_value, False)
            except IOError:
                # Removed between the read and its value file's read.
                continue
            found.append((_decode_key(disk, *key_enc), value))
        return found

    def keys(self):
        """A list of the keys, in insertion order: ``list(cache)``.

        As iteration and ``len`` (and diskcache_rs's ``keys()``), it
        includes expired items not yet removed (`expire` removes them).
        """
        return list(self)

    def values(self):
        """A list of the values of the unexpired items, in insertion order.

        An expired item is left out (rather than given as None, which could
        be a stored value), so while expired items wait to be removed this
        is shorter than `keys`. The reads are not counted in `stats`, nor
        recorded as uses by the LRU and LFU policies.
        """
        return [value for _, value in self._live_items()]

    def items(self):
        """A list of the ``(key, value)`` pairs of the unexpired items, in
        insertion order; see `values`."""
        return self._live_items()

    def set_many(self, items, expire=None, tag=None, retry=False):
        """Set every ``(key, value)`` of ``items`` in one transaction; the
        number of pairs written.

        ``items`` is a mapping or an iterable of pairs (read before the
        lock is taken). ``expire`` and ``tag`` apply to each, as in `set`.
        Atomic: if one value can not be stored (it does not pickle, say) the
        error propagates and none of them is (inside an enclosing
        `transact` block the pairs written so far stand or fall with that
        block, as any write there).

        :raises TypeError: if ``items`` is not a mapping or an iterable of
            pairs
        :raises Timeout: if the writer lock could not be taken
        """
        pairs = _pairs(items)
        if not pairs:
            return 0
        now = time.time()
        expire_time = None if expire is None else now + expire
        # Every value is converted (and its value file written) before the
        # lock is taken, as set does for one; a value that fails leaves none
        # of the batch's files behind.
        prepared = []
        try:
            for key, value in pairs:
                prepared.append((self._key(key), self._disk.store(value, False, key=key)))
        except BaseException:
            self._remove_files(prepared)
            raise
        outermost = not self._txn_depth.get(threading.get_ident())
        stored = False
        try:
            with self.transact(retry=retry):
                for key_enc, (size, mode, filename, db_value) in prepared:
                    self._store(_ffi.OP_SET, key_enc, expire_time, tag, size, mode, filename,
                                db_value, retry, now)
                stored = True
        except BaseException:
            if outermost and not stored:
                # Rolled back (or never begun): no entry refers to the
                # files. Inside a caller's transaction the entries written
                # so far stand until that transaction ends, so their files
                # stay; after a failed commit nobody knows, so they stay too.
                self._remove_files(prepared)
            raise
        return len(prepared)

    def _remove_files(self, prepared):
        for _, (_, _, filename, _) in prepared:
            if filename is not None:
                self._disk.remove(filename)

    def get_many(self, keys, retry=False):
        """A dict of the values of those of ``keys`` that are present and
        unexpired (keys missing or expired are left out). Each lookup is a
        `get`, counted in `stats`.

        :raises TypeError: if ``keys`` is a single str or bytes, or not
            iterable
        """
        keys = _many_keys(keys)
        found = {}
        for key in keys:
            value = self.get(key, ENOVAL, retry=retry)
            if value is not ENOVAL:
                found[key] = value
        return found
