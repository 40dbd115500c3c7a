"""``Cache``: python-diskcache's API on the Go engine.

The engine stores typed keys and values and keeps every order, count and
lock; ``Cache`` keeps python-diskcache's serialization (through its
``Disk``), its clock (``time.time()``, read here and passed down, so
patching it works) and its API, and calls the engine only through
``_binding``. ``get``, ``set``, ``delete`` and ``incr`` have a fast path
in C (``_c/``) that ``_binding.install_fast_path`` puts in place of the
methods defined here, which stay the general path it falls back to.

The queue methods are in ``_cache_queue.py``, iteration, the views and the
bulk calls in ``_cache_scan.py``.
"""

import contextlib as cl
import errno
import inspect
import math
import os
import os.path as op
import pickle
import tempfile
import threading
import time
import warnings
import weakref

from . import _binding as _engine
from . import _calls, _ffi
from ._binding import encode_key as _encode_key
from ._binding import encode_number as _encode_number
from ._binding import encode_value as _encode_value
from ._cache_queue import _QueueMethods
from ._cache_scan import _ScanMethods
from ._disk import Disk, _READING, _REMOVING, _TO_KEY, _binding
from ._memo import _memoizer
from ._settings import (
    CorruptionWarning, DBNAME, DEFAULT_SETTINGS, ENOVAL, EVICTION_POLICY, METADATA, MODE_RAW,
    NetworkFilesystemWarning, Stats, Timeout, _ENGINE_MODES, _MODE_MASK, _OPEN_SYNC,
    _compress_min_size, _engine_limits, _merge_settings, _open_flags, _persisted_form,
    _settings_load, _settings_store,
)
from ._trust import _Trust, _resolve_secret, _trust_setting
from .aio import AsyncCacheMixin


# Cache._key's memo of tuple key encodings: element types and size bound.
_MEMO_TYPES = frozenset((str, bytes, int, bool, type(None)))
_MEMO_SIZE = 4096
# Every Cache, so a forked child can give each a fresh _handle_lock (a
# parent's thread may have held it at the fork) and forget the transactions
# of the parent's other threads, which do not exist in the child.
_INSTANCES = weakref.WeakSet()


def _after_fork_child():
    tid = threading.get_ident()
    for cache in list(_INSTANCES):
        cache._handle_lock = threading.Lock()
        depth = cache._txn_depth.get(tid)
        cache._txn_depth = {tid: depth} if depth else {}


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_child)


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


