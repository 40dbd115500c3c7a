#!/usr/bin/env python3
"""FastCache against a plain dict and functools.lru_cache-style caches.

Measures the per-operation cost, in nanoseconds, of

    hits    dict[key]                         (the floor: no bookkeeping at all)
            functools.lru_cache hit           (C: dict + LRU links, no lock)
            lru-style dict (Python)           (dict + move-to-end + hit count,
                                               the bookkeeping lru_cache does,
                                               written in Python; no lock)
            functools.lru_cache, pure Python  (functools' own Python version:
                                               dict + LRU links + lock + counts)
            an empty Python method            (the floor for any method call)
            FastCache.get / FastCache[key]    (hit, with and without expiry)
            FastCache.get, statistics on      (every lookup takes the lock)
    misses  FastCache.get
    writes  FastCache.set (overwrite), FastCache.set with eviction
            (max_entries reached), FastCache.incr

and prints a table with the machine and date. The "vs C lru_cache" and "vs
lru-style dict" columns divide each figure by those two baselines; the
project's target is that a FastCache hit costs at most 2x "dict plus
lru_cache-style bookkeeping".

Method: every operation runs over the same shuffled list of ``--keys`` keys,
``--number`` passes per sample, ``--repeat`` samples taken in rotation (all
operations once, then all again...) so that machine noise hits every row
alike; the figure is the fastest sample minus the cost of the bare loop,
divided by the number of operations. Samples are timed with the thread's
CPU clock (``time.thread_time_ns``), so time spent waiting for a core on a
busy machine is left out. GC is disabled while timing.

    python benchmarks/bench_fastcache.py
    python benchmarks/bench_fastcache.py --keys 10000 --repeat 15 --json out.json
"""

import argparse
import collections
import datetime
import functools
import gc
import importlib.util
import json
import os
import platform
import random
import sys
import time
from unittest import mock

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'python'))

from diskcache_go.fastcache import FastCache  # noqa: E402

# CPU time of this thread: time the process spends descheduled (this
# benchmark often shares its cores) does not count.
CLOCK = getattr(time, 'thread_time_ns', time.perf_counter_ns)


def pure_python_functools():
    """functools as it is without its C accelerator: lru_cache in Python."""
    spec = importlib.util.find_spec('functools')
    module = importlib.util.module_from_spec(spec)
    with mock.patch.dict(sys.modules, {'_functools': None}):
        spec.loader.exec_module(module)
    return module


class LruDict:
    """A dict with the bookkeeping lru_cache does on a hit (recency order
    and a hit count), in Python: the baseline the target is stated in."""

    def __init__(self, items):
        self._data = collections.OrderedDict(items)
        self._move = self._data.move_to_end
        self.hits = 0

    def get(self, key, default=None):
        try:
            value = self._data[key]
        except KeyError:
            return default
        self._move(key)
        self.hits += 1
        return value


