"""The only module that touches the engine library.

The compiled cffi extension ``_dcg`` (built by ``_ffi_build.py``) holds a
pointer per export of the Go library; this module loads the library into
it, owns the per-thread result buffers and maps status codes to exceptions.
cffi's compiled calls cost a fraction of ctypes' (the engine's reads take
about a microsecond, so the call overhead matters).

Fork safety: the Go runtime's threads do not survive ``fork()``, so a child
must never call into the library its parent loaded. After a fork, the child
closes the descriptors the parent's caches held, bumps ``GEN`` and, on first
use, points the extension at a fresh copy of the library (the same file,
copied into a memfd or a temporary file); caches notice the new generation
and reopen their directory.
"""

import os
import sqlite3
import struct
import tempfile
import threading

from ._build import library_filename

try:
    from ._dcg import ffi, lib as _C
except ImportError as _error:  # pragma: no cover - a broken install
    raise ImportError(
        'diskcache_go could not import its compiled extension (%s); reinstall the '
        'package, or run ./build.sh build in a checkout' % (_error,)
    ) from None

ABI_VERSION = 7

# The library's file name by platform, as the build names it.
LIBNAME = library_filename()

LIBPATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBNAME)

# Status codes (capi/main.go).
OK = 0
NOTFOUND = 1
EXISTS = 2
TIMEOUT = 3
CLOSED = 4
CORRUPT = 5
INVALID = 6
FULL = 7
PERMISSION = 8
NOTNUMERIC = 9
OVERFLOW = 10
SHORTBUF = 11
NOTOWNER = 12
IO = 13
PANIC = 14
WOULDBLOCK = 15

# Kinds (core/kind.go).
K_NULL = 0
K_INT = 1
K_FLOAT = 2
K_TEXT = 3
K_BLOB = 4
K_PICKLE = 5

# Write operations (capi/write.go).
OP_SET = 1
OP_ADD = 2
OP_DELETE = 3
OP_POP = 4
OP_TOUCH = 5
OP_INCR = 6
OP_EXPIRE = 7
OP_EVICT = 8
OP_CLEAR = 9
OP_CULL = 10
OP_BEGIN = 11
OP_END = 12
OP_GET = 13
OP_PUSH = 14
OP_PULL = 15
OP_PEEK = 16
OP_PEEKITEM = 17
OP_COMPACT = 18

# Set in an item's kinds, and in the first field of a key listing, once the
# handle has read a segment another user could have written (capi
# DCG_KIND_OTHERS_WROTE).
OTHERS_WROTE = 1 << 26

RQ_EXPIRE = 1
RQ_TAG = 2
RQ_DEFAULT = 4
RQ_COMMIT = 8
RQ_STATS = 16
RQ_FRONT = 32
RQ_LAST = 64
RQ_PREFIX = 128

# Request header: owner, timeout, now, expire, size, flags, kinds, lengths.
REQ = struct.Struct('<QdddqIBBBBIIII')
# Result header: kinds, vlen, tlen, flen, expire, aux, aux2, msglen.
OUT = struct.Struct('<qqqqdqqq')
# Keys result header: the same 64 bytes read as integers (count in the
# sixth field, the cursor's entry id in the seventh, its rowid in the fifth).
KEYS = struct.Struct('<qqqqqqqq')
OUT_DATA = 64
INT8 = struct.Struct('<q')
FLOAT8 = struct.Struct('<d')

BUFSIZE = 1 << 16

INFO_FIELDS = 6


class Error(sqlite3.OperationalError):
    """A storage failure in diskcache-go.

    It subclasses ``sqlite3.OperationalError`` because that is what
    python-diskcache raises for storage failures, so code that catches it
    keeps working.
    """


class CorruptionError(Error):
    """A cache file failed validation (checksum, magic or structure)."""


class StorageFullError(Error, OSError):
    """The device is full (ENOSPC) or an engine limit was reached.

    Both an `Error` (so a ``sqlite3.OperationalError``, what python-diskcache
    raises for a full database) and an ``OSError`` with ``errno.ENOSPC``
    (what it raises for a full disk while writing a value file).
    """


def _load(path):
    """Point the extension at the library file ``path`` and check its ABI."""
    err = ffi.new('char[]', 512)
    if _C.dcg_load(path.encode('utf-8', 'surrogateescape'), err, 512) != 0:
        raise ImportError(
            'diskcache_go could not load its engine library %s: %s '
            '(reinstall the package, or run ./build.sh build in a checkout)'
            % (path, ffi.string(err).decode('utf-8', 'replace'))
        )
    version = _C.dcg_version()
    if version != ABI_VERSION:
        raise ImportError(
            'diskcache_go engine library %s has ABI version %d, this package needs %d; '
            'reinstall the package' % (path, version, ABI_VERSION)
        )
    return _C


