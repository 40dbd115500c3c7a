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
    ('int', 'dcg_hit_was_miss', 'uint64_t handle'),
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
    ('int', 'dcg_repair_note', 'uint64_t handle, char *out, int64_t outcap'),
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
#   `func`; it reads a value file of the stock Disk itself (bytes or a
#   pickle under a name of the current form) and hands other files to
#   `general`.
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
#define DCG_CLOCK_NOW 4
#define DCG_WOULDBLOCK_CODE (-(100 + 15))
/* Set in a result's kinds once the engine has read a segment another user
   could have written (capi DCG_KIND_OTHERS_WROTE). */
#define DCG_KIND_OTHERS_WROTE (1ULL << 26)
/* Py_TPFLAGS_METHOD_DESCRIPTOR (3.8+): obj.get(...) calls the descriptor
   with obj first, without making a bound object. */
#define DCG_METHOD_DESCRIPTOR (1UL << 17)

static PyObject *s_loads; /* "loads", interned */

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

static uint64_t get_le64(const unsigned char *p) {
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* loads(b), or pickle.loads from pickle_mod's dict when loads is NULL (a
   patched one is followed, and held while it runs); steals b. */
static PyObject *unpickle(PyObject *b, PyObject *loads, PyObject *pickle_mod) {
    PyObject *fn = loads, *res;
    if (fn == NULL && (fn = PyDict_GetItemWithError(PyModule_GetDict(pickle_mod), s_loads)) == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_AttributeError, "module 'pickle' has no attribute 'loads'");
        Py_DECREF(b);
        return NULL;
    }
    Py_INCREF(fn);
    /* No argument tuple: CPython passes these arguments on the stack to a
       vectorcall callable such as pickle.loads. */
    res = PyObject_CallFunctionObjArgs(fn, b, NULL);
    Py_DECREF(fn);
    Py_DECREF(b);
    return res;
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
            PyObject *b = PyBytes_FromStringAndSize(v, n);
            if (b == NULL)
                return NULL;
            return unpickle(b, loads, pickle_mod);
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

/* The method descriptors: Cache.get, Cache.set, Cache.delete and Cache.incr. */
enum { OP_GET_M = 0, OP_SET_M = 1, OP_DELETE_M = 2, OP_INCR_M = 3, OP_COUNT_M = 4 };

/* Vectorcall (PEP 590), stable since 3.8 but in the limited API only
   from 3.12: declared here as CPython defines it. The call
   `cache.get(key)` then passes its arguments as an array; through tp_call
   it built a tuple for them, 3-4% of a get (perf). */
typedef PyObject *(*dcg_vectorcallfunc)(PyObject *, PyObject *const *, size_t, PyObject *);
#define DCG_HAVE_VECTORCALL (1UL << 11)
#define DCG_METH_FASTCALL 0x0080
#define DCG_NARGS(n) ((Py_ssize_t)((n) & ~((size_t)1 << (8 * sizeof(size_t) - 1))))

typedef struct {
    PyObject_HEAD
    int op;            /* OP_*_M */
    PyObject *func;    /* the Python method: every case */
    PyObject *general; /* get: Cache._get_general(self, key, default, read, expire_time, tag,
                          retry, count); set, delete: Cache._fail_out(self, status, out, what) */
    PyObject *gen;     /* _ffi.GEN: [fork generation] */
    PyObject *time_mod;
    PyObject *pickle_mod;
    PyObject *time_fn; /* time.time when the descriptor was made */
    PyObject *time_dict; /* time.__dict__: where a patched time.time is */
    /* The last instance's _fast: a weak reference to the instance (so a
       new object at a freed one's address is not taken for it), the
       tuple, and gen[1] when it was read (Cache._sync_fast replaces gen[1]
       whenever any instance's _fast changes). */
    PyObject *last_ref, *last_state, *last_epoch;
    dcg_vectorcallfunc vectorcall; /* fast_method_vcall: no argument tuple */
} FastMethod;

static PyObject *s_fast, *s_time, *s_key_method;
/* Parameter names after self, per operation (the Python signatures). */
#define MAX_PARAMS 6
static const char *param_text[OP_COUNT_M][MAX_PARAMS] = {
    {"key", "default", "read", "expire_time", "tag", "retry"},
    {"key", "value", "expire", "read", "tag", "retry"},
    {"key", "retry", NULL, NULL, NULL, NULL},
    {"key", "delta", "default", "retry", NULL, NULL}};
static const int param_count[OP_COUNT_M] = {6, 6, 2, 4};
static PyObject *param_name[OP_COUNT_M][MAX_PARAMS];

static int name_is(PyObject *name, PyObject *s) {
    return name == s || (PyUnicode_Check(name) && PyUnicode_Compare(name, s) == 0);
}

/* Binds args[0:n] (positional) and then one value per name in kwnames
   (a tuple, or NULL) to op's parameters: bound[i] is a borrowed reference
   or NULL when not given. -1 for anything the Python function must judge
   (too many, a duplicate, an unknown keyword). */
static int bind_vector(int op, PyObject *const *args, Py_ssize_t n, PyObject *kwnames, PyObject **bound) {
    Py_ssize_t k, nkw = kwnames == NULL ? 0 : PyTuple_Size(kwnames);
    int i;
    if (n > param_count[op])
        return -1;
    for (i = 0; i < MAX_PARAMS; i++)
        bound[i] = i < n ? args[i] : NULL;
    for (k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GetItem(kwnames, k);
        for (i = 0; i < param_count[op]; i++)
            if (name_is(name, param_name[op][i]))
                break;
        if (i == param_count[op] || bound[i] != NULL)
            return -1;
        bound[i] = args[n + k];
    }
    return 0;
}

