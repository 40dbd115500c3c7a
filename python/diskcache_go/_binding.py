"""The engine binding: every call into the library, and every request and
result it packs or reads.

``Cache`` speaks to the engine only through this module: it hands over
encoded keys and values (``(kind, bytes)`` pairs, made by the encoders
below) and gets back statuses and result buffers. ``_ffi`` loads the
library and holds the numbers of the ABI (taken from the compiled
extension, which takes them from ``capi/diskcache_go.h``); the C fast path
(``_c/``) packs the same requests for the common calls, and
``install_fast_path`` puts it in place of the Python methods.

A call that finds its handle closed by another thread returns
``_ffi.CLOSED``; reopening is the caller's (``Cache._call``), since only it
knows how.
"""

import errno
import os
import pickle
import sqlite3
import struct
import threading

from . import _ffi

_INT64_MIN = -9223372036854775808
_INT64_MAX = 9223372036854775807

_pack_q = _ffi.INT8.pack
_pack_d = _ffi.FLOAT8.pack
_U32 = struct.Struct('<I')

# The (kind, bytes) of no key, value or tag.
NOTHING = (_ffi.K_NULL, b'')


# -- encoding between Python's stored forms and the engine's typed bytes --

def encode_key(db_key, raw):
    """Return (kind, bytes) of a stored key (what ``Disk.put`` returned)."""
    t = type(db_key)
    if not raw:
        return _ffi.K_PICKLE, bytes(db_key)
    if t is str:
        return _ffi.K_TEXT, db_key.encode('utf-8')
    if t is int:
        return _ffi.K_INT, _pack_q(db_key)
    if t is float:
        if db_key != db_key:
            # SQLite stores NaN as NULL, which equals nothing.
            return NOTHING
        return _ffi.K_FLOAT, _pack_d(db_key)
    if t is bytes or t is memoryview or t is bytearray:
        return _ffi.K_BLOB, bytes(db_key)
    return bind_error(db_key)


def encode_value(value):
    """Return (kind, bytes) of an inline stored value (or of a tag)."""
    t = type(value)
    if value is None:
        return NOTHING
    if t is int or t is bool:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise OverflowError('Python int too large to convert to SQLite INTEGER')
        return _ffi.K_INT, _pack_q(value)
    if t is float:
        if value != value:
            return NOTHING
        return _ffi.K_FLOAT, _pack_d(value)
    if t is str:
        return _ffi.K_TEXT, value.encode('utf-8')
    if t is bytes or t is memoryview or t is bytearray:
        return _ffi.K_BLOB, bytes(value)
    return bind_error(value)


def encode_number(value):
    """(kind, bytes) of an incr operand: as encode_value, but a NaN stays
    a float (the engine stores a NaN result as NULL, as SQLite does)."""
    if type(value) is float:
        return _ffi.K_FLOAT, _pack_d(value)
    return encode_value(value)


def bind_error(value):
    """Raise what sqlite3 raises for a value it can not store."""
    raise sqlite3.InterfaceError(
        'Error binding parameter - probably unsupported type: %r' % type(value).__name__
    )


def decode(kind, data):
    """Inverse of encode_value (BLOBs come back as bytes, as sqlite3 returns them)."""
    if kind == _ffi.K_TEXT:
        return data.decode('utf-8')
    if kind == _ffi.K_INT:
        return _ffi.INT8.unpack(data)[0]
    if kind == _ffi.K_FLOAT:
        return _ffi.FLOAT8.unpack(data)[0]
    if kind == _ffi.K_NULL:
        return None
    return data


def decode_key(disk, kind, data):
    """The Python key of an engine key, through ``disk.get``."""
    if kind == _ffi.K_PICKLE:
        return disk.get(data, False)
    return disk.get(decode(kind, data), True)


# -- result headers --------------------------------------------------------

def item(bufs):
    """The item a get, pop, pull or peek left in ``bufs``: (kinds, mode,
    file name, stored value, expire time or None, tag or None), the file
    name and value as the engine returned them (raw bytes and decoded)."""
    kinds, vlen, tlen, flen, expire, _size, _aux2, _ = _ffi.OUT.unpack_from(bufs.data)
    view = bufs.view
    p = _ffi.OUT_DATA
    vkind = kinds & _ffi.KIND_MASK
    mode = (kinds >> _ffi.KINDS_MODE_SHIFT) & _ffi.KIND_MASK
    db_value = decode(vkind, bytes(view[p:p + vlen])) if vkind != _ffi.K_NULL else None
    p += vlen
    db_tag = None
    if kinds & _ffi.HAS_TAG:
        db_tag = decode((kinds >> _ffi.KINDS_TAG_SHIFT) & _ffi.KIND_MASK, bytes(view[p:p + tlen]))
    p += tlen
    filename = bytes(view[p:p + flen]).decode('utf-8', 'surrogateescape') if flen else None
    db_expire = expire if kinds & _ffi.HAS_EXPIRE else None
    return kinds, mode, filename, db_value, db_expire, db_tag


