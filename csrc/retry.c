/* Retry interval arithmetic.
 *
 * Intervals are an int (the delay of every retry), or a list or tuple of
 * delays, or None. Counts are Python ints of any size: they are compared
 * with the list length, never used in arithmetic of their own, so a count
 * too large for a C integer simply selects the end of the list. Indexing
 * follows Python's rules, negative indexes included, because that is what
 * RQ's own code does with the same values.
 */
#include "retry.h"

/* Read an int for comparison with a list length: its value when it fits
   a Py_ssize_t, else PY_SSIZE_T_MAX or PY_SSIZE_T_MIN by its sign.
   Returns 0 when it fitted, 1 when it was clamped, -1 with an exception. */
static int
clamped_index(PyObject *number, Py_ssize_t *out)
{
    int overflow = 0;
    long long value = PyLong_AsLongLongAndOverflow(number, &overflow);

    if (value == -1 && !overflow && PyErr_Occurred()) {
        return -1;
    }
    if (overflow > 0 || value > PY_SSIZE_T_MAX) {
        *out = PY_SSIZE_T_MAX;
        return 1;
    }
    if (overflow < 0 || value < PY_SSIZE_T_MIN) {
        *out = PY_SSIZE_T_MIN;
        return 1;
    }
    *out = (Py_ssize_t)value;
    return 0;
}

/* Return a new reference to seq[index] with Python's negative indexes,
   or NULL with IndexError. seq is a list or a tuple. */
static PyObject *
item_at(PyObject *seq, Py_ssize_t index)
{
    Py_ssize_t size = PySequence_Fast_GET_SIZE(seq);

    if (index < 0) {
        index += size;
    }
    if (index < 0 || index >= size) {
        PyErr_SetString(PyExc_IndexError, PyList_Check(seq)
                                              ? "list index out of range"
                                              : "tuple index out of range");
        return NULL;
    }
    return Py_NewRef(PySequence_Fast_GET_ITEM(seq, index));
}

static int
check_nargs(const char *name, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes exactly 2 arguments (%zd given)", name,
                     nargs);
        return -1;
    }
    return 0;
}

/* get_interval(count, intervals): an int is returned as it is; None or an
   empty sequence give 0; else intervals[min(len - 1, count)]. */
PyObject *
rqf_py_get_interval(PyObject *module, PyObject *const *args,
                    Py_ssize_t nargs)
{
    PyObject *count, *intervals;
    Py_ssize_t size, index;

    if (check_nargs("get_interval", nargs) < 0) {
        return NULL;
    }
    count = args[0];
    intervals = args[1];
    if (!PyLong_Check(count)) {
        return rqf_type_error("get_interval() count", "int", count);
    }
    if (PyLong_Check(intervals)) {
        return Py_NewRef(intervals);
    }
    if (intervals == Py_None) {
        return PyLong_FromLong(0);
    }
    if (!PyList_Check(intervals) && !PyTuple_Check(intervals)) {
        return rqf_type_error("get_interval() intervals",
                              "int, list, tuple or None", intervals);
    }

    size = PySequence_Fast_GET_SIZE(intervals);
    if (size == 0) {
        return PyLong_FromLong(0);
    }
    switch (clamped_index(count, &index)) {
    case -1:
        return NULL;
    case 1:
        if (index < 0) {
            PyErr_SetString(PyExc_IndexError,
                            "cannot fit 'int' into an index-sized integer");
            return NULL;
        }
        break;
    }
    return item_at(intervals, Py_MIN(size - 1, index));
}

/* retry_interval(intervals, retries_left): None or an empty sequence give
   0; else intervals[max(len - retries_left, 0)], retries_left >= 1. */
PyObject *
rqf_py_retry_interval(PyObject *module, PyObject *const *args,
                      Py_ssize_t nargs)
{
    PyObject *intervals, *retries_left;
    Py_ssize_t size, left;

    if (check_nargs("retry_interval", nargs) < 0) {
        return NULL;
    }
    intervals = args[0];
    retries_left = args[1];
    if (intervals != Py_None && !PyList_Check(intervals) &&
        !PyTuple_Check(intervals)) {
        return rqf_type_error("retry_interval() intervals",
                              "list, tuple or None", intervals);
    }
    if (!PyLong_Check(retries_left)) {
        return rqf_type_error("retry_interval() retries_left", "int",
                              retries_left);
    }
    if (intervals == Py_None || PySequence_Fast_GET_SIZE(intervals) == 0) {
        return PyLong_FromLong(0);
    }

    if (clamped_index(retries_left, &left) < 0) {
        return NULL;
    }
    if (left < 1) {
        PyErr_Format(PyExc_ValueError,
                     "retries_left must be at least 1, not %S", retries_left);
        return NULL;
    }
    size = PySequence_Fast_GET_SIZE(intervals);
    return item_at(intervals, left >= size ? 0 : size - left);
}
