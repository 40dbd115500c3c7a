"""Copy python-diskcache directories into diskcache_go ones.

The source is read with the standard library's ``sqlite3`` (python-diskcache
does not have to be installed): every row of its ``cache.db`` is written to
a diskcache_go `Cache` in rowid (insertion) order, in the form python-diskcache
stored it. Keys and values are never unpickled, so raw and pickled values
stay as they were and a pickle whose class cannot be imported here migrates
all the same. Value files are copied, not loaded into memory.

What is carried over, per cache directory:

* every live item: key, value, remaining expiry, tag, insertion order;
* the user-visible settings (``size_limit``, ``eviction_policy``,
  ``cull_limit``, ``statistics``, ``tag_index``, ``disk_*`` and any extra
  setting), but not the ``sqlite_*`` ones nor the counters
  (count, size, hits, misses).

Store and access times, access counts and hit/miss statistics start afresh.
Items already expired, and rows whose key is NaN (NULL in SQLite, which no
lookup can ever match), are skipped and counted.

A `FanoutCache` directory (``000/`` ... ``NNN/`` plus the ``cache/<name>``,
``deque/<name>`` and ``index/<name>`` sub-stores) is copied shard by shard
into the same relative paths, so ``diskcache_go.FanoutCache(dst, shards=N)``
finds every key where python-diskcache put it. An `Index` or `Deque`
directory is a plain cache directory and migrates as one.

The in-place import of pyimport.py (a python-diskcache directory opened
by diskcache_go) copies rows with the same functions, hard-linking the
value files instead of copying them.

Without ``drop`` the source is opened read-only and left byte-for-byte
unchanged. With ``drop`` each batch of rows is deleted from the source, in
the source's own SQLite transaction, once it has been written to the
destination (then the batch's value files are removed), so an interruption
leaves every item in the source, the destination, or both.

>>> from diskcache_go.migrate import migrate
>>> summary = migrate('old-cache', 'new-cache')     # doctest: +SKIP
>>> summary.migrated, summary.skipped_expired       # doctest: +SKIP
(1000, 3)
"""

import contextlib
import dataclasses
import errno
import functools
import inspect
import os
import os.path as op
import re
import sqlite3
import sys
import time
import urllib.parse

from . import _binding as _engine
from .core import (
    DEFAULT_SETTINGS,
    EVICTION_POLICY,
    METADATA,
    MODE_BINARY,
    MODE_PICKLE,
    MODE_RAW,
    MODE_TEXT,
    UNKNOWN,
    Cache,
    Disk,
    _makedirs,
    _summed_name,
)

__all__ = ['MigrationError', 'MigrationSummary', 'SourceStore', 'find_source', 'inspect_source', 'migrate']

DBNAME = 'cache.db'
_SHARD_NAME = re.compile(r'^\d{3}$')
_SUBSTORE_KINDS = ('cache', 'deque', 'index')
# Rows read, written and (with drop) deleted per transaction.
_BATCH = 1000
# At most this many problem messages are kept in the summary.
_MAX_PROBLEMS = 50

_SELECT = (
    'SELECT rowid, key, raw, expire_time, tag, size, mode, filename, value'
    ' FROM Cache WHERE rowid > ? ORDER BY rowid LIMIT ?'
)


class MigrationError(Exception):
    """The migration cannot start or cannot go on (the message says why)."""


