"""Build the ``diskcache_go._dcg`` extension with cffi (API mode).

The extension is a shim of function pointers: ``dcg_load(path)`` dlopens
the Go library and fills them, and every other function calls through
them. A compiled cffi call costs a fraction of a ctypes call, and because
the Go library is loaded at run time rather than linked, a forked child can
load a fresh copy of it (the parent's Go runtime does not survive fork).

Run by ``setup.py``'s build step and by ``./build.sh build`` (through
``_build.py``); it needs cffi and a C compiler, which cgo needs anyway.
"""

import glob
import os
import shutil
import sys
import tempfile

# (return type, name, parameters) of every export, as in capi/diskcache_go.h,
# with byte buffers as char * so that Python bytes pass without copying.
EXPORTS = [
    ('int', 'dcg_version', 'void'),
    ('int', 'dcg_open', 'char *dir, int64_t dirlen, int64_t size_limit, int64_t cull_limit, '
                        'int policy, double timeout, int file_mode, int dir_mode, int flags, uint64_t *handle, '
                        'char *out, int64_t outcap'),
    ('int', 'dcg_close', 'uint64_t handle'),
    ('int', 'dcg_limits', 'uint64_t handle, int64_t size_limit, int64_t cull_limit, int policy'),
    ('int', 'dcg_get', 'uint64_t handle, int kind, char *key, int64_t klen, double now, int flags, '
                       'char *out, int64_t outcap'),
    ('int64_t', 'dcg_getv', 'uint64_t handle, int kind, char *key, int64_t klen, double now, '
                            'int flags, char *out, int64_t outcap'),
    ('int', 'dcg_contains', 'uint64_t handle, int kind, char *key, int64_t klen, double now'),
    ('int', 'dcg_info', 'uint64_t handle, int64_t *info'),
    ('int', 'dcg_reset_stats', 'uint64_t handle'),
    ('int', 'dcg_keys', 'uint64_t handle, uint32_t cur_id, uint64_t cur_rowid, uint64_t bound, '
                        'int reverse, int max, char *out, int64_t outcap'),
    ('int', 'dcg_keys_sorted', 'uint64_t handle, int has_after, int kind, char *key, int64_t klen, '
                               'int reverse, int max, char *out, int64_t outcap'),
    ('int', 'dcg_write', 'uint64_t handle, int op, char *req, int64_t reqlen, char *out, '
                         'int64_t outcap'),
    ('int', 'dcg_check', 'uint64_t handle, uint64_t owner, double timeout, int fix, char *out, '
                         'int64_t outcap'),
    ('int64_t', 'dcg_fds', 'int32_t *fds, int64_t cap'),
    ('int', 'dcg_filesystem', 'uint64_t handle, char *out, int64_t outcap'),
    ('int', 'dcg_runtime', 'int64_t *out'),
    ('int', 'dcg_mode', 'uint64_t handle'),
    ('uint32_t', 'dcg_crc32', 'uint32_t seed, char *buf, int64_t n'),
]

CDEF = '\n'.join('%s %s(%s);' % export for export in EXPORTS) + '''
int dcg_load(char *path, char *err, int64_t errcap);
'''


def _args(params):
    if params == 'void':
        return ''
    return ', '.join(p.split()[-1].lstrip('*') for p in params.split(','))


def source():
    """The C source of the shim."""
    lines = [
        '#include <dlfcn.h>',
        '#include <stdint.h>',
        '#include <stdio.h>',
        '#include <string.h>',
    ]
    for ret, name, params in EXPORTS:
        lines.append('static %s (*p_%s)(%s);' % (ret, name, params))
        lines.append('static %s %s(%s) { return p_%s(%s); }' % (ret, name, params, name, _args(params)))
    lines.append('''
/* Loads the library at path and points every function at it. The previous
   copy (if any) stays mapped: in a forked child it must never run again. */
static int dcg_load(char *path, char *err, int64_t errcap) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    void *sym;
    if (h == NULL) {
        snprintf(err, (size_t)errcap, "%s", dlerror());
        return -1;
    }''')
    for _, name, _params in EXPORTS:
        lines.append('''    sym = dlsym(h, "%s");
    if (sym == NULL) { snprintf(err, (size_t)errcap, "missing symbol %s"); return -1; }
    memcpy(&p_%s, &sym, sizeof sym);''' % (name, name, name))
    lines.append('    return 0;\n}')
    return '\n'.join(lines)


def ffibuilder():
    """The cffi builder (``setup.py`` may also use it as a cffi_module)."""
    import cffi

    builder = cffi.FFI()
    builder.cdef(CDEF)
    libraries = [] if sys.platform.startswith(('darwin', 'freebsd')) else ['dl']
    builder.set_source('diskcache_go._dcg', source(), libraries=libraries, py_limited_api=True)
    return builder


def build_extension(outdir, verbose=False):
    """Compile the extension and copy it into ``outdir``; returns its path."""
    builder = ffibuilder()
    tmp = tempfile.mkdtemp(prefix='dcg-ffi-')
    try:
        built = builder.compile(tmpdir=tmp, verbose=verbose)
        os.makedirs(outdir, exist_ok=True)
        for old in glob.glob(os.path.join(outdir, '_dcg.*')):
            if old.endswith(('.so', '.pyd', '.dylib')):
                os.remove(old)
        target = os.path.join(outdir, os.path.basename(built))
        shutil.copy2(built, target)
        return target
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    print(build_extension(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)),
                          verbose=True))
