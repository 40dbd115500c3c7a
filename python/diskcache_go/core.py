"""Cache, Disk and the constants of python-diskcache, on the Go engine.

The engine stores typed keys and values and keeps every order, count and
lock; this module keeps python-diskcache's serialization (``Disk``), its
clock (``time.time()``, read here and passed down, so patching it works) and
its API.
"""

import contextlib as cl
import contextvars
import hashlib
import inspect
import hmac
import errno
import functools as ft
import io
import json
import math
import os
import os.path as op
import pickle
import pickletools
import pwd
import re
import sqlite3
import stat
import struct
import tempfile
import threading
import time
import typing
import warnings
import weakref
import zlib

from . import _calls, _ffi
from .aio import AsyncCacheMixin

__all__ = [
    'Cache',
    'Disk',
    'JSONDisk',
    'Timeout',
    'UnknownFileWarning',
    'EmptyDirWarning',
    'DEFAULT_SETTINGS',
    'EVICTION_POLICY',
    'ENOVAL',
    'UNKNOWN',
    'args_to_key',
    'full_name',
]


class Constant(tuple):
    """A named constant, compared by identity (a tuple, as upstream's)."""

    def __new__(cls, name):
        return tuple.__new__(cls, (name,))

    def __repr__(self):
        return '%s' % self[0]


DBNAME = 'cache.db'
ENOVAL = Constant('ENOVAL')
UNKNOWN = Constant('UNKNOWN')

MODE_NONE = 0
MODE_RAW = 1
MODE_BINARY = 2
MODE_TEXT = 3
MODE_PICKLE = 4

DEFAULT_SETTINGS = {
    'statistics': 0,  # False
    'tag_index': 0,  # False
    'eviction_policy': 'least-recently-stored',
    'size_limit': 2**30,  # 1gb
    'cull_limit': 10,
    'sqlite_auto_vacuum': 1,  # FULL
    'sqlite_cache_size': 2**13,  # 8,192 pages
    'sqlite_journal_mode': 'wal',
    'sqlite_mmap_size': 2**26,  # 64mb
    'sqlite_synchronous': 1,  # NORMAL
    'disk_min_file_size': 2**15,  # 32kb
    'disk_pickle_protocol': pickle.HIGHEST_PROTOCOL,
}

METADATA = {
    'count': 0,
    'size': 0,
    'hits': 0,
    'misses': 0,
}

# The engine keeps each policy's order itself; these entries keep the
# shape of python-diskcache's table ('init', 'get', 'cull') for code that
# inspects it. 'get' names the column a read updates, or None.
EVICTION_POLICY = {
    'none': {'init': None, 'get': None, 'cull': None},
    'least-recently-stored': {
        'init': 'store_time',
        'get': None,
        'cull': 'store_time',
    },
    'least-recently-used': {
        'init': 'access_time',
        'get': 'access_time',
        'cull': 'access_time',
    },
    'least-frequently-used': {
        'init': 'access_count',
        'get': 'access_count',
        'cull': 'access_count',
    },
}

# Engine policy numbers (core/policy.go).
_POLICY_IDS = {
    'least-recently-stored': 0,
    'none': 1,
    'least-recently-used': 2,
    'least-frequently-used': 3,
}

# Bound once for the hot paths. The extension object never changes (a forked
# child only re-points its functions); callers check the fork generation
# before using it directly.
_C = _ffi._C
_GEN = _ffi.GEN
_fast_get = _ffi.fast_get
# Cache._key's memo of tuple key encodings: element types and size bound.
_MEMO_TYPES = frozenset((str, bytes, int, bool, type(None)))
_MEMO_SIZE = 4096
_buffers = _ffi.buffers

_INT64_MIN = -9223372036854775808
_INT64_MAX = 9223372036854775807
# Every Cache, so a forked child can give each a fresh _handle_lock (a
# parent's thread may have held it at the fork) and forget the transactions
# of the parent's other threads, which do not exist in the child.
_INSTANCES = weakref.WeakSet()


# dcg_get's flag: give DCG_WOULDBLOCK rather than wait (capi/diskcache_go.h).
_GET_NOWAIT = 2


def _after_fork_child():
    tid = threading.get_ident()
    for cache in list(_INSTANCES):
        cache._handle_lock = threading.Lock()
        depth = cache._txn_depth.get(tid)
        cache._txn_depth = {tid: depth} if depth else {}


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_child)

# Bytes of the HMAC-SHA256 tag appended to pickles when a secret is set.
_TAG_SIZE = 32
# A signed value carries, before its tag, what it is bound to (a byte:
# _TO_KEY or _TO_QUEUE) and the time it was signed (nanoseconds, 8 bytes
# big-endian): pickle | binding | time | tag.
_STAMP = struct.Struct('>BQ')
_STAMP_SIZE = _STAMP.size
# A value stored with set/add is bound to its key; one stored with push to
# its queue (the prefix), because the engine chooses the key as it stores
# it (see Cache.push).
_TO_KEY = 0
_TO_QUEUE = 1
# The keys push makes: integers strictly between 0 and 999999999999999,
# or "<prefix>-" and 15 digits (core/queue.go).
_QUEUE_MAX = 999999999999999
_QUEUE_TEXT = re.compile(r'(.*)-([0-9]{15})\Z', re.DOTALL)
# What each tag is computed over starts with one of these, so that a signed
# key can never pass for a signed value or the other way round, nor a tag of
# 0.1.0's format (an HMAC of the pickle alone) for either.
_KEY_LABEL = b'diskcache-go key v2\x00'
_VALUE_LABEL = b'diskcache-go value v2\x00'
# The cache's random id, which every tag covers (so a signed entry copied
# into another cache with the same secret is refused): 32 hex digits.
_ID_FILE = 'cache.dcg-id'
_ID_TEXT = re.compile(rb'[0-9a-f]{32}\Z')
# How many keys' newest signing times a Disk remembers (see Disk._newest).
_NEWEST_KEYS = 1 << 16
# Settings that are never written to the directory: a secret kept next to
# the data it protects would protect nothing, a secret file or a trust
# declaration read from the directory would be chosen by whoever can write
# it, and whether a directory is reached over a network is a property of
# each machine's mount.
_SECRET_SETTINGS = ('disk_hmac_secret', 'disk_hmac_secret_file', 'network_mode',
                    'trust_shared_directory')
# The environment variables that supply the secret when no argument does:
# the secret itself, or the path of a file holding it.
HMAC_SECRET_ENV = 'DISKCACHE_GO_HMAC_SECRET'
HMAC_SECRET_FILE_ENV = 'DISKCACHE_GO_HMAC_SECRET_FILE'
# The environment variable listing directories whose caches may be shared
# without a secret (os.pathsep-separated; '*' for every directory), as
# git's safe.directory does.
TRUSTED_DIRECTORIES_ENV = 'DISKCACHE_GO_TRUSTED_DIRECTORIES'

# network_mode values and the dcg_open flag each sets (DCG_OPEN_*).
_NETWORK_MODES = {'auto': 0, 'network': 2, 'local': 4}
_OPEN_SYNC = 1
# The environment variable that replaces the default network_mode 'auto'.
NETWORK_MODE_ENV = 'DISKCACHE_GO_NETWORK_MODE'
# dcg_mode results (DCG_MODE_*).
_ENGINE_MODES = {0: 'local', 1: 'local', 2: 'network'}
_MODE_MASK = 7
_MODE_WAS_RESET = 8

# Every file the engine and this module keep in a cache directory starts
# with this prefix; check() never reports them as unknown.
_ENGINE_PREFIX = 'cache.dcg'
# Names a filesystem gives a file deleted while still open (FUSE's
# hard_remove off, NFS's "silly rename"): they go away with the last
# descriptor, and are neither the user's nor stray.
_PLACEHOLDERS = ('.fuse_hidden', '.nfs')
_SETTINGS_FILE = 'cache.dcg-settings'


class Stats(typing.NamedTuple):
    """What ``stats()`` returns: ``(hits, misses)`` with names.

    A tuple, so it unpacks and compares as python-diskcache's plain tuple
    does (``stats() == (0, 0)``); the names serve code written for
    diskcache_rs (``stats().hits``).
    """

    hits: int
    misses: int


class Timeout(Exception):
    """Database timeout expired."""


class UnknownFileWarning(UserWarning):
    """Warning used by Cache.check for unknown files."""


class EmptyDirWarning(UserWarning):
    """Warning used by Cache.check for empty directories."""


def full_name(func):
    """Return the module and qualified name of ``func``."""
    return func.__module__ + '.' + func.__qualname__


def _makedirs(path, mode):
    """os.makedirs that gives every directory it creates ``mode`` (not
    only the last one)."""
    parent = op.dirname(path)
    if parent and parent != path and not op.isdir(parent):
        _makedirs(parent, mode)
    try:
        os.mkdir(path, mode)
    except FileExistsError:
        pass


# Storage errors, defined next to the library calls that raise them.
Error = _ffi.Error
CorruptionError = _ffi.CorruptionError
StorageFullError = _ffi.StorageFullError


class NetworkFilesystemWarning(UserWarning):
    """The cache directory is on a network or FUSE filesystem.

    By default diskcache-go then works in network mode (slower, safe for
    processes on several machines); with ``network_mode='local'`` it maps
    its index into memory, which such filesystems do not keep coherent
    between machines. See docs/network-filesystems.md.
    """


# check(fix=True) moves the files it can not account for here, inside the
# cache directory, rather than deleting them (python-diskcache deletes
# them): a file a repair does not understand may be someone's data. The
# engine puts segment files it can not account for in the same folder.
QUARANTINE = 'quarantine'


def _quarantine(folder, path):
    """Move ``path`` into ``folder`` without overwriting an earlier file."""
    os.makedirs(folder, exist_ok=True)
    base = op.basename(path)
    target = op.join(folder, base)
    n = 0
    while op.lexists(target):
        n += 1
        target = op.join(folder, '%s.%d' % (base, n))
    os.replace(path, target)


class CorruptionWarning(UserWarning):
    """The cache's index was damaged beyond repair and was replaced.

    Opening a cache whose index header fails its checksums makes a new,
    empty index in its place (the entries are lost; their files are
    removed by ``check(fix=True)``) instead of leaving the cache unusable.
    """


class PyDiskcacheImportWarning(UserWarning):
    """A directory python-diskcache wrote was imported on its first open.

    Also issued, at every open, when such a directory already holds a
    diskcache_go cache that was not imported from it (its python-diskcache
    entries are then left out). The message says what happened and how to
    turn the import off (setting ``pydiskcache`` or the environment
    variable ``DISKCACHE_GO_PYDISKCACHE``); see docs/migration.md.
    """


class PyDiskcacheDirectoryError(Exception):
    """A python-diskcache directory was not opened: the import is turned
    off with ``pydiskcache='refuse'``, or it cannot be imported (the
    message says why)."""


class UntrustedDataError(pickle.UnpicklingError):
    """A pickled key or value was refused and not unpickled.

    Raised when the cache has an HMAC secret (setting ``disk_hmac_secret``)
    and a stored pickle was written without it or with another secret, was
    changed on disk, belongs to another key or another cache, or is older
    than a version of its entry this cache object has already written or
    read; and, without a secret, when the cache directory is shared
    (another user could have written what it holds) and not declared
    trusted. Unpickling runs code, so data another user could have planted
    is never unpickled.
    """


# -- who could have written a cache ------------------------------------------
#
# Unpickling runs code, so a pickle is only as trustworthy as everyone who
# could have written it. A cache is "shared" when a user other than this
# process's effective user and root could have added or changed an entry:
#
# * a folder a lookup of the cache directory passes through (symbolic links
#   followed) is owned by such a user, or is writable by group or others
#   without the sticky bit: they could rename the directory away and put
#   their own in its place, even after it was opened (value files are
#   opened by path). In a sticky folder (/tmp) only an entry's owner may
#   rename it, so the entry looked up there must be ours or root's;
# * the cache directory, or a file the engine keeps in it (names starting
#   with "cache.dcg": index, journal, segments, settings, lock, id), is
#   owned by such a user or writable by group or others (sticky or not:
#   whoever may create files there may create the next segment first);
# * a folder of value files, or a pickled value's own file: checked the
#   first time a pickle is read from it, since only the owner (or root)
#   can make a private folder shared later, by creating or changing it;
# * a segment file made after the open (by another process of the owner,
#   with a file mode that lets others write): the engine checks each
#   segment when it first maps it and says so with every result.
#
# That is every way to change what the cache holds without being its
# owner: the engine reads nothing else, and a user who can write none of
# these can not change their owner or mode either. A POSIX ACL granting
# someone write shows in the group bits (as its mask). Root is trusted:
# it can write anything anyway.


def _user(uid):
    """``uid`` with its name, for messages."""
    try:
        return 'uid %d (%s)' % (uid, pwd.getpwuid(uid).pw_name)
    except KeyError:
        return 'uid %d' % uid


