"""Open python-diskcache directories in place: import them on first open.

`Cache` (and so `Index`, `Deque`), `FanoutCache` and `DjangoCache` call
this module when the directory they open holds python-diskcache's
``cache.db``. The first open copies every row into the diskcache_go files
beside it, with migrate.py's row copying (stored forms, never unpickled;
remaining expiry, tags, insertion order, settings), hard-linking the value
files where the filesystem allows, and warns once
(`PyDiskcacheImportWarning`). python-diskcache's files are only read and stay
where they are, so python-diskcache can still open the directory.

Files it keeps in the cache directory (all start with the engine's prefix,
so check() does not report them):

``cache.dcg-import.lock``
    flock'ed by the process that imports or checks the import, so that
    several processes opening the directory at once import it once, and
    none opens it half-imported.
``cache.dcg-import.started``
    written (atomically, fsynced) before the first engine file, and only
    when the directory has none: the engine files beside it were all made
    by an import. An opener that finds it without the marker knows that
    import was interrupted, removes those files and starts over.
``cache.dcg-imported``
    the marker: written atomically once the imported files are fsynced. Its
    presence means "imported": the source is not read again, and a
    FanoutCache opened without ``shards`` counts its shards from it.

The import is chosen by the ``pydiskcache`` keyword (of Cache, FanoutCache
and DjangoCache's OPTIONS; never persisted as a setting) or the environment
variable ``DISKCACHE_GO_PYDISKCACHE``: ``'import'`` (the default),
``'refuse'`` (raise `PyDiskcacheDirectoryError`) or ``'ignore'`` (open the
diskcache_go files as if ``cache.db`` were not there).
"""

import contextlib
import datetime
import errno
import json
import os
import os.path as op
import re
import tempfile
import time
import warnings

from . import _binding
from ._version import __version__
from .core import DBNAME, EVICTION_POLICY, PyDiskcacheDirectoryError, PyDiskcacheImportWarning
from .migrate import (
    MigrationError,
    MigrationSummary,
    SourceStore,
    _connect_source,
    _migrate_store,
    _Progress,
    read_settings,
)

__all__ = ['MODE_ENV', 'MODES', 'fanout_shards', 'import_on_open', 'remove_source', 'resolve_mode', 'source_files']

MODE_ENV = 'DISKCACHE_GO_PYDISKCACHE'
MODES = ('import', 'refuse', 'ignore')
DEFAULT_SHARDS = 8

LOCK_FILE = 'cache.dcg-import.lock'
STARTED_FILE = 'cache.dcg-import.started'
MARKER_FILE = 'cache.dcg-imported'
# Every name the engine and the settings file use starts with this; the
# import's own files start with _IMPORT_PREFIX and are not engine files.
_ENGINE_PREFIX = 'cache.dcg'
_IMPORT_PREFIX = 'cache.dcg-import'

_SHARD_NAME = '%03d'
_VALUE_DIR = re.compile(r'[0-9a-f]{2}\Z')
# The names the import gives value files ("ab/<30 hex>-<crc32>.val").
# python-diskcache never makes a name of this shape (its are
# "ab/cd/<28 hex>.val"), so after an interrupted import such a file can
# only be the import's.
_IMPORTED_VALUE = re.compile(r'[0-9a-f]{30}-[0-9a-f]{8}\.val\Z')
# python-diskcache's files: its database and value files.
_SOURCE_DB = ('cache.db', 'cache.db-wal', 'cache.db-shm', 'cache.db-journal')
_SOURCE_VALUE = re.compile(r'[0-9a-f]{28}\.val\Z')

_TURN_OFF = (
    "To turn this import off, set the environment variable %s=ignore (open only the diskcache_go "
    "files) or =refuse (raise an error), or pass pydiskcache='ignore' or 'refuse'." % MODE_ENV
)