@dataclasses.dataclass
class MigrationSummary:
    """What a migration did; `migrate` returns one.

    ``bytes_copied`` counts value bytes: inline values (text as UTF-8) and
    the contents of value files.
    """

    source: str
    destination: str
    kind: str = 'Cache'  # 'Cache' or 'FanoutCache'
    shards: int = 0  # FanoutCache only
    stores: int = 0  # cache directories migrated (shards and sub-stores)
    rows: int = 0  # source rows read
    migrated: int = 0
    skipped_expired: int = 0
    skipped_unreadable: int = 0
    skipped_nan_keys: int = 0
    files_copied: int = 0
    files_linked: int = 0  # value files hard-linked (the in-place import)
    bytes_copied: int = 0
    drop: bool = False
    dropped: int = 0  # source rows deleted (``drop=True``)
    elapsed: float = 0.0
    problems: list = dataclasses.field(default_factory=list)

    @property
    def skipped(self):
        """Rows not migrated, whatever the reason."""
        return self.skipped_expired + self.skipped_unreadable + self.skipped_nan_keys

    def as_dict(self):
        """The summary as a plain dict (JSON-serializable)."""
        return dataclasses.asdict(self)

    def format(self):
        """The summary as a few lines of text."""
        rows = [
            ('cache directories', self.stores),
            ('rows read', self.rows),
            ('items migrated', self.migrated),
            ('skipped, expired', self.skipped_expired),
            ('skipped, unreadable', self.skipped_unreadable),
            ('skipped, NaN key', self.skipped_nan_keys),
            ('value files copied', self.files_copied),
        ]
        if self.files_linked:
            rows.append(('value files linked', self.files_linked))
        rows += [
            ('bytes copied', '%d (%s)' % (self.bytes_copied, human_bytes(self.bytes_copied))),
        ]
        if self.drop:
            rows.append(('rows dropped from source', self.dropped))
            rows.append(('rows left in source', self.rows - self.dropped))
        width = max(len(label) for label, _ in rows) + 1
        lines = [
            'migrated %s (%s%s) to %s in %.1f s'
            % (
                self.source,
                self.kind,
                ', %d shards' % self.shards if self.kind == 'FanoutCache' else '',
                self.destination,
                self.elapsed,
            )
        ]
        lines += ['  %-*s %s' % (width, label + ':', value) for label, value in rows]
        for problem in self.problems:
            lines.append('  warning: %s' % problem)
        return '\n'.join(lines)


def human_bytes(count):
    """``1536`` -> ``'1.5 KiB'``."""
    value = float(count)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(value) < 1024 or unit == 'TiB':
            return ('%d %s' % (value, unit)) if unit == 'B' else ('%.1f %s' % (value, unit))
        value /= 1024
    return '%d B' % count  # pragma: no cover


# -- reading the source ------------------------------------------------------


@dataclasses.dataclass
class SourceStore:
    """One python-diskcache cache directory inside a migration source."""

    directory: str  # absolute path
    relative: str  # path relative to the source root ('' for the root)
    shard: int = -1  # shard number in a FanoutCache, -1 otherwise


def _is_py_cache(path):
    return op.isfile(op.join(path, DBNAME))


def find_source(src):
    """Describe a python-diskcache directory: ``(kind, shards, stores)``.

    ``kind`` is ``'Cache'`` or ``'FanoutCache'``; ``stores`` lists every
    cache directory to copy (for a FanoutCache the shards first, then the
    sub-stores).

    :raises MigrationError: if ``src`` is not a python-diskcache directory
    """
    src = op.abspath(src)
    if not op.exists(src):
        raise MigrationError('source %s does not exist' % src)
    if not op.isdir(src):
        raise MigrationError('source %s is not a directory' % src)
    if _is_py_cache(src):
        return 'Cache', 0, [SourceStore(src, '')]
    shard_numbers = sorted(
        int(name) for name in os.listdir(src)
        if _SHARD_NAME.match(name) and _is_py_cache(op.join(src, name))
    )
    if not shard_numbers:
        if op.exists(op.join(src, 'cache.dcg')) or op.exists(op.join(src, '000', 'cache.dcg')):
            raise MigrationError('source %s is already a diskcache_go directory' % src)
        raise MigrationError(
            'source %s is not a python-diskcache directory (it has neither %s nor 000/%s)'
            % (src, DBNAME, DBNAME)
        )
    if shard_numbers != list(range(len(shard_numbers))):
        raise MigrationError(
            'source %s looks like a FanoutCache but its shard directories are not'
            ' numbered 000 to %03d without gaps' % (src, len(shard_numbers) - 1)
        )
    stores = [SourceStore(op.join(src, '%03d' % n), '%03d' % n, n) for n in shard_numbers]
    for kind in _SUBSTORE_KINDS:
        top = op.join(src, kind)
        if not op.isdir(top):
            continue
        for dirpath, dirnames, _ in os.walk(top):
            dirnames.sort()
            if _is_py_cache(dirpath):
                stores.append(SourceStore(dirpath, op.relpath(dirpath, src)))
    return 'FanoutCache', len(shard_numbers), stores


