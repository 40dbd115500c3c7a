"""Long runs must not leak: file descriptors, Go goroutines, Go heap, and
the process's memory stay flat over many operations and many caches."""

import gc
import glob
import os
import sys

import pytest

from conftest import load_impl

impl = load_impl()

pytestmark = pytest.mark.skipif(
    not hasattr(impl, '_ffi') or not sys.platform.startswith('linux'),
    reason='needs diskcache_go (the engine figures) on Linux (/proc)',
)


def figures():
    gc.collect()
    out = impl._ffi.ffi.new('int64_t[]', 3)
    impl._ffi.lib().dcg_runtime(out)
    with open('/proc/self/status') as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith('RssAnon:'))
    return {
        'fds': len(os.listdir('/proc/self/fd')),
        'goroutines': out[0],
        'heap': out[1],
        'handles': out[2],
        'rss_kib': rss,
    }


def segments(cache):
    return len(glob.glob(os.path.join(cache.directory, 'cache.dcg-*.seg')))


def test_many_operations_do_not_grow(tmp_path):
    cache = impl.Cache(str(tmp_path / 'ops'), size_limit=2**22)
    value = b'v' * 700
    def run(n):
        for i in range(n):
            key = i % 5000
            cache.set(key, value)
            cache.get(key)
            if i % 7 == 0:
                cache.delete(key)
            if i % 11 == 0:
                cache.incr('counter')
            if i % 997 == 0:
                cache.set(('big', i % 3), b'b' * 40000)
    run(20000)  # warm up: buffers, chunks, the first segments
    before, segments_before = figures(), segments(cache)
    run(100000)
    after, segments_after = figures(), segments(cache)
    cache.close()
    # Network mode reads records with pread, keeping a descriptor per
    # segment it read (bounded by the segments that exist), where local
    # mode keeps a mapping instead.
    assert after['fds'] <= before['fds'] + max(0, segments_after - segments_before)
    assert after['goroutines'] <= before['goroutines'] + 2
    assert after['heap'] < before['heap'] + (8 << 20), (before, after)
    assert after['rss_kib'] < before['rss_kib'] + 16 * 1024, (before, after)


def test_opening_and_closing_caches_does_not_grow(tmp_path):
    def cycle(n, start):
        for i in range(start, start + n):
            cache = impl.Cache(str(tmp_path / ('c%d' % (i % 50))))
            cache.set(i, 'x')
            assert cache.get(i) == 'x'
            cache.close()
            fanout = impl.FanoutCache(str(tmp_path / ('f%d' % (i % 5))), shards=4)
            fanout.set(i, 'y')
            fanout.close()
    cycle(100, 0)
    before = figures()
    cycle(1000, 100)
    after = figures()
    assert after['handles'] == before['handles'], (before, after)
    assert after['fds'] <= before['fds'], (before, after)
    assert after['goroutines'] <= before['goroutines'] + 2
    assert after['heap'] < before['heap'] + (8 << 20), (before, after)
    assert after['rss_kib'] < before['rss_kib'] + 16 * 1024, (before, after)


def test_threads_that_read_and_exit_leave_nothing_behind(tmp_path):
    """The C get path keeps a 64 KiB buffer per thread: a thread that exits
    must give it back (servers start a thread per request)."""
    import threading
    # A value that fills most of the buffer (kept inline), so each buffer's
    # pages are really used.
    cache = impl.Cache(str(tmp_path / 'threads'), disk_min_file_size=2**20)
    value = b'v' * 60000
    cache.set('k', value)

    def reader():
        assert cache.get('k') == value

    def batch(n):
        for _ in range(n):
            thread = threading.Thread(target=reader)
            thread.start()
            thread.join()
    batch(200)  # warm up
    before = figures()
    batch(3000)  # 3,000 buffers would be about 170 MiB
    after = figures()
    cache.close()
    assert after['rss_kib'] < before['rss_kib'] + 32 * 1024, (before, after)