class _Lib:
    """The extension, once the library is loaded into it (None after fork)."""

    lib = _load(LIBPATH)


LIB = _Lib()
# The C fast path of Cache.get (see _ffi_build.FAST_GET) becomes fast_get,
# and the C reader of value files _read_file (read_file below).
_read_file = None
if _C.dcg_fast_register(__name__.encode('ascii')) != 0:
    raise ImportError('diskcache_go could not install its fast path (see the error above)')
# GEN[0] changes in a forked child; caches compare it to reopen. GEN[1] is
# replaced whenever a cache's _fast changes: the C methods keep the last
# instance's _fast while GEN[1] stays the same object (fast_changed).
GEN = [0, object()]


def fast_changed():
    """Tell the C methods that some cache's ``_fast`` was reassigned."""
    GEN[1] = object()


_local = threading.local()
_inherited_fds = []
# A fresh copy per fork generation keeps its file (or memfd) open: the
# dynamic loader maps it, and nothing may reuse the name meanwhile.
_copies = []


def _fresh_copy():
    """Load a private copy of the library, for a forked child."""
    with open(LIBPATH, 'rb') as src:
        data = src.read()
    if hasattr(os, 'memfd_create'):
        fd = os.memfd_create('libdiskcache_go', 0)
        os.write(fd, data)
        _copies.append(fd)
        return _load('/proc/self/fd/%d' % fd)
    tmpdir = tempfile.mkdtemp(prefix='diskcache-go-lib-')
    path = os.path.join(tmpdir, LIBNAME)
    with open(path, 'wb') as dst:
        dst.write(data)
    try:
        return _load(path)
    finally:
        os.unlink(path)
        os.rmdir(tmpdir)


def lib():
    """Return the library usable in this process (reloading after fork)."""
    value = LIB.lib
    if value is None:
        value = LIB.lib = _fresh_copy()
    return value


def crc32(data, seed=0):
    """CRC-32 of ``data`` (bytes-like) continued from ``seed``, as
    ``zlib.crc32`` computes it, in Go (several times faster here)."""
    if type(data) is not bytes:
        data = ffi.from_buffer(data)
    return lib().dcg_crc32(seed, data, len(data))


def read_file(path):
    """``(contents, crc32)`` of the file at ``path``, read and checksummed
    piece by piece in C; ``(None, None)`` if it is not a regular file or
    changed size while being read (read it with ``open`` then)."""
    lib()  # a forked child's first call loads its own copy of the library
    return _read_file(path)


def _before_fork():
    # Ask the parent's runtime which descriptors its caches hold, so the
    # child can close them without calling into that runtime.
    if LIB.lib is None:
        _inherited_fds[:] = []
        return
    arr = ffi.new('int32_t[]', 256)
    n = LIB.lib.dcg_fds(arr, 256)
    _inherited_fds[:] = list(arr[0:min(n, 256)])


def _after_fork_child():
    for fd in _inherited_fds:
        try:
            os.close(fd)
        except OSError:
            pass
    _inherited_fds[:] = []
    LIB.lib = None
    GEN[0] += 1
    _local.__dict__.clear()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_child)


class Buffers:
    """A thread's result buffer, reused by every call from that thread."""

    __slots__ = ('data', 'view', 'ptr', 'size', 'info')

    def __init__(self, size=BUFSIZE):
        self.size = size
        self.data = bytearray(size)
        self.view = memoryview(self.data)
        self.ptr = ffi.from_buffer('char[]', self.data)
        self.info = ffi.new('int64_t[]', INFO_FIELDS)


def buffers():
    """Return the calling thread's buffers."""
    try:
        return _local.bufs
    except AttributeError:
        bufs = _local.bufs = Buffers()
        return bufs


def message(bufs):
    """The error message a call left in the buffer."""
    msglen = OUT.unpack_from(bufs.data)[7]
    return bytes(bufs.view[OUT_DATA:OUT_DATA + msglen]).decode('utf-8', 'replace')


def raise_for(status, bufs, what):
    """Raise the exception for a failure status (never returns)."""
    msg = message(bufs) if bufs is not None else ''
    text = '%s: %s' % (what, msg) if msg else what
    if status == CORRUPT:
        raise CorruptionError(text)
    if status == FULL:
        import errno
        raise StorageFullError(errno.ENOSPC, text)
    if status == PERMISSION:
        import errno
        raise PermissionError(errno.EACCES, text)
    if status == INVALID:
        raise ValueError(text)
    if status == CLOSED:
        raise Error('%s: cache is closed' % what)
    raise Error(text)