/* 1 when an optional flag argument was left out or is false. */
static int absent_or_false(PyObject *v) {
    if (v == NULL)
        return 1;
    int t = PyObject_IsTrue(v);
    if (t < 0)
        PyErr_Clear();
    return t == 0;
}

/* The instance's _fast tuple (handle, fork generation, get flags, timeout,
   min_file_size, whether get may skip the Disk, the directory as bytes,
   the value folders found private: a bytearray of 256, or None when the
   directory is declared trusted),
   kept by Cache._sync_fast, when it holds for this process; NULL (no error set) when the Python path
   must run. Reading the attribute and the clock's lookup were about a
   tenth of a miss (perf), so the descriptor remembers the last instance's
   tuple until gen[1] changes. */
static PyObject *fast_state(FastMethod *m, PyObject *obj) {
    PyObject *state, *epoch;
    if (PyList_Size(m->gen) != 2) {
        PyErr_Clear();
        return NULL;
    }
    epoch = PyList_GetItem(m->gen, 1);
    if (m->last_ref != NULL && m->last_epoch == epoch && PyWeakref_GetObject(m->last_ref) == obj) {
        state = m->last_state;
        Py_INCREF(state);
    } else {
        if ((state = PyObject_GetAttr(obj, s_fast)) == NULL) {
            PyErr_Clear();
            return NULL;
        }
        if (!PyTuple_Check(state) || PyTuple_Size(state) != 8) {
            Py_DECREF(state);
            return NULL;
        }
        Py_CLEAR(m->last_ref);
        Py_CLEAR(m->last_state);
        Py_CLEAR(m->last_epoch);
        if ((m->last_ref = PyWeakref_NewRef(obj, NULL)) == NULL) {
            PyErr_Clear(); /* an instance without weak references: not kept */
        } else {
            Py_INCREF(state);
            Py_INCREF(epoch);
            m->last_state = state;
            m->last_epoch = epoch;
        }
    }
    if (PyObject_RichCompareBool(PyTuple_GetItem(state, 1), PyList_GetItem(m->gen, 0), Py_EQ) != 1) {
        Py_DECREF(state);
        PyErr_Clear();
        return NULL;
    }
    return state;
}

/* time.time(), looked up on each call (tests and users patch it); the
   builtin itself is CLOCK_REALTIME, read here without a float object.
   With lazy, 1 when it is the builtin: the engine reads the clock then,
   only if the entry it finds has an expire time (DCG_CLOCK_NOW). 0 with
   *now set, or -1 with an error set. */
