"""Awaitable twins of the cache methods, run on the event loop when they
cannot wait and in a worker thread when they might (docs/async.md).

A diskcache-go call that does not wait takes about a microsecond; handing
it to a thread (``asyncio.to_thread``) costs 20-200. So each ``a``-method
first runs its call *inline*, on the loop's thread, under `_calls.inline`:
the writer lock is tried exactly once and reads ask the engine not to wait
(its NoWait flag). If the call would have waited, the engine says so before
anything changed (`_calls.WouldWait`) and the whole call runs again in the
loop's default executor with the cache's real ``timeout`` and ``retry``.
What can take long whatever the lock does always runs in a thread:
reading or writing a value kept in a file (values of ``min_file_size`` or
more), ``read=True``, the bulk operations (``clear``, ``cull``, ``evict``,
``expire``, ``check``, ``vacuum``, ``set_many``: a timed-out bulk operation
may have done part of its work, so it can not be retried) and every call
on a cache in network mode (where even reads take a lock).

Transactions: the engine's writer lock belongs to a thread, and every task
of a loop shares the loop's thread. ``async with cache.atransact():``
therefore records the task that opened it: its own calls of the cache run
inline with the lock it holds, while the other tasks' ``a``-calls wait
(without blocking the loop) until the block ends.

This module is imported by _cache.py before `Cache` exists, so it reads
core's names at call time only (``_core.X``).
"""

import asyncio
import contextlib
import functools
import sqlite3
import threading
import time

from . import _binding as _engine
from . import _calls, _ffi
from . import core as _core
from ._cache_scan import _many_keys

__all__ = [
    'AsyncCacheMixin',
    'AsyncFanoutMixin',
    'AsyncIndexMixin',
    'AsyncDequeMixin',
    'memoize_coroutine',
]

# How an awaitable call runs (see _route).
_INLINE = 'inline'  # on the loop's thread, never waiting; a thread if it would
_THREAD = 'thread'  # in a worker thread
_OWNED = 'owned'  # this task holds the cache's async transaction: plain sync call

# Index.apop's "no default given" (core's ENOVAL does not exist yet when
# this module is imported).
_NO_DEFAULT = object()

# Longest pause between two attempts at the writer lock in atransact.
_POLL_MAX = 0.016
_POLL_FIRST = 0.0005


_PYTHON = {}


def _python(name):
    """Cache's Python method ``name``: get, set, delete and incr are C
    method descriptors (_c/fast_method.c) that wait for the lock with the
    cache's own timeout; their Python functions honour _calls.inline."""
    try:
        return _PYTHON[name]
    except KeyError:
        method = getattr(_core.Cache, name)
        found = _PYTHON[name] = getattr(method, '__wrapped__', method)
        return found


# The results of _fast_get when the general path must run: the lookup
# was not (or was already) counted in the statistics.
_SLOW = (False, False)
_SLOW_COUNTED = (False, True)
_BUILTIN_TIME = time.time
# dcg_get flags (capi/diskcache_go.h): never wait; read the clock only
# for an entry with an expire time.
_NOWAIT = _ffi.GET_NOWAIT
_CLOCK_NOW = _ffi.GET_CLOCK_NOW


def _fast_get(cache, key, default):
    """The common ``get`` (an inline value, the stock Disk) in one C call
    that never waits: _ffi.fast_get, whose second attempt (made when the
    first would block) keeps the NoWait flag asked for here. Returns
    ``(True, value)``, or `_SLOW` / `_SLOW_COUNTED` for the general path."""
    fast = cache._fast
    if fast is None or not fast[5] or fast[1] != _ffi.GEN[0] or not _ffi.FASTPATH:
        return _SLOW
    type_key = type(key)
    if type_key is str or type_key is bytes or type_key is int:
        kind, lookup = -1, key
    else:
        kind, lookup = cache._key(key)
    flags = fast[2] | _NOWAIT
    clock = time.time
    if clock is _BUILTIN_TIME:
        now = 0.0
        flags |= _CLOCK_NOW
    else:
        now = clock()  # patched (tests do): the engine must use it
    value = _engine.lookup_nowait(fast[0], lookup, now, flags, default, kind)
    if value is Ellipsis:
        return _SLOW_COUNTED  # a value file, counted as a hit
    if value is NotImplemented:
        return _SLOW  # would block, closed, ...: nothing counted
    return True, value


