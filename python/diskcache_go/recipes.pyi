# Type stubs for diskcache_go.recipes (python-diskcache 5.6.3's
# diskcache.recipes API). The decorators keep the wrapped function's
# signature.

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from typing_extensions import ParamSpec, TypeAlias

from .aio_recipes import AsyncLockMixin, AsyncRLockMixin, AsyncSemaphoreMixin
from .core import Cache, _Expire, _Ignore, _Memoized, _Tag
from .fanout import FanoutCache

__all__ = [
    'Averager',
    'BoundedSemaphore',
    'Lock',
    'RLock',
    'barrier',
    'memoize_stampede',
    'throttle',
]

_P = ParamSpec('_P')
_R = TypeVar('_R')

#: The caches the recipes work on.
_AnyCache: TypeAlias = Cache | FanoutCache

class Averager:
    """Running average kept as ``(total, count)`` under one key."""

    def __init__(self, cache: _AnyCache, key: Any, expire: _Expire = None, tag: _Tag = None) -> None: ...
    def add(self, value: float) -> None: ...
    def get(self) -> float | None: ...
    def pop(self) -> float | None: ...

class Lock(AsyncLockMixin):
    """Spin lock stored under one key of a cache."""

    def __init__(self, cache: _AnyCache, key: Any, expire: _Expire = None, tag: _Tag = None) -> None: ...
    def acquire(self) -> None: ...
    def release(self) -> None: ...
    def locked(self) -> bool: ...
    def __enter__(self) -> None: ...
    def __exit__(self, *exc_info: object) -> None: ...

class RLock(AsyncRLockMixin):
    """Re-entrant spin lock stored under one key of a cache."""

    def __init__(self, cache: _AnyCache, key: Any, expire: _Expire = None, tag: _Tag = None) -> None: ...
    def acquire(self) -> None: ...
    def release(self) -> None: ...
    def __enter__(self) -> None: ...
    def __exit__(self, *exc_info: object) -> None: ...

class BoundedSemaphore(AsyncSemaphoreMixin):
    """Spin semaphore stored under one key of a cache."""

    def __init__(
        self, cache: _AnyCache, key: Any, value: int = 1, expire: _Expire = None, tag: _Tag = None
    ) -> None: ...
    def acquire(self) -> None: ...
    def release(self) -> None: ...
    def __enter__(self) -> None: ...
    def __exit__(self, *exc_info: object) -> None: ...

def throttle(
    cache: _AnyCache,
    count: int,
    seconds: float,
    name: str | None = None,
    expire: _Expire = None,
    tag: _Tag = None,
    time_func: Callable[[], float] = ...,
    sleep_func: Callable[[float], object] = ...,
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]: ...
def barrier(
    cache: _AnyCache,
    lock_factory: Callable[..., AbstractContextManager[Any]],
    name: str | None = None,
    expire: _Expire = None,
    tag: _Tag = None,
) -> Callable[[Callable[_P, _R]], Callable[_P, _R]]: ...
def memoize_stampede(
    cache: _AnyCache,
    expire: float,
    name: str | None = None,
    typed: bool = False,
    tag: _Tag = None,
    beta: float = 1,
    ignore: _Ignore = (),
) -> Callable[[Callable[_P, _R]], _Memoized[_P, _R]]: ...
