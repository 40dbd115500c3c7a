# Type stubs for diskcache_go.aio_django: DjangoCache's async methods.

from collections.abc import Iterable, Mapping
from typing import IO, Any

from .core import Stats, _Tag

__all__ = ['AsyncDjangoMixin']

DEFAULT_TIMEOUT: Any

class AsyncDjangoMixin:
    async def aadd(
        self,
        key: Any,
        value: Any,
        timeout: Any = ...,
        version: int | None = None,
        read: bool = False,
        tag: _Tag = None,
        retry: bool = True,
    ) -> bool: ...
    async def aget(
        self,
        key: Any,
        default: Any = None,
        version: int | None = None,
        read: bool = False,
        expire_time: bool = False,
        tag: bool = False,
        retry: bool = False,
    ) -> Any: ...
    async def aread(self, key: Any, version: int | None = None) -> IO[bytes]: ...
    async def aset(
        self,
        key: Any,
        value: Any,
        timeout: Any = ...,
        version: int | None = None,
        read: bool = False,
        tag: _Tag = None,
        retry: bool = True,
    ) -> bool: ...
    async def atouch(self, key: Any, timeout: Any = ..., version: int | None = None, retry: bool = True) -> bool: ...
    async def apop(
        self,
        key: Any,
        default: Any = None,
        version: int | None = None,
        expire_time: bool = False,
        tag: bool = False,
        retry: bool = True,
    ) -> Any: ...
    async def adelete(self, key: Any, version: int | None = None, retry: bool = True) -> bool: ...
    async def aincr(
        self, key: Any, delta: int = 1, version: int | None = None, default: int | None = None, retry: bool = True
    ) -> int | None: ...
    async def adecr(
        self, key: Any, delta: int = 1, version: int | None = None, default: int | None = None, retry: bool = True
    ) -> int | None: ...
    async def ahas_key(self, key: Any, version: int | None = None) -> bool: ...
    async def aget_many(self, keys: Iterable[Any], version: int | None = None) -> dict[Any, Any]: ...
    async def aset_many(
        self, data: Mapping[Any, Any], timeout: Any = ..., version: int | None = None
    ) -> list[Any]: ...
    async def adelete_many(self, keys: Iterable[Any], version: int | None = None) -> None: ...
    async def aclear(self) -> int: ...
    async def aclose(self, **kwargs: Any) -> None: ...
    async def aexpire(self) -> int: ...
    async def aevict(self, tag: _Tag) -> int: ...
    async def acull(self) -> int: ...
    async def astats(self, enable: bool = True, reset: bool = False) -> Stats: ...
