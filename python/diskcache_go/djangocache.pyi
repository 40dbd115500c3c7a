# Type stubs for diskcache_go.djangocache (python-diskcache 5.6.3's
# diskcache.djangocache API). Django ships no type information: with
# django-stubs installed, DjangoCache is checked as a BaseCache subclass;
# without it, BaseCache is Any and only the methods below are typed.

from collections.abc import Callable
from typing import IO, Any, TypeVar

from django.core.cache.backends.base import BaseCache  # type: ignore[import-untyped, import-not-found, unused-ignore]
from typing_extensions import ParamSpec

from .aio_django import AsyncDjangoMixin
from .core import Cache, Stats, _Ignore, _Memoized, _Tag
from .persistent import Deque, Index

__all__ = ['DjangoCache']

_P = ParamSpec('_P')
_R = TypeVar('_R')

# Django's ``DEFAULT_TIMEOUT`` sentinel (the cache's TIMEOUT) is the default
# of every ``timeout`` parameter; a number is seconds to live, None never
# expires.

class DjangoCache(AsyncDjangoMixin, BaseCache):  # type: ignore[misc, unused-ignore]
    """Django cache backend kept on disk by a `FanoutCache`."""

    def __init__(self, directory: str, params: dict[str, Any]) -> None: ...
    @property
    def directory(self) -> str: ...
    def cache(self, name: str) -> Cache: ...
    def deque(self, name: str, maxlen: int | None = None) -> Deque: ...
    def index(self, name: str) -> Index: ...
    def add(
        self,
        key: Any,
        value: Any,
        timeout: float | None = ...,
        version: int | None = None,
        read: bool = False,
        tag: _Tag = None,
        retry: bool = True,
    ) -> bool: ...
    def get(
        self,
        key: Any,
        default: Any = None,
        version: int | None = None,
        read: bool = False,
        expire_time: bool = False,
        tag: bool = False,
        retry: bool = False,
    ) -> Any: ...
    def read(self, key: Any, version: int | None = None) -> IO[bytes]: ...
    def set(  # type: ignore[override, unused-ignore]
        self,
        key: Any,
        value: Any,
        timeout: float | None = ...,
        version: int | None = None,
        read: bool = False,
        tag: _Tag = None,
        retry: bool = True,
    ) -> bool: ...
    def touch(self, key: Any, timeout: float | None = ..., version: int | None = None, retry: bool = True) -> bool: ...
    def pop(
        self,
        key: Any,
        default: Any = None,
        version: int | None = None,
        expire_time: bool = False,
        tag: bool = False,
        retry: bool = True,
    ) -> Any: ...
    def delete(self, key: Any, version: int | None = None, retry: bool = True) -> bool: ...
    # None when the shard's lock timed out.
    def incr(  # type: ignore[override, unused-ignore]
        self, key: Any, delta: int = 1, version: int | None = None, default: int | None = None, retry: bool = True
    ) -> int | None: ...
    def decr(  # type: ignore[override, unused-ignore]
        self, key: Any, delta: int = 1, version: int | None = None, default: int | None = None, retry: bool = True
    ) -> int | None: ...
    def has_key(self, key: Any, version: int | None = None) -> bool: ...
    def clear(self) -> int: ...  # type: ignore[override, unused-ignore]
    def close(self, **kwargs: Any) -> None: ...
    def get_backend_timeout(self, timeout: float | None = ...) -> float | None: ...
    def expire(self) -> int: ...
    def evict(self, tag: _Tag) -> int: ...
    def cull(self) -> int: ...
    def stats(self, enable: bool = True, reset: bool = False) -> Stats: ...
    def create_tag_index(self) -> None: ...
    def drop_tag_index(self) -> None: ...
    def memoize(
        self,
        name: str | None = None,
        timeout: float | None = ...,
        version: int | None = None,
        typed: bool = False,
        tag: _Tag = None,
        ignore: _Ignore = (),
    ) -> Callable[[Callable[_P, _R]], _Memoized[_P, _R]]: ...