def _connect_source(directory, writable, immutable=True):
    """A connection to ``directory/cache.db``.

    Read-only without ``writable``: with no ``-wal`` file beside the
    database (it was closed cleanly), it is opened ``immutable`` so SQLite
    creates no ``-wal``/``-shm`` files; otherwise ``mode=ro`` reads what the
    existing WAL holds. ``immutable=False`` always uses ``mode=ro``: an
    immutable connection takes no locks, so a python-diskcache process that
    starts writing (and checkpointing into ``cache.db``) during the read
    could tear it; a plain read-only connection reads a consistent
    snapshot, at the price of the empty ``-wal``/``-shm`` files SQLite
    makes beside a WAL database.
    """
    path = op.join(directory, DBNAME)
    try:
        if writable:
            con = sqlite3.connect(path, timeout=60, isolation_level=None)
        else:
            query = 'mode=ro'
            if immutable and not op.exists(path + '-wal'):
                query += '&immutable=1'
            uri = 'file:%s?%s' % (urllib.parse.quote(op.abspath(path)), query)
            con = sqlite3.connect(uri, uri=True, timeout=60, isolation_level=None)
        tables = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.Error as error:
        raise MigrationError('cannot read %s: %s' % (path, error)) from None
    if not {'Cache', 'Settings'} <= tables:
        con.close()
        raise MigrationError('%s is not a python-diskcache database (no Cache and Settings tables)' % path)
    return con


def read_settings(con):
    """The Settings table as a dict (metadata included)."""
    return dict(con.execute('SELECT key, value FROM Settings').fetchall())


def carried_settings(settings):
    """The settings a migration copies: no ``sqlite_*``, no counters."""
    return {
        key: value for key, value in settings.items()
        if not key.startswith('sqlite_') and key not in METADATA
    }


def inspect_source(src):
    """Counts and settings of a python-diskcache directory, read-only.

    Returns a dict with ``kind``, ``shards``, ``count`` (rows, expired ones
    included), ``size`` (bytes of value files, as python-diskcache counts
    them), ``hits``, ``misses``, ``settings`` (of the root or shard 0) and
    ``stores`` (relative paths of the sub-stores).
    """
    kind, shards, stores = find_source(src)
    total = {'count': 0, 'size': 0, 'hits': 0, 'misses': 0}
    settings = None
    for store in stores:
        con = _connect_source(store.directory, writable=False)
        try:
            sets = read_settings(con)
        finally:
            con.close()
        if store.shard >= 0 or kind == 'Cache':
            for key in total:
                total[key] += sets.get(key) or 0
            if settings is None:
                settings = {k: v for k, v in sets.items() if k not in METADATA}
    if kind == 'FanoutCache' and settings is not None and 'size_limit' in settings:
        settings['size_limit'] = settings['size_limit'] * shards
    return {
        'kind': kind,
        'shards': shards,
        'settings': settings or {},
        'stores': [s.relative for s in stores if s.shard < 0 and s.relative],
        **total,
    }


# -- writing the destination -------------------------------------------------


class _StoredKey:
    """A key in the form python-diskcache stored it."""

    __slots__ = ('db_key', 'raw')

    def __init__(self, db_key, raw):
        self.db_key = db_key
        self.raw = raw


class _StoredValue:
    """A value in the form python-diskcache stored it.

    ``reader`` is an open binary file for a file-backed value (its bytes are
    copied to a new file), else None and ``db_value`` is the column value.
    With ``link_from`` (the source file's path) the new file is a hard link
    to the source file where the filesystem allows it.
    """

    __slots__ = ('mode', 'db_value', 'reader', 'link_from', 'copied', 'linked')

    def __init__(self, mode, db_value, reader, link_from=None):
        self.mode = mode
        self.db_value = db_value
        self.reader = reader
        self.link_from = link_from
        self.copied = 0
        self.linked = False


# os.link errors after which the file is copied instead: the filesystem has
# no hard links (FAT, some FUSE and SMB mounts), the kernel refuses to link
# a file this user does not own (fs.protected_hardlinks), too many links, or
# python-diskcache removed the file after it was opened (the open reader
# still holds its bytes).
_NO_LINK = frozenset(
    code for code in (
        errno.EPERM, errno.EACCES, errno.EXDEV, errno.EMLINK, errno.ENOENT,
        getattr(errno, 'ENOTSUP', None), getattr(errno, 'EOPNOTSUPP', None), getattr(errno, 'ENOSYS', None),
    ) if code is not None
)


def _split_disk_settings(settings):
    """``(known, extra)``: the keyword arguments `Disk` takes, and the rest."""
    params = inspect.signature(Disk.__init__).parameters
    known = {key: value for key, value in settings.items() if key in params}
    extra = {key: value for key, value in settings.items() if key not in params}
    return known, extra