def pushed_key(bufs):
    """The (kind, bytes) key a push made, which it leaves right after the
    header (the header's other lengths are not set)."""
    kinds, _, _, _, _, _, klen, _ = _ffi.KEYS.unpack_from(bufs.data)
    return (kinds >> _ffi.KINDS_KEY_SHIFT) & 0xF, bytes(bufs.view[_ffi.OUT_DATA:_ffi.OUT_DATA + klen])


def item_key(bufs):
    """The (kind, bytes) key of the item a pull or peek left in ``bufs``."""
    kinds, vlen, tlen, flen, _, _, klen, _ = _ffi.KEYS.unpack_from(bufs.data)
    p = _ffi.OUT_DATA + vlen + tlen + flen
    return (kinds >> _ffi.KINDS_KEY_SHIFT) & 0xF, bytes(bufs.view[p:p + klen])


def number(bufs):
    """The number an incr left in ``bufs``."""
    kind = _ffi.OUT.unpack_from(bufs.data)[0] & _ffi.KIND_MASK
    return decode(kind, bytes(bufs.view[_ffi.OUT_DATA:_ffi.OUT_DATA + 8]))


def count(bufs):
    """The count a bulk operation left in ``bufs`` (also on a timeout)."""
    return _ffi.OUT.unpack_from(bufs.data)[5]


def _parse_keys(data, n):
    """The (kind, bytes) keys a listing call left after the header."""
    keys = []
    p = _ffi.OUT_DATA
    for _ in range(n):
        length = int.from_bytes(data[p:p + 4], 'little')
        kind = data[p + 4]
        p += 8
        keys.append((kind, bytes(data[p:p + length])))
        p += length
    return keys


# -- the shapes of results ----------------------------------------------------

def pack_default(default, expire_time, tag):
    """``default`` in the shape a lookup with these flags returns."""
    if expire_time and tag:
        return default, None, None
    if expire_time or tag:
        return default, None
    return default


def shape(value, db_expire, db_tag, expire_time, tag):
    """A lookup's result: the value, with the expire time and tag asked for."""
    if expire_time and tag:
        return value, db_expire, db_tag
    if expire_time:
        return value, db_expire
    if tag:
        return value, db_tag
    return value


# -- the calls ---------------------------------------------------------------

def open_cache(directory, size_limit, cull_limit, policy, timeout, file_mode, dir_mode, flags,
               compress_above):
    """Open the cache in ``directory``: (status, handle or None, buffers)."""
    handle = _ffi.ffi.new('uint64_t *')
    bufs = _ffi.buffers()
    path = directory.encode('utf-8', 'surrogateescape')
    status = _ffi.lib().dcg_open(path, len(path), size_limit, cull_limit, policy, timeout, file_mode,
                                 dir_mode, flags, compress_above, handle, bufs.ptr, bufs.size)
    return status, (handle[0] if status == _ffi.OK else None), bufs


def close(handle):
    """Close ``handle`` (waits for its calls in flight)."""
    return _ffi.lib().dcg_close(handle)


def mode(handle):
    """The handle's DCG_MODE_* (with MODE_WAS_RESET), or -CLOSED."""
    return _ffi.lib().dcg_mode(handle)


def repair_note(handle):
    """What the last rebuild of the index found, or ''."""
    note = _ffi.ffi.new('char[]', 1024)
    if _ffi.lib().dcg_repair_note(handle, note, 1024) != 1:
        return ''
    return _ffi.ffi.string(note).decode('utf-8', 'replace')


def filesystem(handle):
    """The name of the network or FUSE filesystem holding the cache, or
    None on a local one."""
    name = _ffi.ffi.new('char[]', 64)
    if _ffi.lib().dcg_filesystem(handle, name, 64) != 1:
        return None
    return _ffi.ffi.string(name).decode('ascii', 'replace')


def limits(handle, size_limit, cull_limit, policy):
    """Change the limits the handle applies."""
    return _ffi.lib().dcg_limits(handle, size_limit, cull_limit, policy)


def reset_stats(handle):
    """Zero the hit and miss counters."""
    return _ffi.lib().dcg_reset_stats(handle)


def hit_was_miss(handle):
    """Move one hit to the misses (a hit whose value file was gone)."""
    return _ffi.lib().dcg_hit_was_miss(handle)


