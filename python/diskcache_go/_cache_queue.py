"""Cache's queue methods: ``push``, ``pull``, ``peek`` and ``peekitem``.

A mixin of ``Cache`` (``_cache.py``), which it uses for everything but the
methods themselves.
"""

import time

from . import _binding as _engine
from . import _ffi
from ._binding import decode as _decode
from ._binding import decode_key as _decode_key
from ._binding import encode_value as _encode_value
from ._disk import _READING, _REMOVING, _TO_QUEUE
from ._settings import UNKNOWN


class _QueueMethods:
    """push, pull, peek and peekitem (see the module)."""

    def push(self, value, prefix=None, side='back', expire=None, read=False, tag=None,
             retry=False):
        """Add ``value`` at ``side`` of the queue named ``prefix``; returns its key.

        Keys are integers counting from 500000000000000 (with no prefix) or
        strings ``'<prefix>-%015d'``.

        :raises KeyError: if ``side`` is not 'back' or 'front'
        """
        flags = {'back': 0, 'front': _ffi.RQ_FRONT}[side]
        now = time.time()
        expire_time = None if expire is None else now + expire
        # A signature can not name the key, which the engine chooses as it
        # stores the value: it names the queue (see _queue_of).
        queue = (_ffi.K_NULL, b'') if prefix is None else (_ffi.K_TEXT, prefix.encode('utf-8'))
        size, mode, filename, db_value = self._serialize((_TO_QUEUE, queue), value, read, UNKNOWN)
        if prefix is not None:
            flags |= _ffi.RQ_PREFIX
            prefix_enc = (_ffi.K_TEXT, prefix.encode('utf-8'))
        else:
            prefix_enc = (0, b'')
        try:
            value_enc = _encode_value(db_value)
            tag_enc = None if tag is None else _encode_value(tag)
            fname = b'' if filename is None else filename.encode('utf-8', 'surrogateescape')
            status, bufs = self._write(_ffi.OP_PUSH, retry, now, prefix_enc, value_enc, mode,
                                       fname, size, tag_enc, expire_time, flags)
        except BaseException:
            if filename is not None:
                self._disk.remove(filename)
            raise
        if status != _ffi.OK:
            if filename is not None:
                self._disk.remove(filename)
            self._fail(status, bufs, 'push')
        return _decode(*_engine.pushed_key(bufs))

    def _take(self, op_code, flags, prefix, retry, what):
        """Run pull, peek or peekitem; returns (status, bufs) of the item."""
        if prefix is not None:
            flags |= _ffi.RQ_PREFIX
            prefix_enc = (_ffi.K_TEXT, prefix.encode('utf-8'))
        else:
            prefix_enc = (0, b'')
        status, bufs = self._write(op_code, retry, time.time(), prefix_enc, flags=flags)
        if status not in (_ffi.OK, _ffi.NOTFOUND):
            self._fail(status, bufs, what)
        return status, bufs

    def _end_item(self, op_code, side_flags, prefix, default, expire_time, tag, retry, remove):
        default = _engine.pack_default(default, expire_time, tag)
        while True:
            status, bufs = self._take(op_code, side_flags, prefix, retry, 'pull')
            if status == _ffi.NOTFOUND:
                return default
            kind, kbytes = self._item_key(bufs)
            mode, name, db_value, db_expire, db_tag = self._item(bufs)
            try:
                value = self._deserialize((_REMOVING if remove else _READING, (kind, kbytes)),
                                          mode, name, db_value, False)
            except IOError:
                # The item's file went away first: try the next one.
                continue
            finally:
                if remove and name is not None:
                    self._disk.remove(name)
            break
        key = _decode(kind, kbytes)
        return _engine.shape((key, value), db_expire, db_tag, expire_time, tag)

    def pull(self, prefix=None, default=(None, None), side='front', expire_time=False,
             tag=False, retry=False):
        """Remove and return ``(key, value)`` from ``side`` of a queue.

        Expired items met at that end are deleted and skipped; an empty
        queue returns ``default``.
        """
        flags = {'front': _ffi.RQ_FRONT, 'back': 0}[side]
        return self._end_item(_ffi.OP_PULL, flags, prefix, default, expire_time, tag, retry, True)

    def peek(self, prefix=None, default=(None, None), side='front', expire_time=False,
             tag=False, retry=False):
        """Return ``(key, value)`` at ``side`` of a queue without removing it.

        Expired items met at that end are deleted.
        """
        flags = {'front': _ffi.RQ_FRONT, 'back': 0}[side]
        return self._end_item(_ffi.OP_PEEK, flags, prefix, default, expire_time, tag, retry, False)

    def peekitem(self, last=True, expire_time=False, tag=False, retry=False):
        """Return the last (or first) ``(key, value)`` in insertion order.

        :raises KeyError: ``'dictionary is empty'``
        """
        while True:
            status, bufs = self._take(_ffi.OP_PEEKITEM, _ffi.RQ_LAST if last else 0, None, retry,
                                      'peekitem')
            if status == _ffi.NOTFOUND:
                raise KeyError('dictionary is empty')
            kind, kbytes = self._item_key(bufs)
            mode, name, db_value, db_expire, db_tag = self._item(bufs)
            key = _decode_key(self._disk, kind, kbytes)
            try:
                value = self._deserialize((_READING, (kind, kbytes)), mode, name, db_value, False)
            except IOError:
                continue
            break
        return _engine.shape((key, value), db_expire, db_tag, expire_time, tag)