class _MigrationDisk(Disk):
    """A Disk that takes keys and values already in their stored form.

    Anything else (a later ``set`` through the same Cache object) is
    serialized as by `Disk`.
    """

    def __init__(self, directory, **settings):
        # The disk_* settings Disk takes go to it; extra ones (say
        # disk_compress_level of a JSONDisk) are kept as attributes, as the
        # source's Disk class would have them.
        known, extra = _split_disk_settings(settings)
        super().__init__(directory, **known)
        for name, value in extra.items():
            setattr(self, name, value)

    def put(self, key):
        if type(key) is _StoredKey:
            db_key = key.db_key
            if type(db_key) is bytes:
                db_key = sqlite3.Binary(db_key)
            return db_key, key.raw
        return super().put(key)

    def store(self, value, read, key=UNKNOWN):
        if type(value) is not _StoredValue:
            return super().store(value, read, key=key)
        if value.reader is None:
            db_value = value.db_value
            if type(db_value) is bytes:
                db_value = sqlite3.Binary(db_value)
            return 0, value.mode, None, db_value
        if value.link_from is not None:
            return self._link(value)
        filename, full_path = self.filename()
        # Disk._write makes the directories and the file as Disk does, and
        # copies the chunks as they are read.
        chunks = iter(functools.partial(value.reader.read, 2**22), b'')
        try:
            size = self._write(full_path, chunks, 'xb')
        except BaseException:
            self.remove(filename)
            raise
        value.copied = size
        return size, value.mode, filename, None

    def _link(self, value):
        """A new name for the source file: a hard link, else a copy.

        The name carries the CRC-32 of the contents, as the stock Disk's
        names do (reads verify it); python-diskcache never rewrites a value
        file, so the two names keep the same bytes.
        """
        size = crc = 0
        for chunk in iter(functools.partial(value.reader.read, 2**22), b''):
            size += len(chunk)
            crc = _engine.crc32(chunk, crc)
        filename, full_path = self.filename()
        filename, full_path = _summed_name(filename, full_path, crc)
        _makedirs(op.dirname(full_path), self.dir_mode)
        try:
            os.link(value.link_from, full_path)
        except OSError as error:
            if error.errno not in _NO_LINK:
                raise
            value.reader.seek(0)
            chunks = iter(functools.partial(value.reader.read, 2**22), b'')
            size = self._write_summed(full_path, chunks)[0]
        else:
            value.linked = True
        value.copied = size
        return size, value.mode, filename, None


def _open_destination(directory, settings):
    """A diskcache_go Cache for ``directory`` with the source's settings.

    Automatic culling is off while the items are copied (``cull_limit`` 0)
    so nothing is evicted on the way; the caller restores it. The
    destination is never itself imported from (``pydiskcache='ignore'``):
    the in-place import writes into the very directory it reads.
    """
    sets = dict(settings)
    sets['cull_limit'] = 0
    try:
        return Cache(directory, disk=_MigrationDisk, pydiskcache='ignore', **sets)
    except NotImplementedError as error:
        raise MigrationError('cannot migrate %s: %s' % (directory, error)) from None


def _remove_source_file(directory, filename):
    """Remove a source value file and its empty ``xx/yy`` parents."""
    full_path = op.join(directory, filename)
    with contextlib.suppress(OSError):
        os.remove(full_path)
    parent = op.dirname(full_path)
    root = op.abspath(directory)
    while op.abspath(parent) != root and op.abspath(parent).startswith(root + os.sep):
        try:
            os.rmdir(parent)
        except OSError:
            break
        parent = op.dirname(parent)


# -- progress ------------------------------------------------------------------


class _Progress:
    """A one-line progress bar, redrawn at most ten times a second."""

    def __init__(self, total, stream, enabled):
        self.total = total
        self.stream = stream
        self.enabled = enabled and stream is not None
        self.done = 0
        self.start = time.monotonic()
        self.last = 0.0
        self.width = 0
        self.drawn = -1

    def update(self, count):
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.1 and self.done < self.total:
            return
        self.last = now
        self._draw(now)

    def _draw(self, now):
        total = max(self.total, 1)
        fraction = min(self.done / total, 1.0)
        filled = int(fraction * 30)
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 and self.done < self.total else 0
        line = 'migrating [%s%s] %3d%% %d/%d rows %.0f rows/s ETA %ds' % (
            '#' * filled, '-' * (30 - filled), fraction * 100, self.done, self.total, rate, eta)
        pad = ' ' * max(self.width - len(line), 0)
        self.width = len(line)
        self.drawn = self.done
        self.stream.write('\r' + line + pad)
        self.stream.flush()

    def close(self):
        if self.enabled and self.width:
            if self.drawn != self.done:
                self._draw(time.monotonic())
            self.stream.write('\n')
            self.stream.flush()