def request(op_code, timeout, now, key, value, mode, filename, size, tag, expire, flags):
    """A dcg_write request: struct dcg_request, then the bytes."""
    kkind, kbytes = key
    vkind, vbytes = value
    if tag is not None:
        tkind, tbytes = tag
        flags |= _ffi.RQ_TAG
    else:
        tkind, tbytes = NOTHING
    if expire is not None:
        flags |= _ffi.RQ_EXPIRE
    else:
        expire = 0.0
    return _ffi.REQ.pack(
        threading.get_ident(), timeout, now, expire, size, flags,
        kkind, vkind, mode, tkind, len(kbytes), len(vbytes), len(tbytes), len(filename),
    ) + kbytes + vbytes + tbytes + filename


def write(handle, op_code, req):
    """Run the write ``req`` (see request): (status, buffers), the buffers
    grown as the result needs."""
    bufs = _ffi.buffers()
    lib = _ffi.lib()
    while True:
        status = lib.dcg_write(handle, op_code, req, len(req), bufs.ptr, bufs.size)
        if status != _ffi.SHORTBUF:
            return status, bufs
        bufs = _ffi.Buffers(max(_ffi.OUT.unpack_from(bufs.data)[5], 2 * bufs.size))


def get(handle, key, now, flags):
    """The engine's lock-free read of ``key``: (status, buffers)."""
    kkind, kbytes = key
    bufs = _ffi.buffers()
    lib = _ffi.lib()
    while True:
        status = lib.dcg_get(handle, kkind, kbytes, len(kbytes), now, flags, bufs.ptr, bufs.size)
        if status != _ffi.SHORTBUF:
            return status, bufs
        bufs = _ffi.Buffers(max(_ffi.OUT.unpack_from(bufs.data)[5], 2 * bufs.size))


def contains(handle, key, now):
    """OK if ``key`` is present and unexpired at ``now``, else NOTFOUND."""
    kkind, kbytes = key
    return _ffi.lib().dcg_contains(handle, kkind, kbytes, len(kbytes), now)


def info(handle):
    """(status, [count, volume, hits, misses, largest rowid, file bytes])."""
    bufs = _ffi.buffers()
    status = _ffi.lib().dcg_info(handle, bufs.info)
    return status, list(bufs.info)


def keys(handle, cursor, bound, ascending, batch):
    """Up to ``batch`` keys in insertion order after ``cursor`` (an entry
    id and rowid; (0, 0) from the start), below rowid ``bound``: (status,
    buffers, keys, next cursor, whether another user could have written
    the segments read)."""
    size = _ffi.BUFSIZE
    while True:
        bufs = _ffi.Buffers(size)
        status = _ffi.lib().dcg_keys(handle, cursor[0], cursor[1], bound, 0 if ascending else 1, batch,
                                     bufs.ptr, bufs.size)
        if status != _ffi.SHORTBUF:
            break
        size *= 4
    if status != _ffi.OK:
        return status, bufs, [], cursor, False
    others, _, _, _, next_rowid, n, next_id, _ = _ffi.KEYS.unpack_from(bufs.data)
    return status, bufs, _parse_keys(bufs.data, n), (next_id, next_rowid), bool(others & _ffi.OTHERS_WROTE)


def keys_sorted(handle, after, reverse, batch):
    """Up to ``batch`` keys in python-diskcache's iterkeys order after the
    (kind, bytes) key ``after`` (None: from the start): (status, buffers,
    keys, whether another user could have written the segments read)."""
    has_after, (kind, kbytes) = (0, NOTHING) if after is None else (1, after)
    size = _ffi.BUFSIZE
    while True:
        bufs = _ffi.Buffers(size)
        status = _ffi.lib().dcg_keys_sorted(handle, has_after, kind, kbytes, len(kbytes),
                                            1 if reverse else 0, batch, bufs.ptr, bufs.size)
        if status != _ffi.SHORTBUF:
            break
        size *= 4
    if status != _ffi.OK:
        return status, bufs, [], False
    head = _ffi.KEYS.unpack_from(bufs.data)
    return status, bufs, _parse_keys(bufs.data, head[5]), bool(head[0] & _ffi.OTHERS_WROTE)