def resolve_mode(mode):
    """The mode to use: the keyword, else the environment variable, else
    ``'import'``.

    :raises ValueError: for any other value
    """
    source = 'pydiskcache'
    if mode is None:
        mode = os.environ.get(MODE_ENV) or 'import'
        source = MODE_ENV
    if mode not in MODES:
        raise ValueError('%s must be one of %s, not %r' % (source, ', '.join(MODES), mode))
    return mode


def source_files(directory):
    """Names, relative to ``directory``, of python-diskcache's files in it:
    ``cache.db`` (with its ``-wal``, ``-shm`` and ``-journal``) and value
    files ``ab/cd/<28 hex>.val``."""
    names = [name for name in _SOURCE_DB if op.isfile(op.join(directory, name))]
    for top in _list_dirs(directory):
        for sub in _list_dirs(op.join(directory, top)):
            folder = op.join(directory, top, sub)
            names.extend(op.join(top, sub, name) for name in _listdir(folder) if _SOURCE_VALUE.match(name))
    return names


def remove_source(directory):
    """Remove python-diskcache's files from every imported cache directory
    in ``directory`` (itself, or the shards and named sub-stores of a
    FanoutCache), once rolling back is no longer wanted.

    Only directories with the import's marker are touched: there the
    diskcache_go files hold everything, and its value files are links or
    copies of their own. The marker stays (a FanoutCache opened without
    ``shards`` counts its shards from it). Stop every python-diskcache
    process using the directory first: a running one would recreate
    ``cache.db``.

    :return: the number of files removed
    :raises PyDiskcacheDirectoryError: if a directory below has a
        ``cache.db`` that was not imported (nothing is removed then), or
        none was imported at all
    """
    imported = []
    for dirpath, dirnames, filenames in os.walk(directory):
        if DBNAME in filenames or MARKER_FILE in filenames or _ENGINE_PREFIX in filenames:
            # A cache directory: its "ab" directories hold value files.
            dirnames[:] = [name for name in dirnames if not _VALUE_DIR.match(name)]
        dirnames.sort()
        if DBNAME in filenames and MARKER_FILE not in filenames:
            raise PyDiskcacheDirectoryError(
                '%s has a python-diskcache %s that was not imported: open it with diskcache_go first '
                '(nothing was removed)' % (dirpath, DBNAME)
            )
        if MARKER_FILE in filenames:
            imported.append(dirpath)
    if not imported:
        raise PyDiskcacheDirectoryError('%s holds no imported python-diskcache directory' % directory)
    removed = 0
    for folder in imported:
        for name in source_files(folder):
            path = op.join(folder, name)
            os.remove(path)
            removed += 1
            if op.dirname(name):
                # python-diskcache's "ab/cd" directory, once empty (never
                # "ab": the stock Disk keeps its 256 directories).
                with contextlib.suppress(OSError):
                    os.rmdir(op.dirname(path))
    return removed


def _list_dirs(path):
    """The two-hex-digit directories in ``path``, sorted."""
    return sorted(name for name in _listdir(path) if _VALUE_DIR.match(name) and op.isdir(op.join(path, name)))


def _listdir(path):
    """``os.listdir``, or nothing for a directory that is gone: a
    python-diskcache process still running removes its emptied ``ab/cd``
    directories at any time."""
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def _imported(directory):
    return op.exists(op.join(directory, MARKER_FILE))


def _engine_files(directory):
    """The engine's files in ``directory`` (not the import's own)."""
    return [
        name for name in os.listdir(directory)
        if name.startswith(_ENGINE_PREFIX) and not name.startswith(_IMPORT_PREFIX)
    ]


def _side_by_side(directory):
    """Whether ``directory`` holds engine files no import made: a
    diskcache_go cache opened next to ``cache.db`` with ``'ignore'``, or by
    a diskcache_go release that did not import."""
    return (
        not _imported(directory)
        and not op.exists(op.join(directory, STARTED_FILE))
        and bool(_engine_files(directory))
    )


# -- the import of one cache directory -----------------------------------------