def _write_risk(path, st, uid):
    """Why a user other than ``uid`` and root could write ``path`` (``st``
    is its stat), or None."""
    if st.st_uid != uid and st.st_uid != 0:
        return '%s is owned by %s, not by %s' % (
            path, _user(st.st_uid), 'root' if uid == 0 else 'you (uid %d) or root' % uid)
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        who = {0o020: 'its group', 0o002: 'others'}.get(mode & 0o022, 'its group and others')
        return '%s has mode %04o: %s may write it' % (path, mode, who)
    return None


def _lookup_risk(directory, uid):
    """Walk the lookup of ``directory`` as the kernel does (symbolic links
    followed); returns (why another user could make it name another
    directory, or None; the directory it names; that directory's stat)."""
    path = directory if op.isabs(directory) else op.join(os.getcwd(), directory)
    todo = [part for part in path.split(os.sep) if part][::-1]
    cur, st = os.sep, None
    links = 0
    while todo:
        part = todo.pop()
        if part == '.':
            continue
        if part == '..':
            cur, st = op.dirname(cur), None  # cur is a real path: its parent is the real one
            continue
        if st is None:
            st = os.stat(cur)
        nxt = op.join(cur, part)
        lst = os.lstat(nxt)
        writable = stat.S_IMODE(st.st_mode) & 0o022
        if (st.st_uid != uid and st.st_uid != 0) or (writable and not st.st_mode & stat.S_ISVTX):
            return ('%s, so they could put another directory in place of %s'
                    % (_write_risk(cur, st, uid), nxt)), None, None
        if writable and lst.st_uid != uid and lst.st_uid != 0:
            return ('%s is owned by %s, and %s may be written by others: they could replace it'
                    % (nxt, _user(lst.st_uid), cur)), None, None
        if stat.S_ISLNK(lst.st_mode):
            links += 1
            if links > 40:
                raise OSError(errno.ELOOP, 'too many levels of symbolic links', directory)
            target = os.readlink(nxt)
            todo.extend([p for p in target.split(os.sep) if p][::-1])
            if op.isabs(target):
                cur, st = os.sep, None
            continue
        # Not a link: its lstat is the stat the next step needs.
        cur, st = nxt, lst
    return None, cur, os.stat(cur) if st is None else st


def _directory_risk(directory, uid):
    """Why another user could have changed what the cache in ``directory``
    holds, as far as the open can tell (the lookup, the directory, the
    engine's files), or None."""
    try:
        reason, real, st = _lookup_risk(directory, uid)
        if reason is not None:
            return reason
        reason = _write_risk(directory, st, uid)
        if reason is not None:
            return reason
        with os.scandir(real) as entries:
            for entry in entries:
                if not entry.name.startswith(_ENGINE_PREFIX):
                    continue
                try:
                    # Followed, as the engine's open follows it.
                    st = os.stat(entry.path)
                except FileNotFoundError:
                    continue  # removed meanwhile (a compacted segment)
                reason = _write_risk(op.join(directory, entry.name), st, uid)
                if reason is not None:
                    return reason
    except OSError as error:
        # What can not be checked can not be trusted.
        return 'its permissions could not be checked (%s)' % (error,)
    return None


def _declared_trusted(directory, setting):
    """Whether the user declared ``directory`` trusted: the setting
    ``trust_shared_directory``, or DISKCACHE_GO_TRUSTED_DIRECTORIES naming
    it or a directory above it (or '*')."""
    if setting:
        return True
    listed = os.environ.get(TRUSTED_DIRECTORIES_ENV, '')
    entries = [entry for entry in listed.split(os.pathsep) if entry]
    if not entries:
        return False
    if '*' in entries:
        return True
    real = op.realpath(directory)
    for entry in entries:
        entry = op.realpath(op.expanduser(entry))
        if real == entry or real.startswith(entry.rstrip(os.sep) + os.sep):
            return True
    return False


class _Trust:
    """Whether a Cache may unpickle what it reads without a secret.

    ``reason`` says why the cache is shared (None: private, as far as is
    known); ``declared`` whether the user declared the directory trusted.
    ``folders`` marks the value folders ``00``..``ff`` found private (the C
    get reads it), ``checked`` any other folder found private.
    """

    __slots__ = ('directory', 'reason', 'declared', 'folders', 'checked', '_changed')

    def __init__(self, directory, changed):
        self.directory = directory
        self.reason = None
        self.declared = False
        self.folders = bytearray(256)
        self.checked = set()
        # Called (a weak method: the Cache owns this object) when the
        # answer changes, so the Cache can update what its C get reads.
        self._changed = changed

    def check_open(self, setting):
        """Decide at open: the lookup, the directory and the engine files."""
        self.declared = _declared_trusted(self.directory, setting)
        self.folders[:] = bytes(256)
        self.checked.clear()
        self.reason = None if self.declared else _directory_risk(self.directory, os.geteuid())

    @property
    def refusing(self):
        """Whether pickles are refused now."""
        return self.reason is not None and not self.declared

    def _found(self, reason):
        if self.reason is None:
            self.reason = reason
            changed = self._changed()
            if changed is not None:
                changed()

    def check_file(self, filename):
        """Check the folders of value file ``filename`` (once each) and the
        file itself, before a pickle read from it is unpickled."""
        if self.declared or self.reason is not None:
            return
        uid = os.geteuid()
        parts = filename.split('/')
        rel = ''
        for part in parts[:-1]:
            rel = part if not rel else rel + '/' + part
            stock = len(rel) == 2 and _VALUE_DIR.match(rel)
            if (stock and self.folders[int(rel, 16)]) or rel in self.checked:
                continue
            reason = self._risk(op.join(self.directory, rel), uid)
            if reason is not None:
                return self._found(reason)
            if stock:
                self.folders[int(rel, 16)] = 1
            else:
                self.checked.add(rel)
        reason = self._risk(op.join(self.directory, filename), uid)
        if reason is not None:
            self._found(reason)

    @staticmethod
    def _risk(path, uid):
        try:
            return _write_risk(path, os.stat(path), uid)
        except FileNotFoundError:
            return None  # removed meanwhile: nothing was read from it
        except OSError as error:
            return '%s could not be checked (%s)' % (path, error)

    def engine_reported(self):
        """The engine read a segment another user could have written."""
        if self.declared or self.reason is not None:
            return
        reason = _directory_risk(self.directory, os.geteuid())
        self._found(reason or 'a segment file that another user could have written was read '
                              '(it is gone now)')

    def error(self, what):
        """The UntrustedDataError for refusing to unpickle ``what``."""
        return UntrustedDataError(
            'refusing to unpickle %s from the cache in %s: it is shared (%s), so another user '
            'could have planted it, and unpickling runs code. To share a cache safely, give '
            'every process that uses it the same secret (setting disk_hmac_secret or '
            'disk_hmac_secret_file, or the environment variable %s or %s); or, if you trust '
            'everyone who can write there, declare the directory trusted (setting '
            'trust_shared_directory=True, or list it in the environment variable %s). '
            'See SECURITY.md.'
            % (what, self.directory, self.reason, HMAC_SECRET_ENV, HMAC_SECRET_FILE_ENV,
               TRUSTED_DIRECTORIES_ENV)
        )


def _cache_id(directory, create, mode):
    """The random id in the id file of the cache in ``directory``, made
    first (with permission ``mode``) when missing and ``create``; None when
    missing."""
    path = op.join(directory, _ID_FILE)
    for _ in range(100):
        try:
            with open(path, 'rb') as reader:
                text = reader.read(64)
        except FileNotFoundError:
            if not create:
                return None
            _make_id(directory, path, mode)
            continue
        if _ID_TEXT.match(text):
            return bytes.fromhex(text.decode('ascii'))
        if text:
            break
        # Empty: another process is writing it (_make_id's fallback).
        time.sleep(0.001)
    raise UntrustedDataError(
        'the cache id file %s is damaged; every signed entry is bound to the id it held, so '
        'none can be read: clear the directory, or remove the file to start a new id' % path
    )


def _make_id(directory, path, mode):
    """Write a new random id to ``path``, unless another process makes
    one first (its id then stands)."""
    text = os.urandom(16).hex().encode('ascii')
    fd, tmp = tempfile.mkstemp(prefix=_ID_FILE + '.', dir=directory)
    try:
        # Readable by whoever may read the cache: they need it to check tags.
        os.fchmod(fd, mode)
        os.write(fd, text)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            # A link, unlike a rename, never replaces an id another process
            # made meanwhile, and is never seen half written.
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # A filesystem without hard links: create it exclusively (a
            # reader that finds it empty waits for the write).
            try:
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:
                return
            try:
                os.write(out, text)
            finally:
                os.close(out)
    finally:
        if fd >= 0:
            os.close(fd)
        with cl.suppress(FileNotFoundError):
            os.unlink(tmp)


# What a Cache call binds the signature of the value it stores or reads
# to, for the Disk: Disk.store and Disk.fetch keep python-diskcache's
# signatures, and fetch has no key. Storing: (_TO_KEY, (kind, bytes) of the
# key in the engine's form) or (_TO_QUEUE, (kind, bytes) of the prefix);
# reading: (_READING or _REMOVING, (kind, bytes) of the key).
_binding = contextvars.ContextVar('diskcache_go_binding', default=None)
_READING = 0
_REMOVING = 1


def _queue_of(key_enc):
    """The queue (prefix as (kind, bytes)) that push makes key ``key_enc``
    in, or None."""
    kind, kbytes = key_enc
    if kind == _ffi.K_INT:
        if 0 < _ffi.INT8.unpack(kbytes)[0] < _QUEUE_MAX:
            return _ffi.K_NULL, b''
    elif kind == _ffi.K_TEXT:
        match = _QUEUE_TEXT.match(kbytes.decode('utf-8', 'surrogateescape'))
        if match and 0 < int(match.group(2)) < _QUEUE_MAX:
            return _ffi.K_TEXT, match.group(1).encode('utf-8', 'surrogateescape')
    return None