async def _thread(fn, *args):
    """``fn(*args)`` in the loop's default executor."""
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


class _Txn:
    """An open ``atransact`` of one task on one thread."""

    __slots__ = ('task', 'depth', 'done')

    def __init__(self, task):
        self.task = task
        self.depth = 1
        self.done = asyncio.Event()


def _network(cache):
    """Whether ``cache`` runs in network mode (every read takes a lock),
    remembered per engine handle."""
    memo = cache._aio_mode
    handle = cache._handle
    if memo is not None and handle is not None and memo[0] == handle and memo[1] == _ffi.GEN[0]:
        return memo[2]
    try:
        # Inline: a closed (or forked) handle reopens here, and an open
        # that would wait for the lock must not do it on the loop.
        with _calls.inline():
            mode = cache._mode()
    except _calls.WouldWait:
        return True  # the thread the call goes to reopens it
    network = _core._ENGINE_MODES[mode & _core._MODE_MASK] == 'network'
    cache._aio_mode = (cache._handle, _ffi.GEN[0], network)
    return network


def _route_now(cache):
    """How a call on ``cache`` runs, or None if another task of this thread
    holds the cache's async transaction (then `_route` waits)."""
    txns = cache._aio_txns
    if txns:
        txn = txns.get(threading.get_ident())
        if txn is not None:
            if txn.task is asyncio.current_task():
                return _OWNED
            return None
    return _THREAD if _network(cache) else _INLINE


async def _route(cache):
    """`_route_now`, waiting (on the loop) for other tasks' transactions."""
    while True:
        route = _route_now(cache)
        if route is not None:
            return route
        await cache._aio_txns[threading.get_ident()].done.wait()


_SIZED = (bytes, str, bytearray, memoryview)


def _large(cache, value):
    """Whether storing ``value`` writes a value file (bytes and str of
    ``min_file_size`` or more; a pickle is only known once made)."""
    return type(value) in _SIZED and len(value) >= cache._disk.min_file_size


def _SET(cache, *args):
    """Cache.set's Python function (looked up once Cache exists)."""
    global _SET
    _SET = _python('set')
    return _SET(cache, *args)


class _WholeCacheMixin:
    """The awaitable twins of the calls on the whole cache, which always run
    in a thread (they may walk every entry), through the class's
    ``_aio_thread``: shared by `AsyncCacheMixin` and `AsyncFanoutMixin`."""


    async def aevict(self, tag, retry=False):
        """Awaitable `evict`."""
        return await self._aio_thread('evict', (tag, retry))

    async def aclear(self, retry=False):
        """Awaitable `clear`."""
        return await self._aio_thread('clear', (retry,))

    async def acull(self, retry=False):
        """Awaitable `cull`."""
        return await self._aio_thread('cull', (retry,))

    async def acheck(self, fix=False, retry=False):
        """Awaitable `check`."""
        return await self._aio_thread('check', (fix, retry))

    async def avacuum(self, retry=False):
        """Awaitable `vacuum`."""
        return await self._aio_thread('vacuum', (retry,))

    async def astats(self, enable=True, reset=False):
        """Awaitable `stats`."""
        return await self._aio_thread('stats', (enable, reset))

    async def avolume(self):
        """Awaitable `volume`."""
        return await self._aio_thread('volume', ())

    async def alen(self):
        """Awaitable ``len(cache)``."""
        return await self._aio_thread('__len__', ())