static int fast_now(FastMethod *m, double *now, int lazy) {
    /* The module's dict, not getattr: no type lookup on the hot path. */
    PyObject *fn = PyDict_GetItemWithError(m->time_dict, s_time), *v;
    if (fn == NULL && PyErr_Occurred())
        return -1;
    if (fn == m->time_fn) {
        struct timespec ts;
        if (lazy) {
            *now = 0;
            return 1;
        }
        clock_gettime(CLOCK_REALTIME, &ts);
        *now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
        return 0;
    }
    if ((fn = PyObject_GetAttr(m->time_mod, s_time)) == NULL)
        return -1;
    v = PyObject_CallObject(fn, NULL);
    Py_DECREF(fn);
    if (v == NULL)
        return -1;
    *now = PyFloat_AsDouble(v);
    Py_DECREF(v);
    return (*now == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static PyObject *fast_file_value(PyObject *dir, PyObject *folders, PyObject *pickle_mod);

static PyObject *fast_get_op(FastMethod *m, PyObject *obj, PyObject **p, PyObject *state) {
    PyObject *key = p[0], *dflt = p[1] ? p[1] : Py_None, *retry = p[5] ? p[5] : Py_False, *res;
    PyObject *encoded = NULL, *lookup_key = key;
    unsigned long long h = PyLong_AsUnsignedLongLong(PyTuple_GetItem(state, 0));
    long flags = PyLong_AsLong(PyTuple_GetItem(state, 2)), given = -1;
    double now;
    if (PyErr_Occurred())
        return NULL;
    if (Py_TYPE(key) != &PyUnicode_Type && Py_TYPE(key) != &PyBytes_Type && Py_TYPE(key) != &PyLong_Type) {
        /* Other keys are encoded by Cache._key (which remembers the
           encodings of flat tuples), as the Python get does. */
        if ((encoded = PyObject_CallMethodObjArgs(obj, s_key_method, key, NULL)) == NULL)
            return NULL;
        if (!PyTuple_Check(encoded) || PyTuple_Size(encoded) != 2) {
            Py_DECREF(encoded);
            Py_RETURN_NOTIMPLEMENTED;
        }
        given = PyLong_AsLong(PyTuple_GetItem(encoded, 0));
        lookup_key = PyTuple_GetItem(encoded, 1);
        if (given == -1 && PyErr_Occurred()) {
            Py_DECREF(encoded);
            return NULL;
        }
    }
    switch (fast_now(m, &now, 1)) {
    case -1:
        Py_XDECREF(encoded);
        return NULL;
    case 1:
        flags |= DCG_CLOCK_NOW;
    }
    res = fast_lookup(h, lookup_key, given, now, flags, dflt, NULL, m->pickle_mod);
    Py_XDECREF(encoded);
    if (res == Py_Ellipsis) {
        /* A value file, found and counted: read here when it is the plain
           case, which saves the general path's Python frames and second
           lookup (about 10 µs of a 40 KiB get). */
        Py_DECREF(res);
        if ((res = fast_file_value(PyTuple_GetItem(state, 6), PyTuple_GetItem(state, 7), m->pickle_mod)) == NULL)
            return NULL;
        if (res == Py_NotImplemented) {
            Py_DECREF(res);
            Py_INCREF(Py_Ellipsis);
            res = Py_Ellipsis;
        }
    }
    if (res == Py_NotImplemented || res == Py_Ellipsis) {
        /* The general path; a value with a file was found and counted. */
        PyObject *count = res == Py_Ellipsis ? Py_False : Py_True;
        Py_DECREF(res);
        return PyObject_CallFunctionObjArgs(m->general, obj, key, dflt, Py_False, Py_False, Py_False,
                                            retry, count, NULL);
    }
    return res;
}

/* A key's engine kind and bytes for set and delete (str, bytes, and ints
   that fit int64; bool is not int here, as in the Python fast path). 0, or
   -1 when the Python path must encode it. */
static int plain_form(PyObject *v, int *kind, const char **b, Py_ssize_t *n, long long *num) {
    if (Py_TYPE(v) == &PyUnicode_Type) {
        if ((*b = PyUnicode_AsUTF8AndSize(v, n)) == NULL) {
            PyErr_Clear();
            return -1;
        }
        *kind = 3;
    } else if (Py_TYPE(v) == &PyBytes_Type) {
        char *s;
        PyBytes_AsStringAndSize(v, &s, n);
        *b = s;
        *kind = 4;
    } else if (Py_TYPE(v) == &PyLong_Type) {
        int overflow;
        *num = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (*num == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return -1;
        }
        *b = (const char *)num;
        *n = 8;
        *kind = 1;
    } else {
        return -1;
    }
    return 0;
}

static void put_le64(unsigned char *p, uint64_t v) {
    int i;
    for (i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le32(unsigned char *p, uint32_t v) {
    int i;
    for (i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_f64(unsigned char *p, double d) {
    uint64_t v;
    memcpy(&v, &d, 8);
    put_le64(p, v);
}

/* Runs one engine write (_ffi.REQ's layout: '<QdddqIBBBBIIII', then key
   and value) with the GIL released, as cffi would. Returns the status, or
   -1 with an error set. */
static int fast_write(unsigned long long h, int op, double timeout, double now, double expire, int flags,
                      int kkind, const char *kb, Py_ssize_t kl, int vkind, const char *vb, Py_ssize_t vl,
                      int mode, int tkind, const char *tb, Py_ssize_t tl, unsigned char *out) {
    size_t len = 64 + (size_t)kl + (size_t)vl + (size_t)tl;
    unsigned char *req = PyMem_Malloc(len);
    int status;
    if (req == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    put_le64(req, (uint64_t)PyThread_get_thread_ident());
    put_f64(req + 8, timeout);
    put_f64(req + 16, now);
    put_f64(req + 24, expire);
    put_le64(req + 32, 0);                 /* size: no file */
    put_le32(req + 40, (uint32_t)flags);
    req[44] = (unsigned char)kkind;
    req[45] = (unsigned char)vkind;
    req[46] = (unsigned char)mode;
    req[47] = (unsigned char)tkind;
    put_le32(req + 48, (uint32_t)kl);
    put_le32(req + 52, (uint32_t)vl);
    put_le32(req + 56, (uint32_t)tl);
    put_le32(req + 60, 0);                 /* no file */
    memcpy(req + 64, kb, (size_t)kl);
    if (vl)
        memcpy(req + 64 + kl, vb, (size_t)vl);
    if (tl)
        memcpy(req + 64 + kl + vl, tb, (size_t)tl);
    Py_BEGIN_ALLOW_THREADS
    status = p_dcg_write(h, op, (char *)req, (int64_t)len, (char *)out, DCG_FAST_BUF);
    Py_END_ALLOW_THREADS
    PyMem_Free(req);
    return status;
}

/* Raises the error of a failed write through Cache._fail_out. */
static PyObject *fast_fail(FastMethod *m, PyObject *obj, int status, const unsigned char *out, const char *what) {
    int64_t msglen;
    PyObject *data, *res;
    memcpy(&msglen, out + 56, 8);
    if (msglen < 0 || msglen > DCG_FAST_BUF - 64)
        msglen = 0;
    if ((data = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)(64 + msglen))) == NULL)
        return NULL;
    res = PyObject_CallFunction(m->general, "OiOs", obj, status, data, what);
    Py_DECREF(data);
    Py_XDECREF(res);
    if (res != NULL)
        PyErr_SetString(PyExc_SystemError, "Cache._fail_out returned");
    return NULL;
}

#define DCG_ST_OK 0
#define DCG_ST_NOTFOUND 1
#define DCG_ST_CLOSED 4
#define DCG_ST_NOTNUMERIC 9
#define DCG_ST_OVERFLOW 10
#define DCG_OP_SET 1
#define DCG_OP_DELETE 3
#define DCG_OP_INCR 6
#define DCG_RQ_EXPIRE 1
#define DCG_RQ_TAG 2
#define DCG_RQ_DEFAULT 4

static PyObject *fast_write_encoded(FastMethod *m, PyObject *obj, PyObject **p, unsigned long long h,
                                    double timeout, Py_ssize_t limit, int kkind, const char *kb, Py_ssize_t kl);

/* set, delete and incr; NotImplemented (new reference) for the Python
   path. */
static PyObject *fast_write_op(FastMethod *m, PyObject *obj, PyObject **p, PyObject *state) {
    unsigned long long h = PyLong_AsUnsignedLongLong(PyTuple_GetItem(state, 0));
    double timeout = PyFloat_AsDouble(PyTuple_GetItem(state, 3));
    Py_ssize_t limit = PyLong_AsSsize_t(PyTuple_GetItem(state, 4)), kl;
    const char *kb;
    long long knum;
    int kkind;
    PyObject *encoded = NULL, *res;
    if (PyErr_Occurred())
        return NULL;
    if (plain_form(p[0], &kkind, &kb, &kl, &knum) < 0) {
        /* Other keys (tuples, big ints, floats...) as Cache._key encodes
           them (it remembers flat tuples' encodings). */
        char *s;
        if ((encoded = PyObject_CallMethodObjArgs(obj, s_key_method, p[0], NULL)) == NULL)
            return NULL;
        if (!PyTuple_Check(encoded) || PyTuple_Size(encoded) != 2
            || Py_TYPE(PyTuple_GetItem(encoded, 1)) != &PyBytes_Type) {
            Py_DECREF(encoded);
            Py_RETURN_NOTIMPLEMENTED;
        }
        kkind = (int)PyLong_AsLong(PyTuple_GetItem(encoded, 0));
        PyBytes_AsStringAndSize(PyTuple_GetItem(encoded, 1), &s, &kl);
        kb = s;
        if (kkind == -1 && PyErr_Occurred()) {
            Py_DECREF(encoded);
            return NULL;
        }
    }
    res = fast_write_encoded(m, obj, p, h, timeout, limit, kkind, kb, kl);
    Py_XDECREF(encoded);
    return res;
}

/* An incr argument: an exact int that fits int64 (dflt when not given).
   0, or -1 (no error set) when the Python method must take it. */
static int int64_arg(PyObject *v, long long dflt, long long *out) {
    int overflow;
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    if (Py_TYPE(v) != &PyLong_Type)
        return -1;
    *out = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

/* fast_write_op once the key is encoded (kb stays valid meanwhile). */
static PyObject *fast_write_encoded(FastMethod *m, PyObject *obj, PyObject **p, unsigned long long h,
                                    double timeout, Py_ssize_t limit, int kkind, const char *kb, Py_ssize_t kl) {
    PyObject *retry = m->op == OP_SET_M ? p[5] : m->op == OP_INCR_M ? p[3] : p[1];
    const char *vb = NULL, *tb = NULL;
    long long vnum, tnum = 0;
    int vkind = 0, flags = 0, status, mode = 1 /* MODE_RAW */, tkind = 0, op;
    Py_ssize_t tl = 0;
    double now, expire = 0.0;
    Py_ssize_t vl = 0;
    unsigned char *out;
    if (m->op == OP_SET_M) {
        PyObject *v = p[1], *e = p[2];
        if (Py_TYPE(v) == &PyUnicode_Type) {
            if (PyObject_Size(v) >= limit)
                Py_RETURN_NOTIMPLEMENTED;
        } else if (Py_TYPE(v) == &PyBytes_Type) {
            if (PyBytes_Size(v) >= limit)
                Py_RETURN_NOTIMPLEMENTED;
        } else if (Py_TYPE(v) != &PyLong_Type) {
            Py_RETURN_NOTIMPLEMENTED;
        }
        if (plain_form(v, &vkind, &vb, &vl, &vnum) < 0)
            Py_RETURN_NOTIMPLEMENTED;
        if (e != NULL && e != Py_None && Py_TYPE(e) != &PyFloat_Type && Py_TYPE(e) != &PyLong_Type)
            Py_RETURN_NOTIMPLEMENTED;
        if (fast_now(m, &now, 0) < 0)
            return NULL;
        if (e != NULL && e != Py_None) {
            double d = PyFloat_AsDouble(e);
            if (d == -1.0 && PyErr_Occurred()) {
                PyErr_Clear();
                Py_RETURN_NOTIMPLEMENTED;
            }
            expire = now + d;
            flags = DCG_RQ_EXPIRE;
        }
    } else if (m->op == OP_INCR_M) {
        /* The common incr: an int delta and an int default (or none
           given: 0), both fitting int64, as Cache.incr sends them. The
           rest (bool, float, None default, overflow) is the Python
           method's. */
        if (int64_arg(p[1], 1, &vnum) < 0 || int64_arg(p[2], 0, &tnum) < 0)
            Py_RETURN_NOTIMPLEMENTED;
        if (fast_now(m, &now, 0) < 0)
            return NULL;
        vkind = tkind = 1; /* K_INT, little-endian int64 */
        vb = (const char *)&vnum;
        tb = (const char *)&tnum;
        vl = tl = 8;
        mode = 0;
        flags = DCG_RQ_DEFAULT | DCG_RQ_TAG; /* the default goes in the tag slot */
    } else if (fast_now(m, &now, 0) < 0) {
        return NULL;
    }
    if (retry != NULL) {
        int t = PyObject_IsTrue(retry);
        if (t < 0)
            return NULL;
        if (t)
            timeout = -1.0;
    }
    if ((out = fast_buffer()) == NULL)
        return PyErr_NoMemory();
    op = m->op == OP_SET_M ? DCG_OP_SET : m->op == OP_INCR_M ? DCG_OP_INCR : DCG_OP_DELETE;
    status = fast_write(h, op, timeout, now, expire, flags, kkind, kb, kl, vkind, vb, vl, mode, tkind, tb, tl, out);
    if (status < 0)
        return NULL;
    if (status == DCG_ST_OK && m->op == OP_INCR_M) {
        /* The new value: its kind in the header's first byte, its 8
           bytes after the header. */
        unsigned char *v = out + 64;
        if ((out[0] & 0xFF) == 1) {
            long long i;
            memcpy(&i, v, 8);
            return PyLong_FromLongLong(i);
        }
        if ((out[0] & 0xFF) == 2) {
            double f;
            memcpy(&f, v, 8);
            return PyFloat_FromDouble(f);
        }
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (status == DCG_ST_OK)
        Py_RETURN_TRUE;
    if (status == DCG_ST_NOTFOUND && m->op == OP_DELETE_M)
        Py_RETURN_FALSE;
    /* CLOSED: another thread closed the handle, the Python method reopens
       it. For incr, a stored value that is not a number or a sum out of
       int64: nothing was written, and the Python method raises or takes
       its slow path. */
    if (status == DCG_ST_CLOSED || (m->op == OP_INCR_M && (status == DCG_ST_NOTNUMERIC || status == DCG_ST_OVERFLOW)))
        Py_RETURN_NOTIMPLEMENTED;
    return fast_fail(m, obj, status, out, m->op == OP_SET_M ? "set" : m->op == OP_INCR_M ? "incr" : "delete");
}

/* Cache.<op>(obj, ...) with its parameters bound in p: the result, or
   NotImplemented when the Python method must run instead. */
static PyObject *fast_method_bound(FastMethod *m, PyObject *obj, PyObject **p) {
    PyObject *state, *res;
    if (p[0] == NULL)
        Py_RETURN_NOTIMPLEMENTED;
    if (m->op == OP_GET_M) {
        if (!absent_or_false(p[2]) || !absent_or_false(p[3]) || !absent_or_false(p[4]))
            Py_RETURN_NOTIMPLEMENTED;
    } else if (m->op == OP_SET_M) {
        if (p[1] == NULL || !absent_or_false(p[3]) || (p[4] != NULL && p[4] != Py_None))
            Py_RETURN_NOTIMPLEMENTED;
    }
    if ((state = fast_state(m, obj)) == NULL)
        Py_RETURN_NOTIMPLEMENTED;
    if (m->op == OP_GET_M && PyTuple_GetItem(state, 5) != Py_True) {
        /* The policy records reads (LRU, LFU): the Python get writes. */
        Py_DECREF(state);
        Py_RETURN_NOTIMPLEMENTED;
    }
    res = m->op == OP_GET_M ? fast_get_op(m, obj, p, state) : fast_write_op(m, obj, p, state);
    Py_DECREF(state);
    return res;
}

/* Calls m->func(*head, *args[:n], **dict(zip(kwnames, args[n:]))), head
   being obj or nothing: the general path of the vector calls below. */
static PyObject *vector_fallback(FastMethod *m, PyObject *obj, PyObject *const *args, Py_ssize_t n,
                                 PyObject *kwnames) {
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_Size(kwnames), head = obj != NULL, i;
    PyObject *tuple, *kw = NULL, *res = NULL;
    if ((tuple = PyTuple_New(head + n)) == NULL)
        return NULL;
    if (obj != NULL) {
        Py_INCREF(obj);
        PyTuple_SetItem(tuple, 0, obj);
    }
    for (i = 0; i < n; i++) {
        Py_INCREF(args[i]);
        PyTuple_SetItem(tuple, head + i, args[i]);
    }
    if (nkw > 0 && (kw = PyDict_New()) == NULL)
        goto done;
    for (i = 0; i < nkw; i++)
        if (PyDict_SetItem(kw, PyTuple_GetItem(kwnames, i), args[n + i]) < 0)
            goto done;
    res = PyObject_Call(m->func, tuple, kw);
done:
    Py_DECREF(tuple);
    Py_XDECREF(kw);
    return res;
}

/* What `cache.get(...)` calls (the descriptor, with the instance first):
   the arguments stay in the caller's array unless the Python method must
   run. */
static PyObject *fast_method_vcall(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    FastMethod *m = (FastMethod *)self;
    Py_ssize_t n = DCG_NARGS(nargsf);
    PyObject *p[MAX_PARAMS], *res;
    if (n >= 1 && bind_vector(m->op, args + 1, n - 1, kwnames, p) == 0) {
        res = fast_method_bound(m, args[0], p);
        if (res != Py_NotImplemented)
            return res;
        Py_DECREF(res);
    }
    return vector_fallback(m, NULL, args, n, kwnames);
}

/* tp_call, for a caller that does not use vectorcall (the __call__ slot
   wrapper): the same call with the tuple's items and the dict's values in
   one array. */
static PyObject *fast_method_call(PyObject *self, PyObject *args, PyObject *kw) {
    PyObject *stack[1 + 2 * MAX_PARAMS], *kwnames = NULL, *name, *value, *res;
    Py_ssize_t n = PyTuple_Size(args), nkw = kw == NULL ? 0 : PyDict_Size(kw), i, pos = 0;
    if (n + nkw > 1 + 2 * MAX_PARAMS)
        return PyObject_Call(((FastMethod *)self)->func, args, kw);  /* it raises */
    for (i = 0; i < n; i++)
        stack[i] = PyTuple_GetItem(args, i);
    if (nkw > 0) {
        if ((kwnames = PyTuple_New(nkw)) == NULL)
            return NULL;
        for (i = 0; PyDict_Next(kw, &pos, &name, &value); i++) {
            Py_INCREF(name);
            PyTuple_SetItem(kwnames, i, name);
            stack[n + i] = value;
        }
    }
    res = fast_method_vcall(self, stack, (size_t)n, kwnames);
    Py_XDECREF(kwnames);
    return res;
}

/* The same for `g = cache.get; g(...)`: a builtin bound to the pair
   (descriptor, cache), called the METH_FASTCALL way. */
static PyObject *fast_bound_vcall(PyObject *pair, PyObject *const *args, Py_ssize_t n, PyObject *kwnames) {
    FastMethod *m = (FastMethod *)PyTuple_GetItem(pair, 0);
    PyObject *obj = PyTuple_GetItem(pair, 1), *p[MAX_PARAMS], *res;
    if (bind_vector(m->op, args, n, kwnames, p) == 0) {
        res = fast_method_bound(m, obj, p);
        if (res != Py_NotImplemented)
            return res;
        Py_DECREF(res);
    }
    return vector_fallback(m, obj, args, n, kwnames);
}

/* cache.get (and set, delete) as a value: a builtin bound to the pair. */
static PyMethodDef fast_bound_defs[OP_COUNT_M] = {
    {"get", (PyCFunction)(void (*)(void))fast_bound_vcall, DCG_METH_FASTCALL | METH_KEYWORDS,
     "get($self, /, key, default=None, read=False, expire_time=False, tag=False, retry=False)\n--\n\n"
     "Return the value of key, or default if missing or expired."},
    {"set", (PyCFunction)(void (*)(void))fast_bound_vcall, DCG_METH_FASTCALL | METH_KEYWORDS,
     "set($self, /, key, value, expire=None, read=False, tag=None, retry=False)\n--\n\n"
     "Set key to value; returns True."},
    {"delete", (PyCFunction)(void (*)(void))fast_bound_vcall, DCG_METH_FASTCALL | METH_KEYWORDS,
     "delete($self, /, key, retry=False)\n--\n\n"
     "Delete key; returns whether a live item was removed."},
    {"incr", (PyCFunction)(void (*)(void))fast_bound_vcall, DCG_METH_FASTCALL | METH_KEYWORDS,
     "incr($self, /, key, delta=1, default=0, retry=False)\n--\n\n"
     "Atomically add delta to the value of key; returns the result."}};

static PyObject *fast_method_descr_get(PyObject *self, PyObject *obj, PyObject *type) {
    FastMethod *m = (FastMethod *)self;
    PyObject *pair, *bound;
    (void)type;
    if (obj == NULL || obj == Py_None) {
        /* On the class it is the Python function: signature, docs,
           Cache.get(c, k). */
        Py_INCREF(m->func);
        return m->func;
    }
    if ((pair = PyTuple_Pack(2, self, obj)) == NULL)
        return NULL;
    bound = PyCFunction_NewEx(&fast_bound_defs[m->op], pair, NULL);
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
    Py_XDECREF(m->time_dict);
    Py_XDECREF(m->last_ref);
    Py_XDECREF(m->last_state);
    Py_XDECREF(m->last_epoch);
    PyObject_Free(self);
    Py_DECREF(type);
}

static PyMemberDef fast_method_members[] = {
    {"__vectorcalloffset__", T_PYSSIZET, offsetof(FastMethod, vectorcall), READONLY, NULL},
    {NULL, 0, 0, 0, NULL}};

static PyType_Slot fast_method_slots[] = {
    {Py_tp_call, (void *)fast_method_call},
    {Py_tp_members, (void *)fast_method_members},
    {Py_tp_descr_get, (void *)fast_method_descr_get},
    {Py_tp_getset, (void *)fast_method_getset},
    {Py_tp_dealloc, (void *)fast_method_dealloc},
    {0, NULL}};

static PyType_Spec fast_method_spec = {
    "diskcache_go._dcg.FastMethod", sizeof(FastMethod), 0,
    Py_TPFLAGS_DEFAULT | DCG_METHOD_DESCRIPTOR | DCG_HAVE_VECTORCALL, fast_method_slots};

static PyObject *fast_method_type;

/* fast_method(op, func, general, gen, time, pickle) -> the descriptor; op
   is "get", "set", "delete" or "incr". */
static PyObject *dcg_fast_method(PyObject *self, PyObject *args) {
    FastMethod *m;
    const char *op;
    int code, i;
    (void)self;
    if (PyTuple_Size(args) != 6) {
        PyErr_SetString(PyExc_TypeError, "fast_method takes 6 arguments");
        return NULL;
    }
    if ((op = PyUnicode_AsUTF8AndSize(PyTuple_GetItem(args, 0), NULL)) == NULL)
        return NULL;
    code = strcmp(op, "get") == 0 ? OP_GET_M : strcmp(op, "set") == 0 ? OP_SET_M
         : strcmp(op, "delete") == 0 ? OP_DELETE_M : strcmp(op, "incr") == 0 ? OP_INCR_M : -1;
    if (code < 0 || !PyList_Check(PyTuple_GetItem(args, 3))) {
        PyErr_SetString(PyExc_ValueError, "fast_method: op must be get, set, delete or incr, gen a list");
        return NULL;
    }
    m = PyObject_New(FastMethod, (PyTypeObject *)fast_method_type);
    if (m == NULL)
        return NULL;
    m->op = code;
    m->vectorcall = fast_method_vcall;
    m->func = m->general = m->gen = m->time_mod = m->pickle_mod = NULL;
    m->time_dict = m->last_ref = m->last_state = m->last_epoch = NULL;
    if ((m->time_fn = PyObject_GetAttr(PyTuple_GetItem(args, 4), s_time)) == NULL
        || (m->time_dict = PyModule_GetDict(PyTuple_GetItem(args, 4))) == NULL) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(m->time_dict);
    for (i = 1; i < 6; i++)
        Py_INCREF(PyTuple_GetItem(args, i));
    m->func = PyTuple_GetItem(args, 1);
    m->general = PyTuple_GetItem(args, 2);
    m->gen = PyTuple_GetItem(args, 3);
    m->time_mod = PyTuple_GetItem(args, 4);
    m->pickle_mod = PyTuple_GetItem(args, 5);
    return (PyObject *)m;
}

/* _read_file(path): (contents, crc) of a value file, read with one open,
   fstat and a pread per 256 KiB into the bytes object it returns, each
   piece checksummed while it is still in the CPU's cache, with the GIL
   released. crc is None when the file is not a regular file or changed
   size while it was read: the caller reads it the plain way then. The
   caller has loaded the library in this process (p_dcg_crc32). */
#define DCG_READ_PIECE (256 << 10)
typedef struct {
    int fd;
    char *buf;
    Py_ssize_t size, got;
    uint32_t crc;
    int whole; /* 1: exactly size bytes were there */
} FileRead;

static int read_pieces(FileRead *r) {
    char extra;
    ssize_t n;
    while (r->got < r->size) {
        Py_ssize_t want = r->size - r->got;
        n = pread(r->fd, r->buf + r->got, (size_t)(want < DCG_READ_PIECE ? want : DCG_READ_PIECE), (off_t)r->got);
        if (n < 0)
            return -1;
        if (n == 0)
            return 0; /* shorter than fstat said */
        r->crc = p_dcg_crc32(r->crc, r->buf + r->got, (int64_t)n);
        r->got += n;
    }
    if ((n = pread(r->fd, &extra, 1, (off_t)r->size)) < 0)
        return -1;
    r->whole = n == 0;
    return 0;
}

/* Sets OSError from errno for the file cpath, named path (or cpath when
   path is NULL: the name is only made when there is an error). */
static void file_error(const char *cpath, PyObject *path) {
    if (path != NULL)
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
    else
        PyErr_SetFromErrnoWithFilename(PyExc_OSError, cpath);
}

/* Reads the value file at cpath (path: its name for errors, or NULL)
   into a new bytes object, checksumming each piece. 0 with *data and *crc
   set (and *stp, the file's fstat, when stp is not NULL); 1 when
   it is not a regular file or changed size while being read (the caller
   reads it the plain way); -1 with an error set. */
static int read_value_file(const char *cpath, PyObject *path, PyObject **data, uint32_t *crc,
                           struct stat *stp) {
    FileRead r = {-1, NULL, 0, 0, 0, 0};
    struct stat st;
    int rc, err = 0, ret = -1;
    *data = NULL;
    Py_BEGIN_ALLOW_THREADS
    /* O_NONBLOCK: a FIFO put in a value file's place must not hang the
       open; the plain read of the caller behaves as before for it. */
    r.fd = open(cpath, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (r.fd < 0 || fstat(r.fd, &st) != 0)
        err = errno;
    Py_END_ALLOW_THREADS
    if (err != 0) {
        errno = err;
        file_error(cpath, path);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        ret = 1;
        goto done;
    }
    r.size = (Py_ssize_t)st.st_size;
    if ((*data = PyBytes_FromStringAndSize(NULL, r.size)) == NULL)
        goto done;
    r.buf = PyBytes_AsString(*data);
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        rc = read_pieces(&r);
        err = errno;
        Py_END_ALLOW_THREADS
        if (rc == 0)
            break;
        if (err != EINTR) {
            errno = err;
            file_error(cpath, path);
            goto done;
        }
        if (PyErr_CheckSignals() < 0)
            goto done;
    }
    if (r.whole) {
        *crc = r.crc;
        if (stp != NULL)
            *stp = st;
        ret = 0;
    } else {
        ret = 1;
    }
done:
    if (r.fd >= 0)
        close(r.fd);
    if (ret != 0)
        Py_CLEAR(*data);
    return ret;
}

static PyObject *dcg_read_file(PyObject *self, PyObject *path) {
    PyObject *enc = NULL, *data = NULL, *res = NULL;
    uint32_t crc = 0;
    (void)self;
    if (!PyUnicode_FSConverter(path, &enc))
        return NULL;
    switch (read_value_file(PyBytes_AsString(enc), path, &data, &crc, NULL)) {
    case 0:
        res = Py_BuildValue("(Ok)", data, (unsigned long)crc);
        Py_DECREF(data);
        break;
    case 1:
        res = Py_BuildValue("(OO)", Py_None, Py_None);
        break;
    }
    Py_DECREF(enc);
    return res;
}

/* The CRC-32 in a value file name of the stock Disk's current form,
   "ab/<30 hex>-<8 hex>.val"; -1 for any other name (the general path
   knows the older and the foreign forms). */
static long long summed_name_crc(const unsigned char *name, Py_ssize_t n) {
    unsigned long long crc = 0;
    Py_ssize_t i;
    if (n != 46 || name[2] != '/' || name[33] != '-' || memcmp(name + 42, ".val", 4) != 0)
        return -1;
    for (i = 0; i < 42; i++) {
        unsigned char c = name[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (i == 2 || i == 33)
            continue;
        if (d < 0)
            return -1;
        if (i > 33)
            crc = crc << 4 | (unsigned long long)d;
    }
    return (long long)crc;
}

/* The value of a get whose result header (in the thread's buffer, from
   the lookup just made) names a value file: read and checked here, for
   the stock Disk's bytes and pickled values under names of its current
   form. dir is the cache directory (bytes); folders (a bytearray of 256,
   or None when the directory is declared trusted) marks the value folders
   found private since the open (by Python, or here: a folder not marked
   yet is checked with one stat). NotImplemented (a new reference) when the general
   path must read it: another mode or name, a missing or changed file, a
   checksum that does not match (that path reports it), and a pickle that
   another user could have written (the engine read a segment they could
   write, its folder is not known private yet, or the file is theirs or
   writable by group or others: Python decides whether the cache is
   shared), so that every unusual case is judged in one place. */
static PyObject *fast_file_value(PyObject *dir, PyObject *folders, PyObject *pickle_mod) {
    const unsigned char *hdr = fast_buffer();
    unsigned long long kinds, vlen, tlen, flen;
    long long want;
    int mode;
    char path[4096];
    char *d;
    Py_ssize_t dl;
    PyObject *data = NULL;
    uint32_t crc = 0;
    struct stat st;
    int rc, check = folders != Py_None;
    if (hdr == NULL || !PyBytes_Check(dir) || (check && (!PyByteArray_Check(folders) || PyByteArray_Size(folders) != 256)))
        Py_RETURN_NOTIMPLEMENTED;
    kinds = get_le64(hdr);
    vlen = get_le64(hdr + 8);
    tlen = get_le64(hdr + 16);
    flen = get_le64(hdr + 24);
    mode = (int)(kinds >> 8 & 7);
    if ((mode != 2 && mode != 4) || vlen != 0 || flen > 64 || 64 + tlen + flen > DCG_FAST_BUF)
        Py_RETURN_NOTIMPLEMENTED;
    if ((want = summed_name_crc(hdr + 64 + tlen, (Py_ssize_t)flen)) < 0)
        Py_RETURN_NOTIMPLEMENTED;
    PyBytes_AsStringAndSize(dir, &d, &dl);
    if (dl + 1 + (Py_ssize_t)flen + 1 > (Py_ssize_t)sizeof path)
        Py_RETURN_NOTIMPLEMENTED;
    memcpy(path, d, (size_t)dl);
    path[dl] = '/';
    memcpy(path + dl + 1, hdr + 64 + tlen, (size_t)flen);
    path[dl + 1 + flen] = 0;
    if (check && mode == 4) {
        /* The folder: the name's first two characters, lowercase hex
           (summed_name_crc checked them), checked once per open as
           _Trust.check_file does: the owner's or root's, and writable by
           no one else. */
        const unsigned char *f = hdr + 64 + tlen;
        int hi = f[0] <= '9' ? f[0] - '0' : f[0] - 'a' + 10, lo = f[1] <= '9' ? f[1] - '0' : f[1] - 'a' + 10;
        char *seen = PyByteArray_AsString(folders) + hi * 16 + lo;
        if (kinds & DCG_KIND_OTHERS_WROTE)
            Py_RETURN_NOTIMPLEMENTED;
        if (*seen == 0) {
            struct stat fst;
            int private_dir;
            path[dl + 3] = 0;
            private_dir = stat(path, &fst) == 0 && (fst.st_uid == 0 || fst.st_uid == geteuid()) && (fst.st_mode & 022) == 0;
            path[dl + 3] = '/';
            if (!private_dir)
                Py_RETURN_NOTIMPLEMENTED; /* Python says why */
            *seen = 1;
        }
    }
    rc = read_value_file(path, NULL, &data, &crc, &st);
    if (rc < 0) {
        /* An interrupt or a lack of memory is the caller's; an OSError
           (the entry deleted under the read) is the general path's. */
        if (!PyErr_ExceptionMatches(PyExc_OSError))
            return NULL;
        PyErr_Clear();
    }
    if (rc != 0 || crc != (uint32_t)want) {
        Py_XDECREF(data);
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (mode == 2)
        return data;
    /* The file as it was read (fstat of the descriptor): the owner's or
       root's, and writable by no one else. */
    if (check && ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022) != 0)) {
        Py_DECREF(data);
        Py_RETURN_NOTIMPLEMENTED;
    }
    return unpickle(data, NULL, pickle_mod);
}

static PyMethodDef dcg_fast_def = {"fast_get", dcg_fast_get, METH_VARARGS, NULL};
static PyMethodDef dcg_method_def = {"fast_method", dcg_fast_method, METH_VARARGS, NULL};
static PyMethodDef dcg_read_def = {"_read_file", dcg_read_file, METH_O, NULL};

static int fast_intern(void) {
    int op, i;
    if ((s_fast = PyUnicode_InternFromString("_fast")) == NULL
        || (s_time = PyUnicode_InternFromString("time")) == NULL
        || (s_key_method = PyUnicode_InternFromString("_key")) == NULL
        || (s_loads = PyUnicode_InternFromString("loads")) == NULL)
        return 0;
    for (op = 0; op < OP_COUNT_M; op++)
        for (i = 0; i < param_count[op]; i++)
            if ((param_name[op][i] = PyUnicode_InternFromString(param_text[op][i])) == NULL)
                return 0;
    return 1;
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

/* Sets module.fast_get, module.fast_method and module._read_file; called through cffi, which
   has released the GIL. */
static int dcg_fast_register(char *module) {
    int rc = -1;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *m = PyImport_ImportModule(module);
    if (m != NULL) {
        if (fast_intern() && (fast_method_type != NULL
                              || (fast_method_type = PyType_FromSpec(&fast_method_spec)) != NULL)
            && set_builtin(m, &dcg_fast_def) == 0 && set_builtin(m, &dcg_method_def) == 0
            && set_builtin(m, &dcg_read_def) == 0)
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
        '#include <errno.h>',
        '#include <fcntl.h>',
        '#include <pthread.h>',
        '#include <stddef.h>',
        '#include <stdint.h>',
        '#include <stdio.h>',
        '#include <stdlib.h>',
        '#include <string.h>',
        '#include <structmember.h>',
        '#include <time.h>',
        '#include <unistd.h>',
        '#include <sys/stat.h>',
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
