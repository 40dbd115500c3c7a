"""Adapters that let bench_suite.py drive every cache implementation alike.

The suite calls python-diskcache's API (``get``, ``set``, ``delete``,
``incr``, ``memoize``) directly on each cache object, so that the time of
every wrapper layer counts. An adapter only covers what differs between the
implementations:

* how to open a cache with no size or entry limit: python-diskcache's 1 GB
  default and diskcache_rs's 100,000-entry default would start evicting
  during the large fills and turn a get-hit benchmark into a get-miss one;
* the fastest bulk path each one has, used to fill large caches (one
  transaction per batch, or diskcache_rs's ``set_many``);
* which key types it accepts (diskcache_rs takes ``str`` keys only and
  answers ``False`` for the others instead of raising).

Imported by bench_suite.py and by the fresh processes of suite_child.py.
"""

import importlib
import importlib.metadata
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The checkout's package comes first, so the suite measures the tree it is
# run from and not some older installed copy.
if os.path.join(REPO, 'python') not in sys.path:
    sys.path.insert(0, os.path.join(REPO, 'python'))

NO_LIMIT = 2 ** 40      # bytes: far above anything the suite writes
FILL_BATCH = 10000      # entries per bulk-fill transaction


class Adapter:
    """python-diskcache's API, opened without limits, filled by transaction."""

    module_name = None
    dist_name = None
    str_keys_only = False
    note = ''

    def __init__(self, module):
        self.module = module
        self.version = _version_of(module, self.dist_name)

    @property
    def name(self):
        return self.module_name

    def open(self, directory):
        return self.module.Cache(directory, size_limit=NO_LIMIT)

    def fill(self, cache, items):
        """Store (key, value) pairs, one transaction per FILL_BATCH of them."""
        batch = []
        for item in items:
            batch.append(item)
            if len(batch) == FILL_BATCH:
                self._fill_batch(cache, batch)
                batch = []
        if batch:
            self._fill_batch(cache, batch)

    def _fill_batch(self, cache, batch):
        with cache.transact(retry=True):
            for key, value in batch:
                cache.set(key, value)


class DiskcacheAdapter(Adapter):
    """python-diskcache 5.6.3, the reference every ratio is taken against."""

    module_name = 'diskcache'
    dist_name = 'diskcache'


class GoAdapter(Adapter):
    """diskcache_go from this checkout."""

    module_name = 'diskcache_go'
    dist_name = 'diskcache-go'


class RsAdapter(Adapter):
    """diskcache_rs: str keys only; bulk fill through set_many."""

    module_name = 'diskcache_rs'
    dist_name = 'diskcache-rs'
    str_keys_only = True
    note = ('str keys only; opened with max_entries=2**62 because its default '
            'of 100,000 entries evicts during large fills')

    def open(self, directory):
        return self.module.Cache(directory, size_limit=NO_LIMIT,
                                 max_entries=2 ** 62)

    def _fill_batch(self, cache, batch):
        # set_many returns the number stored and 0 on any error (it swallows
        # exceptions), so a short count is the only sign of a failed fill.
        stored = cache.set_many(batch)
        if stored != len(batch):
            raise RuntimeError('diskcache_rs set_many stored %d of %d entries'
                               % (stored, len(batch)))


class SciqlopAdapter(Adapter):
    """pysciqlop_cache (Sciqlop-cache): unlimited by default (max_size 0)."""

    module_name = 'pysciqlop_cache'
    dist_name = 'pysciqlop-cache'
    note = 'opened with its defaults (no size limit); memoize() takes no name'

    def open(self, directory):
        return self.module.Cache(directory)


ADAPTERS = {cls.module_name: cls for cls in
            (DiskcacheAdapter, GoAdapter, RsAdapter, SciqlopAdapter)}
ALL_NAMES = tuple(ADAPTERS)


def _version_of(module, dist_name):
    """The module's __version__, else the installed distribution's version."""
    version = getattr(module, '__version__', None)
    if version:
        return str(version)
    try:
        return importlib.metadata.version(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return '?'


def load(name):
    """Import implementation `name` and wrap it; ImportError if unavailable."""
    if name not in ADAPTERS:
        raise ImportError('unknown implementation %r (known: %s)'
                          % (name, ', '.join(ALL_NAMES)))
    module = importlib.import_module(name)
    return ADAPTERS[name](module)