def import_on_open(directory, mode=None, stacklevel=2):
    """Called by `Cache` when ``directory`` has a ``cache.db``: import it
    (once), refuse it or ignore it, as ``mode`` (see `resolve_mode`) says.
    ``stacklevel`` is the caller's, as for `warnings.warn`: 2 points the
    warning at whoever called the caller.

    :return: the `MigrationSummary` when this call imported it, else None
    :raises PyDiskcacheDirectoryError: mode ``'refuse'``, or the directory
        cannot be imported
    """
    mode = resolve_mode(mode)
    if mode == 'ignore' or _imported(directory):
        return None
    if mode == 'refuse':
        raise PyDiskcacheDirectoryError(
            '%s is a python-diskcache directory (it has %s) and %s is refuse: it was not opened. '
            'Unset it (or use import) to import it in place on this open, or copy it with: '
            'python -m diskcache_go migrate %s NEW_DIR' % (directory, DBNAME, _mode_source(), directory)
        )
    outcome, summary = _import_store(directory)
    if outcome == 'imported':
        warnings.warn(_imported_message(directory, [summary], 'Cache'), PyDiskcacheImportWarning,
                      stacklevel=stacklevel + 1)
    elif outcome == 'side-by-side':
        warnings.warn(_side_by_side_message([directory]), PyDiskcacheImportWarning, stacklevel=stacklevel + 1)
    return summary


def _mode_source():
    return 'pydiskcache' if os.environ.get(MODE_ENV) is None else 'pydiskcache (or %s)' % MODE_ENV


@contextlib.contextmanager
def _import_lock(directory):
    """Hold the directory's import lock (blocking: an import in progress is
    waited for, however long it takes; a killed importer's lock is released
    by the kernel)."""
    path = op.join(directory, LOCK_FILE)
    try:
        handle = _binding.file_lock(path)
    except OSError as error:
        raise PyDiskcacheDirectoryError(
            'cannot import the python-diskcache directory %s: cannot create or lock its lock file %s: %s '
            '(the import writes diskcache_go\'s files beside cache.db; for a directory this process '
            'cannot write, copy it elsewhere with: python -m diskcache_go migrate %s NEW_DIR)'
            % (directory, path, error.strerror or error, directory)
        ) from error
    try:
        yield
    finally:
        _binding.file_unlock(handle)


def _import_store(directory):
    """Import ``directory`` unless done: ``(outcome, summary)``.

    ``outcome`` is ``'imported'`` (by this call), ``'done'`` (by another
    process, or ``cache.db`` is gone) or ``'side-by-side'``.
    """
    with _import_lock(directory):
        if _imported(directory) or not op.isfile(op.join(directory, DBNAME)):
            return 'done', None
        if op.exists(op.join(directory, STARTED_FILE)):
            _remove_partial(directory)
        elif _engine_files(directory):
            return 'side-by-side', None
        _check_source(directory)
        started = time.monotonic()
        for name in os.listdir(directory):
            # A temporary file of a _write_atomic that was killed.
            if name.startswith(_IMPORT_PREFIX) and name.endswith('.tmp'):
                os.remove(op.join(directory, name))
        _write_atomic(directory, STARTED_FILE, {'pid': os.getpid(), 'time': _now(), 'version': __version__})
        summary = MigrationSummary(source=op.abspath(directory), destination=op.abspath(directory))
        try:
            _migrate_store(SourceStore(directory, ''), directory, False, summary, _Progress(0, None, False),
                           link=True, immutable=False)
        except MigrationError as error:
            # The started file stays: the next open removes what was made.
            raise PyDiskcacheDirectoryError('cannot import the python-diskcache directory %s: %s'
                                            % (directory, error)) from error
        summary.stores = 1
        summary.elapsed = time.monotonic() - started
        # Everything the import wrote reaches the disk before the marker
        # says it is whole.
        _fsync_import(directory)
        record = summary.as_dict()
        del record['destination'], record['drop'], record['dropped'], record['kind'], record['shards']
        record.update(time=_now(), version=__version__)
        _write_atomic(directory, MARKER_FILE, record)
        os.remove(op.join(directory, STARTED_FILE))
        _fsync_dir(directory)
        return 'imported', summary