def build(keys):
    """name -> (label, group, statement-running function over the keys)."""
    n = len(keys)
    items = {key: 'value-%s' % key for key in keys}
    missing = ['missing-%d' % i for i in range(n)]

    plain = dict(items)

    @functools.lru_cache(maxsize=2 * n)
    def c_lru(key):
        return items[key]

    py_lru = pure_python_functools().lru_cache(maxsize=2 * n)(lambda key: items[key])
    lru_dict = LruDict(items)

    fast = FastCache()
    fast_expiring = FastCache()
    fast_stats = FastCache(statistics=True)
    fast_bounded = FastCache(max_entries=n // 2)
    for key, value in items.items():
        fast[key] = value
        fast_expiring.set(key, value, expire=10**9)
        fast_stats[key] = value
        fast_bounded[key] = value
        c_lru(key)
        py_lru(key)
    counters = FastCache()
    for key in keys:
        counters[key] = 0

    fast_get = fast.get
    expiring_get = fast_expiring.get
    stats_get = fast_stats.get
    fast_set = fast.set
    bounded_set = fast_bounded.set
    incr = counters.incr
    lru_get = lru_dict.get

    class Floor:
        def get(self, key, default=None, expire_time=False, tag=False):
            return key

    floor_get = Floor().get

    def loop(values):
        def run():
            for key in values:
                pass
        return run

    def rows():
        def r_dict():
            for key in keys:
                plain[key]

        def r_floor():
            for key in keys:
                floor_get(key)

        def r_c_lru():
            for key in keys:
                c_lru(key)

        def r_lru_dict():
            for key in keys:
                lru_get(key)

        def r_py_lru():
            for key in keys:
                py_lru(key)

        def r_get():
            for key in keys:
                fast_get(key)

        def r_item():
            for key in keys:
                fast[key]

        def r_get_expiring():
            for key in keys:
                expiring_get(key)

        def r_get_stats():
            for key in keys:
                stats_get(key)

        def r_miss():
            for key in missing:
                fast_get(key)

        def r_set():
            for key in keys:
                fast_set(key, key)

        def r_set_evict():
            for key in keys:
                bounded_set(key, key)

        def r_incr():
            for key in keys:
                incr(key)

        return [
            ('dict', 'dict[key] (no bookkeeping)', 'hit', r_dict),
            ('c_lru', 'functools.lru_cache hit (C)', 'hit', r_c_lru),
            ('lru_dict', 'lru-style dict, Python', 'hit', r_lru_dict),
            ('floor', 'empty Python method (call floor)', 'hit', r_floor),
            ('py_lru', 'functools.lru_cache hit (Python)', 'hit', r_py_lru),
            ('get', 'FastCache.get hit', 'hit', r_get),
            ('item', 'FastCache[key] hit', 'hit', r_item),
            ('get_expiring', 'FastCache.get hit, item with expiry', 'hit', r_get_expiring),
            ('get_stats', 'FastCache.get hit, statistics on', 'hit', r_get_stats),
            ('miss', 'FastCache.get miss', 'miss', r_miss),
            ('set', 'FastCache.set overwrite', 'write', r_set),
            ('set_evict', 'FastCache.set, evicting (max_entries)', 'write', r_set_evict),
            ('incr', 'FastCache.incr', 'write', r_incr),
        ]

    return rows(), loop(keys)


def measure(rows, empty_loop, n, number, repeat):
    best = {name: float('inf') for name, _, _, _ in rows}
    best_empty = float('inf')
    for _ in range(repeat):
        for name, _, _, run in rows:
            start = CLOCK()
            for _ in range(number):
                run()
            best[name] = min(best[name], CLOCK() - start)
        start = CLOCK()
        for _ in range(number):
            empty_loop()
        best_empty = min(best_empty, CLOCK() - start)
    ops = n * number
    return {name: max(total - best_empty, 0) / ops for name, total in best.items()}


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as reader:
            for line in reader:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'python': '%s %s' % (platform.python_implementation(), platform.python_version()),
        'platform': platform.platform(),
        'cpu': cpu,
        'cpus': os.cpu_count(),
        'load': ' '.join('%.2f' % x for x in os.getloadavg()) if hasattr(os, 'getloadavg') else '?',
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keys', type=int, default=1000, help='distinct keys (default 1000)')
    parser.add_argument('--number', type=int, default=10, help='passes per sample')
    parser.add_argument('--repeat', type=int, default=60, help='samples per operation')
    parser.add_argument('--seed', type=int, default=1)
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args(argv)

    keys = ['key-%06d' % i for i in range(args.keys)]
    random.Random(args.seed).shuffle(keys)
    rows, empty_loop = build(keys)
    gc.disable()
    try:
        ns = measure(rows, empty_loop, len(keys), args.number, args.repeat)
    finally:
        gc.enable()

    info = machine()
    print('FastCache benchmark, %s' % info['date'])
    print('machine: %s, %s cpus, load %s; %s; %s' % (
        info['cpu'], info['cpus'], info['load'], info['python'], info['platform']))
    print('%d str keys, best of %d samples of %d passes (thread CPU time); loop overhead '
          'subtracted' % (
        len(keys), args.repeat, args.number))
    print()
    width = max(len(label) for _, label, _, _ in rows)
    header = '%-*s  %8s  %16s  %16s' % (width, 'operation', 'ns/op', 'vs C lru_cache',
                                         'vs lru-style dict')
    print(header)
    print('-' * len(header))
    for name, label, _, _ in rows:
        print('%-*s  %8.1f  %15.2fx  %15.2fx' % (
            width, label, ns[name], ns[name] / ns['c_lru'], ns[name] / ns['lru_dict']))
    hit = max(ns['get'], ns['item'])
    print()
    print('FastCache hit (slower of get and []): %.2fx C lru_cache, %.2fx the lru-style dict; '
          'target <= 2x.' % (hit / ns['c_lru'], hit / ns['lru_dict']))
    if args.json:
        with open(args.json, 'w') as writer:
            json.dump({'machine': info, 'keys': len(keys), 'ns_per_op': ns}, writer, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
