"""Whether a cache directory's contents may be unpickled: who could have
written it (``_Trust``), the HMAC secret that makes shared data safe to
read, and the cache's random id that every signature covers.
"""

import contextlib as cl
import errno
import os
import os.path as op
import pickle
import re
import stat
import struct
import tempfile
import time

from ._settings import _ENGINE_PREFIX, _VALUE_DIR

# Windows has no uids, owners in stat results or mode bits: there the
# engine judges each path by its owner and access list (_engine_risk).
_WINDOWS = os.name == 'nt'
if not _WINDOWS:
    import pwd


# Bytes of the HMAC-SHA256 tag appended to pickles when a secret is set.
_TAG_SIZE = 32
# A signed value carries, before its tag, what it is bound to (a byte:
# _TO_KEY or _TO_QUEUE) and the time it was signed (nanoseconds, 8 bytes
# big-endian): pickle | binding | time | tag.
_STAMP = struct.Struct('>BQ')
_STAMP_SIZE = _STAMP.size
# What each tag is computed over starts with one of these, so that a signed
# key can never pass for a signed value or the other way round, nor a tag of
# 0.1.0's format (an HMAC of the pickle alone) for either.
_KEY_LABEL = b'diskcache-go key v2\x00'
_VALUE_LABEL = b'diskcache-go value v2\x00'
# The cache's random id, which every tag covers (so a signed entry copied
# into another cache with the same secret is refused): 32 hex digits.
_ID_FILE = 'cache.dcg-id'
_ID_TEXT = re.compile(rb'[0-9a-f]{32}\Z')
# The environment variables that supply the secret when no argument does:
# the secret itself, or the path of a file holding it.
HMAC_SECRET_ENV = 'DISKCACHE_GO_HMAC_SECRET'
HMAC_SECRET_FILE_ENV = 'DISKCACHE_GO_HMAC_SECRET_FILE'
# The environment variable listing directories whose caches may be shared
# without a secret (os.pathsep-separated; '*' for every directory), as
# git's safe.directory does.
TRUSTED_DIRECTORIES_ENV = 'DISKCACHE_GO_TRUSTED_DIRECTORIES'


class UntrustedDataError(pickle.UnpicklingError):
    """A pickled key or value was refused and not unpickled.

    Raised when the cache has an HMAC secret (setting ``disk_hmac_secret``)
    and a stored pickle was written without it or with another secret, was
    changed on disk, belongs to another key or another cache, or is older
    than a version of its entry this cache object has already written or
    read; and, without a secret, when the cache directory is shared
    (another user could have written what it holds) and not declared
    trusted. Unpickling runs code, so data another user could have planted
    is never unpickled.
    """


# -- who could have written a cache ------------------------------------------
#
# Unpickling runs code, so a pickle is only as trustworthy as everyone who
# could have written it. A cache is "shared" when a user other than this
# process's effective user and root could have added or changed an entry:
#
# * a folder a lookup of the cache directory passes through (symbolic links
#   followed) is owned by such a user, or is writable by group or others
#   without the sticky bit: they could rename the directory away and put
#   their own in its place, even after it was opened (value files are
#   opened by path). In a sticky folder (/tmp) only an entry's owner may
#   rename it, so the entry looked up there must be ours or root's;
# * the cache directory, or a file the engine keeps in it (names starting
#   with "cache.dcg": index, journal, segments, settings, lock, id), is
#   owned by such a user or writable by group or others (sticky or not:
#   whoever may create files there may create the next segment first);
# * a folder of value files, or a pickled value's own file: checked the
#   first time a pickle is read from it, since only the owner (or root)
#   can make a private folder shared later, by creating or changing it;
# * a segment file made after the open (by another process of the owner,
#   with a file mode that lets others write): the engine checks each
#   segment when it first maps it and says so with every result.
#
# That is every way to change what the cache holds without being its
# owner: the engine reads nothing else, and a user who can write none of
# these can not change their owner or mode either. A POSIX ACL granting
# someone write shows in the group bits (as its mask). Root is trusted:
# it can write anything anyway.
#
# On Windows the same files and folders are checked (the directory, the
# engine's files, value folders and pickles' files), each by the engine's
# check of its owner and access list (core/owner_windows.go): shared when
# an account other than yours, SYSTEM and Administrators owns it or is
# granted write. The folders above the cache directory are not walked:
# Windows grants the right to replace a folder's entry through the
# folder's own access list and its parent's "delete child" right, which
# this check does not model; SECURITY.md says so.