class AsyncCacheMixin(_WholeCacheMixin):
    """The awaitable methods of `Cache` (docs/async.md)."""

    # Per instance once used: thread id -> _Txn of its open atransact; the
    # (handle, fork generation, network mode) last seen.
    _aio_txns = None
    _aio_mode = None

    async def _aio_call(self, name, args, large=False):
        """Run the method ``name`` with ``args``: inline unless ``large``
        or it would wait, else in a thread."""
        route = _route_now(self)
        if route is None:
            route = await _route(self)
        if route is _INLINE and not large:
            state = _calls.STATE
            state.inline = True
            try:
                return _python(name)(self, *args)
            except _calls.WouldWait:
                pass
            finally:
                state.inline = False
        elif route is _OWNED:
            return getattr(self, name)(*args)
        return await _thread(getattr(self, name), *args)

    async def _aio_thread(self, name, args):
        """Run the method ``name`` in a thread (or, inside this task's
        transaction, where only this thread may write: here)."""
        route = _route_now(self)
        if route is None:
            route = await _route(self)
        if route is _OWNED:
            return getattr(self, name)(*args)
        return await _thread(getattr(self, name), *args)

    # -- single items --------------------------------------------------------

    async def aget(self, key, default=None, read=False, expire_time=False, tag=False, retry=False):
        """Awaitable `Cache.get`."""
        counted = False
        if not (read or expire_time or tag or self._aio_txns):
            # First, before any routing: a lookup that never waits (in
            # network mode it answers "would block" at once).
            done, result = _fast_get(self, key, default)
            if done:
                return result
            counted = result
        route = _route_now(self)
        if route is None:
            route = await _route(self)
        if route is _INLINE and not read:
            found = self._aio_inline_item(
                key, 'get', lambda key_enc: self._get_raw(key_enc, time.time(), retry=retry, count=not counted))
            if found is _core.ENOVAL:
                return _engine.pack_default(default, expire_time, tag)
            if found is not None:
                key_enc, (mode, filename, db_value, db_expire, db_tag) = found
                if filename is None:
                    value = self._deserialize((_core._READING, key_enc), mode, None, db_value, False)
                    return _engine.shape(value, db_expire, db_tag, expire_time, tag)
                return await _thread(self._aio_fetch, key_enc, default, expire_time, tag, mode,
                                     filename, db_value, db_expire, db_tag)
        elif route is _OWNED:
            return self.get(key, default, read, expire_time, tag, retry)
        # (_get_general: the general path of get, told whether the lookup
        # above was counted already.)
        return await _thread(functools.partial(self._get_general, key, default, read, expire_time,
                                               tag, retry, not counted))

    def _aio_inline_item(self, key, what, step):
        """``step(key_enc)``, the engine call of a get or pop of ``key``, on
        the loop's thread: None if it would wait (nothing was done), ENOVAL
        if the key is missing, else ``(key_enc, item)``, the item as
        `Cache._item` decodes it."""
        state = _calls.STATE
        state.inline = True
        try:
            key_enc = self._key(key)
            status, bufs = step(key_enc)
        except _calls.WouldWait:
            return None
        finally:
            state.inline = False
        if status == _ffi.NOTFOUND:
            return _core.ENOVAL
        if status != _ffi.OK:
            self._fail(status, bufs, what)
        return key_enc, self._item(bufs)

    def _aio_fetch(self, key_enc, default, expire_time, tag, mode, filename, db_value, db_expire,
                   db_tag):
        """The end of a get whose value is a file (in a thread): as
        `Cache.get`, a file gone meanwhile is a miss."""
        try:
            value = self._deserialize((_core._READING, key_enc), mode, filename, db_value, False)
        except IOError:
            if self.statistics:
                status = self._call(_engine.hit_was_miss)
                if status != _ffi.OK:
                    self._fail(status, None, 'get')
            return _engine.pack_default(default, expire_time, tag)
        return _engine.shape(value, db_expire, db_tag, expire_time, tag)

    async def aset(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Awaitable `Cache.set`."""
        # _aio_call spelt out: the most frequent write saves a coroutine.
        route = _route_now(self)
        if route is None:
            route = await _route(self)
        if route is _INLINE and not read and not _large(self, value):
            state = _calls.STATE
            state.inline = True
            try:
                return _SET(self, key, value, expire, read, tag, retry)
            except _calls.WouldWait:
                pass
            finally:
                state.inline = False
        elif route is _OWNED:
            return self.set(key, value, expire, read, tag, retry)
        return await _thread(functools.partial(self.set, key, value, expire, read, tag, retry))

    async def aadd(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Awaitable `Cache.add`."""
        return await self._aio_call('add', (key, value, expire, read, tag, retry),
                                    read or _large(self, value))

    async def atouch(self, key, expire=None, retry=False):
        """Awaitable `Cache.touch`."""
        return await self._aio_call('touch', (key, expire, retry))

    async def adelete(self, key, retry=False):
        """Awaitable `Cache.delete`."""
        return await self._aio_call('delete', (key, retry))

    async def aincr(self, key, delta=1, default=0, retry=False):
        """Awaitable `Cache.incr`."""
        return await self._aio_call('incr', (key, delta, default, retry))

    async def adecr(self, key, delta=1, default=0, retry=False):
        """Awaitable `Cache.decr`."""
        return await self._aio_call('incr', (key, -delta, default, retry))

    async def apop(self, key, default=None, expire_time=False, tag=False, retry=False):
        """Awaitable `Cache.pop`."""
        route = _route_now(self)
        if route is None:
            route = await _route(self)
        if route is _INLINE:
            found = self._aio_inline_item(
                key, 'pop', lambda key_enc: self._write(_ffi.OP_POP, retry, time.time(), key_enc))
            if found is _core.ENOVAL:
                return _engine.pack_default(default, expire_time, tag)
            if found is not None:
                key_enc, (mode, filename, db_value, db_expire, db_tag) = found
                binding = (_core._REMOVING, key_enc)
                if filename is None:
                    value = self._deserialize(binding, mode, None, db_value, False)
                else:
                    value = await _thread(self._aio_take_file, binding, mode, filename, db_value, True)
                    if value is _core.ENOVAL:
                        return _engine.pack_default(default, expire_time, tag)
                return _engine.shape(value, db_expire, db_tag, expire_time, tag)
        elif route is _OWNED:
            return self.pop(key, default, expire_time, tag, retry)
        return await _thread(self.pop, key, default, expire_time, tag, retry)

    def _aio_take_file(self, binding, mode, filename, db_value, remove):
        """Read an item's value file (in a thread), removing it if
        ``remove``; ENOVAL if it is gone."""
        try:
            return self._deserialize(binding, mode, filename, db_value, False)
        except IOError:
            return _core.ENOVAL
        finally:
            if remove:
                self._disk.remove(filename)

    async def aread(self, key, retry=False):
        """Awaitable `Cache.read` (always in a thread: it opens a file)."""
        return await self._aio_thread('read', (key, retry))

    async def acontains(self, key):
        """Awaitable ``key in cache``."""
        route = _route_now(self)
        if route is None:
            route = await _route(self)
        if route is _INLINE:
            state = _calls.STATE
            state.inline = True
            try:
                status, bufs = self._read(self._key(key), time.time(), 0)
            except _calls.WouldWait:
                status = None
            finally:
                state.inline = False
            if status == _ffi.OK:
                return True
            if status == _ffi.NOTFOUND:
                return False
            if status is not None:
                self._fail(status, bufs, 'contains')
        elif route is _OWNED:
            return key in self
        return await _thread(self.__contains__, key)

    async def aexists(self, key):
        """Awaitable `Cache.exists`."""
        return await self.acontains(key)

    async def aget_many(self, keys, retry=False):
        """Awaitable `Cache.get_many` (each lookup an `aget`)."""
        keys = _many_keys(keys)
        found = {}
        for key in keys:
            value = await self.aget(key, _core.ENOVAL, retry=retry)
            if value is not _core.ENOVAL:
                found[key] = value
        return found

    async def aset_many(self, items, expire=None, tag=None, retry=False):
        """Awaitable `Cache.set_many` (in a thread: one transaction of
        many writes)."""
        return await self._aio_thread('set_many', (items, expire, tag, retry))

    # -- queues --------------------------------------------------------------

    async def apush(self, value, prefix=None, side='back', expire=None, read=False, tag=None,
                    retry=False):
        """Awaitable `Cache.push`."""
        return await self._aio_call('push', (value, prefix, side, expire, read, tag, retry),
                                    read or _large(self, value))

    async def _aio_end_item(self, name, op_code, flags, prefix, default, expire_time, tag, retry,
                            remove):
        """pull, peek (and, with ``name`` 'peekitem', peekitem) inline, the
        value file in a thread; as Cache._end_item, an item whose file is
        gone is passed over."""
        packed = _engine.pack_default(default, expire_time, tag)
        while True:
            route = _route_now(self)
            if route is None:
                route = await _route(self)
            if route is not _INLINE:
                break
            state = _calls.STATE
            state.inline = True
            try:
                status, bufs = self._take(op_code, flags, prefix, retry, name)
            except _calls.WouldWait:
                break
            finally:
                state.inline = False
            if status == _ffi.NOTFOUND:
                if name == 'peekitem':
                    raise KeyError('dictionary is empty')
                return packed
            kind, kbytes = self._item_key(bufs)
            mode, filename, db_value, db_expire, db_tag = self._item(bufs)
            binding = (_core._REMOVING if remove else _core._READING, (kind, kbytes))
            if filename is None:
                value = self._deserialize(binding, mode, None, db_value, False)
            else:
                value = await _thread(self._aio_take_file, binding, mode, filename, db_value, remove)
                if value is _core.ENOVAL:
                    continue
            if name == 'peekitem':
                key = _engine.decode_key(self._disk, kind, kbytes)
            else:
                key = _engine.decode(kind, kbytes)
            return _engine.shape((key, value), db_expire, db_tag, expire_time, tag)
        if name == 'peekitem':
            args = (flags == _ffi.RQ_LAST, expire_time, tag, retry)
        else:
            args = (prefix, default, 'front' if flags & _ffi.RQ_FRONT else 'back', expire_time,
                    tag, retry)
        if route is _OWNED:
            return getattr(self, name)(*args)
        return await _thread(getattr(self, name), *args)

    async def apull(self, prefix=None, default=(None, None), side='front', expire_time=False,
                    tag=False, retry=False):
        """Awaitable `Cache.pull`."""
        flags = {'front': _ffi.RQ_FRONT, 'back': 0}[side]
        return await self._aio_end_item('pull', _ffi.OP_PULL, flags, prefix, default, expire_time,
                                        tag, retry, True)

    async def apeek(self, prefix=None, default=(None, None), side='front', expire_time=False,
                    tag=False, retry=False):
        """Awaitable `Cache.peek`."""
        flags = {'front': _ffi.RQ_FRONT, 'back': 0}[side]
        return await self._aio_end_item('peek', _ffi.OP_PEEK, flags, prefix, default, expire_time,
                                        tag, retry, False)

    async def apeekitem(self, last=True, expire_time=False, tag=False, retry=False):
        """Awaitable `Cache.peekitem`."""
        return await self._aio_end_item('peekitem', _ffi.OP_PEEKITEM, _ffi.RQ_LAST if last else 0,
                                        None, None, expire_time, tag, retry, False)

    # -- the whole cache (always in a thread) ----------------------------------

    async def aexpire(self, now=None, retry=False):
        """Awaitable `Cache.expire`."""
        return await self._aio_thread('expire', (now, retry))

    # -- transactions --------------------------------------------------------

    @contextlib.asynccontextmanager
    async def atransact(self, retry=False):
        """Async context manager holding the writer lock for a block of
        calls by the task that entered it.

        The lock is tried without waiting, between pauses on the loop (up to
        ``timeout`` seconds, or for ever with ``retry``). Inside the block
        the task's calls of this cache (sync or ``a``-methods) join the
        transaction; other tasks' ``a``-calls of the cache wait for the
        block to end (their sync calls would join it: keep them out). An
        exception rolls it back. Blocks nest.

        :raises Timeout: if the lock could not be taken within ``timeout``
        """
        tid = threading.get_ident()
        task = asyncio.current_task()
        while True:
            txns = self._aio_txns
            txn = None if txns is None else txns.get(tid)
            if txn is None:
                break
            if txn.task is task:
                txn.depth += 1
                try:
                    with self._locked(retry):
                        yield
                finally:
                    txn.depth -= 1
                return
            await txn.done.wait()
        loop = asyncio.get_running_loop()
        limit = self._timeout_seconds(retry, call=False)
        deadline = None if limit < 0 else loop.time() + limit
        pause = _POLL_FIRST
        while True:
            # Another task may have opened one while this one slept.
            txn = None if self._aio_txns is None else self._aio_txns.get(tid)
            if txn is not None:
                await txn.done.wait()
                continue
            held = self._locked(retry)
            try:
                with _calls.inline():
                    held.__enter__()
            except _calls.WouldWait:
                if deadline is not None and loop.time() >= deadline:
                    raise _core.Timeout from None
                await asyncio.sleep(pause)
                pause = min(pause * 2, _POLL_MAX)
                continue
            break
        if self._aio_txns is None:
            self._aio_txns = {}
        txn = _Txn(task)
        self._aio_txns[tid] = txn
        try:
            yield
        except BaseException as error:
            # Forget the transaction before it ends: nothing can run on this
            # thread in between, and a transaction another loop thread
            # begins next has its own entry.
            del self._aio_txns[tid]
            txn.done.set()
            if not held.__exit__(type(error), error, error.__traceback__):
                raise
        else:
            del self._aio_txns[tid]
            txn.done.set()
            held.__exit__(None, None, None)


class AsyncFanoutMixin(_WholeCacheMixin):
    """The awaitable methods of `FanoutCache`: each single-key method is
    its shard's, with FanoutCache's handling of a timed-out lock."""

    async def aset(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Awaitable `FanoutCache.set`."""
        try:
            return await self._shard(key).aset(key, value, expire, read, tag, retry)
        except _core.Timeout:
            return False

    async def aadd(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Awaitable `FanoutCache.add`."""
        try:
            return await self._shard(key).aadd(key, value, expire, read, tag, retry)
        except _core.Timeout:
            return False

    async def atouch(self, key, expire=None, retry=False):
        """Awaitable `FanoutCache.touch`."""
        try:
            return await self._shard(key).atouch(key, expire, retry)
        except _core.Timeout:
            return False

    async def adelete(self, key, retry=False):
        """Awaitable `FanoutCache.delete`."""
        try:
            return await self._shard(key).adelete(key, retry)
        except _core.Timeout:
            return False

    async def aincr(self, key, delta=1, default=0, retry=False):
        """Awaitable `FanoutCache.incr`."""
        try:
            return await self._shard(key).aincr(key, delta, default, retry)
        except _core.Timeout:
            return None

    async def adecr(self, key, delta=1, default=0, retry=False):
        """Awaitable `FanoutCache.decr`."""
        try:
            return await self._shard(key).adecr(key, delta, default, retry)
        except _core.Timeout:
            return None

    async def aget(self, key, default=None, read=False, expire_time=False, tag=False, retry=False):
        """Awaitable `FanoutCache.get`."""
        try:
            return await self._shard(key).aget(key, default, read, expire_time, tag, retry)
        except (_core.Timeout, sqlite3.OperationalError):
            return default

    async def apop(self, key, default=None, expire_time=False, tag=False, retry=False):
        """Awaitable `FanoutCache.pop`."""
        try:
            return await self._shard(key).apop(key, default, expire_time, tag, retry)
        except _core.Timeout:
            return default

    async def aread(self, key):
        """Awaitable `FanoutCache.read`."""
        handle = await self.aget(key, default=_core.ENOVAL, read=True, retry=True)
        if handle is _core.ENOVAL:
            raise KeyError(key)
        return handle

    async def acontains(self, key):
        """Awaitable ``key in cache``."""
        return await self._shard(key).acontains(key)

    async def aexists(self, key):
        """Awaitable `FanoutCache.exists`."""
        return await self._shard(key).acontains(key)

    async def _aio_thread(self, name, args):
        """Run the method ``name`` in a thread, once no other task of this
        thread holds a shard's async transaction."""
        return await self._aio_thread_call(functools.partial(getattr(self, name), *args))

    async def _aio_thread_call(self, call):
        for shard in self._shards:
            if _route_now(shard) is _OWNED:
                # This task's own transaction: only this thread may write.
                return call()
            await _route(shard)
        return await _thread(call)

    async def aexpire(self, retry=False, *, now=None):
        """Awaitable `FanoutCache.expire`."""
        return await self._aio_thread_call(functools.partial(self.expire, retry, now=now))

    @contextlib.asynccontextmanager
    async def atransact(self, retry=True):
        """Async `FanoutCache.transact`: every shard's `atransact`, in shard
        order.

        :raises AssertionError: if ``retry`` is false
        """
        assert retry, 'retry must be True in FanoutCache'
        async with contextlib.AsyncExitStack() as stack:
            for shard in self._shards:
                await stack.enter_async_context(shard.atransact(retry=True))
            yield


async def _off_loop(cache, fn, *args):
    """``fn(*args)``, a call that may wait or take long, in a thread; or
    here, inside this task's async transaction of ``cache`` (only this
    thread may write then)."""
    route = _route_now(cache)
    if route is None:
        route = await _route(cache)
    if route is _OWNED:
        return fn(*args)
    return await _thread(fn, *args)


async def _inline_first(cache, fn, *args):
    """``fn(*args)``, a call whose first step takes the writer lock (a
    ``transact`` block), inline; in a thread if the lock is busy."""
    route = _route_now(cache)
    if route is None:
        route = await _route(cache)
    if route is _INLINE:
        with _calls.inline():
            try:
                return fn(*args)
            except _calls.WouldWait:
                pass
    elif route is _OWNED:
        return fn(*args)
    return await _thread(fn, *args)


class AsyncIndexMixin:
    """The awaitable methods of `Index`, each its cache's (``retry=True``
    throughout, as Index's own methods)."""

    async def aget(self, key, default=None):
        """Awaitable ``index.get(key, default)``."""
        return await self._cache.aget(key, default, retry=True)

    async def agetitem(self, key):
        """Awaitable ``index[key]``.

        :raises KeyError: if ``key`` is missing
        """
        value = await self._cache.aget(key, _core.ENOVAL, retry=True)
        if value is _core.ENOVAL:
            raise KeyError(key)
        return value

    async def asetitem(self, key, value):
        """Awaitable ``index[key] = value``."""
        await self._cache.aset(key, value, retry=True)

    async def adelitem(self, key):
        """Awaitable ``del index[key]``.

        :raises KeyError: if ``key`` is missing
        """
        if not await self._cache.adelete(key, retry=True):
            raise KeyError(key)

    async def acontains(self, key):
        """Awaitable ``key in index``."""
        return await self._cache.acontains(key)

    async def alen(self):
        """Awaitable ``len(index)``."""
        return await self._cache.alen()

    async def asetdefault(self, key, default=None):
        """Awaitable `Index.setdefault`."""
        cache = self._cache
        while True:
            value = await cache.aget(key, _core.ENOVAL, retry=True)
            if value is not _core.ENOVAL:
                return value
            await cache.aadd(key, default, retry=True)

    async def apop(self, key, default=_NO_DEFAULT):
        """Awaitable `Index.pop`.

        :raises KeyError: if ``key`` is missing and no default is given
        """
        if default is _NO_DEFAULT:
            default = _core.ENOVAL
        value = await self._cache.apop(key, default=default, retry=True)
        if value is _core.ENOVAL:
            raise KeyError(key)
        return value

    async def apeekitem(self, last=True):
        """Awaitable `Index.peekitem`."""
        return await self._cache.apeekitem(last, retry=True)

    async def apopitem(self, last=True):
        """Awaitable `Index.popitem` (one transaction: in a thread)."""
        return await _off_loop(self._cache, self.popitem, last)

    async def apush(self, value, prefix=None, side='back'):
        """Awaitable `Index.push`."""
        return await self._cache.apush(value, prefix, side, retry=True)

    async def apull(self, prefix=None, default=(None, None), side='front'):
        """Awaitable `Index.pull`."""
        return await self._cache.apull(prefix, default, side, retry=True)

    async def aclear(self):
        """Awaitable `Index.clear`."""
        await self._cache.aclear(retry=True)

    def atransact(self):
        """Async `Index.transact` (see `Cache.atransact`)."""
        return self._cache.atransact(retry=True)


class AsyncDequeMixin:
    """The awaitable methods of `Deque`."""

    async def aappend(self, value):
        """Awaitable `Deque.append`."""
        if _large(self._cache, value):
            return await _off_loop(self._cache, self.append, value)
        return await _inline_first(self._cache, self.append, value)

    async def aappendleft(self, value):
        """Awaitable `Deque.appendleft`."""
        if _large(self._cache, value):
            return await _off_loop(self._cache, self.appendleft, value)
        return await _inline_first(self._cache, self.appendleft, value)

    async def aextend(self, iterable):
        """Awaitable `Deque.extend`."""
        for value in iterable:
            await self.aappend(value)

    async def aextendleft(self, iterable):
        """Awaitable `Deque.extendleft`."""
        for value in iterable:
            await self.aappendleft(value)

    async def _aio_take(self, name, side, verb):
        _, value = await getattr(self._cache, name)(default=(None, _core.ENOVAL), side=side, retry=True)
        if value is _core.ENOVAL:
            raise IndexError('%s from an empty deque' % verb)
        return value

    async def apop(self):
        """Awaitable `Deque.pop`."""
        return await self._aio_take('apull', 'back', 'pop')

    async def apopleft(self):
        """Awaitable `Deque.popleft`."""
        return await self._aio_take('apull', 'front', 'pop')

    async def apeek(self):
        """Awaitable `Deque.peek`."""
        return await self._aio_take('apeek', 'back', 'peek')

    async def apeekleft(self):
        """Awaitable `Deque.peekleft`."""
        return await self._aio_take('apeek', 'front', 'peek')

    async def alen(self):
        """Awaitable ``len(deque)``."""
        return await self._cache.alen()

    async def aclear(self):
        """Awaitable `Deque.clear`."""
        await self._cache.aclear(retry=True)

    async def agetitem(self, index):
        """Awaitable ``deque[index]`` (a walk of the keys: in a thread)."""
        return await _off_loop(self._cache, self.__getitem__, index)

    async def asetitem(self, index, value):
        """Awaitable ``deque[index] = value`` (in a thread)."""
        return await _off_loop(self._cache, self.__setitem__, index, value)

    async def adelitem(self, index):
        """Awaitable ``del deque[index]`` (in a thread)."""
        return await _off_loop(self._cache, self.__delitem__, index)

    async def aremove(self, value):
        """Awaitable `Deque.remove` (in a thread)."""
        return await _off_loop(self._cache, self.remove, value)

    async def arotate(self, steps=1):
        """Awaitable `Deque.rotate` (in a thread)."""
        return await _off_loop(self._cache, self.rotate, steps)

    async def areverse(self):
        """Awaitable `Deque.reverse` (in a thread)."""
        return await _off_loop(self._cache, self.reverse)

    def atransact(self):
        """Async `Deque.transact` (see `Cache.atransact`)."""
        return self._cache.atransact(retry=True)


def memoize_coroutine(func, alookup, astore):
    """The memoize wrapper of an ``async def`` function: the cached value
    is the awaited result. Concurrent calls of one missing key on one event
    loop await a single computation (the first caller's); the caller sets
    ``wrapper.__cache_key__``.

    :param alookup: ``await alookup(key)`` gives the value or ENOVAL
    :param astore: ``await astore(key, result)`` stores a result
    """
    pending = {}  # (loop, key) -> future of the computation in progress

    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        key = wrapper.__cache_key__(*args, **kwargs)
        result = await alookup(key)
        if result is not _core.ENOVAL:
            return result
        try:
            slot = (asyncio.get_running_loop(), key)
            hash(slot)
        except TypeError:
            # An unhashable argument (the cache only needs it to pickle):
            # no sharing of the computation.
            slot = None
        while slot is not None and slot in pending:
            future = pending[slot]
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                if not future.cancelled():
                    raise
                # The computing call was cancelled: compute here.
        future = None
        if slot is not None:
            future = pending[slot] = asyncio.get_running_loop().create_future()
        try:
            result = await func(*args, **kwargs)
            await astore(key, result)
        except asyncio.CancelledError:
            if future is not None:
                future.cancel()
            raise
        except BaseException as error:
            if future is not None:
                future.set_exception(error)
                future.exception()  # retrieved: no "never retrieved" log
            raise
        else:
            if future is not None:
                future.set_result(result)
            return result
        finally:
            if slot is not None and pending.get(slot) is future:
                del pending[slot]

    return wrapper
