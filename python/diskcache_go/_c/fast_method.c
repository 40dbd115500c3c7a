/*
 * fast_method.c - the method descriptor that becomes Cache.get, Cache.set,
 * Cache.delete and Cache.incr (diskcache_go/_binding.py installs it unless
 * DISKCACHE_GO_NO_FASTPATH is set).
 *
 * `cache.get(key)` is then one C call with no Python frame: the descriptor
 * binds the arguments, reads the handle and settings from the instance's
 * _fast tuple (Cache._sync_fast), and runs fast_get.c or fast_write.c.
 * Anything those do not take (a keyword they do not know, read=True, a
 * tag, a closed or forked handle, another Disk) goes to the Python method,
 * the general path, with the same arguments.
 */
#include "dcg_ext.h"

#include <time.h>

#include <structmember.h>

/* Py_TPFLAGS_METHOD_DESCRIPTOR (3.8+): obj.get(...) calls the descriptor
   with obj first, without making a bound object. */
#define DCG_METHOD_DESCRIPTOR (1UL << 17)
#define DCG_HAVE_VECTORCALL (1UL << 11)
#define DCG_METH_FASTCALL 0x0080
#define DCG_NARGS(n) ((Py_ssize_t)((n) & ~((size_t)1 << (8 * sizeof(size_t) - 1))))

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
        if ((state = PyObject_GetAttr(obj, str_fast)) == NULL) {
            PyErr_Clear();
            return NULL;
        }
        if (!PyTuple_Check(state) || PyTuple_Size(state) != FAST_FIELDS) {
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
    if (PyObject_RichCompareBool(PyTuple_GetItem(state, FAST_GEN), PyList_GetItem(m->gen, 0), Py_EQ) != 1) {
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
int fast_now(FastMethod *m, double *now, int lazy) {
    /* The module's dict, not getattr: no type lookup on the hot path. */
    PyObject *fn = PyDict_GetItemWithError(m->time_dict, str_time), *v;
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
    if ((fn = PyObject_GetAttr(m->time_mod, str_time)) == NULL)
        return -1;
    v = PyObject_CallObject(fn, NULL);
    Py_DECREF(fn);
    if (v == NULL)
        return -1;
    *now = PyFloat_AsDouble(v);
    Py_DECREF(v);
    return (*now == -1.0 && PyErr_Occurred()) ? -1 : 0;
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
    if (m->op == OP_GET_M && PyTuple_GetItem(state, FAST_GET_OK) != Py_True) {
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
    if ((m->time_fn = PyObject_GetAttr(PyTuple_GetItem(args, 4), str_time)) == NULL
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

static PyMethodDef dcg_get_def = {"fast_get", dcg_fast_get, METH_VARARGS, NULL};
static PyMethodDef dcg_method_def = {"fast_method", dcg_fast_method, METH_VARARGS, NULL};
static PyMethodDef dcg_read_def = {"_read_file", dcg_read_file, METH_O, NULL};

static int fast_intern(void) {
    int op, i;
    if (!common_intern())
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
int dcg_fast_register(char *module) {
    int rc = -1;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *m = PyImport_ImportModule(module);
    if (m != NULL) {
        if (fast_intern() && (fast_method_type != NULL
                              || (fast_method_type = PyType_FromSpec(&fast_method_spec)) != NULL)
            && set_builtin(m, &dcg_get_def) == 0
            && set_builtin(m, &dcg_method_def) == 0
            && set_builtin(m, &dcg_read_def) == 0)
            rc = 0;
        Py_DECREF(m);
    }
    if (rc != 0)
        PyErr_Print();
    PyGILState_Release(g);
    return rc;
}
