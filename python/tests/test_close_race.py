"""close() from one thread while other threads run transact() blocks on the
same Cache object (issue 15).

python-diskcache closes only the calling thread's SQLite connection, so the
other threads' transactions carry on untouched. diskcache_go shares one
engine handle between threads: close() leaves it open while any thread has
a transaction open or is opening one (docs/compatibility.md). Before that
was done under a lock, a close() between a thread's BEGIN and its
bookkeeping ended that thread's transaction under it: the thread's next
write reopened a second handle that waited for the first one's writer lock,
and the run stalled until the lock timeout with ``Timeout`` and
``RuntimeError: end transaction: this thread does not hold the
transaction`` raised out of ``with`` blocks.

The scenario runs in a subprocess with a deadline, so a regression fails
the test instead of hanging it; then the directory is reopened and checked.
"""

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                'workers'))
import dcg_testutil as tu  # noqa: E402

WORKERS = 6
ROUNDS = 300
# python-diskcache needs well under a second; the deadlock lasted two lock
# timeouts (121 s at the default 60 s).
DEADLINE = 30

SCENARIO = r'''
import importlib, json, sys, threading, time

mod = importlib.import_module(sys.argv[1])
directory, workers, rounds, mode = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cache = mod.Cache(directory)
start = threading.Barrier(workers + 1)
errors = []
committed = {}


def worker(i):
    start.wait()
    done = []
    for j in range(rounds):
        try:
            with cache.transact():
                cache['txn', i, j] = j
                cache.incr(('count', i))
            done.append(j)
            # A write outside any transaction, reopening the handle if a
            # close() just closed it.
            cache.set(('plain', i, j), j)
        except BaseException as error:
            errors.append('%s: %s' % (type(error).__name__, error))
    committed[i] = done


def closer():
    start.wait()
    if mode == 'once':
        time.sleep(0.02)
        cache.close()
        return
    while any(t.is_alive() for t in threads):
        cache.close()
        time.sleep(0.0005)


threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
closing = threading.Thread(target=closer)
began = time.monotonic()
for thread in threads + [closing]:
    thread.start()
for thread in threads + [closing]:
    thread.join()
elapsed = time.monotonic() - began
cache.close()
print(json.dumps({'errors': errors, 'committed': committed, 'elapsed': elapsed}))
'''


@pytest.fixture(params=['reference', 'candidate'])
def module_name(request):
    return 'diskcache' if request.param == 'reference' else tu.impl_name()


@pytest.mark.parametrize('mode', ['once', 'repeatedly'])
def test_close_while_other_threads_transact(module_name, mode, tmp_path):
    directory = str(tmp_path / 'cache')
    try:
        run = subprocess.run(
            [sys.executable, '-c', SCENARIO, module_name, directory, str(WORKERS),
             str(ROUNDS), mode],
            capture_output=True, text=True, timeout=DEADLINE, env=tu.child_env())
    except subprocess.TimeoutExpired as expired:
        pytest.fail('%s: close() during transact() still running after %d s (stderr: %s)'
                    % (module_name, DEADLINE, expired.stderr))
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result['errors'] == [], '%s: raised out of with blocks' % module_name
    committed = {int(i): done for i, done in result['committed'].items()}
    assert all(len(done) == ROUNDS for done in committed.values())

    mod = tu.load_impl(module_name)
    cache = mod.Cache(directory)
    try:
        for i, done in committed.items():
            for j in done:
                assert cache['txn', i, j] == j
                assert cache['plain', i, j] == j
            # Each block's two writes committed together.
            assert cache['count', i] == len(done)
        assert len(cache) == WORKERS * (2 * ROUNDS + 1)
        assert [str(w.message) for w in cache.check()] == []
    finally:
        cache.close()
