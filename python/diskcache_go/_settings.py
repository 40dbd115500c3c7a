"""python-diskcache's constants and settings, and how this package keeps
them: the settings file of a cache directory, the values the engine is
opened with, and the warnings and errors the package raises.

Everything here is re-exported by ``diskcache_go.core``, python-diskcache's
module path.
"""

import contextlib as cl
import json
import math
import os
import os.path as op
import pickle
import re
import tempfile
import typing
import warnings
import zlib

from . import _binding as _engine
from . import _ffi


class Constant(tuple):
    """A named constant, compared by identity (a tuple, as upstream's)."""

    def __new__(cls, name):
        return tuple.__new__(cls, (name,))

    def __repr__(self):
        return '%s' % self[0]


DBNAME = 'cache.db'
# The permissions of the files and directories a cache creates, unless the
# settings disk_file_mode and disk_dir_mode say otherwise (Disk.file_mode
# and Disk.dir_mode are these).
FILE_MODE = 0o600
DIR_MODE = 0o700
ENOVAL = Constant('ENOVAL')
UNKNOWN = Constant('UNKNOWN')

MODE_NONE = _ffi.MODE_NONE
MODE_RAW = _ffi.MODE_RAW
MODE_BINARY = _ffi.MODE_BINARY
MODE_TEXT = _ffi.MODE_TEXT
MODE_PICKLE = _ffi.MODE_PICKLE

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

_INT64_MIN = -9223372036854775808
_INT64_MAX = 9223372036854775807
# Settings that are never written to the directory: a secret kept next to
# the data it protects would protect nothing, a secret file or a trust
# declaration read from the directory would be chosen by whoever can write
# it, and whether a directory is reached over a network is a property of
# each machine's mount.
_SECRET_SETTINGS = ('disk_hmac_secret', 'disk_hmac_secret_file', 'network_mode',
                    'trust_shared_directory')

# network_mode values and the dcg_open flag each sets.
_NETWORK_MODES = {'auto': 0, 'network': _ffi.OPEN_NETWORK, 'local': _ffi.OPEN_LOCAL}
_OPEN_SYNC = _ffi.OPEN_SYNC
# The environment variable that replaces the default network_mode 'auto'.
NETWORK_MODE_ENV = 'DISKCACHE_GO_NETWORK_MODE'
# dcg_mode results.
_ENGINE_MODES = {_ffi.MODE_SHARED: 'local', _ffi.MODE_ORDERED: 'local', _ffi.MODE_NETWORK: 'network'}
_MODE_MASK = _ffi.MODE_WAS_RESET - 1

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
# The directories of those names: check() does not count them as litter.
_VALUE_DIR = re.compile(r'[0-9a-f]{2}\Z')


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
            _engine.bind_error(value)
        data[key] = value
    path = op.join(directory, _SETTINGS_FILE)
    fd, tmp = tempfile.mkstemp(prefix=_SETTINGS_FILE + '.', dir=directory)
    try:
        os.fchmod(fd, settings.get('disk_file_mode', FILE_MODE))
        data[_SETTINGS_SUM] = _settings_sum(data)
        with os.fdopen(fd, 'wb') as writer:
            writer.write(json.dumps(data, sort_keys=True).encode('utf-8'))
        os.replace(tmp, path)
    except BaseException:
        with cl.suppress(OSError):
            os.unlink(tmp)
        raise