def _euid():
    """This process's effective uid; None on Windows, which has none."""
    return None if _WINDOWS else os.geteuid()


def _engine_risk(path):
    """Why another account could write ``path``, by the engine's check
    (Windows' owner and access list), or None."""
    from . import _binding
    return _binding.others_can_write(path)


def _user(uid):
    """``uid`` with its name, for messages."""
    try:
        return 'uid %d (%s)' % (uid, pwd.getpwuid(uid).pw_name)
    except KeyError:
        return 'uid %d' % uid


def _write_risk(path, st, uid):
    """Why a user other than ``uid`` and root could write ``path`` (``st``
    is its stat), or None. On Windows (``uid`` None) the engine decides,
    and ``st`` only says the path existed."""
    if uid is None:
        return _engine_risk(path)
    if st.st_uid != uid and st.st_uid != 0:
        return '%s is owned by %s, not by %s' % (
            path, _user(st.st_uid), 'root' if uid == 0 else 'you (uid %d) or root' % uid)
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o022:
        who = {0o020: 'its group', 0o002: 'others'}.get(mode & 0o022, 'its group and others')
        return '%s has mode %04o: %s may write it' % (path, mode, who)
    return None


def _lookup_risk(directory, uid):
    """Walk the lookup of ``directory`` as the kernel does (symbolic links
    followed); returns (why another user could make it name another
    directory, or None; the directory it names; that directory's stat).
    On Windows (``uid`` None) there is no walk: the directory's real path
    and stat."""
    if uid is None:
        real = op.realpath(directory)
        return None, real, os.stat(real)
    path = directory if op.isabs(directory) else op.join(os.getcwd(), directory)
    todo = [part for part in path.split(os.sep) if part][::-1]
    cur, st = os.sep, None
    links = 0
    while todo:
        part = todo.pop()
        if part == '.':
            continue
        if part == '..':
            cur, st = op.dirname(cur), None  # cur is a real path: its parent is the real one
            continue
        if st is None:
            st = os.stat(cur)
        nxt = op.join(cur, part)
        lst = os.lstat(nxt)
        writable = stat.S_IMODE(st.st_mode) & 0o022
        if (st.st_uid != uid and st.st_uid != 0) or (writable and not st.st_mode & stat.S_ISVTX):
            return ('%s, so they could put another directory in place of %s'
                    % (_write_risk(cur, st, uid), nxt)), None, None
        if writable and lst.st_uid != uid and lst.st_uid != 0:
            return ('%s is owned by %s, and %s may be written by others: they could replace it'
                    % (nxt, _user(lst.st_uid), cur)), None, None
        if stat.S_ISLNK(lst.st_mode):
            links += 1
            if links > 40:
                raise OSError(errno.ELOOP, 'too many levels of symbolic links', directory)
            target = os.readlink(nxt)
            todo.extend([p for p in target.split(os.sep) if p][::-1])
            if op.isabs(target):
                cur, st = os.sep, None
            continue
        # Not a link: its lstat is the stat the next step needs.
        cur, st = nxt, lst
    return None, cur, os.stat(cur) if st is None else st


def _directory_risk(directory, uid):
    """Why another user could have changed what the cache in ``directory``
    holds, as far as the open can tell (the lookup, the directory, the
    engine's files), or None."""
    try:
        reason, real, st = _lookup_risk(directory, uid)
        if reason is not None:
            return reason
        reason = _write_risk(directory, st, uid)
        if reason is not None:
            return reason
        with os.scandir(real) as entries:
            for entry in entries:
                if not entry.name.startswith(_ENGINE_PREFIX):
                    continue
                try:
                    # Followed, as the engine's open follows it.
                    st = os.stat(entry.path)
                except FileNotFoundError:
                    continue  # removed meanwhile (a compacted segment)
                reason = _write_risk(op.join(directory, entry.name), st, uid)
                if reason is not None:
                    return reason
    except OSError as error:
        # What can not be checked can not be trusted.
        return 'its permissions could not be checked (%s)' % (error,)
    return None


