"""The parts of bench_suite.py that must run in a process of their own.

* ``open IMPL DIR KEY``: open a cache and read one key, in a process that
  has never touched it, the way a CLI tool or a freshly started worker does.
  The time excludes the interpreter start and the import (reported apart).
* ``reader IMPL DIR COUNT``: read every key of a cache and report the
  process's peak resident set (``ru_maxrss``), which is what a reader costs
  the machine. It is only meaningful in a fresh process: a high-water mark
  cannot go down.
* ``mix_worker``: one of the processes of the multi-process mix, started
  by multiprocessing (spawn) from bench_suite.py.

Each command prints one JSON object on stdout.
"""

import json
import random
import resource
import sys
import time

import suite_impls

MIX_KEYS = ['mix-%03d' % i for i in range(100)]
GET, SET, DELETE = 0, 1, 2


def scale_key(i):
    """Key i of the scale caches (shared with bench_suite.py)."""
    return 'k%09d' % i


def mix_ops(seed, count):
    """python-diskcache's own mix: 90% get, 9% set, 1% delete over 100 keys."""
    rng = random.Random(seed)
    ops = []
    for _ in range(count):
        draw = rng.random()
        op = GET if draw < 0.90 else SET if draw < 0.99 else DELETE
        ops.append((op, rng.choice(MIX_KEYS)))
    return ops


def run_mix(cache, ops, value):
    """Run a mix; return how many sets reported failure (False)."""
    get, set_, delete = cache.get, cache.set, cache.delete
    failed = 0
    for op, key in ops:
        if op == GET:
            get(key)
        elif op == SET:
            if set_(key, value) is False:
                failed += 1
        else:
            delete(key)
    return failed


def mix_worker(conn, barrier):
    """Serve the parent's commands until it sends None.

    ('open', name, directory) opens a cache (kept open between rounds);
    ('run', name, directory, seed, count, value) waits at the barrier, so
    all workers start together, and times one batch. The parent computes
    aggregate throughput from the earliest start and the latest end
    (perf_counter is CLOCK_MONOTONIC, shared by all processes on Linux).
    Every reply is ('ok', result) or ('error', message): a worker that died
    instead would leave the others waiting at the barrier.
    """
    caches = {}
    while True:
        message = conn.recv()
        if message is None:
            break
        try:
            conn.send(('ok', _serve(caches, barrier, message)))
        # Any failure of the implementation goes back to the parent, which
        # records it against that implementation and carries on.
        except Exception as exc:  # noqa: BLE001
            conn.send(('error', '%s: %s' % (type(exc).__name__, exc)))
    for cache in caches.values():
        cache.close()


def _serve(caches, barrier, message):
    if message[0] == 'open':
        _, name, directory = message
        if (name, directory) not in caches:
            caches[(name, directory)] = suite_impls.load(name).open(directory)
        return None
    _, name, directory, seed, count, value = message
    cache = caches[(name, directory)]
    ops = mix_ops(seed, count)
    barrier.wait(timeout=600)
    began = time.perf_counter()
    failed = run_mix(cache, ops, value)
    ended = time.perf_counter()
    return began, ended, failed


def command_open(name, directory, key):
    """Time Cache(directory) plus one get in this fresh process."""
    began = time.perf_counter()
    adapter = suite_impls.load(name)
    imported = time.perf_counter()
    cache = adapter.open(directory)
    value = cache.get(key)
    done = time.perf_counter()
    cache.close()
    return {'import_s': imported - began, 'open_get_s': done - imported,
            'hit': value is not None}


def peak_rss_kib():
    """This process's resident-set high-water mark, in KiB.

    VmHWM from /proc/self/status, not ru_maxrss: on Linux ru_maxrss
    survives fork and exec, so a child of a big parent reports the parent's
    size. VmHWM belongs to the address space exec created. ru_maxrss is the
    fallback elsewhere.
    """
    try:
        with open('/proc/self/status', encoding='ascii') as status:
            for line in status:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def command_reader(name, directory, count):
    """Read every key; report peak RSS after the import and after reading."""
    adapter = suite_impls.load(name)
    baseline = peak_rss_kib()
    cache = adapter.open(directory)
    hits = 0
    get = cache.get
    for i in range(count):
        if get(scale_key(i)) is not None:
            hits += 1
    peak = peak_rss_kib()
    cache.close()
    return {'baseline_kib': baseline, 'peak_kib': peak, 'hits': hits,
            'ru_maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}


def main(argv):
    command = argv[0]
    if command == 'open':
        result = command_open(argv[1], argv[2], argv[3])
    elif command == 'reader':
        result = command_reader(argv[1], argv[2], int(argv[3]))
    else:
        raise SystemExit('unknown command %r' % command)
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1:])