class Cache(AsyncCacheMixin, _QueueMethods, _ScanMethods):
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
        size_limit, cull_limit = _engine_limits(
            getattr(self, 'size_limit', DEFAULT_SETTINGS['size_limit']),
            getattr(self, 'cull_limit', DEFAULT_SETTINGS['cull_limit']))
        status, handle, bufs = _engine.open_cache(
            self._directory, size_limit, cull_limit, _ffi.POLICIES.get(self._policy_name, 0),
            self._timeout_seconds(False), self._modes[0], self._modes[1], self._open_flags,
            self._compress_min_size)
        if status == _ffi.TIMEOUT:
            raise _calls.timeout_error()
        if status != _ffi.OK:
            _ffi.raise_for(status, bufs, 'open %s' % self._directory)
        self._handle = handle
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
            self._fast = (handle, self._gen, _ffi.GET_COUNT if self.statistics else 0,
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
        mode = self._call(_engine.mode)
        if mode < 0:
            self._fail(-mode, None, 'mode')
        return mode

    @network_mode.setter
    def network_mode(self, value):
        self._network_setting = value

    def _warn_network_filesystem(self):
        mode = self._mode()
        if mode & _ffi.MODE_WAS_RESET:
            warnings.warn(
                'cache directory %s: %s' % (self._directory, _engine.repair_note(self._h())),
                CorruptionWarning,
                stacklevel=3,
            )
        fs = _engine.filesystem(self._h())
        if fs is None:
            return
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
        req = _engine.request(op_code, self._timeout_seconds(retry), now, key, value, mode, filename,
                               size, tag, expire, flags)
        while True:
            handle = self._h()
            status, bufs = _engine.write(handle, op_code, req)
            if status != _ffi.CLOSED:
                return status, bufs
            # Another thread closed the shared handle: reopen and retry.
            self._forget(handle)

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
        return _engine.item_key(bufs)

    def _item(self, bufs):
        """Decode the item a get or pop left in the buffer.

        Returns (mode, filename, db_value, expire_time, tag).
        """
        kinds, mode, filename, db_value, db_expire, db_tag = _engine.item(bufs)
        if kinds & _ffi.OTHERS_WROTE:
            self._trust.engine_reported()
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
            return _engine.number(bufs)
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
                return _engine.number(bufs)
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
        default = _engine.pack_default(default, expire_time, tag)
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
        return _engine.shape(value, db_expire, db_tag, expire_time, tag)

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
        flags = _ffi.GET_COUNT if self.statistics and count else 0
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
        if _calls.STATE.inline:
            # On the event loop's thread (aio.py): never wait.
            flags |= _ffi.GET_NOWAIT
        while True:
            handle = self._h()
            status, bufs = _engine.get(handle, key_enc, now, flags)
            if status == _ffi.WOULDBLOCK:
                raise _calls.WouldWait()
            if status != _ffi.CLOSED:
                return status, bufs
            self._forget(handle)

    def get(self, key, default=None, read=False, expire_time=False, tag=False, retry=False):
        """Return the value of ``key``, or ``default`` if missing or expired.

        :param bool read: return a file handle for file-backed bytes values
        :param bool expire_time: also return the expire time
        :param bool tag: also return the tag
        """
        return self._get_general(key, default, read, expire_time, tag, retry, True)

    def _get_general(self, key, default, read, expire_time, tag, retry, count):
        """get() through the Disk: every case the C paths hand over."""
        key_enc = self._key(key)
        default = _engine.pack_default(default, expire_time, tag)
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
                status = self._call(_engine.hit_was_miss)
                if status != _ffi.OK:
                    self._fail(status, None, 'get')
            return default
        return _engine.shape(value, db_expire, db_tag, expire_time, tag)

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
        key_enc = self._key(key)
        now = time.time()
        status = self._call(_engine.contains, key_enc, now)
        if status == _ffi.OK:
            return True
        if status == _ffi.NOTFOUND:
            return False
        self._fail(status, None, 'contains')

    # -- bulk removal ------------------------------------------------------

    def _bulk(self, op_code, retry, now=0.0, tag=None, what=''):
        status, bufs = self._write(op_code, retry, now, tag=tag)
        count = _engine.count(bufs)
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

    # -- iteration and counts ----------------------------------------------

    def _info(self):
        while True:
            handle = self._h()
            status, info = _engine.info(handle)
            if status == _ffi.CLOSED:
                self._forget(handle)
                continue
            if status != _ffi.OK:
                self._fail(status, None, 'info')
            return info




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
            _engine.close(handle)

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
        status = self._call(_engine.reset_stats)
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
        if name not in _ffi.POLICIES:
            raise NotImplementedError(
                'eviction policy %r: diskcache_go supports only the built-in policies %s '
                '(custom SQL policies need SQLite)' % (name, ', '.join(sorted(_ffi.POLICIES)))
            )
        self._policy_name = name
        self._fast_flags()
        self._key_memo = {}
        self._sync_fast()
        size_limit, cull_limit = _engine_limits(
            getattr(self, 'size_limit', DEFAULT_SETTINGS['size_limit']),
            getattr(self, 'cull_limit', DEFAULT_SETTINGS['cull_limit']))
        status = self._call(_engine.limits, size_limit, cull_limit, _ffi.POLICIES[name])
        if status != _ffi.OK:
            self._fail(status, None, 'limits')


# The fast path, unless DISKCACHE_GO_NO_FASTPATH is set: get, set, delete
# and incr become C method descriptors (_c/fast_method.c) that run the
# common case in one call, reading the instance's handle and settings
# themselves, and hand every other to the methods above, the general path;
# those stay what Cache.get etc. are when looked up on the class
# (signature, docs, Cache.get(cache, key)).
_engine.install_fast_path(Cache, time, pickle)
