"""Per-operation latency of diskcache_go at 10,000 and 1,000,000 entries.

Shows that the operations python-diskcache runs in O(1) or O(log n) (len,
volume, get, set, delete, peekitem, push/pull, the automatic cull) do not
slow down with the number of entries. All the caches are filled first,
then measured round by round, every operation on each size in turn, so a
slow spell of a shared machine falls on all sizes alike. Prints a table of
median latencies (microseconds) per cache size and the median of the
rounds' ratios between the largest and the smallest.

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


def operations(cache, n, ops, rnd):
    """(name, fn(i), count) of every measured operation on cache of n."""
    def cull(i):
        cache.set(n + 100 + i + 1000000 * (rnd + 1), VALUE)

    return [
        ('len()', lambda i: len(cache), ops),
        ('volume()', lambda i: cache.volume(), ops),
        ('get hit', lambda i: cache.get((i * 7919) % n), ops),
        ('get miss', lambda i: cache.get(-1 - i), ops),
        ('set overwrite', lambda i: cache.set((i * 104729) % n, VALUE), ops),
        ('peekitem', lambda i: cache.peekitem(), ops),
        ('push+pull', lambda i: cache.pull(prefix='q', default=None) if cache.push(i, prefix='q') else None, ops),
        # delete then re-insert, so the size stays n
        ('delete+set', lambda i: (cache.delete(i % n), cache.set(i % n, VALUE)), ops),
        # Culling: with the limit just under the current volume, every set
        # triggers the automatic cull of up to cull_limit entries. As many
        # sets as the other rows: a tenth of them (before 2026-11-22) let a
        # few slow sets swing the row's mean by half.
        ('set with cull', cull, ops),
    ]


def run_op(cache, name, fn, count):
    if name != 'set with cull':
        return timed(fn, count)
    cache.reset('size_limit', cache.volume() - 10 * len(VALUE))
    try:
        # The first sets under the new limit cull cull_limit entries each;
        # what is timed is the steady state, one or two culled per set.
        for i in range(20):
            fn(-1 - i)
        return timed(fn, count)
    finally:
        cache.reset('size_limit', 2**40)


def measure(caches, rounds, ops):
    """Round by round, each operation on every cache in turn (the order
    rotating), so that a slow spell of the machine falls on all sizes alike.
    Returns {n: {operation: [µs per round]}}."""
    sizes = list(caches)
    results = {n: {} for n in sizes}
    for rnd in range(rounds):
        order = sizes[rnd % len(sizes):] + sizes[:rnd % len(sizes)]
        per_size = {n: operations(caches[n], n, ops, rnd) for n in sizes}
        for k in range(len(per_size[sizes[0]])):
            for n in order:
                name, fn, count = per_size[n][k]
                results[n].setdefault(name, []).append(run_op(caches[n], name, fn, count))
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes', default='10000,1000000')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--ops', type=int, default=2000)
    parser.add_argument('--dir', default=None, help='parent directory for the caches')
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(',')]
    caches, directories = {}, []
    try:
        for n in sizes:
            directory = tempfile.mkdtemp(prefix='bench-scale-', dir=args.dir)
            directories.append(directory)
            cache = caches[n] = diskcache_go.Cache(directory, size_limit=2**40)
            began = time.time()
            fill(cache, n)
            print('filled %d entries in %.1f s' % (n, time.time() - began), file=sys.stderr)
        # Write the fills' dirty pages back now, not in the middle of the
        # measurements (the kernel's writeback of gigabytes takes a core).
        os.sync()
        table = measure(caches, args.rounds, args.ops)
    finally:
        for cache in caches.values():
            cache.close()
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)
    print('diskcache_go %s, Python %s, %s, %s UTC' % (
        diskcache_go.__version__, platform.python_version(), platform.machine(),
        time.strftime('%Y-%m-%d %H:%M', time.gmtime())))
    header = ['operation'] + ['%d entries (us)' % n for n in sizes]
    if len(sizes) > 1:
        header.append('ratio %d/%d' % (sizes[-1], sizes[0]))
    rows = []
    for name in table[sizes[0]]:
        row = [name] + ['%.2f' % statistics.median(table[n][name]) for n in sizes]
        if len(sizes) > 1:
            # The median of the rounds' own ratios (measured back to back).
            ratios = [big / small for big, small in zip(table[sizes[-1]][name], table[sizes[0]][name])]
            row.append('%.2fx' % statistics.median(ratios))
        rows.append(row)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    for row in [header, ['-' * w for w in widths]] + rows:
        print('  '.join(cell.ljust(w) for cell, w in zip(row, widths)))


if __name__ == '__main__':
    main()
