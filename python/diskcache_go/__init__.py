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
    Timeout,
    UnknownFileWarning,
)

__all__ = [
    'Cache',
    'DEFAULT_SETTINGS',
    'Disk',
    'ENOVAL',
    'EVICTION_POLICY',
    'EmptyDirWarning',
    'JSONDisk',
    'Timeout',
    'UNKNOWN',
    'UnknownFileWarning',
]

__title__ = 'diskcache_go'
__build__ = 0x000100
__license__ = 'Apache 2.0'
