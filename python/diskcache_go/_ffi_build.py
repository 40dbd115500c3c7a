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
# extension stays abi3). Two entry points share it:
#
# * fast_get(handle, key, now, flags, default, loads, kind): Cache.get's
#   Python body calls it for keys it had to encode (tuples, pickled keys).
# * fast_method(func, general, gen, time, pickle): a method descriptor that
#   becomes Cache.get itself, so `cache.get(key)` is one C call with no
#   Python frame: it reads the handle and settings from the instance, and
#   hands anything unusual (keyword it does not know, read/expire_time/tag,
#   another key type, a closed or forked handle) to the Python function
#   `func`, and a value with a file to `general`.
#
# cffi can not pass Python objects, so dcg_fast_register installs both as
# builtins of a module. The engine is first asked not to wait (flag 2) with
# the GIL held, which costs nothing when the index is not being written;
# only when it would wait (network mode's lock, a writer mid-commit) is the
# GIL released and the read asked again, so a thread holding the writer lock
# can always go on.
FAST_GET = r'''
#define DCG_FAST_BUF (1 << 16)
/* In the stable ABI from 3.10 and exported by every CPython 3: declared
   here because the extension is compiled for the 3.9 stable ABI. */
#if !defined(Py_LIMITED_API) || Py_LIMITED_API + 0 < 0x030A0000
PyAPI_FUNC(const char *) PyUnicode_AsUTF8AndSize(PyObject *unicode, Py_ssize_t *size);
#endif
#define DCG_NOWAIT 2
#define DCG_WOULDBLOCK_CODE (-(100 + 15))
/* Py_TPFLAGS_METHOD_DESCRIPTOR (3.8+): obj.get(...) calls the descriptor
   with obj first, without making a bound object. */
#define DCG_METHOD_DESCRIPTOR (1UL << 17)

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

/* Reads key from the engine. Returns a new reference: the value, dflt on a
   miss, Ellipsis for a value with a file (the lookup is done and counted:
   the caller reads it through the general path without counting again),
   or NotImplemented: the caller takes the general path (a key type the
   engine has no plain form for, a result that does not fit the buffer, any
   error). With given >= 0, key is bytes already encoded as that kind (a
   pickled key). loads is pickle.loads, or NULL to look it up in pickle_mod
   when a pickled value needs it. */
static PyObject *fast_lookup(unsigned long long h, PyObject *key, long given, double now, long flags,
                             PyObject *dflt, PyObject *loads, PyObject *pickle_mod) {
    PyObject *res = NULL;
    char *kb;
    Py_ssize_t kl;
    long long num;
    int64_t code;
    int kind;
    unsigned char *fast_buf;
    if (given >= 0) {
        if (Py_TYPE(key) != &PyBytes_Type)
            Py_RETURN_NOTIMPLEMENTED;
        PyBytes_AsStringAndSize(key, &kb, &kl);
        kind = (int)given;
    } else if (Py_TYPE(key) == &PyUnicode_Type) {
        /* The string's own cached UTF-8, no copy (a lone surrogate raises
           UnicodeEncodeError, as encoding it would). */
        if ((kb = (char *)PyUnicode_AsUTF8AndSize(key, &kl)) == NULL)
            return NULL;
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
    if (fast_buf == NULL)
        return PyErr_NoMemory();
    code = p_dcg_getv(h, kind, kb, kl, now, (int)flags | DCG_NOWAIT, (char *)fast_buf, DCG_FAST_BUF);
    if (code == DCG_WOULDBLOCK_CODE) {
        Py_BEGIN_ALLOW_THREADS
        code = p_dcg_getv(h, kind, kb, kl, now, (int)flags, (char *)fast_buf, DCG_FAST_BUF);
        Py_END_ALLOW_THREADS
    }
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
            PyObject *b = PyBytes_FromStringAndSize(v, n), *fn = loads;
            if (b == NULL)
                return NULL;
            if (fn == NULL && (fn = PyObject_GetAttrString(pickle_mod, "loads")) == NULL) {
                Py_DECREF(b);
                return NULL;
            }
            res = PyObject_CallFunctionObjArgs(fn, b, NULL);
            if (loads == NULL)
                Py_DECREF(fn);
            Py_DECREF(b);
            return res;
        }
        }
    }
    Py_RETURN_NOTIMPLEMENTED;
}

/* fast_get(handle, key, now, flags, default, loads, kind): fast_lookup for
   Cache.get's Python body. */
static PyObject *dcg_fast_get(PyObject *self, PyObject *args) {
    unsigned long long h;
    double now;
    long flags, given;
    (void)self;
    if (PyTuple_Size(args) != 7) {
        PyErr_SetString(PyExc_TypeError, "fast_get takes 7 arguments");
        return NULL;
    }
    h = PyLong_AsUnsignedLongLong(PyTuple_GetItem(args, 0));
    now = PyFloat_AsDouble(PyTuple_GetItem(args, 2));
    flags = PyLong_AsLong(PyTuple_GetItem(args, 3));
    given = PyLong_AsLong(PyTuple_GetItem(args, 6));
    if (PyErr_Occurred())
        return NULL;
    return fast_lookup(h, PyTuple_GetItem(args, 1), given, now, flags, PyTuple_GetItem(args, 4),
                       PyTuple_GetItem(args, 5), NULL);
}

/* The method descriptor. */
typedef struct {
    PyObject_HEAD
    PyObject *func;    /* the Python Cache.get: every case */
    PyObject *general; /* Cache._get_general(self, key, default, read, expire_time, tag, retry, count) */
    PyObject *gen;     /* _ffi.GEN: [fork generation] */
    PyObject *time_mod;
    PyObject *pickle_mod;
    PyObject *time_fn; /* time.time when the descriptor was made */
} FastMethod;

static PyObject *s_fast, *s_time;
static PyObject *s_default, *s_read, *s_expire_time, *s_tag, *s_retry;

/* Calls m->func(obj, *args[skip:], **kw): the general path. */
static PyObject *fast_fallback(FastMethod *m, PyObject *obj, PyObject *args, Py_ssize_t skip, PyObject *kw) {
    Py_ssize_t n = PyTuple_Size(args), i;
    PyObject *all = PyTuple_New(n - skip + 1), *res;
    if (all == NULL)
        return NULL;
    Py_INCREF(obj);
    PyTuple_SetItem(all, 0, obj);
    for (i = skip; i < n; i++) {
        PyObject *a = PyTuple_GetItem(args, i);
        Py_INCREF(a);
        PyTuple_SetItem(all, i - skip + 1, a);
    }
    res = PyObject_Call(m->func, all, kw);
    Py_DECREF(all);
    return res;
}

static int name_is(PyObject *name, PyObject *s) {
    return name == s || (PyUnicode_Check(name) && PyUnicode_Compare(name, s) == 0);
}

/* Cache.get(obj, *args[skip:], **kw) */
static PyObject *fast_method_get(FastMethod *m, PyObject *obj, PyObject *args, Py_ssize_t skip, PyObject *kw) {
    Py_ssize_t n = PyTuple_Size(args) - skip, pos = 0;
    PyObject *key, *dflt = Py_None, *retry = Py_False, *name, *value, *state, *now_fn, *res;
    unsigned long long h;
    long flags;
    double now;
    int i;
    if (n < 1 || n > 6)
        return fast_fallback(m, obj, args, skip, kw);
    key = PyTuple_GetItem(args, skip);
    if (n > 1)
        dflt = PyTuple_GetItem(args, skip + 1);
    for (i = 2; i < n && i < 5; i++) { /* read, expire_time, tag */
        int t = PyObject_IsTrue(PyTuple_GetItem(args, skip + i));
        if (t != 0) {
            PyErr_Clear();
            return fast_fallback(m, obj, args, skip, kw);
        }
    }
    if (n > 5)
        retry = PyTuple_GetItem(args, skip + 5);
    if (kw != NULL) {
        /* Keywords the positionals did not already give; anything else (a
           duplicate, an unknown name, a true flag) is the Python
           function's business, errors included. */
        while (PyDict_Next(kw, &pos, &name, &value)) {
            if (n < 2 && name_is(name, s_default)) {
                dflt = value;
                continue;
            }
            if (n < 6 && name_is(name, s_retry)) {
                retry = value;
                continue;
            }
            if (((n < 3 && name_is(name, s_read)) || (n < 4 && name_is(name, s_expire_time))
                 || (n < 5 && name_is(name, s_tag)))
                && PyObject_IsTrue(value) == 0)
                continue;
            PyErr_Clear();
            return fast_fallback(m, obj, args, skip, kw);
        }
    }
    if (Py_TYPE(key) != &PyUnicode_Type && Py_TYPE(key) != &PyBytes_Type && Py_TYPE(key) != &PyLong_Type)
        return fast_fallback(m, obj, args, skip, kw);
    /* (handle, fork generation, flags), kept by Cache._sync_fast; None when
       the Python path must run. */
    if ((state = PyObject_GetAttr(obj, s_fast)) == NULL) {
        PyErr_Clear();
        return fast_fallback(m, obj, args, skip, kw);
    }
    if (!PyTuple_Check(state) || PyTuple_Size(state) != 3 || PyList_Size(m->gen) != 1
        || PyObject_RichCompareBool(PyTuple_GetItem(state, 1), PyList_GetItem(m->gen, 0), Py_EQ) != 1) {
        Py_DECREF(state);
        PyErr_Clear();
        return fast_fallback(m, obj, args, skip, kw);
    }
    h = PyLong_AsUnsignedLongLong(PyTuple_GetItem(state, 0));
    flags = PyLong_AsLong(PyTuple_GetItem(state, 2));
    Py_DECREF(state);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return fast_fallback(m, obj, args, skip, kw);
    }
    /* time.time() is looked up on each call (tests and users patch it); the
       builtin itself is CLOCK_REALTIME, read here without a float object. */
    if ((now_fn = PyObject_GetAttr(m->time_mod, s_time)) == NULL)
        return NULL;
    if (now_fn == m->time_fn) {
        struct timespec ts;
        Py_DECREF(now_fn);
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    } else {
        PyObject *now_obj = PyObject_CallObject(now_fn, NULL);
        Py_DECREF(now_fn);
        if (now_obj == NULL)
            return NULL;
        now = PyFloat_AsDouble(now_obj);
        Py_DECREF(now_obj);
        if (now == -1.0 && PyErr_Occurred())
            return NULL;
    }
    res = fast_lookup(h, key, -1, now, flags, dflt, NULL, m->pickle_mod);
    if (res == Py_NotImplemented || res == Py_Ellipsis) {
        /* The general path; a value with a file was found and counted. */
        PyObject *count = res == Py_Ellipsis ? Py_False : Py_True;
        Py_DECREF(res);
        return PyObject_CallFunctionObjArgs(m->general, obj, key, dflt, Py_False, Py_False, Py_False,
                                            retry, count, NULL);
    }
    return res;
}

static PyObject *fast_method_call(PyObject *self, PyObject *args, PyObject *kw) {
    FastMethod *m = (FastMethod *)self;
    if (PyTuple_Size(args) < 1)
        return PyObject_Call(m->func, args, kw);
    return fast_method_get(m, PyTuple_GetItem(args, 0), args, 1, kw);
}

/* cache.get as a value: a builtin bound to (descriptor, cache). */
static PyObject *fast_bound_call(PyObject *pair, PyObject *args, PyObject *kw) {
    return fast_method_get((FastMethod *)PyTuple_GetItem(pair, 0), PyTuple_GetItem(pair, 1), args, 0, kw);
}

static PyMethodDef fast_bound_def = {
    "get", (PyCFunction)(void (*)(void))fast_bound_call, METH_VARARGS | METH_KEYWORDS,
    "get($self, /, key, default=None, read=False, expire_time=False, tag=False, retry=False)\n--\n\n"
    "Return the value of key, or default if missing or expired."};

static PyObject *fast_method_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
    FastMethod *m = (FastMethod *)self;
    PyObject *pair, *bound;
    (void)type;
    if (obj == NULL || obj == Py_None) {
        /* Cache.get is the Python function: signature, docs, Cache.get(c, k). */
        Py_INCREF(m->func);
        return m->func;
    }
    if ((pair = PyTuple_Pack(2, self, obj)) == NULL)
        return NULL;
    bound = PyCFunction_NewEx(&fast_bound_def, pair, NULL);
    Py_DECREF(pair);
    return bound;
}

static PyObject *fast_method_wrapped(PyObject *self, void *closure) {
    (void)closure;
    Py_INCREF(((FastMethod *)self)->func);
    return ((FastMethod *)self)->func;
}

static PyObject *fast_method_attr(PyObject *self, void *closure) {
    return PyObject_GetAttrString(((FastMethod *)self)->func, (const char *)closure);
}

static PyGetSetDef fast_method_getset[] = {
    {"__wrapped__", fast_method_wrapped, NULL, NULL, NULL},
    {"__doc__", fast_method_attr, NULL, NULL, "__doc__"},
    {"__name__", fast_method_attr, NULL, NULL, "__name__"},
    {"__qualname__", fast_method_attr, NULL, NULL, "__qualname__"},
    {NULL, NULL, NULL, NULL, NULL}};

static void fast_method_dealloc(PyObject *self) {
    FastMethod *m = (FastMethod *)self;
    PyObject *type = (PyObject *)Py_TYPE(self);
    Py_XDECREF(m->func);
    Py_XDECREF(m->general);
    Py_XDECREF(m->gen);
    Py_XDECREF(m->time_mod);
    Py_XDECREF(m->pickle_mod);
    Py_XDECREF(m->time_fn);
    PyObject_Free(self);
    Py_DECREF(type);
}

static PyType_Slot fast_method_slots[] = {
    {Py_tp_call, (void *)fast_method_call},
    {Py_tp_descr_get, (void *)fast_method_descr_get},
    {Py_tp_getset, (void *)fast_method_getset},
    {Py_tp_dealloc, (void *)fast_method_dealloc},
    {0, NULL}};

static PyType_Spec fast_method_spec = {
    "diskcache_go._dcg.FastMethod", sizeof(FastMethod), 0,
    Py_TPFLAGS_DEFAULT | DCG_METHOD_DESCRIPTOR, fast_method_slots};

static PyObject *fast_method_type;

/* fast_method(func, general, gen, time, pickle) -> the descriptor. */
static PyObject *dcg_fast_method(PyObject *self, PyObject *args) {
    FastMethod *m;
    (void)self;
    if (PyTuple_Size(args) != 5) {
        PyErr_SetString(PyExc_TypeError, "fast_method takes 5 arguments");
        return NULL;
    }
    if (!PyList_Check(PyTuple_GetItem(args, 2))) {
        PyErr_SetString(PyExc_TypeError, "fast_method: gen must be a list");
        return NULL;
    }
    m = PyObject_New(FastMethod, (PyTypeObject *)fast_method_type);
    if (m == NULL)
        return NULL;
    if ((m->time_fn = PyObject_GetAttr(PyTuple_GetItem(args, 3), s_time)) == NULL) {
        m->func = m->general = m->gen = m->time_mod = m->pickle_mod = NULL;
        Py_DECREF(m);
        return NULL;
    }
    m->func = PyTuple_GetItem(args, 0);
    m->general = PyTuple_GetItem(args, 1);
    m->gen = PyTuple_GetItem(args, 2);
    m->time_mod = PyTuple_GetItem(args, 3);
    m->pickle_mod = PyTuple_GetItem(args, 4);
    Py_INCREF(m->func);
    Py_INCREF(m->general);
    Py_INCREF(m->gen);
    Py_INCREF(m->time_mod);
    Py_INCREF(m->pickle_mod);
    return (PyObject *)m;
}

static PyMethodDef dcg_fast_def = {"fast_get", dcg_fast_get, METH_VARARGS, NULL};
static PyMethodDef dcg_method_def = {"fast_method", dcg_fast_method, METH_VARARGS, NULL};

static int fast_intern(void) {
    return (s_fast = PyUnicode_InternFromString("_fast")) != NULL
        && (s_time = PyUnicode_InternFromString("time")) != NULL
        && (s_default = PyUnicode_InternFromString("default")) != NULL
        && (s_read = PyUnicode_InternFromString("read")) != NULL
        && (s_expire_time = PyUnicode_InternFromString("expire_time")) != NULL
        && (s_tag = PyUnicode_InternFromString("tag")) != NULL
        && (s_retry = PyUnicode_InternFromString("retry")) != NULL;
}

static int set_builtin(PyObject *m, PyMethodDef *def) {
    PyObject *f = PyCFunction_NewEx(def, NULL, NULL);
    int rc = -1;
    if (f != NULL) {
        rc = PyObject_SetAttrString(m, def->ml_name, f);
        Py_DECREF(f);
    }
    return rc;
}

/* Sets module.fast_get and module.fast_method; called through cffi, which
   has released the GIL. */
static int dcg_fast_register(char *module) {
    int rc = -1;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *m = PyImport_ImportModule(module);
    if (m != NULL) {
        if (fast_intern() && (fast_method_type != NULL
                              || (fast_method_type = PyType_FromSpec(&fast_method_spec)) != NULL)
            && set_builtin(m, &dcg_fast_def) == 0 && set_builtin(m, &dcg_method_def) == 0)
            rc = 0;
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
        '#include <time.h>',
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
