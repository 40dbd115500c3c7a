"""Fork safety: a Cache object that the parent has already used keeps
working in children created by ``os.fork()`` and by ``multiprocessing``'s
``fork`` context (the inherited object, never re-opened by user code), in
grandchildren, and in children forked while another parent thread is in the
middle of hammering the cache with writes. The parent keeps working
afterwards and sees the children's writes.

Every wait on a child is bounded; a deadlocked child is SIGKILLed and the
test fails. Children report failures with their traceback text and always
leave through ``os._exit``.
"""

import multiprocessing
import os
import pickle
import random
import sys
import threading
import time
import traceback

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'workers'))
import dcg_testutil as tu  # noqa: E402

pytestmark = [
    pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork'),
    # Python >= 3.12 warns about fork() in a multi-threaded process; doing
    # exactly that is the point of these tests.
    pytest.mark.filterwarnings(
        'ignore:.*multi-threaded.*fork.*:DeprecationWarning'),
]

WAIT = 30
BIG = bytes(range(256)) * 200  # 51200 bytes: file-backed by default
_forked = []                   # pids of unreaped forked children


class ChildFailure(AssertionError):
    pass


@pytest.fixture
def mod():
    return tu.load_impl()


@pytest.fixture(autouse=True)
def reap_children():
    yield
    while _forked:
        tu.kill_pid(_forked.pop())


