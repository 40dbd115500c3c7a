"""Timeout and retry semantics while another process holds the writer lock,
compared with python-diskcache."""

import multiprocessing
import time


import diskcache as reference

from conftest import load_impl


def hold_lock(module_name, directory, ready, release):
    import importlib

    module = importlib.import_module(module_name)
    cache = module.Cache(directory)
    with cache.transact():
        cache.set('held', 1)
        ready.set()
        release.wait(30)
    cache.close()


def run_scenario(module, module_name, directory):
    ctx = multiprocessing.get_context('spawn')
    ready, release = ctx.Event(), ctx.Event()
    # Opened first: python-diskcache's Cache() itself waits for the lock.
    cache = module.Cache(directory, timeout=0.05)
    proc = ctx.Process(target=hold_lock, args=(module_name, directory, ready, release))
    proc.start()
    try:
        assert ready.wait(30)
        outcomes = []
        for name, call in [
            ('set', lambda: cache.set('k', 1)),
            ('add', lambda: cache.add('k', 1)),
            ('incr', lambda: cache.incr('n')),
            ('delete', lambda: cache.delete('k')),
            ('touch', lambda: cache.touch('k')),
            ('pop', lambda: cache.pop('k')),
            ('clear', lambda: cache.clear()),
            ('expire', lambda: cache.expire()),
            ('push', lambda: cache.push(1)),
        ]:
            began = time.monotonic()
            try:
                call()
                outcomes.append((name, 'ok'))
            except module.Timeout as exc:
                outcomes.append((name, 'Timeout', exc.args))
            assert time.monotonic() - began < 5, name
        # Reads do not need the lock.
        outcomes.append(('get', cache.get('missing', 'default')))
        outcomes.append(('contains', 'missing' in cache))
        release.set()
        outcomes.append(('retry', cache.set('k', 2, retry=True), cache.get('k')))
        outcomes.append(('held', cache.get('held')))
        cache.close()
        return outcomes
    finally:
        release.set()
        proc.join(30)
        if proc.is_alive():
            proc.kill()


def test_timeout_while_another_process_holds_the_lock(tmp_path):
    impl = load_impl()
    expected = run_scenario(reference, 'diskcache', str(tmp_path / 'ref'))
    actual = run_scenario(impl, impl.__name__, str(tmp_path / 'new'))
    assert actual == expected
    assert ('set', 'Timeout', ()) in actual
    assert ('clear', 'Timeout', (0,)) in actual
