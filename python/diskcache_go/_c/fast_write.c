/*
 * fast_write.c - the fast path of Cache.set, Cache.delete and Cache.incr:
 * one engine request (dcg_write) built here.
 *
 * It takes the plain cases of the stock Disk (str, bytes and int keys and
 * values stored inline, no tag, no read=True; an int delta and default
 * for incr) and returns NotImplemented for every other, which the Python
 * method then runs; a failure is raised through Cache._fail_out, the
 * general path's own error mapping.
 */
#include "dcg_ext.h"

/* A key's engine kind and bytes for set and delete (str, bytes, and ints
   that fit int64; bool is not int here, as in the Python fast path). 0, or
   -1 when the Python path must encode it. */
static int plain_form(PyObject *v, int *kind, const char **b, Py_ssize_t *n, long long *num) {
    if (Py_TYPE(v) == &PyUnicode_Type) {
        if ((*b = PyUnicode_AsUTF8AndSize(v, n)) == NULL) {
            PyErr_Clear();
            return -1;
        }
        *kind = DCG_KIND_TEXT;
    } else if (Py_TYPE(v) == &PyBytes_Type) {
        char *s;
        PyBytes_AsStringAndSize(v, &s, n);
        *b = s;
        *kind = DCG_KIND_BLOB;
    } else if (Py_TYPE(v) == &PyLong_Type) {
        int overflow;
        *num = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (overflow || (*num == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            return -1;
        }
        *b = (const char *)num;
        *n = 8;
        *kind = DCG_KIND_INT;
    } else {
        return -1;
    }
    return 0;
}

/* Runs one engine write (a struct dcg_request, then the key, value and
   tag) with the GIL released, as cffi would. Returns the status, or -1
   with an error set. */
static int fast_write(unsigned long long h, int op, double timeout, double now, double expire, int flags,
                      int kkind, const char *kb, Py_ssize_t kl, int vkind, const char *vb, Py_ssize_t vl,
                      int mode, int tkind, const char *tb, Py_ssize_t tl, unsigned char *out) {
    size_t len = sizeof(struct dcg_request) + (size_t)kl + (size_t)vl + (size_t)tl;
    unsigned char *req = PyMem_Malloc(len);
    int status;
    if (req == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    unsigned char *data = req + sizeof(struct dcg_request);
#define AT(field) (req + offsetof(struct dcg_request, field))
    put_le64(AT(owner), (uint64_t)PyThread_get_thread_ident());
    put_f64(AT(timeout), timeout);
    put_f64(AT(now), now);
    put_f64(AT(expire), expire);
    put_le64(AT(size), 0); /* no file */
    put_le32(AT(flags), (uint32_t)flags);
    *AT(key_kind) = (unsigned char)kkind;
    *AT(value_kind) = (unsigned char)vkind;
    *AT(mode) = (unsigned char)mode;
    *AT(tag_kind) = (unsigned char)tkind;
    put_le32(AT(key_len), (uint32_t)kl);
    put_le32(AT(value_len), (uint32_t)vl);
    put_le32(AT(tag_len), (uint32_t)tl);
    put_le32(AT(file_len), 0);
#undef AT
    memcpy(data, kb, (size_t)kl);
    if (vl)
        memcpy(data + kl, vb, (size_t)vl);
    if (tl)
        memcpy(data + kl + vl, tb, (size_t)tl);
    Py_BEGIN_ALLOW_THREADS
    status = dcg_write(h, op, (char *)req, (int64_t)len, (char *)out, DCG_FAST_BUF);
    Py_END_ALLOW_THREADS
    PyMem_Free(req);
    return status;
}

/* Raises the error of a failed write through Cache._fail_out. */
static PyObject *fast_fail(FastMethod *m, PyObject *obj, int status, const unsigned char *out, const char *what) {
    int64_t msglen;
    PyObject *data, *res;
    msglen = (int64_t)get_le64(out + offsetof(struct dcg_result, msg_len));
    if (msglen < 0 || msglen > DCG_FAST_BUF - DCG_RESULT_DATA)
        msglen = 0;
    if ((data = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)(DCG_RESULT_DATA + msglen))) == NULL)
        return NULL;
    res = PyObject_CallFunction(m->general, "OiOs", obj, status, data, what);
    Py_DECREF(data);
    Py_XDECREF(res);
    if (res != NULL)
        PyErr_SetString(PyExc_SystemError, "Cache._fail_out returned");
    return NULL;
}


static PyObject *fast_write_encoded(FastMethod *m, PyObject *obj, PyObject **p, unsigned long long h,
                                    double timeout, Py_ssize_t limit, int kkind, const char *kb, Py_ssize_t kl);

/* set, delete and incr; NotImplemented (new reference) for the Python
   path. */
PyObject *fast_write_op(FastMethod *m, PyObject *obj, PyObject **p, PyObject *state) {
    unsigned long long h = PyLong_AsUnsignedLongLong(PyTuple_GetItem(state, FAST_HANDLE));
    double timeout = PyFloat_AsDouble(PyTuple_GetItem(state, FAST_TIMEOUT));
    Py_ssize_t limit = PyLong_AsSsize_t(PyTuple_GetItem(state, FAST_MIN_FILE)), kl;
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
        if ((encoded = PyObject_CallMethodObjArgs(obj, str_key, p[0], NULL)) == NULL)
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
    int vkind = 0, flags = 0, status, mode = DCG_VALUE_RAW, tkind = 0, op;
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
        vkind = tkind = DCG_KIND_INT; /* little-endian int64 */
        vb = (const char *)&vnum;
        tb = (const char *)&tnum;
        vl = tl = 8;
        mode = DCG_VALUE_NONE;
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
    if (status == DCG_OK && m->op == OP_INCR_M) {
        /* The new value: its kind in the header's first byte, its 8
           bytes after the header. */
        unsigned char *v = out + DCG_RESULT_DATA;
        int kind = (int)(get_le64(out) & DCG_KINDS_KIND_MASK);
        if (kind == DCG_KIND_INT) {
            long long i;
            memcpy(&i, v, 8);
            return PyLong_FromLongLong(i);
        }
        if (kind == DCG_KIND_FLOAT) {
            double f;
            memcpy(&f, v, 8);
            return PyFloat_FromDouble(f);
        }
        Py_RETURN_NOTIMPLEMENTED;
    }
    if (status == DCG_OK)
        Py_RETURN_TRUE;
    if (status == DCG_NOTFOUND && m->op == OP_DELETE_M)
        Py_RETURN_FALSE;
    /* CLOSED: another thread closed the handle, the Python method reopens
       it. For incr, a stored value that is not a number or a sum out of
       int64: nothing was written, and the Python method raises or takes
       its slow path. */
    if (status == DCG_CLOSED || (m->op == OP_INCR_M && (status == DCG_NOTNUMERIC || status == DCG_OVERFLOW)))
        Py_RETURN_NOTIMPLEMENTED;
    return fast_fail(m, obj, status, out, m->op == OP_SET_M ? "set" : m->op == OP_INCR_M ? "incr" : "delete");
}