class Disk:
    """Serialization of keys and values, as in python-diskcache.

    Subclass it and pass the class as ``Cache(disk=...)`` to change how
    keys and values are stored.

    Beyond python-diskcache's parameters: ``hmac_secret`` (bytes or str;
    setting ``disk_hmac_secret``, never written to the directory) makes
    every pickled key and value carry an HMAC-SHA256 tag that is checked
    before anything is unpickled, so a pickle planted in the directory is
    refused (`UntrustedDataError`) instead of run. A value's tag covers its
    key, the cache's random id and the time it was signed, so a signed
    value is also refused under another key, in another cache, or once
    this object has written or read a newer version of its entry.
    ``file_mode`` and ``dir_mode`` (settings ``disk_file_mode`` and
    ``disk_dir_mode``) are the permissions of the value files and
    directories it creates.
    ``write_threshold`` is another name for ``min_file_size`` (diskcache_rs
    calls it so): the size from which values go to their own files.
    """

    #: Permission of value files (only the owner can read a cache's pickles).
    file_mode = 0o600
    # Set by Cache from its fsync setting: value files are fsynced (with
    # their directories) before the index refers to them.
    fsync = False
    #: Permission of the directories of value files.
    dir_mode = 0o700
    # Set by Cache: whether its directory is shared (_Trust). A Disk used
    # on its own has none and unpickles what it is given.
    _trust = None

    def __init__(self, directory, min_file_size=0, pickle_protocol=0, hmac_secret=None,
                 file_mode=None, dir_mode=None, write_threshold=None):
        if write_threshold is not None:
            # min_file_size's default is 0, so only a different non-zero
            # value is known to be a second, contradicting, choice.
            if min_file_size not in (0, write_threshold):
                raise TypeError(
                    'Disk() got min_file_size=%r and write_threshold=%r: write_threshold is '
                    'another name for min_file_size, give one of them' % (min_file_size, write_threshold)
                )
            min_file_size = write_threshold
        self._directory = directory
        self.min_file_size = min_file_size
        self.pickle_protocol = pickle_protocol
        self.hmac_secret = hmac_secret
        if file_mode is not None:
            self.file_mode = file_mode
        if dir_mode is not None:
            self.dir_mode = dir_mode

    @property
    def directory(self):
        """The cache directory value files are written under (diskcache_rs
        names it so; python-diskcache keeps it only as ``_directory``)."""
        return self._directory

    @property
    def hmac_secret(self):
        """The secret pickles are authenticated with (bytes), or None."""
        return self._hmac_secret

    @hmac_secret.setter
    def hmac_secret(self, secret):
        if isinstance(secret, str):
            secret = secret.encode('utf-8')
        if secret is not None and (type(secret) is not bytes or not secret):
            raise ValueError('disk_hmac_secret must be a non-empty bytes or str, not %r'
                             % (type(secret).__name__ if secret else secret,))
        self._hmac_secret = secret
        # The newest signing time seen per key (hash of its stored form):
        # a signed value older than one this object has written or read
        # for the same key is a replay (see _unseal_value).
        self._newest = {}
        self._cache_id = None

    # -- signing -------------------------------------------------------------

    def _id(self, create):
        """The cache's random id (16 bytes), from its id file; made when
        missing if ``create`` (an OSError then if it can not be); None when
        there is none."""
        if self._cache_id is None:
            self._cache_id = _cache_id(self._directory, create, self.file_mode)
        return self._cache_id

    def _key_tag(self, data):
        try:
            cache_id = self._id(True)
        except OSError as error:
            # A cache that has no id and can not be written (read-only, or
            # another user's) holds nothing signed: the lookup finds
            # nothing, and a write fails when it signs the value (with this
            # error). An id that exists but can not be read is an error.
            if (error.errno not in (errno.EACCES, errno.EPERM, errno.EROFS)
                    or op.lexists(op.join(self._directory, _ID_FILE))):
                raise
            cache_id = b''
        return hmac.new(self._hmac_secret, _KEY_LABEL + cache_id + data, hashlib.sha256).digest()

    def _value_tag(self, cache_id, bound, packed, data):
        kind, kbytes = bound
        mac = hmac.new(self._hmac_secret,
                       b''.join((_VALUE_LABEL, cache_id, struct.pack('>BQ', kind, len(kbytes)),
                                 kbytes, packed)),
                       hashlib.sha256)
        mac.update(data)
        return mac.digest()

    def _binding(self, key):
        """What a value being stored is bound to: (_TO_KEY or _TO_QUEUE,
        (kind, bytes) of the key or of the queue's prefix)."""
        binding = _binding.get()
        if binding is None and key is not UNKNOWN:
            binding = _TO_KEY, _encode_key(*self.put(key))
        if binding is None:
            raise ValueError(
                'disk_hmac_secret: a signed value is bound to its key, and this Disk call was '
                'given none (call it through a Cache, or pass key=)'
            )
        return binding

    def _remember(self, key_enc, stamp):
        """Note that ``stamp`` is the newest version of ``key_enc`` seen."""
        newest = self._newest
        slot = hash(key_enc)
        newest.pop(slot, None)
        if len(newest) >= _NEWEST_KEYS:
            # Forget the keys not written or read for longest (a dict keeps
            # insertion order, and each use moves its key to the end).
            for old in list(newest)[:_NEWEST_KEYS // 4]:
                del newest[old]
        newest[slot] = stamp

    def _seal_key(self, data):
        """Append the key tag to a pickled key (when a secret is set)."""
        if self._hmac_secret is None:
            return data
        return data + self._key_tag(data)

    def _seal_value(self, data, key):
        """Append the binding, the signing time and the tag to a pickled
        value (when a secret is set). The time is never earlier than a
        version of the same key this object has seen, so its own writes
        are in order whatever the clock does."""
        if self._hmac_secret is None:
            return data
        to, bound = self._binding(key)
        stamp = time.time_ns()
        if to == _TO_KEY:
            stamp = max(stamp, self._newest.get(hash(bound), 0) + 1)
            self._remember(bound, stamp)
        packed = _STAMP.pack(to, stamp)
        return b''.join((data, packed, self._value_tag(self._id(True), bound, packed, data)))

    def _refuse_shared(self, what, filename=None):
        """Raise UntrustedDataError if the cache is shared and not trusted
        (only without a secret: signed data is checked instead)."""
        trust = self._trust
        if trust is None or trust.declared:
            return
        if filename is not None:
            trust.check_file(filename)
        if trust.reason is not None:
            raise trust.error(what)

    def _unseal_key(self, data):
        """Check and strip a pickled key's tag (when a secret is set)."""
        if self._hmac_secret is None:
            self._refuse_shared('a pickled key')
            return data
        data = bytes(data)
        body, tag = data[:-_TAG_SIZE], data[-_TAG_SIZE:]
        if len(data) < _TAG_SIZE or not hmac.compare_digest(tag, self._key_tag(body)):
            raise UntrustedDataError(
                'refusing to unpickle a key that fails HMAC authentication (written without '
                'this cache\'s secret, for another cache, by diskcache-go 0.1.0, or changed '
                'on disk): cache %s' % (self._directory,)
            )
        return body

    def _unseal_value(self, data, filename=None):
        """Check and strip a pickled value's binding, signing time and tag
        (when a secret is set) against the key being read."""
        if self._hmac_secret is None:
            self._refuse_shared('a pickled value', filename)
            return data
        binding = _binding.get()
        if binding is None:
            raise UntrustedDataError(
                'refusing to unpickle a signed value read outside a Cache call: its tag is '
                'bound to its key, which Disk.fetch is not given'
            )
        key_enc = binding[1]
        data = bytes(data)
        cut = len(data) - _TAG_SIZE - _STAMP_SIZE
        body, packed, tag = data[:cut], data[cut:cut + _STAMP_SIZE], data[cut + _STAMP_SIZE:]
        cache_id = self._id(False)
        to, stamp = _STAMP.unpack(packed) if cut >= 0 else (None, 0)
        bound = key_enc if to == _TO_KEY else _queue_of(key_enc) if to == _TO_QUEUE else None
        if (bound is None or cache_id is None
                or not hmac.compare_digest(tag, self._value_tag(cache_id, bound, packed, body))):
            raise UntrustedDataError(
                'refusing to unpickle a value that fails HMAC authentication (written without '
                'this cache\'s secret, under another key or queue, in another cache, by '
                'diskcache-go 0.1.0, or changed on disk): cache %s' % (self._directory,)
            )
        newest = self._newest.get(hash(key_enc), 0)
        if stamp < newest:
            raise UntrustedDataError(
                'refusing a signed value older than a version of the same entry this cache '
                'object has already written, read or removed (signed %d ns before it): a '
                'replay of an overwritten value, or a writer whose clock is behind: cache %s'
                % (newest - stamp, self._directory)
            )
        # Removing an entry (pop, pull) makes this very version stale too.
        self._remember(key_enc, stamp + 1 if binding[0] == _REMOVING else stamp)
        return body

    def hash(self, key):
        """Portable hash of ``key`` (used to route FanoutCache shards).

        A pickled key is hashed without its HMAC tag: the tag depends on
        the cache's id, and the route must not.
        """
        mask = 0xFFFFFFFF
        disk_key, _ = self._put(key)
        type_disk_key = type(disk_key)
        if type_disk_key is sqlite3.Binary:
            return zlib.adler32(disk_key) & mask
        elif type_disk_key is str:
            return zlib.adler32(disk_key.encode('utf-8')) & mask  # noqa
        elif type_disk_key is int:
            return disk_key % mask
        else:
            assert type_disk_key is float
            return zlib.adler32(struct.pack('!d', disk_key)) & mask

    def _put(self, key):
        """``put`` without the key's tag."""
        type_key = type(key)
        if type_key is bytes:
            return sqlite3.Binary(key), True
        elif (
            (type_key is str)
            or (type_key is int and _INT64_MIN <= key <= _INT64_MAX)
            or (type_key is float)
        ):
            return key, True
        else:
            data = pickle.dumps(key, protocol=self.pickle_protocol)
            return sqlite3.Binary(pickletools.optimize(data)), False

    def put(self, key):
        """Convert ``key`` to its stored form: ``(db_key, raw)``."""
        db_key, raw = self._put(key)
        if raw or self._hmac_secret is None:
            return db_key, raw
        return sqlite3.Binary(self._seal_key(bytes(db_key))), False

    def get(self, key, raw):
        """Convert a stored key back."""
        if raw:
            return bytes(key) if type(key) is sqlite3.Binary else key
        else:
            return pickle.load(io.BytesIO(self._unseal_key(key)))

    def store(self, value, read=False, key=UNKNOWN):
        """Convert ``value`` to ``(size, mode, filename, db_value)``.

        ``read`` (True: ``value`` is a file-like object to copy from) may be
        left out, as diskcache_rs allows; python-diskcache requires it.
        """
        type_value = type(value)
        min_file_size = self.min_file_size
        if (
            (type_value is str and len(value) < min_file_size)
            or (type_value is int and _INT64_MIN <= value <= _INT64_MAX)
            or (type_value is float)
        ):
            return 0, MODE_RAW, None, value
        elif type_value is bytes:
            if len(value) < min_file_size:
                return 0, MODE_RAW, None, sqlite3.Binary(value)
            else:
                filename = self._store_file(key, value, value)
                return len(value), MODE_BINARY, filename, None
        elif type_value is str:
            # Written as UTF-8 bytes: what text mode writes on POSIX, and
            # what the checksum in the file name covers.
            data = value.encode('UTF-8')
            filename = self._store_file(key, value, data)
            return len(data), MODE_TEXT, filename, None
        elif read:
            reader = ft.partial(value.read, 2**22)
            filename, full_path = self.filename(key, value)
            size, crc = self._write_summed(full_path, iter(reader, b''))
            # The checksum is known only now: the file takes its name after.
            summed, summed_path = _summed_name(filename, full_path, crc)
            if summed != filename:
                try:
                    os.rename(full_path, summed_path)
                except BaseException:
                    with cl.suppress(OSError):
                        os.remove(full_path)
                    raise
            return size, MODE_BINARY, summed, None
        else:
            result = self._seal_value(pickle.dumps(value, protocol=self.pickle_protocol), key)
            if len(result) < min_file_size:
                return 0, MODE_PICKLE, None, sqlite3.Binary(result)
            else:
                filename = self._store_file(key, value, result)
                return len(result), MODE_PICKLE, filename, None

    def _store_file(self, key, value, data):
        """Write ``data`` to a new value file named with its checksum."""
        filename, full_path = self.filename(key, value)
        filename, full_path = _summed_name(filename, full_path, _ffi.crc32(data))
        self._write_summed(full_path, (data,))
        return filename

    def _write(self, full_path, iterator, mode, encoding=None):
        """Write the chunks of ``iterator`` to a new file; returns its size."""
        if 'b' not in mode:
            iterator = (chunk.encode(encoding or 'UTF-8') for chunk in iterator)
        return self._write_summed(full_path, iterator)[0]

    def _write_summed(self, full_path, chunks):
        """Write byte chunks to a new file; returns (size, crc32)."""
        full_dir, _ = op.split(full_path)
        for count in range(1, 11):
            try:
                _makedirs(full_dir, self.dir_mode)
            except OSError as error:
                if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC):
                    # Retrying can not help; say why instead of "no such file".
                    raise
            try:
                # Exclusive creation (a name is never reused), with the
                # file's permission set as it is created.
                fd = os.open(full_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self.file_mode)
                writer = os.fdopen(fd, 'wb')
            except OSError:
                if count == 10:
                    # Give up after 10 tries to open the file.
                    raise
                continue
            try:
                with writer:
                    size = crc = 0
                    for chunk in chunks:
                        size += len(chunk)
                        crc = _ffi.crc32(chunk, crc)
                        writer.write(chunk)
                    if self.fsync:
                        writer.flush()
                        os.fsync(writer.fileno())
                if self.fsync:
                    _fsync_dirs(full_dir, self._directory)
                return size, crc
            except BaseException:
                # A full disk (or any failure) leaves no partial file, and no
                # directory made for it, behind.
                with cl.suppress(OSError):
                    os.remove(full_path)
                with cl.suppress(OSError):
                    os.removedirs(full_dir)
                raise

    def _read_checked(self, filename):
        """The bytes of a value file, verified against the checksum its
        name carries (files named otherwise, e.g. migrated ones, are read
        as they are)."""
        full_path = op.join(self._directory, filename)
        data, crc = _ffi.read_file(full_path)
        if data is None:
            # Not a regular file, or it changed size under the read.
            with open(full_path, 'rb') as reader:
                data = reader.read()
            crc = _ffi.crc32(data)
        expected = _name_sum(filename)
        if expected is not None and crc != expected:
            raise CorruptionError(
                'value file %s is damaged (its checksum does not match); '
                'check(fix=True) removes the entry' % full_path
            )
        return data

    def fetch(self, mode, filename, value, read=False):
        """Convert a stored value back (reading its file if it has one)."""
        if mode == MODE_RAW:
            return bytes(value) if type(value) is sqlite3.Binary else value
        elif mode == MODE_BINARY:
            if read:
                # A stream is handed over unread, so unverified (check()
                # verifies every file).
                return open(op.join(self._directory, filename), 'rb')
            else:
                return self._read_checked(filename)
        elif mode == MODE_TEXT:
            # Text mode's universal newlines, applied to the checked bytes.
            text = self._read_checked(filename).decode('UTF-8')
            return text.replace('\r\n', '\n').replace('\r', '\n')
        elif mode == MODE_PICKLE:
            if value is None:
                return pickle.loads(self._unseal_value(self._read_checked(filename), filename))
            else:
                return pickle.load(io.BytesIO(self._unseal_value(value)))

    def filename(self, key=UNKNOWN, value=UNKNOWN):
        """Return a new ``(relative, full)`` path for a value file: a random
        name in one of 256 directories, ``ab/<30 hex>.val``."""
        hex_name = os.urandom(16).hex()
        filename = op.join(hex_name[:2], hex_name[2:] + '.val')
        full_path = op.join(self._directory, filename)
        return filename, full_path

    def __repr__(self):
        # python-diskcache leaves object's repr; this one, diskcache_rs's,
        # says which directory a Disk writes to.
        return '%s(directory=%r)' % (type(self).__name__, self._directory)

    def remove(self, file_path):
        """Remove a value file, and its parent directories while they are
        empty if it is more than one directory deep (python-diskcache's
        ``ab/cd/`` names; the 256 directories of this package's names stay,
        as the engine leaves them)."""
        full_path = op.join(self._directory, file_path)
        full_dir, _ = op.split(full_path)
        # Suppress OSError: another process may have removed it first.
        with cl.suppress(OSError):
            os.remove(full_path)
        if op.dirname(op.dirname(op.normpath(file_path))):
            with cl.suppress(OSError):
                os.removedirs(full_dir)