def run_in_fork(fn, timeout=WAIT):
    """Run ``fn()`` in an ``os.fork()`` child and return its (picklable)
    result. A failure in the child is raised here as :class:`ChildFailure`
    carrying the child's traceback; a child that does not finish within
    ``timeout`` seconds is killed and reported as hung."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.close(read_fd)
            del _forked[:]  # the parent's children are not ours to reap
            try:
                payload = pickle.dumps(('ok', fn()))
                code = 0
            except BaseException:
                payload = pickle.dumps(('error', 'forked child (pid %d):\n%s'
                                        % (os.getpid(),
                                           traceback.format_exc())))
                code = 1
            tu.write_all(write_fd, payload)
            os.close(write_fd)
        finally:
            os._exit(code)
    _forked.append(pid)
    os.close(write_fd)
    try:
        data, eof = tu.read_fd_until_eof(read_fd, timeout)
    finally:
        os.close(read_fd)
    if not eof:
        tu.kill_pid(pid)
        _forked.remove(pid)
        raise ChildFailure('forked child %d did not finish within %ss '
                           '(deadlock?)' % (pid, timeout))
    status = tu.waitpid_timeout(pid, WAIT)
    _forked.remove(pid)
    if status is None:
        raise ChildFailure('forked child %d closed its pipe but did not exit '
                           'within %ss' % (pid, WAIT))
    code = os.waitstatus_to_exitcode(status)
    if not data:
        raise ChildFailure('forked child %d died (exit status %d) without '
                           'reporting' % (pid, code))
    kind, value = pickle.loads(data)
    if kind == 'error':
        raise ChildFailure(value)
    if code != 0:
        raise ChildFailure('forked child %d reported success but exited '
                           'with %d' % (pid, code))
    return value


def warm_up(cache):
    """Use the cache in the parent so the engine is fully initialised:
    inline and file-backed values, incr, a transaction, reads."""
    assert cache.set('a', 1) is True
    assert cache.set('big', BIG) is True
    assert cache.set(('t', 1), 'tuple') is True
    assert cache.incr('ctr') == 1
    with cache.transact():
        cache.set('in-tx', 'tx')
    assert cache.get('a') == 1
    assert cache.get('big') == BIG
    assert cache.get(('t', 1)) == 'tuple'
    assert cache.get('missing') is None
    assert len(cache) == 5


def test_os_fork_child_uses_inherited_cache(mod, tmp_path):
    cache = mod.Cache(str(tmp_path / 'cache'))
    warm_up(cache)

    def child():
        assert cache.get('a') == 1
        assert cache.get('big') == BIG
        assert cache.get(('t', 1)) == 'tuple'
        assert cache.get('in-tx') == 'tx'
        assert cache.set('child-key', 'from child') is True
        assert cache.set('child-big', BIG[::-1]) is True
        assert cache.incr('ctr') == 2
        assert cache.delete('a') is True
        assert cache.add('child-added', 5) is True
        assert cache.add('child-added', 6) is False
        with cache.transact():
            cache.set('child-tx', 'tx')
            cache.incr('ctr')
        assert cache.get('child-key') == 'from child'
        assert cache.get('child-big') == BIG[::-1]
        assert cache.get('a') is None
        return os.getpid()

    child_pid = run_in_fork(child)
    assert child_pid != os.getpid()

    # The parent sees the child's writes through the same object ...
    assert cache.get('a') is None
    assert cache.get('child-key') == 'from child'
    assert cache.get('child-big') == BIG[::-1]
    assert cache.get('child-added') == 5
    assert cache.get('child-tx') == 'tx'
    assert cache.get('ctr') == 3
    # ... and can still write.
    assert cache.set('parent-after', 'p') is True
    assert cache.incr('ctr') == 4
    assert cache.delete('child-key') is True
    # A second child inherits the parent again (post-fork state is not
    # left half-reset in the parent).
    run_in_fork(lambda: cache.incr('ctr'))
    assert cache.get('ctr') == 5
    cache.close()

    fresh = mod.Cache(str(tmp_path / 'cache'))
    try:
        assert fresh.get('parent-after') == 'p'
        assert fresh.get('ctr') == 5
        assert 'child-key' not in fresh
        assert fresh.check() == []
    finally:
        fresh.close()


# The Cache inherited by multiprocessing pool workers (module global, set
# by the parent before the pool forks).
_INHERITED = None


def _pool_task(i):
    try:
        cache = _INHERITED
        assert cache.get('big') == BIG
        assert cache.get(('t', 1)) == 'tuple'
        assert cache.set(('pool', i), ('value', i)) is True
        counter = cache.incr('pool-ctr')
        assert cache.get(('pool', i)) == ('value', i)
        if i % 3 == 0:
            assert cache.delete(('pool', i)) is True
        time.sleep(0.02)  # spread the tasks over the workers
        return ('ok', (os.getpid(), counter))
    except BaseException:
        return ('error', 'pool worker (pid %d):\n%s'
                % (os.getpid(), traceback.format_exc()))


def test_multiprocessing_fork_pool_inherits_cache(mod, tmp_path):
    global _INHERITED
    cache = mod.Cache(str(tmp_path / 'cache'))
    warm_up(cache)
    _INHERITED = cache
    ctx = multiprocessing.get_context('fork')
    n_tasks = 24
    pool = ctx.Pool(3)
    try:
        async_result = pool.map_async(_pool_task, range(n_tasks), chunksize=1)
        try:
            results = async_result.get(timeout=WAIT)
        except multiprocessing.TimeoutError:
            pytest.fail('pool tasks did not finish within %ss (deadlock?)'
                        % WAIT)
        pool.close()
    finally:
        pool.terminate()
        pool.join()
        _INHERITED = None
    errors = [payload for kind, payload in results if kind != 'ok']
    assert not errors, '\n'.join(errors)
    pids = {payload[0] for _, payload in results}
    counters = sorted(payload[1] for _, payload in results)
    assert os.getpid() not in pids
    assert len(pids) >= 2, 'tasks ran in only %r' % (pids,)
    assert counters == list(range(1, n_tasks + 1))

    # A fork-context Process whose target is a closure over the cache.
    parent_conn, child_conn = ctx.Pipe()

    def closure_target():
        try:
            assert cache.get('pool-ctr') == n_tasks
            assert cache.incr('pool-ctr') == n_tasks + 1
            assert cache.set('closure', BIG[:40000]) is True
            child_conn.send(('ok', None))
        except BaseException:
            child_conn.send(('error', traceback.format_exc()))

    proc = ctx.Process(target=closure_target, daemon=True)
    proc.start()
    try:
        assert parent_conn.poll(WAIT), 'fork Process hung (deadlock?)'
        kind, payload = parent_conn.recv()
        assert kind == 'ok', payload
        proc.join(WAIT)
        assert not proc.is_alive()
        assert proc.exitcode == 0
    finally:
        if proc.is_alive():
            proc.kill()
            proc.join(10)

    # The parent sees all writes and keeps working.
    assert cache.get('pool-ctr') == n_tasks + 1
    for i in range(n_tasks):
        expected = None if i % 3 == 0 else ('value', i)
        assert cache.get(('pool', i)) == expected
    assert cache.get('closure') == BIG[:40000]
    assert cache.set('parent-after', 1) is True
    assert cache.incr('pool-ctr') == n_tasks + 2
    cache.close()


REFERENCE_FORK_LIMITATION = (
    'python-diskcache 5.6.3 is not fork-safe while another thread is inside '
    'SQLite (observed in gdb): the child\'s pid check closes the inherited '
    'connection and sqlite3_close blocks forever on a SQLite mutex the other '
    'thread held at fork time (sqlite3WalClose / sqlite3_free -> '
    'pthread_mutex_lock); and if that thread was inside a write transaction, '
    'the inherited in-process lock state makes the child\'s BEGIN IMMEDIATE '
    'spin in the busy handler until Timeout')


@pytest.mark.parametrize('hammer_mode', ['writes', 'reads'])
def test_fork_while_another_thread_uses_cache(mod, tmp_path, request,
                                              hammer_mode):
    """Fork repeatedly while another parent thread hammers the same Cache
    object (with writes, including multi-statement transactions, or with
    reads). Each child must finish its operations promptly."""
    if tu.impl_name() == 'diskcache':
        request.node.add_marker(pytest.mark.xfail(
            reason=REFERENCE_FORK_LIMITATION, strict=False))
    cache = mod.Cache(str(tmp_path / 'cache'))
    warm_up(cache)
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    for index in range(16):
        cache.set(('h', index), tu.random_value(rng, index, 0, index,
                                                large_fraction=0.3,
                                                max_size=64 * 1024))
    stop = threading.Event()
    errors = []
    counts = {'ops': 0, 'tx': 0}

    def hammer():
        hrng = random.Random(seed + 1)
        i = 0
        try:
            while not stop.is_set():
                i += 1
                roll = hrng.random()
                index = hrng.randrange(16)
                if hammer_mode == 'reads':
                    value = cache.get(('h', index))
                    tu.parse_value(value, index)
                    if roll < 0.1:
                        assert ('h', index) in cache
                    elif roll < 0.15:
                        assert len(cache) >= 21
                elif roll < 0.45:
                    value = tu.random_value(hrng, index, 0, i,
                                            large_fraction=0.3,
                                            max_size=64 * 1024)
                    cache.set(('h', index), value)
                elif roll < 0.65:
                    cache.incr('h-ctr')
                elif roll < 0.75:
                    cache.delete(('h', index))
                elif roll < 0.85:
                    # Hold the write lock over several statements.
                    with cache.transact():
                        for j in range(5):
                            cache.set(('h-tx', j), i)
                        cache.incr('h-ctr')
                    counts['tx'] += 1
                else:
                    value = cache.get(('h', index))
                    if value is not None:
                        tu.parse_value(value, index)
                counts['ops'] += 1
        except BaseException:
            errors.append(traceback.format_exc())

    def child(n):
        assert cache.get('big') == BIG
        assert cache.get(('t', 1)) == 'tuple'
        assert cache.set(('child', n), n) is True
        assert cache.get(('child', n)) == n
        assert cache.incr('fork-ctr') >= 1
        assert cache.add(('child-add', n), n) is True
        assert cache.delete(('child-add', n)) is True
        with cache.transact():
            cache.set(('child-tx', n), n)
            cache.incr('h-ctr')
        for index in range(16):
            value = cache.get(('h', index))
            if value is not None:
                tu.parse_value(value, index)
        assert cache.set(('child-big', n), BIG) is True
        return True

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    n_children = 12
    try:
        deadline = time.monotonic() + 5
        while counts['ops'] < 20 and not errors:
            assert time.monotonic() < deadline, 'hammer thread is stuck'
            time.sleep(0.005)
        for n in range(n_children):
            time.sleep(rng.uniform(0.0, 0.03))
            assert run_in_fork(lambda: child(n), timeout=10) is True, n
            assert not errors, errors[0]
    finally:
        stop.set()
        thread.join(WAIT)
    assert not thread.is_alive(), 'hammer thread hung'
    assert not errors, errors[0]
    assert counts['ops'] > 20

    assert cache.get('fork-ctr') == n_children
    for n in range(n_children):
        assert cache.get(('child', n)) == n
        assert cache.get(('child-tx', n)) == n
        assert cache.get(('child-big', n)) == BIG
        assert ('child-add', n) not in cache
    assert cache.set('parent-after', 1) is True
    assert cache.incr('fork-ctr') == n_children + 1
    cache.close()


def test_fork_grandchild(mod, tmp_path):
    cache = mod.Cache(str(tmp_path / 'cache'))
    warm_up(cache)

    def grandchild():
        assert cache.get('big') == BIG
        assert cache.get('child') == 'c'
        assert cache.set('grandchild', 'g') is True
        assert cache.set('grandchild-big', BIG[::-1]) is True
        assert cache.incr('gen') == 2
        assert cache.delete('a') is True
        return os.getpid()

    def child():
        assert cache.get('a') == 1
        assert cache.set('child', 'c') is True
        assert cache.incr('gen') == 1
        grandchild_pid = run_in_fork(grandchild, timeout=WAIT - 5)
        # The child keeps working after forking, and sees the grandchild.
        assert cache.get('grandchild') == 'g'
        assert cache.get('a') is None
        assert cache.incr('gen') == 3
        return os.getpid(), grandchild_pid

    child_pid, grandchild_pid = run_in_fork(child)
    assert len({os.getpid(), child_pid, grandchild_pid}) == 3
    assert cache.get('child') == 'c'
    assert cache.get('grandchild') == 'g'
    assert cache.get('grandchild-big') == BIG[::-1]
    assert cache.get('a') is None
    assert cache.get('gen') == 3
    assert cache.set('parent-after', 1) is True
    assert cache.incr('gen') == 4
    cache.close()
