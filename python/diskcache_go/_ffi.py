"""Loading the engine library, and the numbers of its ABI.

The compiled cffi extension ``_dcg`` (built by ``_ffi_build.py`` from
``_c/*.c``) holds a pointer per export of the Go library; this module loads
the library into it, reads the ABI's constants and layouts back from it
(they are defined in ``capi/diskcache_go.h``), owns the per-thread result
buffers and maps status codes to exceptions. The calls themselves are made
by ``_binding.py``, the engine binding, and by the C fast path.
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

# Every number and layout of the ABI comes from capi/diskcache_go.h, read
# back from the compiled extension: changing one there and rebuilding is
# all a change needs (python/tests/test_abi.py checks every name below
# against the header).
ABI_VERSION = _C.DCG_ABI_VERSION

# The library's file name by platform, as the build names it. It is loaded
# by its full path (on Windows with LOAD_WITH_ALTERED_SEARCH_PATH, _c/library.c),
# and Go's DLL needs only system DLLs: no os.add_dll_directory is needed.
LIBNAME = library_filename()

LIBPATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBNAME)

# Status codes.
OK = _C.DCG_OK
NOTFOUND = _C.DCG_NOTFOUND
EXISTS = _C.DCG_EXISTS
TIMEOUT = _C.DCG_TIMEOUT
CLOSED = _C.DCG_CLOSED
CORRUPT = _C.DCG_CORRUPT
INVALID = _C.DCG_INVALID
FULL = _C.DCG_FULL
PERMISSION = _C.DCG_PERMISSION
NOTNUMERIC = _C.DCG_NOTNUMERIC
OVERFLOW = _C.DCG_OVERFLOW
SHORTBUF = _C.DCG_SHORTBUF
NOTOWNER = _C.DCG_NOTOWNER
IO = _C.DCG_IO
PANIC = _C.DCG_PANIC
WOULDBLOCK = _C.DCG_WOULDBLOCK

# Kinds of keys, values and tags.
K_NULL = _C.DCG_KIND_NULL
K_INT = _C.DCG_KIND_INT
K_FLOAT = _C.DCG_KIND_FLOAT
K_TEXT = _C.DCG_KIND_TEXT
K_BLOB = _C.DCG_KIND_BLOB
K_PICKLE = _C.DCG_KIND_PICKLE

# Value modes (python-diskcache's MODE_* numbers).
MODE_NONE = _C.DCG_VALUE_NONE
MODE_RAW = _C.DCG_VALUE_RAW
MODE_BINARY = _C.DCG_VALUE_BINARY
MODE_TEXT = _C.DCG_VALUE_TEXT
MODE_PICKLE = _C.DCG_VALUE_PICKLE

# Write operations.
OP_SET = _C.DCG_OP_SET
OP_ADD = _C.DCG_OP_ADD
OP_DELETE = _C.DCG_OP_DELETE
OP_POP = _C.DCG_OP_POP
OP_TOUCH = _C.DCG_OP_TOUCH
OP_INCR = _C.DCG_OP_INCR
OP_EXPIRE = _C.DCG_OP_EXPIRE
OP_EVICT = _C.DCG_OP_EVICT
OP_CLEAR = _C.DCG_OP_CLEAR
OP_CULL = _C.DCG_OP_CULL
OP_BEGIN = _C.DCG_OP_BEGIN
OP_END = _C.DCG_OP_END
OP_GET = _C.DCG_OP_GET
OP_PUSH = _C.DCG_OP_PUSH
OP_PULL = _C.DCG_OP_PULL
OP_PEEK = _C.DCG_OP_PEEK
OP_PEEKITEM = _C.DCG_OP_PEEKITEM
OP_COMPACT = _C.DCG_OP_COMPACT

# Request flags.
RQ_EXPIRE = _C.DCG_RQ_EXPIRE
RQ_TAG = _C.DCG_RQ_TAG
RQ_DEFAULT = _C.DCG_RQ_DEFAULT
RQ_COMMIT = _C.DCG_RQ_COMMIT
RQ_STATS = _C.DCG_RQ_STATS
RQ_FRONT = _C.DCG_RQ_FRONT
RQ_LAST = _C.DCG_RQ_LAST
RQ_PREFIX = _C.DCG_RQ_PREFIX

# dcg_get flags.
GET_COUNT = _C.DCG_GET_COUNT
GET_NOWAIT = _C.DCG_GET_NOWAIT
GET_CLOCK_NOW = _C.DCG_GET_CLOCK_NOW

# dcg_open flags and what dcg_mode reports.
OPEN_SYNC = _C.DCG_OPEN_SYNC
OPEN_NETWORK = _C.DCG_OPEN_NETWORK
OPEN_LOCAL = _C.DCG_OPEN_LOCAL
MODE_SHARED = _C.DCG_MODE_SHARED
MODE_ORDERED = _C.DCG_MODE_ORDERED
MODE_NETWORK = _C.DCG_MODE_NETWORK
MODE_WAS_RESET = _C.DCG_MODE_WAS_RESET

# Policies, by python-diskcache's names.
POLICIES = {
    'least-recently-stored': _C.DCG_LEAST_RECENTLY_STORED,
    'least-recently-used': _C.DCG_LEAST_RECENTLY_USED,
    'least-frequently-used': _C.DCG_LEAST_FREQUENTLY_USED,
    'none': _C.DCG_NONE,
}

# The fields of a result header's kinds.
KIND_MASK = _C.DCG_KINDS_KIND_MASK
KINDS_MODE_SHIFT = _C.DCG_KINDS_MODE_SHIFT
KINDS_TAG_SHIFT = _C.DCG_KINDS_TAG_SHIFT
KINDS_KEY_SHIFT = _C.DCG_KINDS_KEY_SHIFT
HAS_TAG = _C.DCG_KINDS_HAS_TAG
HAS_EXPIRE = _C.DCG_KINDS_HAS_EXPIRE
# Set in an item's kinds, and in the first field of a key listing, once the
# handle has read a segment another user could have written.
OTHERS_WROTE = _C.DCG_KIND_OTHERS_WROTE


def _layout(struct_name, fields):
    """A little-endian ``struct.Struct`` for the C struct ``struct_name``,
    with its fields in the header's order, checked against the compiled
    layout: no padding, every field where the compiler put it."""
    codes = {('primitive', 'uint64_t'): 'Q', ('primitive', 'int64_t'): 'q', ('primitive', 'double'): 'd',
             ('primitive', 'uint32_t'): 'I', ('primitive', 'uint8_t'): 'B'}
    ctype = ffi.typeof(struct_name)
    names = [name for name, _ in ctype.fields]
    if names != list(fields):
        raise ImportError('diskcache_go: %s has fields %s, this module packs %s'
                          % (struct_name, names, list(fields)))
    fmt = '<'
    for name, field in ctype.fields:
        fmt += codes[(field.type.kind, field.type.cname)]
        if struct.calcsize(fmt) != field.offset + ffi.sizeof(field.type):
            raise ImportError('diskcache_go: %s.%s is not where a packed layout puts it' % (struct_name, name))
    if struct.calcsize(fmt) != ffi.sizeof(struct_name):
        raise ImportError('diskcache_go: %s has padding at its end' % struct_name)
    return struct.Struct(fmt)


# Request header (then the key, value, tag and file name bytes).
REQ = _layout('struct dcg_request', ('owner', 'timeout', 'now', 'expire', 'size', 'flags', 'key_kind',
                                     'value_kind', 'mode', 'tag_kind', 'key_len', 'value_len', 'tag_len',
                                     'file_len'))
# Result header: kinds, vlen, tlen, flen, expire, aux, aux2, msglen.
OUT = _layout('struct dcg_result', ('kinds', 'value_len', 'tag_len', 'file_len', 'expire', 'aux', 'aux2',
                                    'msg_len'))
# Keys result header: the same 64 bytes read as integers (count in aux,
# the cursor's entry id in aux2, its rowid in expire's place).
KEYS = struct.Struct(OUT.format.replace('d', 'q'))
OUT_DATA = _C.DCG_RESULT_DATA
INT8 = struct.Struct('<q')
FLOAT8 = struct.Struct('<d')

BUFSIZE = 1 << 16

INFO_FIELDS = _C.DCG_INFO_FIELDS


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
# The C method descriptor (_c/fast_method.c) becomes fast_method, the C get's
# lookup for the awaitable get fast_get (_binding.lookup_nowait), and the C
# reader of value files _read_file (_binding.read_file).
_read_file = None
if _C.dcg_fast_register(__name__.encode('ascii')) != 0:
    raise ImportError('diskcache_go could not install its fast path (see the error above)')
# DISKCACHE_GO_NO_FASTPATH=1 (read once, at import) keeps Cache.get, set,
# delete and incr the Python methods, the general path: for comparing the
# two (python/tests/test_fastpath_switch.py) and for ruling the fast path
# out when something looks wrong.
FASTPATH = os.environ.get('DISKCACHE_GO_NO_FASTPATH', '') in ('', '0')
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


# Only where processes fork (not on Windows, which has neither os.fork nor
# os.register_at_fork, and where dcg_fds would list HANDLEs, which os.close
# must never be given).
if hasattr(os, 'fork') and hasattr(os, 'register_at_fork'):
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