class JSONDisk(Disk):
    """Disk that stores keys and values as zlib-compressed JSON."""

    def __init__(self, directory, compress_level=1, **kwargs):
        self.compress_level = compress_level
        super().__init__(directory, **kwargs)

    def put(self, key):
        json_bytes = json.dumps(key).encode('utf-8')
        data = zlib.compress(json_bytes, self.compress_level)
        return super().put(data)

    def get(self, key, raw):
        data = super().get(key, raw)
        return json.loads(zlib.decompress(data).decode('utf-8'))

    def store(self, value, read=False, key=UNKNOWN):
        if not read:
            json_bytes = json.dumps(value).encode('utf-8')
            value = zlib.compress(json_bytes, self.compress_level)
        return super().store(value, read, key=key)

    def fetch(self, mode, filename, value, read=False):
        data = super().fetch(mode, filename, value, read)
        if not read:
            data = json.loads(zlib.decompress(data).decode('utf-8'))
        return data

    def __repr__(self):
        return '%s(directory=%r, compress_level=%r)' % (
            type(self).__name__, self._directory, self.compress_level)


# Encoding between Python's stored forms and the engine's typed bytes.

_pack_q = _ffi.INT8.pack
_pack_d = _ffi.FLOAT8.pack


def _encode_key(db_key, raw):
    """Return (kind, bytes) of a stored key."""
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
            return _ffi.K_NULL, b''
        return _ffi.K_FLOAT, _pack_d(db_key)
    if t is bytes or t is memoryview or t is bytearray:
        return _ffi.K_BLOB, bytes(db_key)
    return _bind_error(db_key)


def _encode_value(value):
    """Return (kind, bytes) of an inline stored value (or of a tag)."""
    t = type(value)
    if value is None:
        return _ffi.K_NULL, b''
    if t is int or t is bool:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise OverflowError('Python int too large to convert to SQLite INTEGER')
        return _ffi.K_INT, _pack_q(value)
    if t is float:
        if value != value:
            return _ffi.K_NULL, b''
        return _ffi.K_FLOAT, _pack_d(value)
    if t is str:
        return _ffi.K_TEXT, value.encode('utf-8')
    if t is bytes or t is memoryview or t is bytearray:
        return _ffi.K_BLOB, bytes(value)
    return _bind_error(value)


def _encode_number(value):
    """(kind, bytes) of an incr operand: as _encode_value, but a NaN stays
    a float (the engine stores a NaN result as NULL, as SQLite does)."""
    if type(value) is float:
        return _ffi.K_FLOAT, _pack_d(value)
    return _encode_value(value)


def _bind_error(value):
    raise sqlite3.InterfaceError(
        'Error binding parameter - probably unsupported type: %r' % type(value).__name__
    )


def _decode(kind, data):
    """Inverse of _encode_value (BLOBs come back as bytes, as sqlite3 returns them)."""
    if kind == _ffi.K_TEXT:
        return data.decode('utf-8')
    if kind == _ffi.K_INT:
        return _ffi.INT8.unpack(data)[0]
    if kind == _ffi.K_FLOAT:
        return _ffi.FLOAT8.unpack(data)[0]
    if kind == _ffi.K_NULL:
        return None
    return data


def _decode_key(disk, kind, data):
    if kind == _ffi.K_PICKLE:
        return disk.get(data, False)
    return disk.get(_decode(kind, data), True)


def _pack_default(default, expire_time, tag):
    """``default`` in the shape a lookup with these flags returns."""
    if expire_time and tag:
        return default, None, None
    if expire_time or tag:
        return default, None
    return default


def _shape(value, db_expire, db_tag, expire_time, tag):
    """A lookup's result: the value, with the expire time and tag asked for."""
    if expire_time and tag:
        return value, db_expire, db_tag
    if expire_time:
        return value, db_expire
    if tag:
        return value, db_tag
    return value


def _parse_keys(data, count):
    """The (kind, bytes) keys a listing call left after the header."""
    keys = []
    p = _ffi.OUT_DATA
    for _ in range(count):
        n = int.from_bytes(data[p:p + 4], 'little')
        kind = data[p + 4]
        p += 8
        keys.append((kind, bytes(data[p:p + n])))
        p += n
    return keys


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


def args_to_key(base, args, kwargs, typed, ignore=()):
    """Build the cache key of a memoized call.

    ``ignore`` may be left out (nothing ignored), as diskcache_rs allows;
    python-diskcache requires it.

    The key is ``base`` plus the positional arguments whose index is not in
    ``ignore``, then ``None`` as a separator, then the keyword arguments not
    in ``ignore`` as name, value pairs sorted by name; with ``typed``, the
    types of those arguments follow.
    """
    kept = tuple(arg for index, arg in enumerate(args) if index not in ignore)
    key = base + kept + (None,)
    items = sorted((name, value) for name, value in kwargs.items() if name not in ignore) if kwargs else []
    for item in items:
        key += item
    if typed:
        key += tuple(type(arg) for arg in kept)
        key += tuple(type(value) for _, value in items)
    return key


def _memoizer(cache, name, typed, expire, tag, ignore):
    """The memoize decorator of Cache, FanoutCache and Index."""

    def store(key, result):
        if expire is None or expire > 0:
            cache.set(key, result, expire, tag=tag, retry=True)

    async def astore(key, result):
        if expire is None or expire > 0:
            await cache.aset(key, result, expire, tag=tag, retry=True)

    return _memoize_with(name, typed, ignore, lambda key: cache.get(key, default=ENOVAL, retry=True), store,
                         lambda key: cache.aget(key, default=ENOVAL, retry=True), astore)


def _memoize_with(name, typed, ignore, lookup, store, alookup=None, astore=None):
    """A memoize decorator over ``lookup(key)`` (ENOVAL on a miss) and
    ``store(key, result)``, with python-diskcache's keys (`args_to_key`);
    an ``async def`` function gets an async wrapper over their awaitable
    twins ``alookup`` and ``astore`` (aio.memoize_coroutine)."""
    if callable(name):
        raise TypeError('name cannot be callable')

    def decorator(func):
        base = (full_name(func),) if name is None else (name,)

        if alookup is not None and inspect.iscoroutinefunction(func):
            from .aio import memoize_coroutine

            wrapper = memoize_coroutine(func, alookup, astore)
        else:
            @ft.wraps(func)
            def wrapper(*args, **kwargs):
                key = wrapper.__cache_key__(*args, **kwargs)
                result = lookup(key)
                if result is ENOVAL:
                    result = func(*args, **kwargs)
                    store(key, result)
                return result

        def __cache_key__(*args, **kwargs):
            return args_to_key(base, args, kwargs, typed, ignore)

        wrapper.__cache_key__ = __cache_key__
        return wrapper

    return decorator


def _persistable(value):
    """A setting value as SQLite would store it (True -> 1)."""
    if type(value) is bool:
        return int(value)
    return value


def _persisted_form(sets):
    """The settings as they are written to the directory (no secrets)."""
    return {key: _persistable(value) for key, value in sets.items() if key not in _SECRET_SETTINGS}


def _merge_settings(persisted, settings):
    """Defaults, overridden by the persisted settings, then by keywords."""
    sets = DEFAULT_SETTINGS.copy()
    sets.update(persisted)
    sets.update(settings)
    for key in METADATA:
        sets.pop(key, None)
    if sets['eviction_policy'] not in EVICTION_POLICY:
        raise KeyError(sets['eviction_policy'])
    return sets


# Value files the stock Disk names: "ab/<30 hex>-<crc32 as 8 hex>.val", or
# "ab/cd/<28 hex>-<crc32>.val" as it named them before 2026-11-22.
_SUMMED_NAME = re.compile(r'[0-9a-f]{2}/(?:[0-9a-f]{30}|[0-9a-f]{2}/[0-9a-f]{28})-([0-9a-f]{8})\.val\Z')
# The directories of those names: check() does not count them as litter.
_VALUE_DIR = re.compile(r'[0-9a-f]{2}\Z')


def _summed_name(filename, full_path, crc):
    """Put ``crc`` into a name made by the stock ``Disk.filename``; other
    names (a subclass's own scheme) are kept as they are."""
    root, ext = op.splitext(filename)
    summed = '%s-%08x%s' % (root, crc, ext)
    if not _SUMMED_NAME.match(summed):
        return filename, full_path
    return summed, full_path[:len(full_path) - len(filename)] + summed


def _name_sum(filename):
    """The checksum a value file's name carries, or None."""
    match = _SUMMED_NAME.match(filename)
    return int(match.group(1), 16) if match else None


def _compress_min_size(value):
    """Check the ``compress_min_size`` setting: inline text and bytes values
    of at least this many bytes are stored LZ4-compressed (0: never)."""
    if type(value) is not int or value < 0:
        raise ValueError('compress_min_size must be a whole number of bytes (0: off), not %r' % (value,))
    return value


def _pydiskcache_files(directory):
    """Full paths of python-diskcache's files in ``directory`` (none when it
    has no ``cache.db``)."""
    if not op.isfile(op.join(directory, DBNAME)):
        return set()
    from .pyimport import source_files

    return {op.join(directory, name) for name in source_files(directory)}


def _engine_limits(size_limit, cull_limit):
    """The engine's integers for the ``size_limit`` and ``cull_limit``
    settings.

    ``size_limit=None`` means no limit (diskcache_rs's meaning, shown in its
    README; python-diskcache accepts it but then fails on every write): the
    largest int64. A fractional ``cull_limit`` (the README's Django example
    passes 0.1; python-diskcache fails on every write with one) is rounded
    up: truncated to 0 it would turn automatic culling off, the opposite of
    what the caller asked for.
    """
    size_limit = _INT64_MAX if size_limit is None else int(size_limit)
    cull_limit = math.ceil(cull_limit) if type(cull_limit) is float else int(cull_limit)
    return size_limit, cull_limit


def _fsync_dirs(path, top):
    """fsync ``path`` and its parents up to ``top``: the names of a new
    value file and of the directories made for it must survive a power
    loss before the index refers to the file."""
    top = op.abspath(top)
    path = op.abspath(path)
    while True:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if path == top or len(path) <= len(top):
            return
        path = op.dirname(path)


def _open_flags(sets):
    """The dcg_open flags the settings ask for.

    ``fsync`` (or python-diskcache's ``sqlite_synchronous`` at FULL or
    EXTRA, which in SQLite also means a sync at every commit) makes writes
    durable against power loss; ``network_mode`` picks network mode, with
    the environment variable DISKCACHE_GO_NETWORK_MODE replacing its
    default, 'auto'.
    """
    mode = sets.get('network_mode')
    if mode is None:
        mode = os.environ.get(NETWORK_MODE_ENV) or 'auto'
    if mode not in _NETWORK_MODES:
        raise ValueError(
            'network_mode must be one of %s, not %r' % (', '.join(sorted(_NETWORK_MODES)), mode)
        )
    flags = _NETWORK_MODES[mode]
    synchronous = sets.get('sqlite_synchronous', DEFAULT_SETTINGS['sqlite_synchronous'])
    if sets.get('fsync') or (type(synchronous) is int and synchronous >= 2):
        flags |= _OPEN_SYNC
    return flags


# The settings file carries a checksum of its other fields: a damaged file
# can still be valid JSON with a wrong key or value in it.
_SETTINGS_SUM = '$crc32'


def _settings_sum(data):
    fields = {key: value for key, value in data.items() if key != _SETTINGS_SUM}
    return zlib.crc32(json.dumps(fields, sort_keys=True).encode('utf-8'))


def _check_settings(data):
    """Raise ValueError unless ``data`` is settings this module could have
    written, and removes its checksum field."""
    if not isinstance(data, dict):
        raise ValueError('not an object')
    if data.pop(_SETTINGS_SUM, None) != _settings_sum(data):
        raise ValueError('checksum mismatch')
    policy = data.get('eviction_policy', DEFAULT_SETTINGS['eviction_policy'])
    if policy not in EVICTION_POLICY:
        raise ValueError('eviction policy %r' % (policy,))
    protocol = data.get('disk_pickle_protocol', DEFAULT_SETTINGS['disk_pickle_protocol'])
    if type(protocol) is not int or not 0 <= protocol <= pickle.HIGHEST_PROTOCOL:
        raise ValueError('pickle protocol %r' % (protocol,))
    for key in ('size_limit', 'cull_limit', 'disk_min_file_size', 'statistics', 'tag_index'):
        if key == 'size_limit' and data.get(key, 0) is None:
            continue  # no limit (see _engine_limits)
        if key in data and type(data[key]) not in (int, float):
            raise ValueError('%s %r' % (key, data[key]))


