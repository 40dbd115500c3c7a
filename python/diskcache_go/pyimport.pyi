# Type stubs for diskcache_go.pyimport (the in-place import of python-diskcache directories).

from typing import Any

__all__ = ['MODE_ENV', 'MODES', 'fanout_shards', 'import_on_open', 'remove_source', 'resolve_mode', 'source_files']

MODE_ENV: str
MODES: tuple[str, ...]
DEFAULT_SHARDS: int
LOCK_FILE: str
STARTED_FILE: str
MARKER_FILE: str

def resolve_mode(mode: str | None) -> str: ...
def source_files(directory: str) -> list[str]: ...
def remove_source(directory: str) -> int: ...
def import_on_open(directory: str, mode: str | None = None, stacklevel: int = 2) -> Any: ...  # a migrate.MigrationSummary, or None
def fanout_shards(directory: str, shards: int | None = None, mode: str | None = None, stacklevel: int = 2) -> int: ...
