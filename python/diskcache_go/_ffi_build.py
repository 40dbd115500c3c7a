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
                        'int policy, double timeout, int file_mode, int dir_mode, int flags, '
                        'int64_t compress_above, uint64_t *handle, '
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
int dcg_fast_register(char *module);
'''

# The hot read, written against the Python C API (limited API, so the
# extension stays abi3): Cache.get's common case in one C call, with no cffi
# argument conversion, no per-thread buffer object and no slicing. cffi can
# not pass Python objects, so dcg_fast_register installs it as the builtin
# fast_get of a module. It releases the GIL around the engine call, as cffi
# does: the engine may wait for the writer lock (network mode), and the
# holder may be another thread of this process.
FAST_GET = r'''
#define DCG_FAST_BUF (1 << 16)
/* Each thread's result buffer, freed when the thread exits (a server that
   starts a thread per request must not keep 64 KiB per dead thread). */
static pthread_key_t fast_key;
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;
static int fast_key_ok;

static void fast_key_make(void) { fast_key_ok = pthread_key_create(&fast_key, free) == 0; }

static unsigned char *fast_buffer(void) {
    unsigned char *buf;
    pthread_once(&fast_once, fast_key_make);
    if (!fast_key_ok)
        return NULL;
    buf = pthread_getspecific(fast_key);
    if (buf == NULL && (buf = malloc(DCG_FAST_BUF)) != NULL && pthread_setspecific(fast_key, buf) != 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

/* fast_get(handle, key, now, flags, default, loads, kind) -> the value, default
   on a miss, Ellipsis for a value with a file (the lookup is done and
   counted: the caller reads it through the general path without counting
   again), or NotImplemented: the caller takes the general path (a key type
   the engine has no plain form for, a result that does not fit the buffer,
   any error). With kind >= 0, key is bytes already encoded as that kind (a
   pickled key). */
static PyObject *dcg_fast_get(PyObject *self, PyObject *args) {
    PyObject *key, *dflt, *loads, *tmp = NULL, *res = NULL;
    unsigned long long h;
    double now;
    long flags;
    int kind;
    char *kb;
    Py_ssize_t kl;
    long long num;
    int64_t code;
    unsigned char *fast_buf;
    (void)self;
    long given;
    if (PyTuple_Size(args) != 7) {
        PyErr_SetString(PyExc_TypeError, "fast_get takes 7 arguments");
        return NULL;
    }
    h = PyLong_AsUnsignedLongLong(PyTuple_GetItem(args, 0));
    key = PyTuple_GetItem(args, 1);
    now = PyFloat_AsDouble(PyTuple_GetItem(args, 2));
    flags = PyLong_AsLong(PyTuple_GetItem(args, 3));
    dflt = PyTuple_GetItem(args, 4);
    loads = PyTuple_GetItem(args, 5);
    given = PyLong_AsLong(PyTuple_GetItem(args, 6));
    if (PyErr_Occurred())
        return NULL;
    if (given >= 0) {
        if (Py_TYPE(key) != &PyBytes_Type)
            Py_RETURN_NOTIMPLEMENTED;
        PyBytes_AsStringAndSize(key, &kb, &kl);
        kind = (int)given;
    } else if (Py_TYPE(key) == &PyUnicode_Type) {
        tmp = PyUnicode_AsUTF8String(key);
        if (tmp == NULL)
            return NULL;
        PyBytes_AsStringAndSize(tmp, &kb, &kl);
        kind = 3;
    } else if (Py_TYPE(key) == &PyBytes_Type) {
        PyBytes_AsStringAndSize(key, &kb, &kl);
        kind = 4;
    } else if (Py_TYPE(key) == &PyLong_Type) {
        int overflow;
        num = PyLong_AsLongLongAndOverflow(key, &overflow);
        if (overflow || (num == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
        kb = (char *)&num;
        kl = 8;
        kind = 1;
    } else {
        Py_RETURN_NOTIMPLEMENTED;
    }
    fast_buf = fast_buffer();
    if (fast_buf == NULL) {
        Py_XDECREF(tmp);
        return PyErr_NoMemory();
    }
    Py_BEGIN_ALLOW_THREADS
    code = p_dcg_getv(h, kind, kb, kl, now, (int)flags, (char *)fast_buf, DCG_FAST_BUF);
    Py_END_ALLOW_THREADS
    Py_XDECREF(tmp);
    if (code == -1) {
        Py_INCREF(dflt);
        return dflt;
    }
    if (code == -2) {
        Py_INCREF(Py_Ellipsis);
        return Py_Ellipsis;
    }
    if (code < 0)
        Py_RETURN_NOTIMPLEMENTED;
    {
        const char *v = (const char *)fast_buf + 64;
        Py_ssize_t n = (Py_ssize_t)(code >> 6);
        switch (code & 0x3F) {
        case 014: /* MODE_RAW, BLOB */
            return PyBytes_FromStringAndSize(v, n);
        case 013: /* MODE_RAW, TEXT */
            return PyUnicode_DecodeUTF8(v, n, NULL);
        case 011: { /* MODE_RAW, INT */
            long long i;
            memcpy(&i, v, 8);
            return PyLong_FromLongLong(i);
        }
        case 012: { /* MODE_RAW, FLOAT */
            double d;
            memcpy(&d, v, 8);
            return PyFloat_FromDouble(d);
        }
        case 010: /* MODE_RAW, NULL */
            Py_RETURN_NONE;
        case 044: { /* MODE_PICKLE, BLOB: copied first, unpickling may read again */
            PyObject *b = PyBytes_FromStringAndSize(v, n);
            if (b == NULL)
                return NULL;
            res = PyObject_CallFunctionObjArgs(loads, b, NULL);
            Py_DECREF(b);
            return res;
        }
        }
    }
    Py_RETURN_NOTIMPLEMENTED;
}

static PyMethodDef dcg_fast_def = {"fast_get", dcg_fast_get, METH_VARARGS, NULL};

/* Sets module.fast_get; called through cffi, which has released the GIL. */
static int dcg_fast_register(char *module) {
    int rc = -1;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *m = PyImport_ImportModule(module);
    if (m != NULL) {
        PyObject *f = PyCFunction_NewEx(&dcg_fast_def, NULL, NULL);
        if (f != NULL) {
            rc = PyObject_SetAttrString(m, "fast_get", f);
            Py_DECREF(f);
        }
        Py_DECREF(m);
    }
    if (rc != 0)
        PyErr_Print();
    PyGILState_Release(g);
    return rc;
}
'''


def _args(params):
    if params == 'void':
        return ''
    return ', '.join(p.split()[-1].lstrip('*') for p in params.split(','))


def source():
    """The C source of the shim."""
    lines = [
        '#include <dlfcn.h>',
        '#include <pthread.h>',
        '#include <stdint.h>',
        '#include <stdio.h>',
        '#include <stdlib.h>',
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
    lines.append(FAST_GET)
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
