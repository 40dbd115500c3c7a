"""The engine's check of who may write a path (dcg_others_can_write), and
_trust's Windows branch, which asks it instead of reading owners and mode
bits: run here on Linux, where the engine's answer comes from the owner
and mode bits, so both branches must agree."""

import os

import pytest

from conftest import load_impl

impl = load_impl()

pytestmark = [
    pytest.mark.skipif(impl.__name__ != 'diskcache_go', reason='diskcache-go engine only'),
    pytest.mark.skipif(not hasattr(os, 'geteuid'), reason='modes decide only on POSIX'),
]


def test_engine_reports_writable_by_others(tmp_path):
    from diskcache_go import _binding
    path = tmp_path / 'f'
    path.write_bytes(b'')
    os.chmod(path, 0o600)
    assert _binding.others_can_write(str(path)) is None
    os.chmod(path, 0o666)
    assert 'mode 0666' in _binding.others_can_write(str(path))
    os.chmod(tmp_path, 0o777)
    assert 'its group and others may write it' in _binding.others_can_write(str(tmp_path))
    with pytest.raises(FileNotFoundError):
        _binding.others_can_write(str(tmp_path / 'missing'))


def test_windows_branch_judges_as_posix(tmp_path, monkeypatch):
    """With _trust's Windows branch forced on (no uid: the engine decides
    for the directory, the engine files and a pickle's folder and file), a
    private cache reads pickles and a cache writable by others refuses
    them, as the POSIX walk decides."""
    from diskcache_go import _trust
    monkeypatch.setattr(_trust, '_euid', lambda: None)
    asked = []
    engine_risk = _trust._engine_risk
    monkeypatch.setattr(_trust, '_engine_risk', lambda path: asked.append(path) or engine_risk(path))
    directory = tmp_path / 'c'
    with impl.Cache(str(directory)) as cache:
        cache.set('k', {'a': 1})
        cache.set('big', ['x'] * 100000)  # a value file
        assert cache.get('k') == {'a': 1}
        assert cache.get('big') == ['x'] * 100000
    assert str(directory) in asked, asked
    os.chmod(directory, 0o777)
    with impl.Cache(str(directory)) as cache:
        with pytest.raises(impl.core.UntrustedDataError, match='may write it'):
            cache.get('k')
    os.chmod(directory, 0o700)
    with impl.Cache(str(directory)) as cache:
        assert cache.get('big') == ['x'] * 100000
    # A pickle's own file, writable by others, is refused on the first read.
    files = [os.path.join(root, name) for root, _, names in os.walk(directory)
             for name in names if name.endswith('.val')]
    assert files
    for name in files:
        os.chmod(name, 0o666)
    with impl.Cache(str(directory)) as cache:
        with pytest.raises(impl.core.UntrustedDataError, match='0666'):
            cache.get('big')
    assert any(path.endswith('.val') for path in asked), asked
