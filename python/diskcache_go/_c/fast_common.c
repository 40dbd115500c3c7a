/*
 * fast_common.c - what the fast paths share: each thread's result buffer
 * and unpickling.
 */
#include "dcg_ext.h"

#include <pthread.h>
#include <stdlib.h>

PyObject *str_loads, *str_key, *str_fast, *str_time;

/* Each thread's result buffer, freed when the thread exits (a server that
   starts a thread per request must not keep 64 KiB per dead thread). */
static pthread_key_t fast_key;
static pthread_once_t fast_once = PTHREAD_ONCE_INIT;
static int fast_key_ok;

static void fast_key_make(void) { fast_key_ok = pthread_key_create(&fast_key, free) == 0; }

unsigned char *fast_buffer(void) {
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

/* loads(b), or pickle.loads from pickle_mod's dict when loads is NULL (a
   patched one is followed, and held while it runs); steals b. */
PyObject *unpickle(PyObject *b, PyObject *loads, PyObject *pickle_mod) {
    PyObject *fn = loads, *res;
    if (fn == NULL && (fn = PyDict_GetItemWithError(PyModule_GetDict(pickle_mod), str_loads)) == NULL) {
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

int common_intern(void) {
    if (str_time != NULL)
        return 1;
    return (str_loads = PyUnicode_InternFromString("loads")) != NULL
        && (str_key = PyUnicode_InternFromString("_key")) != NULL
        && (str_fast = PyUnicode_InternFromString("_fast")) != NULL
        && (str_time = PyUnicode_InternFromString("time")) != NULL;
}
