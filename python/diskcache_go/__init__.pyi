# Type stubs for diskcache_go: python-diskcache 5.6.3's API on a Go engine.

from ._version import __version__ as __version__
from .core import (
    DEFAULT_SETTINGS as DEFAULT_SETTINGS,
    ENOVAL as ENOVAL,
    EVICTION_POLICY as EVICTION_POLICY,
    UNKNOWN as UNKNOWN,
    Cache as Cache,
    Disk as Disk,
    EmptyDirWarning as EmptyDirWarning,
    JSONDisk as JSONDisk,
    PyDiskcacheDirectoryError as PyDiskcacheDirectoryError,
    PyDiskcacheImportWarning as PyDiskcacheImportWarning,
    Stats as Stats,
    Timeout as Timeout,
    UnknownFileWarning as UnknownFileWarning,
)
from .djangocache import DjangoCache as DjangoCache
from .fanout import FanoutCache as FanoutCache
from .fanoutindex import FanoutIndex as FanoutIndex
from .fastcache import FastCache as FastCache
from .persistent import Deque as Deque, Index as Index
from .recipes import (
    Averager as Averager,
    BoundedSemaphore as BoundedSemaphore,
    Lock as Lock,
    RLock as RLock,
    barrier as barrier,
    memoize_stampede as memoize_stampede,
    throttle as throttle,
)

# DjangoCache is in __all__ only when Django is installed.
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
    'DjangoCache',
]

# diskcache_rs's other name for Cache (not in __all__).
DiskCache = Cache

__title__: str
__build__: int
__license__: str
