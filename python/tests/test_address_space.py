"""Address space grows with the cache, not a fixed 32 GiB per cache (issue 15).

The engine used to map 32 GiB for every index, 1 GiB for every journal and
64 MiB for every segment, up front: under ``ulimit -v 8G`` no cache opened
("mmap ... cannot allocate memory"), and a process ran out of address
space (128 TiB) at about 3,970 open caches. Now every file is mapped in
proportion to its size and mapped again as it grows.

Each test runs in a subprocess, whose limits are its own.
"""

import os
import subprocess
import sys

import pytest

resource = pytest.importorskip('resource', reason='RLIMIT_AS is POSIX: Windows has no address-space limit to set')

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'workers'))
import dcg_testutil as tu  # noqa: E402

# The Go runtime alone reserves about 1.6 GiB of address space when the
# library loads; 2 GiB leaves room for Python and a few small caches.
LIMIT = 2 << 30
OLD_CEILING = 3970  # open caches per process when each reserved 33 GiB

SMALL = r'''
import os
import sys

import diskcache_go

root = sys.argv[1]
cache = diskcache_go.Cache(os.path.join(root, 'cache'))
values = {i: (b'%d:' % i) * (i % 50 + 1) for i in range(400)}
for i in range(0, 400, 40):
    values[i] = bytes([i % 256]) * 100 * 1024  # value files
for i, value in values.items():
    cache.set(i, value)
for i, value in values.items():
    assert cache.get(i) == value, i
cache.close()

fanout = diskcache_go.FanoutCache(os.path.join(root, 'fanout'), shards=8)
for i, value in values.items():
    fanout.set(i, value)
for i, value in values.items():
    assert fanout.get(i) == value, i
assert len(fanout) == len(values)
fanout.close()
print('ok')
'''


def limit_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def test_small_caches_under_2gib_of_address_space(tmp_path):
    proc = subprocess.run(
        [sys.executable, '-c', SMALL, str(tmp_path)], env=tu.child_env(),
        preexec_fn=limit_address_space, capture_output=True, text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert proc.stdout.strip() == 'ok'


MANY = r'''
import os
import resource
import sys

import diskcache_go

root, count, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def vm_size():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmSize:'):
                return int(line.split()[1]) * 1024


paths = [os.path.join(root, 'c%03d' % i) for i in range(dirs)]
for i, path in enumerate(paths):
    with diskcache_go.Cache(path) as cache:
        cache.set('key', i)
before = vm_size()
caches = []
for n in range(count):
    cache = diskcache_go.Cache(paths[n % dirs])
    assert cache.get('key') == n % dirs  # maps the index, journal and segment
    caches.append(cache)
per_cache = (vm_size() - before) / count
for cache in caches:
    cache.close()
print('ok', count, per_cache)
'''


def test_ten_thousand_caches_open_at_once(tmp_path):
    """10,000 handles at once, or as many as the descriptors allow (each
    holds 3: lock, index, journal) as long as that is well past the old
    ceiling. What limits them is the address space each handle maps, which
    does not depend on the directory, so the handles share 100 directories
    (100 MiB of disk rather than 10 GB). Each handle must also add no more
    than 8 MiB of address space: 10,000 of them then fit in 80 GiB."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 10_000 * 3 + 512
    target = need if hard == resource.RLIM_INFINITY else min(need, hard)
    count = min(10_000, (target - 512) // 3)
    if count < OLD_CEILING + 1000:
        pytest.skip('RLIMIT_NOFILE hard limit %d allows only %d caches (3 descriptors '
                    'each), too few to pass the old ceiling of %d'
                    % (hard, count, OLD_CEILING))

    def raise_fd_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))

    proc = subprocess.run(
        [sys.executable, '-c', MANY, str(tmp_path), str(count), '100'],
        env=tu.child_env(), preexec_fn=raise_fd_limit, capture_output=True,
        text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    word, opened, per_cache = proc.stdout.split()
    assert word == 'ok' and int(opened) == count
    assert float(per_cache) <= 8 << 20, 'each cache maps %.1f MiB' % (float(per_cache) / 2**20)
