/*
 * fast_get.c - Cache.get's fast path: one engine read (dcg_getv), and the
 * value made from what it returns.
 *
 * It keeps python-diskcache's get for the stock Disk: raw str, bytes, int,
 * float and None values and pickles stored inline are built here, value
 * files of the plain case are read by value_file.c, and everything else
 * (another Disk, a file it can not vouch for, read=True, any error) is
 * handed to Cache._get_general, the general path, which gives the same
 * result (python/tests/test_fastpath_switch.py runs the fast-path tests
 * both ways and compares).
 */
#include "dcg_ext.h"

/* The low bits of a dcg_getv result: mode and kind. */
#define GETV_TAG(mode, kind) ((mode) << DCG_GETV_MODE_SHIFT | (kind))
#define GETV_TAG_MASK ((1 << DCG_GETV_LEN_SHIFT) - 1)

/* Reads key from the engine. Returns a new reference: the value, dflt on a
   miss, Ellipsis for a value with a file (the lookup is done and counted:
   the caller reads it through the general path without counting again),
   or NotImplemented: the caller takes the general path (a key type the
   engine has no plain form for, a result that does not fit the buffer, any
   error). With given >= 0, key is bytes already encoded as that kind (a
   pickled key). A pickled value is unpickled with pickle_mod's loads. */
static PyObject *fast_lookup(unsigned long long h, PyObject *key, long given, double now, long flags,
                             PyObject *dflt, PyObject *pickle_mod) {
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
        kind = DCG_KIND_TEXT;
    } else if (Py_TYPE(key) == &PyBytes_Type) {
        PyBytes_AsStringAndSize(key, &kb, &kl);
        kind = DCG_KIND_BLOB;
    } else if (Py_TYPE(key) == &PyLong_Type) {
        int overflow;
        num = PyLong_AsLongLongAndOverflow(key, &overflow);
        if (overflow || (num == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
        kb = (char *)&num;
        kl = 8;
        kind = DCG_KIND_INT;
    } else {
        Py_RETURN_NOTIMPLEMENTED;
    }
    fast_buf = fast_buffer();
    if (fast_buf == NULL)
        return PyErr_NoMemory();
    code = dcg_getv(h, kind, kb, kl, now, (int)flags | DCG_GET_NOWAIT, (char *)fast_buf, DCG_FAST_BUF);
    if (code == -(DCG_GETV_STATUS_BASE + DCG_WOULDBLOCK)) {
        Py_BEGIN_ALLOW_THREADS
        code = dcg_getv(h, kind, kb, kl, now, (int)flags, (char *)fast_buf, DCG_FAST_BUF);
        Py_END_ALLOW_THREADS
    }
    if (code == DCG_GETV_MISS) {
        Py_INCREF(dflt);
        return dflt;
    }
    if (code == DCG_GETV_HEADER) {
        Py_INCREF(Py_Ellipsis);
        return Py_Ellipsis;
    }
    if (code < 0)
        Py_RETURN_NOTIMPLEMENTED;
    {
        const char *v = (const char *)fast_buf + DCG_RESULT_DATA;
        Py_ssize_t n = (Py_ssize_t)(code >> DCG_GETV_LEN_SHIFT);
        switch (code & GETV_TAG_MASK) {
        case GETV_TAG(DCG_VALUE_RAW, DCG_KIND_BLOB):
            return PyBytes_FromStringAndSize(v, n);
        case GETV_TAG(DCG_VALUE_RAW, DCG_KIND_TEXT):
            return PyUnicode_DecodeUTF8(v, n, NULL);
        case GETV_TAG(DCG_VALUE_RAW, DCG_KIND_INT): {
            long long i;
            memcpy(&i, v, 8);
            return PyLong_FromLongLong(i);
        }
        case GETV_TAG(DCG_VALUE_RAW, DCG_KIND_FLOAT): {
            double d;
            memcpy(&d, v, 8);
            return PyFloat_FromDouble(d);
        }
        case GETV_TAG(DCG_VALUE_RAW, DCG_KIND_NULL):
            Py_RETURN_NONE;
        case GETV_TAG(DCG_VALUE_PICKLE, DCG_KIND_BLOB): { /* copied first: unpickling may read again */
            PyObject *b = PyBytes_FromStringAndSize(v, n);
            if (b == NULL)
                return NULL;
            return unpickle(b, NULL, pickle_mod);
        }
        }
    }
    Py_RETURN_NOTIMPLEMENTED;
}
/* fast_get(handle, key, now, flags, default, pickle_module, kind): fast_lookup
   for the awaitable get (aio.py), which passes DCG_GET_NOWAIT in flags so
   that neither attempt waits; the results are fast_lookup's. */
PyObject *dcg_fast_get(PyObject *self, PyObject *args) {
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
                       PyTuple_GetItem(args, 5));
}

PyObject *fast_get_op(FastMethod *m, PyObject *obj, PyObject **p, PyObject *state) {
    PyObject *key = p[0], *dflt = p[1] ? p[1] : Py_None, *retry = p[5] ? p[5] : Py_False, *res;
    PyObject *encoded = NULL, *lookup_key = key;
    unsigned long long h = PyLong_AsUnsignedLongLong(PyTuple_GetItem(state, FAST_HANDLE));
    long flags = PyLong_AsLong(PyTuple_GetItem(state, FAST_GET_FLAGS)), given = -1;
    double now;
    if (PyErr_Occurred())
        return NULL;
    if (Py_TYPE(key) != &PyUnicode_Type && Py_TYPE(key) != &PyBytes_Type && Py_TYPE(key) != &PyLong_Type) {
        /* Other keys are encoded by Cache._key (which remembers the
           encodings of flat tuples), as the Python get does. */
        if ((encoded = PyObject_CallMethodObjArgs(obj, str_key, key, NULL)) == NULL)
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
        flags |= DCG_GET_CLOCK_NOW;
    }
    res = fast_lookup(h, lookup_key, given, now, flags, dflt, m->pickle_mod);
    Py_XDECREF(encoded);
    if (res == Py_Ellipsis) {
        /* A value file, found and counted: read here when it is the plain
           case, which saves the general path's Python frames and second
           lookup (about 10 µs of a 40 KiB get). */
        Py_DECREF(res);
        if ((res = fast_file_value(PyTuple_GetItem(state, FAST_DIR), PyTuple_GetItem(state, FAST_FOLDERS), m->pickle_mod)) == NULL)
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