def check(handle, timeout, fix):
    """Verify (and with ``fix`` repair) the cache: (status, buffers,
    [(warning kind, message)], [value file names the index refers to])."""
    size = _ffi.BUFSIZE
    while True:
        bufs = _ffi.Buffers(size)
        status = _ffi.lib().dcg_check(handle, threading.get_ident(), timeout, 1 if fix else 0,
                                      bufs.ptr, bufs.size)
        if status != _ffi.SHORTBUF:
            break
        size = _ffi.OUT.unpack_from(bufs.data)[5]
    if status != _ffi.OK:
        return status, bufs, [], []
    data = bufs.data
    p = _ffi.OUT_DATA
    found = []
    (n,) = _U32.unpack_from(data, p)
    p += 4
    for _ in range(n):
        (length,) = _U32.unpack_from(data, p + 1)
        found.append((data[p], bytes(data[p + 5:p + 5 + length]).decode('utf-8', 'replace')))
        p += 5 + length
    (n,) = _U32.unpack_from(data, p)
    p += 4
    files = []
    for _ in range(n):
        (length,) = _U32.unpack_from(data, p)
        files.append(bytes(data[p + 4:p + 4 + length]).decode('utf-8', 'surrogateescape'))
        p += 4 + length
    return status, bufs, found, files


def crc32(data, seed=0):
    """CRC-32 of ``data`` (bytes-like) continued from ``seed``, as
    ``zlib.crc32`` computes it, in Go (several times faster here)."""
    if type(data) is not bytes:
        data = _ffi.ffi.from_buffer(data)
    return _ffi.lib().dcg_crc32(seed, data, len(data))


def read_file(path):
    """``(contents, crc32)`` of the file at ``path``, read and checksummed
    piece by piece in C; ``(None, None)`` if it is not a regular file or
    changed size while being read (read it with ``open`` then)."""
    _ffi.lib()  # a forked child's first call loads its own copy of the library
    return _ffi._read_file(path)


def lookup_nowait(handle, key, now, flags, default, kind):
    """The C get's lookup (_c/fast_get.c) for the awaitable get, with
    ``flags`` (which carry GET_NOWAIT) on every attempt: the value, ``default``
    on a miss, Ellipsis for a value file (looked up and counted), or
    NotImplemented for the general path (nothing counted). ``kind`` is -1
    for a str, bytes or int key, else the kind ``key`` is encoded as."""
    return _ffi.fast_get(handle, key, now, flags, default, pickle, kind)


def install_fast_path(cls, time_module, pickle_module):
    """Make ``cls.get``, ``set``, ``delete`` and ``incr`` the C method
    descriptors (_c/fast_method.c), each holding the Python method as its
    general path, unless DISKCACHE_GO_NO_FASTPATH is set (then they stay
    the Python methods)."""
    if not _ffi.FASTPATH:
        return
    cls.get = _ffi.fast_method('get', cls.get, cls._get_general, _ffi.GEN, time_module, pickle_module)
    cls.set = _ffi.fast_method('set', cls.set, cls._fail_out, _ffi.GEN, time_module, pickle_module)
    cls.delete = _ffi.fast_method('delete', cls.delete, cls._fail_out, _ffi.GEN, time_module, pickle_module)
    cls.incr = _ffi.fast_method('incr', cls.incr, cls._fail_out, _ffi.GEN, time_module, pickle_module)


def others_can_write(path):
    """Why an account other than this process's user (and root; SYSTEM and
    Administrators on Windows) could write the file or folder at ``path``,
    or None: the engine's check (owner and mode bits on unix, owner and
    access list on Windows). FileNotFoundError when it is missing."""
    encoded = os.fsencode(path)
    out = _ffi.ffi.new('char[]', 1024)
    status = _ffi.lib().dcg_others_can_write(encoded, len(encoded), out, 1024)
    text = _ffi.ffi.string(out).decode('utf-8', 'replace')
    if status == 0:
        return None
    if status == 1:
        return text
    if status == -_ffi.NOTFOUND:
        raise FileNotFoundError(errno.ENOENT, text, path)
    raise OSError(errno.EIO, text or 'the engine could not check who may write it', path)


def file_lock(path):
    """Wait, however long it takes, for the exclusive lock on the file at
    ``path`` (created if missing) and return its handle for `file_unlock`.
    The engine's lock (github.com/gofrs/flock: flock on POSIX, LockFileEx on
    Windows), which the system releases when its holder dies."""
    encoded = os.fsencode(path)
    handle = _ffi.ffi.new('uint64_t *')
    status = _ffi.lib().dcg_file_lock(encoded, len(encoded), -1.0, handle)
    if status == _ffi.PERMISSION:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
    if status == _ffi.NOTFOUND:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
    if status != _ffi.OK:
        raise OSError(errno.EIO, 'the engine could not lock it (status %d)' % status, path)
    return handle[0]


def file_unlock(handle):
    """Release a lock `file_lock` took."""
    status = _ffi.lib().dcg_file_unlock(handle)
    if status != _ffi.OK:
        raise OSError(errno.EIO, 'the engine could not release file lock %d (status %d)' % (handle, status))
