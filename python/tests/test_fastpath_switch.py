"""The fast path (the C methods of Cache.get, set, delete and incr) against
the general path (the Python methods), with DISKCACHE_GO_NO_FASTPATH.

* The fast-path suites (test_fastpath.py, which compares with
  python-diskcache, and the parity suites) pass with the fast path off, as
  they do with it on (the main run).
* A script makes the same calls, the common ones the fast path takes and
  the unusual ones it hands over, in a process with the fast path on and in
  one with it off, and records each call's result or exception: the two
  records must be equal, and equal to python-diskcache's where the call is
  python-diskcache's.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
PYTHON_SRC = os.path.dirname(TESTS)

SUITES = ['test_fastpath.py', 'test_cache_parity.py', 'test_parity_edge.py']

# The calls, run on a cache made by `make`. Each line is an expression on
# `c` (the cache) and `big` (a value stored in a file); the fast path takes
# the plain ones, the rest cross to the general path.
CALLS = r'''
c.set('s', 'text')
c.set(b'b', b'bytes')
c.set(7, 70)
c.set(-2**63, 2**63 - 1)
c.set(2**63, 'big int key')
c.set(1.5, 2.5)
c.set(('t', 1, None, True), ['list'])
c.set(('t', 1.0), 'float tuple')
c.set('e', 'expires', expire=1000)
c.set('e0', 'expired', expire=-1)
c.set('tagged', 1, tag='x')
c.set('none', None)
c.set('f', big)
c.set('fb', big.encode())
c.set('fp', {'k': big})
c.set('uni', '\u20ac\U0001f600')
c.set('s', 'text', retry=True)
c.set(key='kw', value='kw')
c.set('x', 1, 2, 3, 4, 5, 6)
c.set('x')
c.set('x', 1, unknown=True)
c.set(['unhashable'], 1)
c.set('\ud800', 1)
c.set('v', '\ud800')
c.get('s')
c.get(b'b')
c.get(7)
c.get(7.0)
c.get(-2**63)
c.get(2**63)
c.get(1.5)
c.get(('t', 1, None, True))
c.get(('t', 1.0))
c.get(('t', 1))
c.get('e')
c.get('e0')
c.get('e0', 'dflt')
c.get('tagged', tag=True)
c.get('e', expire_time=True, tag=True)[0]
c.get('none', 'dflt')
c.get('f') == big
c.get('fb') == big.encode()
c.get('fp') == {'k': big}
c.get('fp', read=True)
c.get('uni')
c.get('missing')
c.get('missing', default=5)
c.get('missing', 5, retry=True)
c.get(key='s')
c.get()
c.get('s', 1, 2, 3, 4, 5, 6)
c.get('s', nope=1)
c.get(['unhashable'])
c.get('\ud800')
c['s']
c['missing']
'kw' in c
c.incr('n')
c.incr('n', 5)
c.incr('n', -10)
c.incr('m', 2, 40)
c.incr('fl', 1.5)
c.incr('fl', 1)
c.incr('s')
c.incr('big', 2**62, 2**62)
c.incr('big', 2**62)
c.incr('nd', default=None)
c.incr('n', delta=True)
c.incr(key='n', delta=1, default=0, retry=True)
c.incr('n', 1, 0, False, 9)
c.decr('n', 3)
c.delete('s')
c.delete('s')
c.delete(7)
c.delete(('t', 1, None, True))
c.delete('f')
c.delete(key='kw', retry=True)
c.delete()
c.delete('a', 'b', 'c')
c.delete(['unhashable'])
len(c)
sorted(map(repr, c))
tuple(c.stats())
'''


def script(impl, fastpath_on):
    """A program printing [call, result or exception] for each call."""
    return textwrap.dedent('''
        import json, os, sys, tempfile
        import {impl} as impl
        directory = tempfile.mkdtemp()
        c = impl.Cache(directory, statistics=1)
        big = 'z' * 100000
        if {check!r}:
            kind = type(type(c).__dict__['get']).__name__
            assert kind == ({fast!r} and 'FastMethod' or 'function'), kind
        out = []
        for line in {calls!r}.strip().splitlines():
            try:
                result = ['ok', repr(eval(line))]
            except Exception as exc:
                result = ['raise', type(exc).__name__, str(exc)]
            out.append([line, result])
        c.close()
        print(json.dumps(out))
    ''').format(impl=impl, check=impl == 'diskcache_go', fast=fastpath_on, calls=CALLS)


def run(code, fastpath_on):
    env = dict(os.environ, PYTHONPATH=PYTHON_SRC)
    env.pop('DISKCACHE_GO_NO_FASTPATH', None)
    if not fastpath_on:
        env['DISKCACHE_GO_NO_FASTPATH'] = '1'
    proc = subprocess.run([sys.executable, '-c', code], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_call_gives_the_same_result_with_the_fast_path_off():
    on = run(script('diskcache_go', True), True)
    off = run(script('diskcache_go', False), False)
    assert len(on) == len(off) == len(CALLS.strip().splitlines())
    for (line, fast), (_, general) in zip(on, off):
        assert fast == general, 'cache.%s: fast path %r, general path %r' % (line, fast, general)


def test_the_calls_give_what_python_diskcache_gives():
    pytest.importorskip('diskcache')
    ours = run(script('diskcache_go', True), True)
    theirs = run(script('diskcache', True), True)
    for (line, mine), (_, reference) in zip(ours, theirs):
        if reference[:2] == ['raise', 'TypeError']:
            # A wrong call: the message names the function, whose module
            # differs; the type is the contract.
            mine, reference = mine[:2], reference[:2]
        assert mine == reference, 'cache.%s: diskcache_go %r, python-diskcache %r' % (line, mine, reference)


@pytest.mark.parametrize('suite', SUITES)
def test_fast_path_suites_pass_with_the_fast_path_off(suite):
    env = dict(os.environ, PYTHONPATH=PYTHON_SRC, DISKCACHE_GO_NO_FASTPATH='1')
    proc = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                           os.path.join(TESTS, suite)], env=env, cwd=TESTS, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