# -- the migration -------------------------------------------------------------


def _check_destination(src, dst, force):
    src_real = op.realpath(src)
    dst_real = op.realpath(dst)
    if src_real == dst_real:
        raise MigrationError('source and destination are the same directory: %s' % src)
    if dst_real.startswith(src_real + os.sep) or src_real.startswith(dst_real + os.sep):
        raise MigrationError('source and destination must not contain each other: %s, %s' % (src, dst))
    if op.exists(dst):
        if not op.isdir(dst):
            raise MigrationError('destination %s exists and is not a directory' % dst)
        if op.exists(op.join(dst, DBNAME)):
            raise MigrationError('destination %s is a python-diskcache directory' % dst)
        if os.listdir(dst) and not force:
            raise MigrationError(
                'destination %s is not empty (use --force, or force=True, to write into it anyway)' % dst
            )


def migrate(src, dst, drop=False, force=False, progress=False, stream=None):
    """Copy the python-diskcache directory ``src`` into ``dst``.

    :param str src: a python-diskcache Cache, FanoutCache, Index or Deque
        directory
    :param str dst: the diskcache_go directory to create; it must be empty
        or missing unless ``force``
    :param bool drop: delete each copied (or expired) row from the source
        and its value file, as the migration goes; without it the source is
        left byte-for-byte unchanged
    :param bool force: write into a non-empty destination (items already
        there with the same keys are overwritten)
    :param bool progress: draw a progress bar on ``stream``
    :param stream: where the progress bar goes (default ``sys.stderr``)
    :return: a `MigrationSummary`
    :raises MigrationError: if the source is not a python-diskcache
        directory, the destination is not empty, a database cannot be read,
        or the source uses an eviction policy diskcache_go lacks
    """
    started = time.monotonic()
    src = op.abspath(op.expanduser(str(src)))
    dst = op.abspath(op.expanduser(str(dst)))
    kind, shards, stores = find_source(src)
    _check_destination(src, dst, force)

    summary = MigrationSummary(source=src, destination=dst, kind=kind, shards=shards, drop=bool(drop))
    total = 0
    for store in stores:
        con = _connect_source(store.directory, writable=False)
        try:
            total += con.execute('SELECT COUNT(*) FROM Cache').fetchone()[0]
            policy = read_settings(con).get('eviction_policy', DEFAULT_SETTINGS['eviction_policy'])
        except sqlite3.Error as error:
            raise MigrationError('cannot read %s: %s' % (op.join(store.directory, DBNAME), error)) from None
        finally:
            con.close()
        if policy not in EVICTION_POLICY:
            raise MigrationError(
                'cannot migrate %s: its eviction policy %r is not one diskcache_go has (%s)'
                % (store.directory, policy, ', '.join(sorted(EVICTION_POLICY)))
            )
    bar = _Progress(total, sys.stderr if stream is None else stream, progress)
    try:
        for store in stores:
            _migrate_store(store, op.join(dst, store.relative) if store.relative else dst,
                           drop, summary, bar)
            summary.stores += 1
    finally:
        bar.close()
    summary.elapsed = time.monotonic() - started
    return summary


def _problem(summary, message):
    if len(summary.problems) < _MAX_PROBLEMS:
        summary.problems.append(message)
    elif len(summary.problems) == _MAX_PROBLEMS:
        summary.problems.append('... (further problems not listed)')


def _migrate_store(store, dst_dir, drop, summary, bar, link=False, immutable=True):
    """Copy one cache directory's rows into ``dst_dir``.

    ``link`` hard-links value files instead of copying them (the in-place
    import: same filesystem); ``immutable=False`` reads through a locking
    read-only connection (see `_connect_source`).
    """
    con = _connect_source(store.directory, writable=drop, immutable=immutable)
    try:
        _migrate_rows(con, store, dst_dir, drop, summary, bar, link)
    except sqlite3.Error as error:
        raise MigrationError('error reading %s: %s' % (op.join(store.directory, DBNAME), error)) from None
    finally:
        con.close()


def _migrate_rows(con, store, dst_dir, drop, summary, bar, link=False):
    """Open the destination with the source's settings and copy the rows."""
    if drop:
        _fill(con, store, dst_dir, drop, summary, bar, link)
        return
    # One read transaction: a consistent snapshot of the source, its
    # settings and its rows alike.
    con.execute('BEGIN')
    try:
        _fill(con, store, dst_dir, drop, summary, bar, link)
    finally:
        con.execute('COMMIT')