def _declared_trusted(directory, setting):
    """Whether the user declared ``directory`` trusted: the setting
    ``trust_shared_directory``, or DISKCACHE_GO_TRUSTED_DIRECTORIES naming
    it or a directory above it (or '*')."""
    if setting:
        return True
    listed = os.environ.get(TRUSTED_DIRECTORIES_ENV, '')
    entries = [entry for entry in listed.split(os.pathsep) if entry]
    if not entries:
        return False
    if '*' in entries:
        return True
    real = op.realpath(directory)
    for entry in entries:
        entry = op.realpath(op.expanduser(entry))
        if real == entry or real.startswith(entry.rstrip(os.sep) + os.sep):
            return True
    return False


class _Trust:
    """Whether a Cache may unpickle what it reads without a secret.

    ``reason`` says why the cache is shared (None: private, as far as is
    known); ``declared`` whether the user declared the directory trusted.
    ``folders`` marks the value folders ``00``..``ff`` found private (the C
    get reads it), ``checked`` any other folder found private.
    """

    __slots__ = ('directory', 'reason', 'declared', 'folders', 'checked', '_changed')

    def __init__(self, directory, changed):
        self.directory = directory
        self.reason = None
        self.declared = False
        self.folders = bytearray(256)
        self.checked = set()
        # Called (a weak method: the Cache owns this object) when the
        # answer changes, so the Cache can update what its C get reads.
        self._changed = changed

    def check_open(self, setting):
        """Decide at open: the lookup, the directory and the engine files."""
        self.declared = _declared_trusted(self.directory, setting)
        self.folders[:] = bytes(256)
        self.checked.clear()
        self.reason = None if self.declared else _directory_risk(self.directory, _euid())

    @property
    def refusing(self):
        """Whether pickles are refused now."""
        return self.reason is not None and not self.declared

    def _found(self, reason):
        if self.reason is None:
            self.reason = reason
            changed = self._changed()
            if changed is not None:
                changed()

    def check_file(self, filename):
        """Check the folders of value file ``filename`` (once each) and the
        file itself, before a pickle read from it is unpickled."""
        if self.declared or self.reason is not None:
            return
        uid = _euid()
        parts = filename.split('/')
        rel = ''
        for part in parts[:-1]:
            rel = part if not rel else rel + '/' + part
            stock = len(rel) == 2 and _VALUE_DIR.match(rel)
            if (stock and self.folders[int(rel, 16)]) or rel in self.checked:
                continue
            reason = self._risk(op.join(self.directory, *rel.split('/')), uid)
            if reason is not None:
                return self._found(reason)
            if stock:
                self.folders[int(rel, 16)] = 1
            else:
                self.checked.add(rel)
        # The engine's '/' becomes the OS's separator (a backslash on Windows).
        reason = self._risk(op.join(self.directory, *parts), uid)
        if reason is not None:
            self._found(reason)

    @staticmethod
    def _risk(path, uid):
        try:
            return _write_risk(path, os.stat(path), uid)
        except FileNotFoundError:
            return None  # removed meanwhile: nothing was read from it
        except OSError as error:
            return '%s could not be checked (%s)' % (path, error)

    def engine_reported(self):
        """The engine read a segment another user could have written."""
        if self.declared or self.reason is not None:
            return
        reason = _directory_risk(self.directory, _euid())
        self._found(reason or 'a segment file that another user could have written was read '
                              '(it is gone now)')

    def error(self, what):
        """The UntrustedDataError for refusing to unpickle ``what``."""
        return UntrustedDataError(
            'refusing to unpickle %s from the cache in %s: it is shared (%s), so another user '
            'could have planted it, and unpickling runs code. To share a cache safely, give '
            'every process that uses it the same secret (setting disk_hmac_secret or '
            'disk_hmac_secret_file, or the environment variable %s or %s); or, if you trust '
            'everyone who can write there, declare the directory trusted (setting '
            'trust_shared_directory=True, or list it in the environment variable %s). '
            'See SECURITY.md.'
            % (what, self.directory, self.reason, HMAC_SECRET_ENV, HMAC_SECRET_FILE_ENV,
               TRUSTED_DIRECTORIES_ENV)
        )


