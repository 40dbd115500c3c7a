# Type stubs for diskcache_go.core (python-diskcache 5.6.3's diskcache.core API).
#
# Keys and values are Any: anything picklable (or, with JSONDisk, anything
# JSON-serializable) can be stored. Names starting with an underscore exist
# only for type checking; import them under ``if TYPE_CHECKING:``.

import os
import pickle
import sqlite3
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import IO, Any, NamedTuple, Protocol, TypeVar, overload

from typing_extensions import ParamSpec, Self, TypeAlias

from .aio import AsyncCacheMixin

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

_P = ParamSpec('_P')
_R = TypeVar('_R')
_R_co = TypeVar('_R_co', covariant=True)

#: A cache directory: a path, or None for a new temporary directory.
_Directory: TypeAlias = str | os.PathLike[str] | None
#: Seconds until an item expires (None: never).
_Expire: TypeAlias = float | None
#: A tag stored with an item (None: no tag).
_Tag: TypeAlias = str | bytes | int | float | None
#: Positions (int) and names (str) of arguments left out of a memoize key.
_Ignore: TypeAlias = Collection[int | str]

class _Memoized(Protocol[_P, _R_co]):
    """A function wrapped by ``memoize`` (or ``memoize_stampede``): it has the
    wrapped function's signature and a ``__cache_key__`` with the same
    parameters that returns the key a call uses."""

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R_co: ...
    def __cache_key__(self, *args: _P.args, **kwargs: _P.kwargs) -> tuple[Any, ...]: ...
    @property
    def __wrapped__(self) -> Callable[_P, _R_co]: ...
    # Memoized methods: accessed on an instance the wrapper binds ``self``
    # (the bound form is not parameter-checked).
    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None, /) -> Self: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None, /) -> Callable[..., _R_co]: ...

class Constant(tuple[str]):
    """A named constant, compared by identity (``ENOVAL``, ``UNKNOWN``)."""

    def __new__(cls, name: str) -> Self: ...

DBNAME: str
ENOVAL: Constant
UNKNOWN: Constant

MODE_NONE: int
MODE_RAW: int
MODE_BINARY: int
MODE_TEXT: int
MODE_PICKLE: int

DEFAULT_SETTINGS: dict[str, Any]
METADATA: dict[str, int]
EVICTION_POLICY: dict[str, dict[str, str | None]]

class Stats(NamedTuple):
    """What ``stats()`` returns: ``(hits, misses)``, a tuple with names."""

    hits: int
    misses: int

class Timeout(Exception):
    """Database timeout expired."""

class UnknownFileWarning(UserWarning):
    """Warning used by Cache.check for unknown files."""

class EmptyDirWarning(UserWarning):
    """Warning used by Cache.check for empty directories."""

def full_name(func: Callable[..., Any]) -> str: ...
def args_to_key(
    base: tuple[Any, ...],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    typed: bool,
    ignore: _Ignore = (),
) -> tuple[Any, ...]: ...

NETWORK_MODE_ENV: str
#: Environment variables: the HMAC secret, or the path of a file holding it
#: (when no ``disk_hmac_secret`` or ``disk_hmac_secret_file`` is given), and
#: the directories whose caches may be shared without a secret
#: (os.pathsep-separated; ``*`` for all).
HMAC_SECRET_ENV: str
HMAC_SECRET_FILE_ENV: str
TRUSTED_DIRECTORIES_ENV: str

class NetworkFilesystemWarning(UserWarning): ...
class CorruptionWarning(UserWarning): ...

class PyDiskcacheImportWarning(UserWarning):
    """A directory python-diskcache wrote was imported on its first open."""

class PyDiskcacheDirectoryError(Exception):
    """A python-diskcache directory was refused, or cannot be imported."""

class Error(sqlite3.OperationalError): ...
class CorruptionError(Error): ...
class StorageFullError(Error, OSError): ...

class UntrustedDataError(pickle.UnpicklingError):
    """A pickled key or value was refused and not unpickled: it failed HMAC
    authentication (``disk_hmac_secret``), or, without a secret, the cache
    is shared (another user could have written it) and not declared
    trusted."""

class Disk:
    """Serialization of keys and values; subclass it for ``Cache(disk=...)``."""

    min_file_size: int
    pickle_protocol: int
    fsync: bool
    #: Permissions of the value files and directories it creates.
    file_mode: int
    dir_mode: int

    def __init__(
        self,
        directory: str,
        min_file_size: int = 0,
        pickle_protocol: int = 0,
        hmac_secret: bytes | str | None = None,
        file_mode: int | None = None,
        dir_mode: int | None = None,
        write_threshold: int | None = None,
    ) -> None: ...
    @property
    def directory(self) -> str: ...
    #: The secret pickles are authenticated with (a str is UTF-8 encoded).
    @property
    def hmac_secret(self) -> bytes | None: ...
    @hmac_secret.setter
    def hmac_secret(self, secret: bytes | str | None) -> None: ...
    def hash(self, key: Any) -> int: ...
    def put(self, key: Any) -> tuple[Any, bool]: ...
    def get(self, key: Any, raw: bool) -> Any: ...
    def store(
        self, value: Any, read: bool = False, key: Any = ...
    ) -> tuple[int, int, str | None, Any]: ...
    def fetch(self, mode: int, filename: str | None, value: Any, read: bool = False) -> Any: ...
    def filename(self, key: Any = ..., value: Any = ...) -> tuple[str, str]: ...
    def remove(self, file_path: str) -> None: ...

