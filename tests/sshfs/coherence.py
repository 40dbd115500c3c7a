"""Check what two mounts of one export show of each other's changes.

    python3 tests/sshfs/coherence.py MOUNT_A MOUNT_B [--report]

Each probe changes something through mount A and looks through mount B,
with files that B opened before the change (as a cache keeps its files
open). Prints one line per probe; exits 1 if a probe the network mode
depends on fails, unless --report is given (used to compare mount
options). Needs only the standard library: setup.sh runs it before any
test dependency is installed.
"""

import errno
import fcntl
import os
import sys
import uuid

# Probes the network mode relies on; the others are printed for information.
REQUIRED = ('pwrite-visible', 'size-visible', 'create-visible',
            'unlink-visible', 'o-excl', 'rename-replace')


def probes(a, b):
    name = 'coherence-%s' % uuid.uuid4().hex
    pa, pb = os.path.join(a, name), os.path.join(b, name)
    results = {}
    fa = os.open(pa, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.pwrite(fa, b'x' * 8192, 0)
        fb = os.open(pb, os.O_RDWR)
        try:
            os.pread(fb, 8192, 0)               # B has read the old bytes
            os.pwrite(fa, b'y' * 4096, 4096)
            results['pwrite-visible'] = os.pread(fb, 8192, 0) == b'x' * 4096 + b'y' * 4096
            os.pwrite(fa, b'z' * 100, 8192)
            results['size-visible'] = (os.fstat(fb).st_size == 8292 and
                                       os.pread(fb, 200, 8192) == b'z' * 100)
            os.pwrite(fb, b'w', 0)
            results['pwrite-visible-back'] = os.pread(fa, 1, 0) == b'w'
            fcntl.flock(fa, fcntl.LOCK_EX)
            try:
                fcntl.flock(fb, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                results['flock-excludes'] = True
            else:
                results['flock-excludes'] = False
                fcntl.flock(fb, fcntl.LOCK_UN)
            fcntl.flock(fa, fcntl.LOCK_UN)
        finally:
            os.close(fb)
    finally:
        os.close(fa)

    lock_a, lock_b = pa + '.lock', pb + '.lock'
    os.path.exists(lock_b)                      # B has looked it up: absent
    os.close(os.open(lock_a, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    results['create-visible'] = os.path.exists(lock_b)
    try:
        os.close(os.open(lock_b, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        results['o-excl'] = exc.errno == errno.EEXIST
    else:
        results['o-excl'] = False
    os.unlink(lock_a)
    results['unlink-visible'] = not os.path.exists(lock_b)

    tmp_a = pa + '.tmp'
    with open(tmp_a, 'wb') as f:
        f.write(b'new')
    with open(pb, 'rb') as f:
        f.read()
    os.rename(tmp_a, pa)                        # over an existing file
    with open(pb, 'rb') as f:
        results['rename-replace'] = f.read() == b'new'
    os.unlink(pa)
    return results


def main(argv):
    report = '--report' in argv
    args = [arg for arg in argv if arg != '--report']
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    results = probes(*args)
    bad = []
    for key, ok in results.items():
        need = key in REQUIRED
        print('  %-20s %-3s%s' % (key, 'yes' if ok else 'NO',
                                  '' if need else '  (information)'))
        if need and not ok:
            bad.append(key)
    if bad and not report:
        print('coherence: the mounts fail %s' % ', '.join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
