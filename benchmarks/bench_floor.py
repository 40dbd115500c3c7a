"""Large gets next to what no implementation can go below, in one run.

A get of a large value must hand back a new ``bytes`` holding it, so it
costs at least one copy of the value from the page cache. This script
times, rotating the order from round to round, every installed
implementation's get of values of one size (64 keys, as bench_suite.py's
value rows) and two floors over the same amount of data:

* ``copy``: slicing an already made ``mmap`` of a file holding the values
  (one copy into a new ``bytes``; no lookup, no system call, no check);
* ``pread``: ``open`` + ``os.pread`` + ``close`` of a file per value (what
  a file-per-value design reads with, unchecked).

It prints medians and what issue 6's ratios ask for: a get 2x
python-diskcache's, and 3x any other port's. Usage::

    python benchmarks/bench_floor.py [--size BYTES] [--rounds N]
"""

import argparse
import mmap
import os
import shutil
import statistics
import sys
import tempfile
import time

import suite_impls

KEYS = 64


def floors(directory, values):
    """The two floors as name -> fn(i), and a closer for their files."""
    flat = os.path.join(directory, 'flat')
    with open(flat, 'wb') as f:
        for value in values:
            f.write(value)
    size = len(values[0])
    fd = os.open(flat, os.O_RDONLY)
    mapped = mmap.mmap(fd, size * len(values), prot=mmap.PROT_READ)
    paths = []
    for i, value in enumerate(values):
        paths.append(os.path.join(directory, 'v%d' % i))
        with open(paths[-1], 'wb') as f:
            f.write(value)

    def copy(i):
        start = (i % len(values)) * size
        return mapped[start:start + size]

    def pread(i):
        one = os.open(paths[i % len(paths)], os.O_RDONLY)
        try:
            return os.pread(one, size, 0)
        finally:
            os.close(one)

    def close():
        mapped.close()
        os.close(fd)
    return {'floor: copy from a mapping': copy, 'floor: open + pread': pread}, close


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size', type=int, default=1 << 20, help='value size in bytes (default 1 MiB)')
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--ops', type=int, default=200, help='gets per round and implementation')
    parser.add_argument('--dir', default=None, help='parent directory for the caches')
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix='bench-floor-', dir=args.dir)
    # Distinct values, so that no implementation's result is a cached one.
    values = [os.urandom(args.size) for _ in range(KEYS)]
    runners, caches = {}, []
    try:
        for name in suite_impls.ALL_NAMES:
            try:
                adapter = suite_impls.load(name)
            except ImportError:
                continue
            cache = adapter.open(os.path.join(root, name))
            caches.append(cache)
            adapter.fill(cache, [('k%d' % i, value) for i, value in enumerate(values)])
            if cache.get('k0') != values[0]:
                raise SystemExit('%s returned another value' % name)
            runners[name] = (lambda c: lambda i: c.get('k%d' % (i % KEYS)))(cache)
        floor_runners, close = floors(root, values)
        runners.update(floor_runners)
        results = {name: [] for name in runners}
        names = list(runners)
        for rnd in range(args.rounds + 1):
            shift = rnd % len(names)
            for name in names[shift:] + names[:shift]:
                fn = runners[name]
                began = time.perf_counter_ns()
                for i in range(args.ops):
                    fn(i)
                if rnd:  # the first round warms up
                    results[name].append((time.perf_counter_ns() - began) / args.ops / 1000)
        close()
    finally:
        for cache in caches:
            cache.close()
        shutil.rmtree(root, ignore_errors=True)
    print('get of %d-byte values, %d keys, median of %d rounds of %d (µs)'
          % (args.size, KEYS, args.rounds, args.ops))
    medians = {name: statistics.median(v) for name, v in results.items()}
    for name, median in medians.items():
        print('  %-30s %9.1f' % (name, median))
    if 'diskcache' in medians:
        print('  2x python-diskcache would be %.1f' % (medians['diskcache'] / 2))
    for port in ('diskcache_rs', 'pysciqlop_cache'):
        if port in medians:
            print('  3x %s would be %.1f' % (port, medians[port] / 3))
    return 0


if __name__ == '__main__':
    sys.exit(main())