def _check_source(directory):
    """Refuse, before writing anything, a source that cannot be imported."""
    try:
        con = _connect_source(directory, writable=False, immutable=False)
        try:
            policy = read_settings(con).get('eviction_policy', 'least-recently-stored')
        finally:
            con.close()
    except MigrationError as error:
        raise PyDiskcacheDirectoryError(
            'cannot import the python-diskcache directory %s: %s (pass pydiskcache=\'ignore\', or set '
            '%s=ignore, to open it without importing)' % (directory, error, MODE_ENV)
        ) from error
    if policy not in EVICTION_POLICY:
        raise PyDiskcacheDirectoryError(
            'cannot import the python-diskcache directory %s: its eviction policy %r is not one '
            'diskcache_go has (%s)' % (directory, policy, ', '.join(sorted(EVICTION_POLICY)))
        )


def _remove_partial(directory):
    """Remove what an interrupted import made: every engine file (none
    existed when it started) and the value files named as it names them.
    python-diskcache's files are not touched."""
    for name in os.listdir(directory):
        path = op.join(directory, name)
        if name.startswith(_ENGINE_PREFIX) and name not in (LOCK_FILE, STARTED_FILE):
            os.remove(path)
    for top in _list_dirs(directory):
        folder = op.join(directory, top)
        for name in os.listdir(folder):
            if _IMPORTED_VALUE.match(name):
                os.remove(op.join(folder, name))


def _fsync_import(directory):
    """fsync the engine files, the value files the import named and their
    directories, then the cache directory."""
    for name in _engine_files(directory):
        _fsync_path(op.join(directory, name))
    for top in _list_dirs(directory):
        folder = op.join(directory, top)
        names = [name for name in os.listdir(folder) if _IMPORTED_VALUE.match(name)]
        for name in names:
            _fsync_path(op.join(folder, name))
        if names:
            _fsync_dir(folder)
    _fsync_dir(directory)


def _fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path):
    try:
        _fsync_path(path)
    except OSError as error:
        # Some filesystems cannot fsync a directory; the data files were.
        if error.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise


