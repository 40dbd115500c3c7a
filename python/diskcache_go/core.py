"""Cache, Disk and the constants of python-diskcache, on the Go engine.

This is python-diskcache's module path (``diskcache.core``): every name
it defines there is importable from here, as are the names the rest of
this package uses. The code is in modules by concept:

* ``_settings``: the constants (``ENOVAL``, ``MODE_*``, ``DEFAULT_SETTINGS``,
  ``EVICTION_POLICY``...), the warnings and errors, and the settings file;
* ``_trust``: who could have written a cache, and the HMAC secret;
* ``_disk``: ``Disk`` and ``JSONDisk``, the serialization;
* ``_memo``: ``args_to_key`` and the memoize decorator;
* ``_binding``: the engine binding, every library call and request;
* ``_cache``, ``_cache_queue``, ``_cache_scan``: ``Cache``.

docs/design.md walks a get and a set through all of them.
"""

from ._settings import (  # noqa: F401
    Constant, CorruptionError, CorruptionWarning, DBNAME, DEFAULT_SETTINGS, ENOVAL, EVICTION_POLICY,
    EmptyDirWarning, Error, METADATA, MODE_BINARY, MODE_NONE, MODE_PICKLE, MODE_RAW, MODE_TEXT,
    NETWORK_MODE_ENV, NetworkFilesystemWarning, PyDiskcacheDirectoryError, PyDiskcacheImportWarning,
    Stats, StorageFullError, Timeout, UNKNOWN, UnknownFileWarning, _ENGINE_MODES, _ENGINE_PREFIX,
    _INT64_MAX, _INT64_MIN, _MODE_MASK, _NETWORK_MODES, _OPEN_SYNC, _PLACEHOLDERS, _SECRET_SETTINGS,
    _SETTINGS_FILE, _SETTINGS_SUM, _VALUE_DIR, _check_settings, _compress_min_size, _engine_limits,
    _fsync_dirs, _merge_settings, _open_flags, _persistable, _persisted_form, _pydiskcache_files,
    _settings_load, _settings_store, _settings_sum,
)
from ._trust import (  # noqa: F401
    HMAC_SECRET_ENV, HMAC_SECRET_FILE_ENV, TRUSTED_DIRECTORIES_ENV, UntrustedDataError, _ID_FILE,
    _ID_TEXT, _KEY_LABEL, _STAMP, _STAMP_SIZE, _TAG_SIZE, _Trust, _VALUE_LABEL, _cache_id,
    _declared_trusted, _directory_risk, _lookup_risk, _make_id, _read_secret_file, _resolve_secret,
    _trust_setting, _user, _write_risk,
)
from ._disk import (  # noqa: F401
    Disk, JSONDisk, QUARANTINE, _NEWEST_KEYS, _QUEUE_MAX, _QUEUE_TEXT, _READING, _REMOVING,
    _SUMMED_NAME, _TO_KEY, _TO_QUEUE, _binding, _makedirs, _name_sum, _quarantine, _queue_of,
    _summed_name,
)
from ._memo import (  # noqa: F401
    _memoize_with, _memoizer, args_to_key, full_name,
)
from ._cache_scan import (  # noqa: F401
    _pairs,
)
from ._cache import (  # noqa: F401
    Cache, _INSTANCES, _MEMO_SIZE, _MEMO_TYPES, _after_fork_child,
)

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

# The public classes and functions keep python-diskcache's module path in
# their __module__: their repr, pickles of them (a Stats, a Constant) and
# documentation name diskcache_go.core, wherever the code now lives.
for _name in (
    'Cache', 'Disk', 'JSONDisk', 'Constant', 'Stats', 'Timeout', 'UnknownFileWarning', 'EmptyDirWarning',
    'NetworkFilesystemWarning', 'CorruptionWarning', 'PyDiskcacheImportWarning', 'PyDiskcacheDirectoryError',
    'UntrustedDataError', 'args_to_key', 'full_name',
):
    globals()[_name].__module__ = __name__
del _name
