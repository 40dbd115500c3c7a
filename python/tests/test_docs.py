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