def _write_atomic(directory, name, data):
    """Write JSON ``data`` to ``directory/name``: a fsynced temporary file,
    renamed over it, then the directory fsynced."""
    fd, tmp = tempfile.mkstemp(prefix=name + '.', suffix='.tmp', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as writer:
            writer.write(json.dumps(data, sort_keys=True, indent=1).encode('utf-8') + b'\n')
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(tmp, op.join(directory, name))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(directory)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')


# -- FanoutCache ----------------------------------------------------------------


def _shard_count(directory):
    """Shards ``000``, ``001``, ... that python-diskcache wrote (they have a
    ``cache.db``, or the marker of its import), counted up to the first gap."""
    count = 0
    while True:
        shard = op.join(directory, _SHARD_NAME % count)
        if not (op.isfile(op.join(shard, DBNAME)) or _imported(shard)):
            return count
        count += 1


def fanout_shards(directory, shards=None, mode=None, stacklevel=2):
    """Called by `FanoutCache`: the number of shards to open ``directory``
    with, after importing any python-diskcache shard in it (one warning
    for them all). ``stacklevel`` as for `import_on_open`.

    ``shards=None`` means the count python-diskcache used, found from the
    directory, or 8 for a directory it did not write.

    :raises PyDiskcacheDirectoryError: mode ``'refuse'``; ``shards`` is not
        the python-diskcache shard count (its keys would be looked for in
        the wrong shards); a shard cannot be imported
    """
    found = _shard_count(directory)
    if not found:
        return DEFAULT_SHARDS if shards is None else shards
    mode = resolve_mode(mode)
    first = op.join(directory, _SHARD_NAME % 0)
    # A directory opened before by a diskcache_go that did not import (8
    # shards by default): keep opening it as it was opened.
    if mode == 'ignore' or _side_by_side(first):
        shards = DEFAULT_SHARDS if shards is None else shards
        if mode == 'ignore':
            return shards
    elif shards is None:
        shards = found
    pending = [
        op.join(directory, _SHARD_NAME % n) for n in range(found)
        if not _imported(op.join(directory, _SHARD_NAME % n))
        and op.isfile(op.join(directory, _SHARD_NAME % n, DBNAME))
    ]
    if not pending:
        return shards
    if mode == 'refuse':
        raise PyDiskcacheDirectoryError(
            '%s is a python-diskcache FanoutCache directory (%d shards) and %s is refuse: it was not '
            'opened. Unset it (or use import) to import it in place on this open, or copy it with: '
            'python -m diskcache_go migrate %s NEW_DIR' % (directory, found, _mode_source(), directory)
        )
    if shards != found and not _side_by_side(first):
        raise PyDiskcacheDirectoryError(
            '%s is a python-diskcache FanoutCache with %d shards: open it with shards=%d (or without '
            'shards) to import it; with %d shards its keys would be looked for in the wrong shards'
            % (directory, found, found, shards)
        )
    imported = []
    side_by_side = []
    for shard in pending:
        outcome, summary = _import_store(shard)
        if outcome == 'imported':
            imported.append(summary)
        elif outcome == 'side-by-side':
            side_by_side.append(shard)
    if imported:
        warnings.warn(_imported_message(directory, imported, 'FanoutCache', found), PyDiskcacheImportWarning,
                      stacklevel=stacklevel + 1)
    if side_by_side:
        warnings.warn(_side_by_side_message(side_by_side), PyDiskcacheImportWarning, stacklevel=stacklevel + 1)
    return shards


# -- messages --------------------------------------------------------------------


def _imported_message(directory, summaries, kind, shards=0):
    migrated = sum(s.migrated for s in summaries)
    linked = sum(s.files_linked for s in summaries)
    copied = sum(s.files_copied for s in summaries)
    expired = sum(s.skipped_expired for s in summaries)
    unreadable = sum(s.skipped_unreadable + s.skipped_nan_keys for s in summaries)
    elapsed = sum(s.elapsed for s in summaries)
    where = ('the python-diskcache cache in %s' % op.abspath(directory) if kind == 'Cache' else
             'the python-diskcache FanoutCache in %s (%d of its %d shards)'
             % (op.abspath(directory), len(summaries), shards))
    details = []
    if linked or copied:
        details.append('%d value files hard-linked, %d copied' % (linked, copied))
    if expired:
        details.append('%d expired entries left out' % expired)
    if unreadable:
        details.append('%d unreadable entries left out, listed in %s' % (unreadable, MARKER_FILE))
    return (
        'imported %d entries%s from %s on this first open by diskcache_go (%.1f s). '
        'python-diskcache\'s files (%s and its value files) are left as they were, for a rollback, '
        'and are no longer read: what python-diskcache writes to them from now on is not seen here; '
        'docs/migration.md says how to remove them. %s'
        % (migrated, ' (%s)' % '; '.join(details) if details else '', where, elapsed, DBNAME, _TURN_OFF)
    )


def _side_by_side_message(directories):
    return (
        '%s: python-diskcache\'s %s was not imported, because diskcache_go files were already there '
        '(made by a diskcache_go release that did not import, or opened with pydiskcache=\'ignore\'); '
        'the diskcache_go cache is opened as it is. To import the python-diskcache entries, remove '
        'the cache.dcg* files (losing what diskcache_go stored) and open it again, or copy it with '
        '"python -m diskcache_go migrate". To silence this warning, set %s=ignore'
        % (', '.join(directories), DBNAME, MODE_ENV)
    )
