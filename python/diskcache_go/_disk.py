"""``Disk`` and ``JSONDisk``: python-diskcache's serialization of keys and
values, with this package's value files (named by their CRC-32) and
signed pickles.
"""

import contextlib as cl
import contextvars
import errno
import functools as ft
import hashlib
import hmac
import io
import json
import os
import os.path as op
import pickle
import pickletools
import re
import sqlite3
import struct
import time
import zlib

from . import _binding as _engine
from . import _ffi
from ._binding import encode_key as _encode_key
from ._settings import (
    DIR_MODE, FILE_MODE,
    CorruptionError, MODE_BINARY, MODE_PICKLE, MODE_RAW, MODE_TEXT, UNKNOWN, _INT64_MAX, _INT64_MIN,
    _fsync_dirs,
)
from ._trust import (
    UntrustedDataError, _ID_FILE, _KEY_LABEL, _STAMP, _STAMP_SIZE, _TAG_SIZE, _VALUE_LABEL,
    _cache_id,
)


# A value stored with set/add is bound to its key; one stored with push to
# its queue (the prefix), because the engine chooses the key as it stores
# it (see Cache.push).
_TO_KEY = 0
_TO_QUEUE = 1
# The keys push makes: integers strictly between 0 and 999999999999999,
# or "<prefix>-" and 15 digits (core/queue.go).
_QUEUE_MAX = 999999999999999
_QUEUE_TEXT = re.compile(r'(.*)-([0-9]{15})\Z', re.DOTALL)
# How many keys' newest signing times a Disk remembers (see Disk._newest).
_NEWEST_KEYS = 1 << 16


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
    file_mode = FILE_MODE
    # Set by Cache from its fsync setting: value files are fsynced (with
    # their directories) before the index refers to them.
    fsync = False
    #: Permission of the directories of value files.
    dir_mode = DIR_MODE
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
        filename, full_path = _summed_name(filename, full_path, _engine.crc32(data))
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
                        crc = _engine.crc32(chunk, crc)
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
        data, crc = _engine.read_file(full_path)
        if data is None:
            # Not a regular file, or it changed size under the read.
            with open(full_path, 'rb') as reader:
                data = reader.read()
            crc = _engine.crc32(data)
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


# Value files the stock Disk names: "ab/<30 hex>-<crc32 as 8 hex>.val", or
# "ab/cd/<28 hex>-<crc32>.val" as it named them before 2026-11-22.
_SUMMED_NAME = re.compile(r'[0-9a-f]{2}/(?:[0-9a-f]{30}|[0-9a-f]{2}/[0-9a-f]{28})-([0-9a-f]{8})\.val\Z')


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
