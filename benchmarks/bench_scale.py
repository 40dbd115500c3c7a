"""Per-operation latency of diskcache_go at 10,000 and 1,000,000 entries.

Shows that the operations python-diskcache runs in O(1) or O(log n) (len,
volume, get, set, delete, peekitem, push/pull, the automatic cull) do not
slow down with the number of entries. Prints a table of median latencies
(microseconds) per cache size and the ratio between the sizes.

    PYTHONPATH=python python benchmarks/bench_scale.py [--sizes 10000,1000000]
"""

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'python'))

import diskcache_go  # noqa: E402

VALUE = b'v' * 256


def fill(cache, n):
    batch = 10000
    for start in range(0, n, batch):
        with cache.transact(retry=True):
            for i in range(start, min(n, start + batch)):
                cache.set(i, VALUE)


def timed(fn, count):
    begin = time.perf_counter_ns()
    for i in range(count):
        fn(i)
    return (time.perf_counter_ns() - begin) / count / 1000


def measure(cache, n, rounds, ops):
    results = {}

    def record(name, fn, count=ops):
        results[name] = statistics.median(timed(fn, count) for _ in range(rounds))

    record('len()', lambda i: len(cache))
    record('volume()', lambda i: cache.volume())
    record('get hit', lambda i: cache.get((i * 7919) % n))
    record('get miss', lambda i: cache.get(-1 - i))
    record('set overwrite', lambda i: cache.set((i * 104729) % n, VALUE))
    record('peekitem', lambda i: cache.peekitem())
    record('push+pull', lambda i: cache.pull(prefix='q', default=None) if cache.push(i, prefix='q') else None)
    # delete then re-insert, so the size stays n
    record('delete+set', lambda i: (cache.delete(i % n), cache.set(i % n, VALUE)))
    # Culling: with the limit just under the current volume, every set
    # triggers the automatic cull of up to cull_limit entries.
    volume = cache.volume()
    cache.reset('size_limit', volume - 10 * len(VALUE))
    record('set with cull', lambda i: cache.set(n + i + 1000000 * rounds, VALUE), count=max(10, ops // 10))
    cache.reset('size_limit', 2**40)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='10000,1000000')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--ops', type=int, default=2000)
    parser.add_argument('--dir', default=None, help='parent directory for the caches')
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(',')]
    table = {}
    for n in sizes:
        directory = tempfile.mkdtemp(prefix='bench-scale-', dir=args.dir)
        try:
            cache = diskcache_go.Cache(directory, size_limit=2**40)
            began = time.time()
            fill(cache, n)
            print('filled %d entries in %.1f s' % (n, time.time() - began), file=sys.stderr)
            table[n] = measure(cache, n, args.rounds, args.ops)
            cache.close()
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    print('diskcache_go %s, Python %s, %s, %s UTC' % (
        diskcache_go.__version__, platform.python_version(), platform.machine(),
        time.strftime('%Y-%m-%d %H:%M', time.gmtime())))
    header = ['operation'] + ['%d entries (us)' % n for n in sizes]
    if len(sizes) > 1:
        header.append('ratio %d/%d' % (sizes[-1], sizes[0]))
    rows = []
    for name in table[sizes[0]]:
        row = [name] + ['%.2f' % table[n][name] for n in sizes]
        if len(sizes) > 1:
            row.append('%.2fx' % (table[sizes[-1]][name] / table[sizes[0]][name]))
        rows.append(row)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    for row in [header, ['-' * w for w in widths]] + rows:
        print('  '.join(cell.ljust(w) for cell, w in zip(row, widths)))


if __name__ == '__main__':
    main()