class JSONDisk(Disk):
    """Disk that stores keys and values as zlib-compressed JSON."""

    compress_level: int

    def __init__(
        self,
        directory: str,
        compress_level: int = 1,
        *,
        min_file_size: int = ...,
        pickle_protocol: int = ...,
        hmac_secret: bytes | str | None = ...,
        file_mode: int | None = ...,
        dir_mode: int | None = ...,
        write_threshold: int | None = ...,
    ) -> None: ...

class Cache(AsyncCacheMixin):
    """Disk and file backed cache."""

    # Settings (DEFAULT_SETTINGS keys) and metadata, as attributes.
    statistics: int
    tag_index: int
    eviction_policy: str
    size_limit: int
    cull_limit: int
    sqlite_auto_vacuum: int
    sqlite_cache_size: int
    sqlite_journal_mode: str
    sqlite_mmap_size: int
    sqlite_synchronous: int
    disk_min_file_size: int
    disk_pickle_protocol: int
    fsync: bool
    compress_min_size: int
    #: Never written to the directory: set at each open (or by reset()).
    trust_shared_directory: bool
    @property
    def network_mode(self) -> str: ...
    @network_mode.setter
    def network_mode(self, value: str | None) -> None: ...
    count: int
    size: int
    hits: int
    misses: int

    def __init__(
        self,
        directory: _Directory = None,
        timeout: float = 60,
        disk: type[Disk] = ...,
        **settings: Any,
    ) -> None: ...
    @property
    def directory(self) -> str: ...
    @property
    def timeout(self) -> float: ...
    @property
    def disk(self) -> Disk: ...
    def transact(self, retry: bool = False) -> AbstractContextManager[None]: ...
    def set(
        self,
        key: Any,
        value: Any,
        expire: _Expire = None,
        read: bool = False,
        tag: _Tag = None,
        retry: bool = False,
    ) -> bool: ...
    def __setitem__(self, key: Any, value: Any) -> None: ...
    def touch(self, key: Any, expire: _Expire = None, retry: bool = False) -> bool: ...
    def add(
        self,
        key: Any,
        value: Any,
        expire: _Expire = None,
        read: bool = False,
        tag: _Tag = None,
        retry: bool = False,
    ) -> bool: ...
    def incr(self, key: Any, delta: int = 1, default: int | None = 0, retry: bool = False) -> int: ...
    def decr(self, key: Any, delta: int = 1, default: int | None = 0, retry: bool = False) -> int: ...
    def pop(
        self,
        key: Any,
        default: Any = None,
        expire_time: bool = False,
        tag: bool = False,
        retry: bool = False,
    ) -> Any: ...
    def __delitem__(self, key: Any, retry: bool = True) -> bool: ...
    def delete(self, key: Any, retry: bool = False) -> bool: ...
    def get(
        self,
        key: Any,
        default: Any = None,
        read: bool = False,
        expire_time: bool = False,
        tag: bool = False,
        retry: bool = False,
    ) -> Any: ...
    def __getitem__(self, key: Any) -> Any: ...
    def read(self, key: Any, retry: bool = False) -> IO[bytes]: ...
    def __contains__(self, key: object) -> bool: ...
    def expire(self, now: float | None = None, retry: bool = False) -> int: ...
    def evict(self, tag: _Tag, retry: bool = False) -> int: ...
    def clear(self, retry: bool = False) -> int: ...
    def cull(self, retry: bool = False) -> int: ...
    def push(
        self,
        value: Any,
        prefix: str | None = None,
        side: str = 'back',
        expire: _Expire = None,
        read: bool = False,
        tag: _Tag = None,
        retry: bool = False,
    ) -> Any: ...
    def pull(
        self,
        prefix: str | None = None,
        default: Any = (None, None),
        side: str = 'front',
        expire_time: bool = False,
        tag: bool = False,
        retry: bool = False,
    ) -> Any: ...
    def peek(
        self,
        prefix: str | None = None,
        default: Any = (None, None),
        side: str = 'front',
        expire_time: bool = False,
        tag: bool = False,
        retry: bool = False,
    ) -> Any: ...
    def peekitem(
        self, last: bool = True, expire_time: bool = False, tag: bool = False, retry: bool = False
    ) -> Any: ...
    def iterkeys(self, reverse: bool = False) -> Iterator[Any]: ...
    def memoize(
        self,
        name: str | None = None,
        typed: bool = False,
        expire: _Expire = None,
        tag: _Tag = None,
        ignore: _Ignore = (),
    ) -> Callable[[Callable[_P, _R]], _Memoized[_P, _R]]: ...
    def create_tag_index(self) -> None: ...
    def drop_tag_index(self) -> None: ...
    def check(self, fix: bool = False, retry: bool = False) -> list[warnings.WarningMessage]: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __reversed__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...
    def stats(self, enable: bool = True, reset: bool = False) -> Stats: ...
    def volume(self) -> int: ...
    # diskcache_rs's calls.
    def exists(self, key: Any) -> bool: ...
    def keys(self) -> list[Any]: ...
    def values(self) -> list[Any]: ...
    def items(self) -> list[tuple[Any, Any]]: ...
    def set_many(
        self,
        items: Mapping[Any, Any] | Iterable[tuple[Any, Any]],
        expire: _Expire = None,
        tag: _Tag = None,
        retry: bool = False,
    ) -> int: ...
    def get_many(self, keys: Iterable[Any], retry: bool = False) -> dict[Any, Any]: ...
    def vacuum(self, retry: bool = False) -> int: ...
    def close(self) -> None: ...
    def __enter__(self) -> Self: ...
    def __exit__(self, *exception: object) -> None: ...
    def __del__(self) -> None: ...
    def __getstate__(self) -> tuple[str, float, type[Disk]]: ...
    def __setstate__(self, state: tuple[str, float, type[Disk]]) -> None: ...
    def reset(self, key: str, value: Any = ..., update: bool = True) -> Any: ...