def _settings_load(directory):
    path = op.join(directory, _SETTINGS_FILE)
    try:
        with open(path, 'rb') as reader:
            data = json.loads(reader.read().decode('utf-8'))
        _check_settings(data)
    except FileNotFoundError:
        return {}
    except ValueError as error:
        # The settings file is only a copy of what the caller passes: start
        # again from the defaults (the file is rewritten) rather than leave
        # the cache unopenable.
        warnings.warn(
            'settings file %s is damaged (%s); using the defaults and the given settings'
            % (path, error),
            CorruptionWarning,
            stacklevel=3,
        )
        return {}
    out = {}
    for key, value in data.items():
        if key in _SECRET_SETTINGS:
            # Never written by this module: whoever put it there must not
            # choose the secret, or declare the directory trusted.
            continue
        if isinstance(value, dict) and list(value) == ['$bytes']:
            value = bytes.fromhex(value['$bytes'])
        out[key] = value
    return out


def _settings_store(directory, settings):
    data = {}
    for key, value in _persisted_form(settings).items():
        if type(value) is bytes:
            value = {'$bytes': value.hex()}
        elif value is not None and type(value) not in (int, float, str):
            _bind_error(value)
        data[key] = value
    path = op.join(directory, _SETTINGS_FILE)
    fd, tmp = tempfile.mkstemp(prefix=_SETTINGS_FILE + '.', dir=directory)
    try:
        os.fchmod(fd, settings.get('disk_file_mode', Disk.file_mode))
        data[_SETTINGS_SUM] = _settings_sum(data)
        with os.fdopen(fd, 'wb') as writer:
            writer.write(json.dumps(data, sort_keys=True).encode('utf-8'))
        os.replace(tmp, path)
    except BaseException:
        with cl.suppress(OSError):
            os.unlink(tmp)
        raise


def _alias_write_threshold(disk, settings):
    """Settings with diskcache_rs's ``disk_write_threshold`` renamed to the
    setting it means, ``disk_min_file_size``.

    Left as it is, python-diskcache would hand ``write_threshold`` to the
    Disk next to ``min_file_size`` (always present, from the defaults), two
    values for one threshold; renamed, the threshold is persisted, read back
    on reopen and shown as ``cache.disk_min_file_size`` like any other. A
    Disk subclass whose own ``__init__`` names a ``write_threshold``
    parameter gets it untouched, as python-diskcache would pass it.
    """
    if 'disk_write_threshold' not in settings:
        return settings
    if disk.__init__ is not Disk.__init__ and \
            'write_threshold' in inspect.signature(disk.__init__).parameters:
        return settings
    settings = dict(settings)
    value = settings.pop('disk_write_threshold')
    if 'disk_min_file_size' in settings and settings['disk_min_file_size'] != value:
        raise TypeError(
            'Cache() got disk_min_file_size=%r and disk_write_threshold=%r: '
            'disk_write_threshold is another name for disk_min_file_size, give one of them'
            % (settings['disk_min_file_size'], value)
        )
    settings['disk_min_file_size'] = value
    return settings


def _trust_setting(value):
    """Check the ``trust_shared_directory`` setting."""
    if type(value) is not bool:
        raise ValueError('trust_shared_directory must be True or False, not %r' % (value,))
    return value


def _read_secret_file(path, source):
    """The secret in the file at ``path`` (named by ``source``, for
    messages), without one trailing newline. The file must be one only its
    owner (you or root) can write, through folders only they can write:
    whoever can write it chooses the secret."""
    path = op.expanduser(os.fsdecode(path))
    uid = os.geteuid()
    try:
        reason, real, _ = _lookup_risk(path, uid)
        if reason is None:
            with open(real, 'rb') as reader:
                reason = _write_risk(path, os.fstat(reader.fileno()), uid)
                secret = reader.read()
    except OSError as error:
        raise type(error)(error.errno, '%s: could not read the HMAC secret from %s: %s'
                          % (source, path, error.strerror)) from None
    if reason is not None:
        raise ValueError('%s: refusing the HMAC secret in %s: %s, and whoever can write it '
                         'chooses the secret' % (source, path, reason))
    if secret.endswith(b'\r\n'):
        secret = secret[:-2]
    elif secret.endswith(b'\n'):
        secret = secret[:-1]
    if not secret:
        raise ValueError('%s: the HMAC secret file %s is empty' % (source, path))
    return secret


def _resolve_secret(settings):
    """Fill in ``disk_hmac_secret`` in ``settings`` from where it may come:
    the argument itself; else the file named by ``disk_hmac_secret_file``;
    else the environment variable DISKCACHE_GO_HMAC_SECRET, or the file
    DISKCACHE_GO_HMAC_SECRET_FILE names. An explicit
    ``disk_hmac_secret=None`` turns the environment's secret off."""
    path = settings.pop('disk_hmac_secret_file', None)
    if path is not None:
        if settings.get('disk_hmac_secret') is not None:
            raise ValueError('give disk_hmac_secret or disk_hmac_secret_file, not both')
        settings['disk_hmac_secret'] = _read_secret_file(path, 'disk_hmac_secret_file')
        return
    if 'disk_hmac_secret' in settings:
        return
    secret = os.environb.get(HMAC_SECRET_ENV.encode('ascii'))
    path = os.environb.get(HMAC_SECRET_FILE_ENV.encode('ascii'))
    if secret is not None and path is not None:
        raise ValueError('set %s or %s, not both' % (HMAC_SECRET_ENV, HMAC_SECRET_FILE_ENV))
    if secret is not None:
        if not secret:
            raise ValueError('%s is set but empty' % HMAC_SECRET_ENV)
        settings['disk_hmac_secret'] = secret
    elif path is not None:
        settings['disk_hmac_secret'] = _read_secret_file(path, HMAC_SECRET_FILE_ENV)


