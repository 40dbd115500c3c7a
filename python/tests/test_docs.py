"""Every Python code block in the README and docs/ runs as written."""

import os
import re
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ['README.md', 'SECURITY.md'] + [
    os.path.join('docs', name) for name in sorted(os.listdir(os.path.join(ROOT, 'docs')))
    if name.endswith('.md')
]


def blocks():
    for doc in DOCS:
        with open(os.path.join(ROOT, doc), encoding='utf-8') as f:
            text = f.read()
        for number, match in enumerate(re.finditer(r'```python\n(.*?)^[ ]*```', text, re.S | re.M)):
            yield pytest.param(textwrap.dedent(match.group(1)), id='%s-%d' % (doc, number))


@pytest.mark.parametrize('code', list(blocks()))
def test_code_block_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, '<doc>', 'exec'), {'__name__': '__doc__'})


# Shell blocks that CI runs itself rather than from here (installing the
# package and running this very test suite).
CI_RUNS_THESE = ('pip install', './build.sh')


def shell_blocks():
    for doc in DOCS:
        with open(os.path.join(ROOT, doc), encoding='utf-8') as f:
            text = f.read()
        for number, match in enumerate(re.finditer(r'```sh\n(.*?)^[ ]*```', text, re.S | re.M)):
            code = textwrap.dedent(match.group(1))
            if any(marker in code for marker in CI_RUNS_THESE):
                continue
            yield pytest.param(code, id='%s-sh%d' % (doc, number))


@pytest.mark.parametrize('code', list(shell_blocks()))
def test_shell_block_runs(code, tmp_path):
    """Shell examples run as written, with a home directory holding a
    python-diskcache cache at ~/.cache/myapp (the migration examples' source)
    and `diskcache-go` on PATH."""
    import subprocess
    import sys

    diskcache = pytest.importorskip('diskcache')
    home = tmp_path / 'home'
    old = diskcache.Cache(str(home / '.cache' / 'myapp'))
    for i in range(20):
        old.set(('item', i), {'n': i}, tag='demo')
    old.set('big', b'x' * 100000)
    old.close()
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    script = bin_dir / 'diskcache-go'
    script.write_text('#!/bin/sh\nexec "%s" -m diskcache_go "$@"\n' % sys.executable)
    script.chmod(0o755)
    (tmp_path / 'logo.png').write_bytes(bytes(range(256)) * 4)
    env = dict(os.environ, HOME=str(home), PATH='%s%s%s' % (bin_dir, os.pathsep, os.environ['PATH']),
               PYTHONPATH=os.pathsep.join([os.path.join(ROOT, 'python')] + [p for p in sys.path if p]))
    result = subprocess.run(['bash', '-e', '-o', 'pipefail', '-c', code], cwd=str(tmp_path), env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, 'shell block failed:\n%s\n--- stdout\n%s\n--- stderr\n%s' % (
        code, result.stdout, result.stderr)


def test_readme_tables_name_the_measured_releases():
    """Both README tables (speed and comparison) name the releases of the
    latest benchmark run (benchmarks/suite-*.json): a new run, or a table
    edited by hand, must not leave them naming different versions."""
    import glob
    import json

    runs = sorted(glob.glob(os.path.join(ROOT, 'benchmarks', 'suite-*.json')))
    if not runs:
        pytest.skip('no benchmark run stored')
    with open(runs[-1], encoding='utf-8') as f:
        impls = json.load(f)['impls']
    with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    headers = [line for line in readme.splitlines() if line.startswith('| ') and 'python-diskcache 5.6.3' in line]
    assert len(headers) == 2, headers
    names = {'diskcache': 'python-diskcache', 'diskcache_rs': 'diskcache_rs',
             'pysciqlop_cache': 'pysciqlop_cache'}
    for impl, name in names.items():
        if impl not in impls:
            continue
        expected = '%s %s' % (name, impls[impl]['version'])
        for header in headers:
            assert expected in header, '%s: README header %r does not name %s' % (
                os.path.basename(runs[-1]), header, expected)
    assert 'diskcache-go %s' % impls['diskcache_go']['version'] in headers[0], headers[0]