def _cache_id(directory, create, mode):
    """The random id in the id file of the cache in ``directory``, made
    first (with permission ``mode``) when missing and ``create``; None when
    missing."""
    path = op.join(directory, _ID_FILE)
    for _ in range(100):
        try:
            with open(path, 'rb') as reader:
                text = reader.read(64)
        except FileNotFoundError:
            if not create:
                return None
            _make_id(directory, path, mode)
            continue
        if _ID_TEXT.match(text):
            return bytes.fromhex(text.decode('ascii'))
        if text:
            break
        # Empty: another process is writing it (_make_id's fallback).
        time.sleep(0.001)
    raise UntrustedDataError(
        'the cache id file %s is damaged; every signed entry is bound to the id it held, so '
        'none can be read: clear the directory, or remove the file to start a new id' % path
    )


def _make_id(directory, path, mode):
    """Write a new random id to ``path``, unless another process makes
    one first (its id then stands)."""
    text = os.urandom(16).hex().encode('ascii')
    fd, tmp = tempfile.mkstemp(prefix=_ID_FILE + '.', dir=directory)
    try:
        # Readable by whoever may read the cache: they need it to check tags.
        # (Windows has no fchmod: the file takes the folder's access list.)
        if hasattr(os, 'fchmod'):
            os.fchmod(fd, mode)
        os.write(fd, text)
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            # A link, unlike a rename, never replaces an id another process
            # made meanwhile, and is never seen half written.
            os.link(tmp, path)
        except FileExistsError:
            pass
        except OSError as error:
            if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # A filesystem without hard links: create it exclusively (a
            # reader that finds it empty waits for the write).
            try:
                out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            except FileExistsError:
                return
            try:
                os.write(out, text)
            finally:
                os.close(out)
    finally:
        if fd >= 0:
            os.close(fd)
        with cl.suppress(FileNotFoundError):
            os.unlink(tmp)


def _trust_setting(value):
    """Check the ``trust_shared_directory`` setting."""
    if type(value) is not bool:
        raise ValueError('trust_shared_directory must be True or False, not %r' % (value,))
    return value


def _read_secret_file(path, source):
    """The secret in the file at ``path`` (named by ``source``, for
    messages), without one trailing newline. The file must be one only its
    owner (you or root) can write, through folders only they can write:
    whoever can write it chooses the secret."""
    path = op.expanduser(os.fsdecode(path))
    uid = _euid()
    try:
        reason, real, _ = _lookup_risk(path, uid)
        if reason is None:
            with open(real, 'rb') as reader:
                reason = _write_risk(path, os.fstat(reader.fileno()), uid)
                secret = reader.read()
    except OSError as error:
        raise type(error)(error.errno, '%s: could not read the HMAC secret from %s: %s'
                          % (source, path, error.strerror)) from None
    if reason is not None:
        raise ValueError('%s: refusing the HMAC secret in %s: %s, and whoever can write it '
                         'chooses the secret' % (source, path, reason))
    if secret.endswith(b'\r\n'):
        secret = secret[:-2]
    elif secret.endswith(b'\n'):
        secret = secret[:-1]
    if not secret:
        raise ValueError('%s: the HMAC secret file %s is empty' % (source, path))
    return secret


def _resolve_secret(settings):
    """Fill in ``disk_hmac_secret`` in ``settings`` from where it may come:
    the argument itself; else the file named by ``disk_hmac_secret_file``;
    else the environment variable DISKCACHE_GO_HMAC_SECRET, or the file
    DISKCACHE_GO_HMAC_SECRET_FILE names. An explicit
    ``disk_hmac_secret=None`` turns the environment's secret off."""
    path = settings.pop('disk_hmac_secret_file', None)
    if path is not None:
        if settings.get('disk_hmac_secret') is not None:
            raise ValueError('give disk_hmac_secret or disk_hmac_secret_file, not both')
        settings['disk_hmac_secret'] = _read_secret_file(path, 'disk_hmac_secret_file')
        return
    if 'disk_hmac_secret' in settings:
        return
    secret = os.environb.get(HMAC_SECRET_ENV.encode('ascii'))
    path = os.environb.get(HMAC_SECRET_FILE_ENV.encode('ascii'))
    if secret is not None and path is not None:
        raise ValueError('set %s or %s, not both' % (HMAC_SECRET_ENV, HMAC_SECRET_FILE_ENV))
    if secret is not None:
        if not secret:
            raise ValueError('%s is set but empty' % HMAC_SECRET_ENV)
        settings['disk_hmac_secret'] = secret
    elif path is not None:
        settings['disk_hmac_secret'] = _read_secret_file(path, HMAC_SECRET_FILE_ENV)
