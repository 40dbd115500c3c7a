"""diskcache_go: python-diskcache's API on a Go storage engine.

Use it in place of python-diskcache with ``import diskcache_go as diskcache``.
"""

from ._version import __version__
from .core import (
    DEFAULT_SETTINGS,
    ENOVAL,
    EVICTION_POLICY,
    UNKNOWN,
    Cache,
    Disk,
    EmptyDirWarning,
    JSONDisk,
    Stats,  # noqa: F401  (what stats() returns; not in __all__, see below)
    Timeout,
    UnknownFileWarning,
)
from .core import PyDiskcacheDirectoryError, PyDiskcacheImportWarning  # noqa: F401
from .fanout import FanoutCache
# Not in __all__, which stays python-diskcache's: FastCache, FanoutIndex and
# the import's warning and error (just above) are this package's additions,
# imported by name.
from .fanoutindex import FanoutIndex  # noqa: F401
from .fastcache import FastCache  # noqa: F401
from .persistent import Deque, Index
from .recipes import Averager, BoundedSemaphore, Lock, RLock, barrier, memoize_stampede, throttle

# diskcache_rs's other name for Cache, so its users' imports keep working.
DiskCache = Cache

__all__ = [
    'Averager',
    'BoundedSemaphore',
    'Cache',
    'DEFAULT_SETTINGS',
    'Deque',
    'Disk',
    'ENOVAL',
    'EVICTION_POLICY',
    'EmptyDirWarning',
    'FanoutCache',
    'Index',
    'JSONDisk',
    'Lock',
    'RLock',
    'Timeout',
    'UNKNOWN',
    'UnknownFileWarning',
    'barrier',
    'memoize_stampede',
    'throttle',
]

try:
    from .djangocache import DjangoCache  # noqa: F401

    __all__.append('DjangoCache')
except ImportError:
    # Django is not installed: as in python-diskcache, the package works
    # without DjangoCache and does not list it.
    pass

__title__ = 'diskcache_go'
__build__ = int(''.join('%02x' % int(part) for part in __version__.split('.')[:3]), 16)
__license__ = 'Apache 2.0'