class Cache(AsyncCacheMixin):
    """Disk and file backed cache."""

    def __init__(self, directory=None, timeout=60, disk=Disk, **settings):
        """Open the cache in ``directory`` (a new temporary one if None).

        :param str directory: cache directory
        :param float timeout: seconds to wait for the writer lock
        :param type disk: `Disk` subclass for serialization
        :param settings: any of `DEFAULT_SETTINGS`, or extra settings;
            ``pydiskcache`` (not a setting: never persisted) says what to
            do with a directory python-diskcache wrote: ``'import'`` it in
            place on the first open (the default, with a
            `PyDiskcacheImportWarning`), ``'refuse'`` it
            (`PyDiskcacheDirectoryError`) or ``'ignore'`` its files; the
            environment variable ``DISKCACHE_GO_PYDISKCACHE`` sets the
            default. See docs/migration.md.
        """
        try:
            assert issubclass(disk, Disk)
        except (TypeError, AssertionError):
            raise ValueError('disk must subclass diskcache.Disk') from None

        settings = _alias_write_threshold(disk, settings)
        if directory is None:
            directory = tempfile.mkdtemp(prefix='diskcache-')
        directory = str(directory)
        directory = op.expanduser(directory)
        directory = op.expandvars(directory)

        # Not a setting: how to treat a directory python-diskcache wrote, for
        # this open only (never persisted; see pyimport.py).
        pydiskcache = settings.pop('pydiskcache', None)
        if pydiskcache not in (None, 'import', 'refuse', 'ignore'):
            raise ValueError('pydiskcache must be one of import, refuse, ignore, not %r' % (pydiskcache,))

        self._directory = directory
        self._timeout = timeout
        self._handle = None
        self._gen = -1
        self._fast = None
        self._disk = None
        # Thread id -> depth of its transact() blocks, counted from before
        # the engine transaction begins until after it ends; close() leaves
        # the shared handle open while any is counted. _handle_lock guards
        # it and every change of _handle (close, reopen), so no thread can
        # begin a transaction on a handle being closed, or find the handle
        # it began on replaced by another thread's reopen.
        self._txn_depth = {}
        self._handle_lock = threading.Lock()
        _INSTANCES.add(self)


        _resolve_secret(settings)
        self._trust_setting = _trust_setting(settings.get('trust_shared_directory', False))
        self.trust_shared_directory = self._trust_setting
        self._trust = _Trust(directory, weakref.WeakMethod(self._trust_changed))
        self._txn_depth = {}  # thread id -> depth of its open transact()
        # Permissions of the engine's files, until the Disk (which holds the
        # settings' values) exists.
        self._modes = (settings.get('disk_file_mode', Disk.file_mode),
                       settings.get('disk_dir_mode', Disk.dir_mode))

        if not op.isdir(directory):
            try:
                os.makedirs(directory, settings.get('disk_dir_mode', Disk.dir_mode))
            except OSError as error:
                if error.errno != errno.EEXIST:
                    raise EnvironmentError(
                        error.errno,
                        'Cache directory "%s" does not exist'
                        ' and could not be created' % self._directory,
                    ) from None

        if op.isfile(op.join(directory, DBNAME)):
            # python-diskcache's database: import it into this format before
            # anything here is read (one stat when it is absent).
            from .pyimport import import_on_open

            import_on_open(directory, pydiskcache, stacklevel=2)

        # Settings: defaults, then what the directory persisted, then the
        # keyword arguments; the result is persisted again.
        self._policy_name = DEFAULT_SETTINGS['eviction_policy']
        persisted = _settings_load(directory)
        merged = _merge_settings(persisted, settings)
        self._open_flags = _open_flags(merged)
        self._compress_min_size = _compress_min_size(merged.get('compress_min_size', 0))
        self._connect()
        sets = _merge_settings(persisted, settings)
        if _persisted_form(sets) != persisted:
            # Only a change takes the writer lock: opening with the settings
            # already persisted (the usual case) writes nothing.
            with self._locked(retry=True):
                sets = _merge_settings(_settings_load(directory), settings)
                _settings_store(directory, sets)

        kwargs = {key[5:]: value for key, value in sets.items() if key.startswith('disk_')}
        self._disk = disk(directory, **kwargs)
        self._disk._trust = self._trust
        self._modes = (getattr(self._disk, 'file_mode', Disk.file_mode),
                       getattr(self._disk, 'dir_mode', Disk.dir_mode))
        self._disk.fsync = bool(self._open_flags & _OPEN_SYNC)
        self._fast_get = False
        self._memo_keys = False
        self._key_memo = {}

        self._warn_network_filesystem()
        for key, value in sets.items():
            self.reset(key, value, update=False)
        for key in METADATA:
            self.reset(key)

    # -- engine plumbing ---------------------------------------------------

    def _connect(self):
        """Open (or reopen, after close or fork) the engine handle."""
        lib = _ffi.lib()
        handle = _ffi.ffi.new('uint64_t *')
        bufs = _ffi.buffers()
        path = self._directory.encode('utf-8', 'surrogateescape')
        policy = _POLICY_IDS.get(self._policy_name, 0)
        status = lib.dcg_open(
            path,
            len(path),
            *_engine_limits(getattr(self, 'size_limit', DEFAULT_SETTINGS['size_limit']),
                            getattr(self, 'cull_limit', DEFAULT_SETTINGS['cull_limit'])),
            policy,
            self._timeout_seconds(False),
            self._modes[0],
            self._modes[1],
            self._open_flags,
            self._compress_min_size,
            handle,
            bufs.ptr,
            bufs.size,
        )
        if status == _ffi.TIMEOUT:
            raise _calls.timeout_error()
        if status != _ffi.OK:
            _ffi.raise_for(status, bufs, 'open %s' % self._directory)
        self._handle = handle[0]
        self._gen = _ffi.GEN[0]
        # Whether another user could have written the cache, decided at
        # every open (the rest is checked as it is read: _Trust).
        self._trust.check_open(self._trust_setting)
        if self._disk is not None:
            self._fast_flags()
        self._sync_fast()
        return self._handle

    def _trust_changed(self):
        """The cache was found shared after the open: the C get must stop
        unpickling too."""
        if self._disk is not None:
            self._fast_flags()
        self._sync_fast()

    def _sync_fast(self):
        """Put what the C methods (``get``, ``set``, ``delete``, ``incr``)
        read in one attribute: the handle, its fork generation, the get
        flags, the lock timeout, the largest inline value, whether get may
        skip the Disk and the directory (which value file names are
        relative to), the value folders found private, or None when
        every call must take the Python path (a Disk that is not the
        stock one). Called wherever those change."""
        handle = self._handle
        if handle is None or not getattr(self, '_memo_keys', False) or not hasattr(self, 'statistics'):
            self._drop_fast()
        else:
            # The last field: the value folders found private, which the C
            # get needs before it unpickles a value file (None: the
            # directory is declared trusted, nothing to check).
            trust = self._trust
            self._fast = (handle, self._gen, 1 if self.statistics else 0,
                          self._timeout_seconds(False, call=False), int(self._disk.min_file_size),
                          bool(self._fast_get), os.fsencode(self._directory),
                          None if trust.declared else trust.folders)
            _ffi.fast_changed()

    def _drop_fast(self):
        """Send every call of the C methods to the Python path."""
        self._fast = None
        _ffi.fast_changed()

    def _fail_out(self, status, data, what):
        """Raise for a failed engine call of the C methods (``data``: the
        result header and message they got back)."""
        bufs = _ffi.Buffers(max(len(data), _ffi.OUT_DATA))
        bufs.data[:len(data)] = data
        self._fail(status, bufs, what)

    def _h(self):
        """The engine handle, reopened when closed or after a fork."""
        if self._gen != _ffi.GEN[0] or self._handle is None:
            return self._reconnect()
        return self._handle

    def _reconnect(self):
        with self._handle_lock:
            # Another thread may have reopened it while this one waited: two
            # handles would each take the writer lock for themselves.
            if self._gen == _ffi.GEN[0] and self._handle is not None:
                return self._handle
            return self._connect()

    @property
    def network_mode(self):
        """How this handle shares the cache: ``'network'`` or ``'local'``.

        Network mode (chosen by the ``network_mode`` setting, or with
        ``'auto'`` when the directory is on a network or FUSE filesystem)
        maps nothing shared, takes a lock that works between machines for
        every operation and reads and writes with pread/pwrite. Assigning
        (as ``reset('network_mode', ...)`` does) changes the setting, which
        takes effect when the handle is next opened.
        """
        return _ENGINE_MODES[self._mode() & _MODE_MASK]

    def _mode(self):
        mode = self._call(_ffi.lib().dcg_mode)
        if mode < 0:
            self._fail(-mode, None, 'mode')
        return mode

    @network_mode.setter
    def network_mode(self, value):
        self._network_setting = value

    def _warn_network_filesystem(self):
        mode = self._mode()
        if mode & _MODE_WAS_RESET:
            note = _ffi.ffi.new('char[]', 1024)
            _ffi.lib().dcg_repair_note(self._h(), note, 1024)
            warnings.warn(
                'cache directory %s: %s' % (self._directory, _ffi.ffi.string(note).decode('utf-8', 'replace')),
                CorruptionWarning,
                stacklevel=3,
            )
        name = _ffi.ffi.new('char[]', 64)
        if _ffi.lib().dcg_filesystem(self._h(), name, 64) != 1:
            return
        fs = _ffi.ffi.string(name).decode('ascii', 'replace')
        if _ENGINE_MODES[mode & _MODE_MASK] == 'network':
            text = ('cache directory %s is on a %s filesystem: using network mode (a lock file '
                    'and a re-read of the index around every operation: slower, and safe for '
                    'processes on several machines; see docs/network-filesystems.md)')
        else:
            text = ('cache directory %s is on a %s filesystem with network_mode=\'local\': '
                    'safe for processes on this machine, not for processes on several '
                    'machines sharing it (see docs/network-filesystems.md)')
        warnings.warn(text % (self._directory, fs), NetworkFilesystemWarning, stacklevel=3)

    def _forget(self, handle):
        """Drop a handle another thread closed (not a newer one it opened)."""
        with self._handle_lock:
            if self._handle == handle:
                self._handle = None
                self._drop_fast()

    def _call(self, fn, *args):
        """Call ``fn(handle, *args)``, reopening if another thread closed it."""
        while True:
            handle = self._h()
            status = fn(handle, *args)
            if status != _ffi.CLOSED:
                return status
            self._forget(handle)

    def _timeout_seconds(self, retry, call=True):
        if call and _calls.STATE.inline:
            # A call on the event loop's thread (aio.py): one attempt.
            return _calls.INLINE_TIMEOUT
        if retry:
            return -1.0
        timeout = float(self._timeout)
        return timeout if timeout > 0 else 0.0

    def _write(self, op_code, retry, now=0.0, key=(0, b''), value=(0, b''), mode=0,
               filename=b'', size=0, tag=None, expire=None, flags=0):
        """Run one engine write; returns (status, buffers)."""
        kkind, kbytes = key
        vkind, vbytes = value
        if tag is not None:
            tkind, tbytes = tag
            flags |= _ffi.RQ_TAG
        else:
            tkind, tbytes = 0, b''
        if expire is not None:
            flags |= _ffi.RQ_EXPIRE
        else:
            expire = 0.0
        req = _ffi.REQ.pack(
            threading.get_ident(), self._timeout_seconds(retry), now, expire, size, flags,
            kkind, vkind, mode, tkind, len(kbytes), len(vbytes), len(tbytes), len(filename),
        ) + kbytes + vbytes + tbytes + filename
        bufs = _ffi.buffers()
        lib = _ffi.lib()
        while True:
            handle = self._h()
            status = lib.dcg_write(handle, op_code, req, len(req), bufs.ptr, bufs.size)
            if status == _ffi.CLOSED:
                # Another thread closed the shared handle: reopen and retry.
                self._forget(handle)
                continue
            if status == _ffi.SHORTBUF:
                need = _ffi.OUT.unpack_from(bufs.data)[5]
                bufs = _ffi.Buffers(max(need, 2 * bufs.size))
                continue
            return status, bufs

    def _fail(self, status, bufs, what):
        if status == _ffi.TIMEOUT:
            raise _calls.timeout_error()
        if status == _ffi.NOTOWNER:
            raise RuntimeError('%s: this thread does not hold the transaction' % what)
        _ffi.raise_for(status, bufs, what)

    @cl.contextmanager
    def _locked(self, retry=False):
        """Hold the writer lock (a transaction) for the calling thread."""
        tid = threading.get_ident()
        # Counted before the engine transaction begins and until after it
        # ends: close() from another thread in between would end it.
        with self._handle_lock:
            self._txn_depth[tid] = self._txn_depth.get(tid, 0) + 1
        try:
            status, bufs = self._write(_ffi.OP_BEGIN, retry)
            if status != _ffi.OK:
                self._fail(status, bufs, 'begin transaction')
        except BaseException:
            self._leave(tid)
            raise
        try:
            yield
        except BaseException:
            try:
                self._end(False)
            finally:
                self._leave(tid)
            raise
        else:
            try:
                self._end(True)
            finally:
                self._leave(tid)

    def _leave(self, tid):
        with self._handle_lock:
            depth = self._txn_depth.pop(tid) - 1
            if depth:
                self._txn_depth[tid] = depth

    def _end(self, commit):
        status, bufs = self._write(_ffi.OP_END, False, flags=_ffi.RQ_COMMIT if commit else 0)
        if status != _ffi.OK:
            self._fail(status, bufs, 'end transaction')

    def _key(self, key):
        """The engine's (kind, bytes) for ``key``.

        Pickling a tuple key (and pickletools.optimize, which upstream's
        encoding includes) costs ~15 us, most of a memoize hit; flat tuples
        of exactly str, bytes, int, bool and None encode the same every
        time, so the stock Disk's encodings of them are remembered. The
        element types are part of the memo key: (1,) and (True,) are equal
        but pickle differently. (Floats are left out: 0.0 == -0.0.)
        """
        if type(key) is tuple and self._memo_keys:
            types = tuple(map(type, key))
            if _MEMO_TYPES.issuperset(types):
                memo = self._key_memo
                found = memo.get((key, types))
                if found is None:
                    found = _encode_key(*self._disk.put(key))
                    if len(memo) >= _MEMO_SIZE:
                        memo.clear()
                    memo[key, types] = found
                return found
        db_key, raw = self._disk.put(key)
        return _encode_key(db_key, raw)

    def _item_key(self, bufs):
        """The key of an item a peek or pull left in the buffer: (kind, bytes)."""
        kinds, vlen, tlen, flen, _, _, klen, _ = _ffi.KEYS.unpack_from(bufs.data)
        p = _ffi.OUT_DATA + vlen + tlen + flen
        return (kinds >> 28) & 0xF, bytes(bufs.view[p:p + klen])

    def _item(self, bufs):
        """Decode the item a get or pop left in the buffer.

        Returns (mode, filename, db_value, expire_time, tag).
        """
        kinds, vlen, tlen, flen, expire, _size, _st, _ = _ffi.OUT.unpack_from(bufs.data)
        if kinds & _ffi.OTHERS_WROTE:
            self._trust.engine_reported()
        view = bufs.view
        p = _ffi.OUT_DATA
        vkind = kinds & 0xFF
        mode = (kinds >> 8) & 0xFF
        db_value = _decode(vkind, bytes(view[p:p + vlen])) if vkind != _ffi.K_NULL else None
        p += vlen
        if kinds & (1 << 24):
            db_tag = _decode((kinds >> 16) & 0xFF, bytes(view[p:p + tlen]))
        else:
            db_tag = None
        p += tlen
        filename = bytes(view[p:p + flen]).decode('utf-8', 'surrogateescape') if flen else None
        db_expire = expire if kinds & (1 << 25) else None
        return mode, filename, db_value, db_expire, db_tag

    def _serialize(self, binding, value, read, key):
        """Disk.store, telling a Disk that signs what the value is bound to
        (``binding``: see _binding)."""
        if getattr(self._disk, '_hmac_secret', None) is None:
            return self._disk.store(value, read, key=key)
        token = _binding.set(binding)
        try:
            return self._disk.store(value, read, key=key)
        finally:
            _binding.reset(token)

    def _deserialize(self, binding, mode, filename, db_value, read):
        """Disk.fetch, telling a Disk that checks signatures which key the
        value is read (or removed) under."""
        if getattr(self._disk, '_hmac_secret', None) is None:
            return self._disk.fetch(mode, filename, db_value, read)
        token = _binding.set(binding)
        try:
            return self._disk.fetch(mode, filename, db_value, read)
        finally:
            _binding.reset(token)

    # -- properties --------------------------------------------------------

    @property
    def directory(self):
        """Cache directory."""
        return self._directory

    @property
    def timeout(self):
        """Seconds to wait for the writer lock."""
        return self._timeout

    @property
    def disk(self):
        """Disk used for serialization."""
        return self._disk

    # -- transactions ------------------------------------------------------

    @cl.contextmanager
    def transact(self, retry=False):
        """Context manager holding the writer lock for a block of calls.

        Calls from the same thread inside the block join the transaction; an
        exception rolls it back and propagates. Blocks nest.

        :raises Timeout: if the lock could not be taken within ``timeout``
        """
        with self._locked(retry=retry):
            yield

    # -- writes ------------------------------------------------------------

    def set(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Set ``key`` to ``value``; returns True.

        :param float expire: seconds until the item expires (None: never)
        :param bool read: read ``value`` from a file-like object
        :param tag: str, bytes, int or float tag (None: no tag)
        :raises Timeout: if the writer lock could not be taken
        """
        now = time.time()
        # Read once: another thread's close() may set it to None meanwhile.
        handle = self._handle
        if self._memo_keys and not read and tag is None and self._gen == _ffi.GEN[0] and handle is not None:
            # Small str/bytes/int/float keys and values with the stock Disk:
            # encode here and skip the Disk methods (same stored form).
            type_key, type_value = type(key), type(value)
            limit = self._disk.min_file_size
            if type_key is str:
                kind, kbytes = _ffi.K_TEXT, key.encode('utf-8')
            elif type_key is bytes:
                kind, kbytes = _ffi.K_BLOB, key
            elif type_key is int and _INT64_MIN <= key <= _INT64_MAX:
                kind, kbytes = _ffi.K_INT, _pack_q(key)
            else:
                kind = None
            if type_value is bytes and len(value) < limit:
                vkind, vbytes = _ffi.K_BLOB, value
            elif type_value is str and len(value) < limit:
                vkind, vbytes = _ffi.K_TEXT, value.encode('utf-8')
            elif type_value is int and _INT64_MIN <= value <= _INT64_MAX:
                vkind, vbytes = _ffi.K_INT, _pack_q(value)
            else:
                vkind = None
            if kind is not None and vkind is not None:
                if expire is None:
                    flags, expire_time = 0, 0.0
                else:
                    flags, expire_time = _ffi.RQ_EXPIRE, now + expire
                req = _ffi.REQ.pack(
                    threading.get_ident(), self._timeout_seconds(retry), now, expire_time, 0, flags,
                    kind, vkind, MODE_RAW, 0, len(kbytes), len(vbytes), 0, 0,
                ) + kbytes + vbytes
                bufs = _ffi.buffers()
                status = _ffi.LIB.lib.dcg_write(handle, _ffi.OP_SET, req, len(req), bufs.ptr, bufs.size)
                if status == _ffi.OK:
                    return True
                if status != _ffi.CLOSED:
                    self._fail(status, bufs, 'set')
        key_enc = self._key(key)
        expire_time = None if expire is None else now + expire
        size, mode, filename, db_value = self._serialize((_TO_KEY, key_enc), value, read, key)
        return self._store(_ffi.OP_SET, key_enc, expire_time, tag, size, mode, filename,
                           db_value, retry, now)

    def _store(self, op_code, key_enc, expire_time, tag, size, mode, filename, db_value, retry, now):
        try:
            value_enc = _encode_value(db_value)
            tag_enc = None if tag is None else _encode_value(tag)
            fname = b'' if filename is None else filename.encode('utf-8', 'surrogateescape')
            status, bufs = self._write(op_code, retry, now, key_enc, value_enc, mode, fname,
                                       size, tag_enc, expire_time)
        except BaseException:
            if filename is not None:
                self._disk.remove(filename)
            raise
        if status == _ffi.OK:
            return True
        if filename is not None:
            self._disk.remove(filename)
        if status == _ffi.EXISTS:
            return False
        self._fail(status, bufs, 'set')

    def __setitem__(self, key, value):
        """Set ``cache[key] = value`` (retrying until the lock is free)."""
        self.set(key, value, retry=True)

    def touch(self, key, expire=None, retry=False):
        """Give a live ``key`` a new expiry; returns whether it existed."""
        now = time.time()
        key_enc = self._key(key)
        expire_time = None if expire is None else now + expire
        status, bufs = self._write(_ffi.OP_TOUCH, retry, now, key_enc, expire=expire_time)
        if status == _ffi.OK:
            return True
        if status == _ffi.NOTFOUND:
            return False
        self._fail(status, bufs, 'touch')

    def add(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Set ``key`` only if it is absent or expired; returns whether it did."""
        now = time.time()
        key_enc = self._key(key)
        expire_time = None if expire is None else now + expire
        size, mode, filename, db_value = self._serialize((_TO_KEY, key_enc), value, read, key)
        return self._store(_ffi.OP_ADD, key_enc, expire_time, tag, size, mode, filename,
                           db_value, retry, now)

    def incr(self, key, delta=1, default=0, retry=False):
        """Atomically add ``delta`` to the value of ``key``; returns the result.

        A missing or expired key starts from ``default``.

        :raises KeyError: if the key is missing and ``default`` is None
        :raises TypeError: if the stored value is not an inline number
        """
        now = time.time()
        key_enc = self._key(key)
        numeric = (int, float, bool)
        if type(delta) not in numeric or (default is not None and type(default) not in numeric):
            raise TypeError(
                'unsupported operand type(s) for +: %r and %r'
                % (type(default).__name__, type(delta).__name__)
            )
        try:
            delta_enc = _encode_number(delta)
            default_enc = (0, b'') if default is None else _encode_number(default)
        except OverflowError:
            return self._incr_slow(key, key_enc, delta, default, retry, now)
        flags = 0 if default is None else _ffi.RQ_DEFAULT
        # The default travels in the tag slot of the request.
        status, bufs = self._write(_ffi.OP_INCR, retry, now, key_enc, delta_enc,
                                   tag=None if default is None else default_enc, flags=flags)
        if status == _ffi.OK:
            kind = _ffi.OUT.unpack_from(bufs.data)[0] & 0xFF
            return _decode(kind, bytes(bufs.view[_ffi.OUT_DATA:_ffi.OUT_DATA + 8]))
        if status == _ffi.NOTFOUND:
            raise KeyError(key)
        if status == _ffi.NOTNUMERIC:
            raise TypeError('unsupported operand type for +: stored value of %r is not a number' % (key,))
        if status == _ffi.OVERFLOW:
            return self._incr_slow(key, key_enc, delta, default, retry, now)
        self._fail(status, bufs, 'incr')

    def _incr_slow(self, key, key_enc, delta, default, retry, now):
        """incr with an operand or a result beyond int64, in one transaction.

        Python's + makes the result, as upstream's ``value += delta`` does: a
        stored float plus a huge int is a float; an int result beyond int64
        raises SQLite's OverflowError on a live item and is stored pickled
        on the insert path.
        """
        with self._locked(retry=retry):
            # incr counts no hit or miss, as upstream's runs no get.
            status, bufs = self._get_raw(key_enc, now, strict=True, count=False)
            if status not in (_ffi.OK, _ffi.NOTFOUND):
                self._fail(status, bufs, 'incr')
            if status == _ffi.OK:
                mode, _, db_value, db_expire, db_tag = self._item(bufs)
                if mode != MODE_RAW or type(db_value) not in (int, float):
                    raise TypeError('unsupported operand type for +: stored value of %r is not a number' % (key,))
                value = db_value + delta  # OverflowError for a float and an int beyond floats
                if type(value) is int:
                    _encode_value(value)  # raises OverflowError as SQLite would
                try:
                    # A float sum is the engine's float addition of float(delta)
                    # (Python converts the int the same way); an int sum in
                    # range has an int64 delta unless only default was too big.
                    delta_enc = _encode_number(float(delta) if type(value) is float else delta)
                except OverflowError:
                    # A delta beyond int64 whose sum is back in range: set
                    # the sum, keeping the item's expiry and tag (its access
                    # count and time restart, as for any set).
                    size, mode, filename, db_value = self._disk.store(value, False, key=key)
                    self._store(_ffi.OP_SET, key_enc, db_expire, db_tag, size, mode, filename,
                                db_value, retry, now)
                    return value
                status, bufs = self._write(_ffi.OP_INCR, retry, now, key_enc, delta_enc)
                if status != _ffi.OK:
                    self._fail(status, bufs, 'incr')
                kind = _ffi.OUT.unpack_from(bufs.data)[0] & 0xFF
                return _decode(kind, bytes(bufs.view[_ffi.OUT_DATA:_ffi.OUT_DATA + 8]))
            if default is None:
                raise KeyError(key)
            value = default + delta
            size, mode, filename, db_value = self._serialize((_TO_KEY, key_enc), value, False, key)
            self._store(_ffi.OP_SET, key_enc, None, None, size, mode, filename, db_value, retry, now)
            return value

    def decr(self, key, delta=1, default=0, retry=False):
        """Atomically subtract ``delta`` from the value of ``key``."""
        return self.incr(key, -delta, default, retry)

    def pop(self, key, default=None, expire_time=False, tag=False, retry=False):
        """Remove ``key`` and return its value (``default`` if missing)."""
        key_enc = self._key(key)
        default = _pack_default(default, expire_time, tag)
        status, bufs = self._write(_ffi.OP_POP, retry, time.time(), key_enc)
        if status == _ffi.NOTFOUND:
            return default
        if status != _ffi.OK:
            self._fail(status, bufs, 'pop')
        mode, filename, db_value, db_expire, db_tag = self._item(bufs)
        try:
            value = self._deserialize((_REMOVING, key_enc), mode, filename, db_value, False)
        except IOError:
            # The file went away before it could be read.
            return default
        finally:
            if filename is not None:
                self._disk.remove(filename)
        return _shape(value, db_expire, db_tag, expire_time, tag)

    def __delitem__(self, key, retry=True):
        """Delete ``cache[key]``; KeyError if missing or expired."""
        if not self.delete(key, retry=retry):
            raise KeyError(key)
        return True

    def delete(self, key, retry=False):
        """Delete ``key``; returns whether a live item was removed."""
        key_enc = self._key(key)
        status, bufs = self._write(_ffi.OP_DELETE, retry, time.time(), key_enc)
        if status == _ffi.OK:
            return True
        if status == _ffi.NOTFOUND:
            return False
        self._fail(status, bufs, 'delete')

    # -- reads -------------------------------------------------------------

    def _get_raw(self, key_enc, now, strict=False, retry=False, count=True):
        """Look a key up; returns (status, buffers)."""
        kkind, kbytes = key_enc
        flags = 1 if self.statistics and count else 0
        if strict:
            # incr treats only expire_time < now as expired.
            now = math.nextafter(now, -math.inf)
        elif EVICTION_POLICY[self.eviction_policy]['get'] is not None:
            # LRU and LFU record the read, so it is a write.
            return self._write(_ffi.OP_GET, retry, now, key_enc,
                               flags=_ffi.RQ_STATS if flags else 0)
        return self._read(key_enc, now, flags)

    def _read(self, key_enc, now, flags):
        """The engine's lock-free read, which records nothing for the
        eviction policy; returns (status, buffers)."""
        kkind, kbytes = key_enc
        bufs = _ffi.buffers()
        if _calls.STATE.inline:
            # On the event loop's thread (aio.py): never wait.
            flags |= _GET_NOWAIT
        while True:
            handle = self._h()
            status = _ffi.lib().dcg_get(handle, kkind, kbytes, len(kbytes), now, flags,
                                        bufs.ptr, bufs.size)
            if status == _ffi.WOULDBLOCK:
                raise _calls.WouldWait()
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            if status == _ffi.SHORTBUF:
                need = _ffi.OUT.unpack_from(bufs.data)[5]
                bufs = _ffi.Buffers(max(need, 2 * bufs.size))
                continue
            return status, bufs

    def get(self, key, default=None, read=False, expire_time=False, tag=False, retry=False):
        """Return the value of ``key``, or ``default`` if missing or expired.

        :param bool read: return a file handle for file-backed bytes values
        :param bool expire_time: also return the expire time
        :param bool tag: also return the tag
        """
        count = True
        handle = self._handle  # read once, as in set
        if self._fast_get and not (read or expire_time or tag) and self._gen == _GEN[0] \
                and handle is not None:
            # The common case in one C call and no Disk method calls
            # (_ffi_build.FAST_GET); anything unusual takes the general path.
            type_key = type(key)
            if type_key is str or type_key is bytes or type_key is int:
                kind = -1
            else:
                kind, key_bytes = self._key(key)
            value = _fast_get(handle, key if kind < 0 else key_bytes, time.time(),
                              1 if self.statistics else 0, default, pickle.loads, kind)
            if value is Ellipsis:
                count = False  # a value with a file, found and counted
            elif value is not NotImplemented:
                return value
        return self._get_general(key, default, read, expire_time, tag, retry, count)

    def _get_general(self, key, default, read, expire_time, tag, retry, count):
        """get() through the Disk: every case the C paths hand over."""
        key_enc = self._key(key)
        default = _pack_default(default, expire_time, tag)
        status, bufs = self._get_raw(key_enc, time.time(), retry=retry, count=count)
        if status == _ffi.NOTFOUND:
            return default
        if status != _ffi.OK:
            self._fail(status, bufs, 'get')
        mode, filename, db_value, db_expire, db_tag = self._item(bufs)
        try:
            value = self._deserialize((_READING, key_enc), mode, filename, db_value, read)
        except IOError:
            # The item was deleted before its file could be read, or the
            # file is gone: upstream counts a miss, and the lookup (here or
            # in the C path that handed over) counted a hit.
            if self.statistics:
                status = self._call(_ffi.lib().dcg_hit_was_miss)
                if status != _ffi.OK:
                    self._fail(status, None, 'get')
            return default
        return _shape(value, db_expire, db_tag, expire_time, tag)

    def __getitem__(self, key):
        """Return ``cache[key]``; KeyError if missing or expired."""
        value = self.get(key, default=ENOVAL, retry=True)
        if value is ENOVAL:
            raise KeyError(key)
        return value

    def read(self, key, retry=False):
        """Return a file handle for the value of ``key`` (KeyError if missing)."""
        handle = self.get(key, default=ENOVAL, read=True, retry=retry)
        if handle is ENOVAL:
            raise KeyError(key)
        return handle

    def __contains__(self, key):
        """Return whether ``key`` is present and unexpired."""
        kkind, kbytes = self._key(key)
        now = time.time()
        while True:
            handle = self._h()
            status = _ffi.lib().dcg_contains(handle, kkind, kbytes, len(kbytes), now)
            if status == _ffi.OK:
                return True
            if status == _ffi.NOTFOUND:
                return False
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            self._fail(status, None, 'contains')

    # -- bulk removal ------------------------------------------------------

    def _bulk(self, op_code, retry, now=0.0, tag=None, what=''):
        status, bufs = self._write(op_code, retry, now, tag=tag)
        count = _ffi.OUT.unpack_from(bufs.data)[5]
        if status == _ffi.OK:
            return count
        if status == _ffi.TIMEOUT:
            raise Timeout(count)
        self._fail(status, bufs, what)

    def expire(self, now=None, retry=False):
        """Remove expired items; returns how many.

        :raises Timeout: ``Timeout(count)`` if the lock was not available
        """
        now = now or time.time()
        return self._bulk(_ffi.OP_EXPIRE, retry, now=now, what='expire')

    def evict(self, tag, retry=False):
        """Remove the items tagged ``tag``; returns how many."""
        if tag is None:
            # SQL's "tag = NULL" matches nothing.
            return 0
        return self._bulk(_ffi.OP_EVICT, retry, tag=_encode_value(tag), what='evict')

    def clear(self, retry=False):
        """Remove every item; returns how many."""
        return self._bulk(_ffi.OP_CLEAR, retry, what='clear')

    def cull(self, retry=False):
        """Remove expired items, then items in policy order while over size_limit."""
        return self._bulk(_ffi.OP_CULL, retry, now=time.time(), what='cull')

    # -- queues and ends ---------------------------------------------------

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
        kinds, _, _, _, _, _, klen, _ = _ffi.KEYS.unpack_from(bufs.data)
        return _decode((kinds >> 28) & 0xF, bytes(bufs.view[_ffi.OUT_DATA:_ffi.OUT_DATA + klen]))

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
        default = _pack_default(default, expire_time, tag)
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
        return _shape((key, value), db_expire, db_tag, expire_time, tag)

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
        return _shape((key, value), db_expire, db_tag, expire_time, tag)

    def iterkeys(self, reverse=False):
        """Iterate keys in sort order: numbers, then strings, then bytes.

        The order is SQLite's, as in python-diskcache: meaningful for str,
        bytes, int and float keys. Expired keys are included.
        """
        disk = self._disk
        batch = 100
        size = _ffi.BUFSIZE
        has_after, kind, kbytes = 0, 0, b''
        while True:
            bufs = _ffi.Buffers(size)
            handle = self._h()
            status = _ffi.lib().dcg_keys_sorted(handle, has_after, kind, kbytes, len(kbytes),
                                                1 if reverse else 0, batch, bufs.ptr, bufs.size)
            if status == _ffi.SHORTBUF:
                size *= 4
                continue
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            if status != _ffi.OK:
                self._fail(status, bufs, 'iterkeys')
            head = _ffi.KEYS.unpack_from(bufs.data)
            if head[0] & _ffi.OTHERS_WROTE:
                self._trust.engine_reported()
            keys = _parse_keys(bufs.data, head[5])
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
                    if not has_after and i == 0:
                        yield None
                    return
                yield _decode_key(disk, key_kind, key_bytes)
            has_after, (kind, kbytes) = 1, keys[-1]

    # -- memoize -----------------------------------------------------------

    def memoize(self, name=None, typed=False, expire=None, tag=None, ignore=()):
        """Decorator caching a function's results in this cache.

        The key is ``(name,)`` (default: the function's module and qualified
        name) plus the arguments, built by `args_to_key`. Results are stored
        unless ``expire`` is 0 or less. ``wrapper.__cache_key__(*args,
        **kwargs)`` returns the key a call uses.

        :raises TypeError: if used without parentheses
        """
        return _memoizer(self, name, typed, expire, tag, ignore)

    def create_tag_index(self):
        """Record that tags are indexed (``tag_index`` becomes 1)."""
        self.reset('tag_index', 1)

    def drop_tag_index(self):
        """Record that tags are not indexed (``tag_index`` becomes 0)."""
        self.reset('tag_index', 0)

    # -- maintenance -------------------------------------------------------

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
        size = _ffi.BUFSIZE
        while True:
            bufs = _ffi.Buffers(size)
            status = self._call(_ffi.lib().dcg_check, threading.get_ident(),
                                self._timeout_seconds(retry), 1 if fix else 0, bufs.ptr, bufs.size)
            if status == _ffi.SHORTBUF:
                size = _ffi.OUT.unpack_from(bufs.data)[5]
                continue
            if status != _ffi.OK:
                self._fail(status, bufs, 'check')
            data = bufs.data
            p = _ffi.OUT_DATA
            found = []
            (n,) = struct.unpack_from('<I', data, p)
            p += 4
            for _ in range(n):
                (length,) = struct.unpack_from('<I', data, p + 1)
                found.append((data[p], bytes(data[p + 5:p + 5 + length]).decode('utf-8', 'replace')))
                p += 5 + length
            (n,) = struct.unpack_from('<I', data, p)
            p += 4
            files = []
            for _ in range(n):
                (length,) = struct.unpack_from('<I', data, p)
                files.append(bytes(data[p + 4:p + 4 + length]).decode('utf-8', 'surrogateescape'))
                p += 4 + length
            return found, files

    # -- iteration and counts ----------------------------------------------

    def _info(self):
        bufs = _ffi.buffers()
        while True:
            handle = self._h()
            status = _ffi.lib().dcg_info(handle, bufs.info)
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            if status != _ffi.OK:
                self._fail(status, None, 'info')
            return list(bufs.info)

    def _iter(self, ascending=True, raw=False):
        # raw: yield the engine's (kind, bytes) instead of decoded keys.
        max_rowid = self._info()[4]
        yield  # Ready: the bound is captured.
        if max_rowid == 0:
            return
        bound = max_rowid + 1
        cur_id, cur_rowid = 0, 0
        disk = self._disk
        batch = 100
        size = _ffi.BUFSIZE
        while True:
            bufs = _ffi.Buffers(size)
            handle = self._h()
            status = _ffi.lib().dcg_keys(handle, cur_id, cur_rowid, bound, 0 if ascending else 1,
                                         batch, bufs.ptr, bufs.size)
            if status == _ffi.SHORTBUF:
                size *= 4
                continue
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            if status != _ffi.OK:
                self._fail(status, bufs, 'iterate')
            others, _, _, _, next_rowid, count, next_id, _ = _ffi.KEYS.unpack_from(bufs.data)
            if others & _ffi.OTHERS_WROTE:
                self._trust.engine_reported()
            keys = _parse_keys(bufs.data, count)
            if raw:
                yield from keys
            else:
                for kind, kbytes in keys:
                    yield _decode_key(disk, kind, kbytes)
            if count == 0:
                # Not "count < batch": keys added meanwhile are still
                # yielded, as python-diskcache's iterators do.
                return
            cur_id, cur_rowid = next_id, next_rowid

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

    def __len__(self):
        """Count of items, expired ones included."""
        return self.reset('count')

    def stats(self, enable=True, reset=False):
        """Return ``(hits, misses)`` (a `Stats` named tuple); then
        optionally zero them.

        Calling it with no arguments turns statistics on.
        """
        result = Stats(self.reset('hits'), self.reset('misses'))
        if reset:
            self.reset('hits', 0)
            self.reset('misses', 0)
        self.reset('statistics', enable)
        return result

    def volume(self):
        """Estimated bytes on disk: records plus value files plus index."""
        info = self._info()
        self.size = info[5]
        return info[1]

    # -- calls diskcache_rs's users know -----------------------------------

    def exists(self, key):
        """Whether ``key`` is present and unexpired: ``key in cache`` by
        diskcache_rs's name."""
        return key in self

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
        if isinstance(keys, (str, bytes)):
            raise TypeError(
                'get_many() keys must be an iterable of keys, not a single %s '
                '(write get_many([key]))' % type(keys).__name__
            )
        try:
            keys = iter(keys)
        except TypeError:
            raise TypeError(
                'get_many() keys must be an iterable of keys, not %s' % type(keys).__name__
            ) from None
        found = {}
        for key in keys:
            value = self.get(key, ENOVAL, retry=retry)
            if value is not ENOVAL:
                found[key] = value
        return found

    def vacuum(self, retry=False):
        """Remove the expired items, then compact the segment files now;
        returns how many items were removed.

        Space of overwritten and deleted items inside the segment files
        otherwise comes back by the engine's compaction, a little with each
        write once dead bytes outweigh live ones (docs/design.md). Here
        every segment holding dead bytes is compacted at once, in batches
        that let other writers in between, and emptied segment files are
        deleted, so the directory shrinks to about the live data. Removed
        items' value files are deleted with them. (diskcache_rs's
        ``vacuum()`` flushes queued writes; here every write is already in
        the files when it returns.)

        :raises Timeout: ``Timeout(count)`` if the lock was not available
        """
        removed = self.expire(retry=retry)
        self._bulk(_ffi.OP_COMPACT, retry, what='vacuum')
        return removed

    # -- lifecycle ---------------------------------------------------------

    def close(self):
        """Close the engine handle; the object reopens it on next use.

        python-diskcache closes only the calling thread's connection; here
        all threads share one handle, so while any thread has a transaction
        open (or is opening one) the handle stays open: closing it would end
        that transaction under the thread that owns it.
        """
        with self._handle_lock:
            if self._txn_depth:
                return
            handle, self._handle = self._handle, None
            gen = self._gen
            self._drop_fast()
        # Outside the lock: the engine waits for calls in flight on this
        # handle, which may be waiting for another process's writer lock;
        # other threads meanwhile reopen (their calls on it get CLOSED).
        if handle is not None and gen == _ffi.GEN[0]:
            _ffi.lib().dcg_close(handle)

    def __enter__(self):
        self._h()
        return self

    def __exit__(self, *exception):
        self.close()

    def __del__(self):
        with cl.suppress(Exception):
            self.close()

    def __getstate__(self):
        return (self.directory, self.timeout, type(self.disk))

    def __setstate__(self, state):
        self.__init__(*state)

    # -- settings ----------------------------------------------------------

    def reset(self, key, value=ENOVAL, update=True):
        """Read or change a setting (or metadata) and its cached attribute.

        Without ``value`` the persisted value is read into the attribute and
        returned; with ``value`` it is persisted (if ``update``) and applied.
        """
        if value is ENOVAL:
            if key in METADATA:
                info = self._info()
                value = {'count': info[0], 'size': info[5], 'hits': info[2], 'misses': info[3]}[key]
            else:
                persisted = _settings_load(self._directory)
                if key not in persisted:
                    raise ValueError('not enough values to unpack (expected 1, got 0)')
                value = persisted[key]
            setattr(self, key, value)
            self._sync_fast()
            return value

        if update:
            if key in ('hits', 'misses'):
                if value != 0:
                    raise ValueError('diskcache_go can only reset %s to 0' % key)
                self._reset_stats()
            elif key not in METADATA:
                with self._locked(retry=True):
                    persisted = _settings_load(self._directory)
                    if key in persisted:
                        persisted[key] = value
                        _settings_store(self._directory, persisted)
        if key.startswith('disk_') and self._disk is not None:
            setattr(self._disk, key[5:], value)
        setattr(self, key, value)
        self._sync_fast()
        if key in ('size_limit', 'cull_limit', 'eviction_policy') or key.startswith('disk_'):
            # The fast paths and the key memo depend on the Disk's settings
            # (its secret, its pickle protocol) too.
            self._apply_limits()
        if key == 'trust_shared_directory':
            self._trust_setting = _trust_setting(value)
            self._trust.check_open(self._trust_setting)
            self._trust_changed()
        if key in ('fsync', 'sqlite_synchronous', 'network_mode', 'compress_min_size') \
                and self._disk is not None:
            self._reopen_for(key, value)
        return value

    def _reopen_for(self, key, value):
        """Open the engine again when a setting changed how it must open."""
        sets = {k: getattr(self, k) for k in ('fsync', 'sqlite_synchronous') if hasattr(self, k)}
        sets['network_mode'] = getattr(self, '_network_setting', None)
        sets[key] = value
        flags = _open_flags(sets)
        compress = _compress_min_size(
            value if key == 'compress_min_size' else getattr(self, 'compress_min_size', 0))
        if flags != self._open_flags or compress != self._compress_min_size:
            self._open_flags, self._compress_min_size = flags, compress
            self._disk.fsync = bool(flags & _OPEN_SYNC)
            # The next call reopens with the new flags (close waits for an
            # open transaction to end).
            self.close()

    def _reset_stats(self):
        status = self._call(_ffi.lib().dcg_reset_stats)
        if status != _ffi.OK:
            self._fail(status, None, 'reset stats')

    def _fast_flags(self):
        """get() may skip the Disk methods only for the stock Disk without
        a secret, must be a write when the policy records reads, and must
        not unpickle from a shared cache (the Disk refuses)."""
        stock = type(self._disk) is Disk and self._disk.hmac_secret is None
        self._fast_get = (stock and EVICTION_POLICY[self._policy_name]['get'] is None
                          and not self._trust.refusing)
        self._memo_keys = stock

    def _apply_limits(self):
        name = getattr(self, 'eviction_policy', DEFAULT_SETTINGS['eviction_policy'])
        if name not in _POLICY_IDS:
            raise NotImplementedError(
                'eviction policy %r: diskcache_go supports only the built-in policies %s '
                '(custom SQL policies need SQLite)' % (name, ', '.join(sorted(_POLICY_IDS)))
            )
        self._policy_name = name
        self._fast_flags()
        self._key_memo = {}
        self._sync_fast()
        size_limit, cull_limit = _engine_limits(
            getattr(self, 'size_limit', DEFAULT_SETTINGS['size_limit']),
            getattr(self, 'cull_limit', DEFAULT_SETTINGS['cull_limit']))
        status = self._call(_ffi.lib().dcg_limits, size_limit, cull_limit, _POLICY_IDS[name])
        if status != _ffi.OK:
            self._fail(status, None, 'limits')


# The common cases of get, set, delete and incr in one C call each
# (_ffi_build.FAST_GET): the method descriptors read the instance's handle
# and settings themselves and call the Python methods above for anything
# else; those stay what Cache.get etc. are when looked up on the class
# (signature, docs, Cache.get(cache, key)).
Cache.get = _ffi.fast_method('get', Cache.get, Cache._get_general, _GEN, time, pickle)
Cache.set = _ffi.fast_method('set', Cache.set, Cache._fail_out, _GEN, time, pickle)
Cache.delete = _ffi.fast_method('delete', Cache.delete, Cache._fail_out, _GEN, time, pickle)
Cache.incr = _ffi.fast_method('incr', Cache.incr, Cache._fail_out, _GEN, time, pickle)
