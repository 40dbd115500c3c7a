# Type stubs for diskcache_go.aio_recipes: the recipes under asyncio.

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .core import _Ignore, _Tag

_F = TypeVar('_F', bound=Callable[..., Coroutine[Any, Any, Any]])

__all__ = [
    'AsyncLockMixin',
    'AsyncRLockMixin',
    'AsyncSemaphoreMixin',
    'POLL_MAX',
    'barrier_coroutine',
    'memoize_stampede_coroutine',
    'throttle_coroutine',
]

POLL_FIRST: float
POLL_MAX: float

class AsyncLockMixin:
    async def aacquire(self) -> None: ...
    async def arelease(self) -> None: ...
    async def alocked(self) -> bool: ...
    async def __aenter__(self) -> None: ...
    async def __aexit__(self, *exc_info: object) -> None: ...

class AsyncRLockMixin:
    async def aacquire(self) -> None: ...
    async def arelease(self) -> None: ...
    async def __aenter__(self) -> None: ...
    async def __aexit__(self, *exc_info: object) -> None: ...

class AsyncSemaphoreMixin:
    async def aacquire(self) -> None: ...
    async def arelease(self) -> None: ...
    async def __aenter__(self) -> None: ...
    async def __aexit__(self, *exc_info: object) -> None: ...

def throttle_coroutine(
    func: _F,
    cache: Any,
    key: Any,
    count: int,
    rate: float,
    expire: float | None,
    time_func: Callable[[], float],
    sleep_func: Callable[[float], object],
) -> _F: ...
def barrier_coroutine(func: _F, lock: Any) -> _F: ...
def memoize_stampede_coroutine(
    func: _F,
    cache: Any,
    expire: float,
    name: str | None,
    typed: bool,
    tag: _Tag,
    beta: float,
    ignore: _Ignore,
) -> _F: ...
