"""python-diskcache's module path keeps working: every public name of
diskcache.core imports from diskcache_go.core, as do the names the rest of
this package and its users reach for there, although the code lives in
modules by concept (_settings, _disk, _memo, _cache, ...)."""

import pickle
import types

import pytest

import diskcache_go
from diskcache_go import core

# The names python-diskcache 5.6.3 defines in diskcache.core.
DISKCACHE_CORE = [
    'Cache', 'Constant', 'DBNAME', 'DEFAULT_SETTINGS', 'Disk', 'ENOVAL', 'EVICTION_POLICY', 'EmptyDirWarning',
    'JSONDisk', 'METADATA', 'MODE_BINARY', 'MODE_NONE', 'MODE_PICKLE', 'MODE_RAW', 'MODE_TEXT', 'Timeout',
    'UNKNOWN', 'UnknownFileWarning', 'args_to_key', 'full_name',
]

# This package's own names that its documentation or other modules import
# from diskcache_go.core.
OWN = [
    'Stats', 'Error', 'CorruptionError', 'StorageFullError', 'CorruptionWarning', 'NetworkFilesystemWarning',
    'PyDiskcacheImportWarning', 'PyDiskcacheDirectoryError', 'UntrustedDataError', 'QUARANTINE',
    'HMAC_SECRET_ENV', 'HMAC_SECRET_FILE_ENV', 'TRUSTED_DIRECTORIES_ENV', 'NETWORK_MODE_ENV',
    '_memoizer', '_memoize_with', '_settings_load', '_settings_sum', '_engine_limits', '_SETTINGS_FILE',
    '_MODE_MASK',
]


@pytest.mark.parametrize('name', DISKCACHE_CORE + OWN)
def test_name_imports_from_core(name):
    namespace = {}
    exec('from diskcache_go.core import %s' % name, namespace)
    assert namespace[name] is getattr(core, name)


def test_every_public_name_of_diskcache_core():
    diskcache_core = pytest.importorskip('diskcache.core')
    public = sorted(name for name in dir(diskcache_core) if not name.startswith('_')
                    and not isinstance(getattr(diskcache_core, name), types.ModuleType))
    assert public == sorted(DISKCACHE_CORE)


def test_package_and_core_agree():
    for name in ('Cache', 'Disk', 'JSONDisk', 'ENOVAL', 'UNKNOWN', 'Timeout', 'DEFAULT_SETTINGS', 'EVICTION_POLICY'):
        assert getattr(diskcache_go, name) is getattr(core, name)


@pytest.mark.parametrize('name', ['Cache', 'Disk', 'JSONDisk', 'Constant', 'Stats', 'Timeout', 'args_to_key',
                                  'full_name', 'UntrustedDataError'])
def test_public_objects_name_core_as_their_module(name):
    assert getattr(core, name).__module__ == 'diskcache_go.core'


def test_stats_pickle_by_the_core_path():
    stats = core.Stats(1, 2)
    data = pickle.dumps(stats)
    assert b'diskcache_go.core' in data
    assert pickle.loads(data) == (1, 2)