def _fill(con, store, dst_dir, drop, summary, bar, link):
    carried = carried_settings(read_settings(con))
    dest = _open_destination(dst_dir, carried)
    try:
        if drop:
            _copy_rows_dropping(con, store, dest, summary, bar)
        else:
            _copy_rows(con, store, dest, summary, bar, link)
        dest.reset('cull_limit', carried.get('cull_limit', DEFAULT_SETTINGS['cull_limit']))
    finally:
        dest.close()


def _copy_rows(con, store, dest, summary, bar, link=False):
    """Copy every row, batch by batch, leaving the source as it is."""
    last = 0
    while True:
        rows = con.execute(_SELECT, (last, _BATCH)).fetchall()
        if not rows:
            return
        last = rows[-1][0]
        _copy_batch(rows, store, dest, summary, link)
        bar.update(len(rows))


def _copy_rows_dropping(con, store, dest, summary, bar):
    last = 0
    while True:
        con.execute('BEGIN IMMEDIATE')
        try:
            rows = con.execute(_SELECT, (last, _BATCH)).fetchall()
            if not rows:
                con.execute('COMMIT')
                return
            last = rows[-1][0]
            done, files = _copy_batch(rows, store, dest, summary)
            con.executemany('DELETE FROM Cache WHERE rowid = ?', [(rowid,) for rowid in done])
            con.execute('COMMIT')
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                con.execute('ROLLBACK')
            raise
        summary.dropped += len(done)
        for filename in files:
            _remove_source_file(store.directory, filename)
        bar.update(len(rows))


def _inside(filename):
    """Whether a value file name stays inside its cache directory."""
    if op.isabs(filename) or '\x00' in filename:
        return False
    norm = op.normpath(filename)
    return norm != '..' and not norm.startswith('..' + os.sep) and norm != '.'


def _copy_batch(rows, store, dest, summary, link=False):
    """Write one batch; returns the rowids that may be dropped from the
    source (copied or expired) and their value files."""
    done = []
    files = []
    directory = store.directory
    with dest.transact(retry=True):
        for rowid, db_key, raw, expire_time, tag, _size, mode, filename, db_value in rows:
            summary.rows += 1
            if raw and db_key is None:
                summary.skipped_nan_keys += 1
                _problem(summary, '%s: row %d has a NaN key (NULL), which no lookup can match; skipped'
                         % (directory, rowid))
                continue
            if filename is not None and not _inside(filename):
                summary.skipped_unreadable += 1
                _problem(summary, '%s: row %d: value file name %r points outside the cache directory; skipped'
                         % (directory, rowid, filename))
                continue
            if expire_time is not None:
                remaining = expire_time - time.time()
                if remaining <= 0:
                    summary.skipped_expired += 1
                    done.append(rowid)
                    if filename is not None:
                        files.append(filename)
                    continue
            else:
                remaining = None
            reader = None
            if filename is not None and mode in (MODE_BINARY, MODE_TEXT, MODE_PICKLE):
                try:
                    reader = open(op.join(directory, filename), 'rb')
                except OSError as error:
                    summary.skipped_unreadable += 1
                    _problem(summary, '%s: row %d: cannot read value file %s: %s'
                             % (directory, rowid, filename, error.strerror or error))
                    continue
            elif mode not in (MODE_RAW, MODE_PICKLE) or (mode == MODE_PICKLE and db_value is None):
                summary.skipped_unreadable += 1
                _problem(summary, '%s: row %d: unknown value mode %r (file %r); skipped'
                         % (directory, rowid, mode, filename))
                continue
            value = _StoredValue(mode, db_value, reader,
                                 op.join(directory, filename) if link and reader is not None else None)
            try:
                dest.set(_StoredKey(db_key, bool(raw)), value, expire=remaining, tag=tag, retry=True)
            finally:
                if reader is not None:
                    reader.close()
            summary.migrated += 1
            if value.linked:
                summary.files_linked += 1
                summary.bytes_copied += value.copied
            elif reader is not None:
                summary.files_copied += 1
                summary.bytes_copied += value.copied
                files.append(filename)
            elif type(db_value) is str:
                summary.bytes_copied += len(db_value.encode('utf-8'))
            elif type(db_value) is bytes:
                summary.bytes_copied += len(db_value)
            done.append(rowid)
    return done, files
