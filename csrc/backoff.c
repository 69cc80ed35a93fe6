/* Retry backoff and jitter.
 *
 * The delay before retry n (1-based) is first * factor ** (n - 1), capped,
 * then jittered: "full" draws uniformly in [0, delay), "equal" in
 * [delay / 2, delay), "decorrelated" in [first, max(first, 3 * previous))
 * and caps the draw. Draws come from SplitMix64, whose whole state is one
 * 64-bit integer that the caller passes in and gets back advanced.
 *
 * The pure-Python twin in rqfast/_reference.py must return the same bits,
 * so every expression here mirrors it operation for operation: min(a, cap)
 * is "cap < a ? cap : a", an overflowing power is infinity, and nothing is
 * reordered (the build disables floating-point contraction).
 */
#include "backoff.h"

#include <math.h>
#include <stdint.h>

/* The most jobs one call of next_run_times accepts. */
#define MAX_BATCH 10000000

enum jitter_kind { JITTER_NONE, JITTER_FULL, JITTER_EQUAL, JITTER_DECORR };

typedef struct {
    double first;
    double factor;
    double cap; /* meaningful only when has_cap */
    int has_cap;
    int jitter;
} policy;

static uint64_t
splitmix64(uint64_t *state)
{
    uint64_t z;

    *state += UINT64_C(0x9E3779B97F4A7C15);
    z = *state;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static double
unit_draw(uint64_t *state)
{
    return (double)(splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

/* Read a generator state: 0, or -1 with TypeError / ValueError. */
static int
read_state(PyObject *obj, uint64_t *out)
{
    if (!PyLong_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "state must be an int");
        return -1;
    }
    *out = PyLong_AsUnsignedLongLong(obj);
    if (*out == (uint64_t)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_SetString(PyExc_ValueError,
                        "state must be an integer from 0 to 2**64 - 1");
        return -1;
    }
    return 0;
}

/* Read an int or float as a double: 0, or -1 with TypeError naming what,
   or OverflowError for an int too large. */
static int
read_number(PyObject *obj, const char *what, double *out)
{
    if (!PyLong_Check(obj) && !PyFloat_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "%s must be a number", what);
        return -1;
    }
    *out = PyFloat_AsDouble(obj);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

/* Read a retry number (an int >= 1) as a double: 0, or -1 with an
   exception. A number too large for a double reads as infinity, as the
   twin's overflowing float() does. */
static int
read_retry_number(PyObject *obj, double *out)
{
    int overflow = 0;
    long long value;

    if (!PyLong_Check(obj)) {
        PyErr_SetString(PyExc_TypeError, "retry_number must be an int");
        return -1;
    }
    value = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (value == -1 && !overflow && PyErr_Occurred()) {
        return -1;
    }
    if (overflow < 0 || (!overflow && value < 1)) {
        PyErr_SetString(PyExc_ValueError, "retry_number must be at least 1");
        return -1;
    }
    if (!overflow) {
        *out = (double)value;
        return 0;
    }
    *out = PyLong_AsDouble(obj);
    if (*out == -1.0 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
        *out = INFINITY;
    }
    return 0;
}

/* Read first, factor and cap (None or a number), checked in the twin's
   order: 0, or -1 with an exception. */
static int
read_policy(PyObject *first, PyObject *factor, PyObject *cap, policy *p)
{
    if (read_number(first, "first", &p->first) < 0 ||
        read_number(factor, "factor", &p->factor) < 0) {
        return -1;
    }
    p->has_cap = cap != Py_None;
    if (p->has_cap && read_number(cap, "cap", &p->cap) < 0) {
        return -1;
    }
    if (!(p->first >= 0)) {
        PyErr_SetString(PyExc_ValueError, "first must be a number >= 0");
        return -1;
    }
    if (!(p->factor >= 1)) {
        PyErr_SetString(PyExc_ValueError, "factor must be a number >= 1");
        return -1;
    }
    if (p->has_cap && !(p->cap >= 0)) {
        PyErr_SetString(PyExc_ValueError,
                        "cap must be None or a number >= 0");
        return -1;
    }
    p->jitter = JITTER_NONE;
    return 0;
}

/* Read the jitter kind (an int from 0 to 3): 0, or -1 with ValueError. */
static int
read_jitter(PyObject *obj, policy *p)
{
    int overflow = 0;
    long kind = PyLong_Check(obj) ? PyLong_AsLongAndOverflow(obj, &overflow)
                                  : -1;

    if (kind == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || kind < JITTER_NONE || kind > JITTER_DECORR) {
        PyErr_SetString(PyExc_ValueError,
                        "jitter must be 0 (none), 1 (full), 2 (equal) or 3 "
                        "(decorrelated)");
        return -1;
    }
    p->jitter = (int)kind;
    return 0;
}

static double
capped(double value, const policy *p)
{
    return (p->has_cap && p->cap < value) ? p->cap : value;
}

static double
backoff(double number, const policy *p)
{
    double power;

    if (p->first == 0 || p->factor == 1) {
        return capped(p->first, p);
    }
    power = pow(p->factor, number - 1.0);
    if (isinf(power)) {
        return capped(INFINITY, p);
    }
    return capped(p->first * power, p);
}

static double
jittered(double number, double previous, const policy *p, uint64_t *state)
{
    double delay = backoff(number, p), u, half, tripled, high;

    if (p->jitter == JITTER_NONE) {
        return delay;
    }
    u = unit_draw(state);
    if (p->jitter == JITTER_FULL) {
        return u * delay;
    }
    if (p->jitter == JITTER_EQUAL) {
        half = delay / 2;
        return half + u * half;
    }
    tripled = previous * 3;
    high = tripled > p->first ? tripled : p->first;
    return capped(p->first + u * (high - p->first), p);
}

static int
check_nargs(const char *name, Py_ssize_t nargs, Py_ssize_t expected)
{
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes exactly %zd arguments (%zd given)", name,
                     expected, nargs);
        return -1;
    }
    return 0;
}

/* Return (float, int) as a new tuple, or NULL with an exception. */
static PyObject *
value_and_state(double value, uint64_t state)
{
    return Py_BuildValue("(dK)", value, (unsigned long long)state);
}

PyObject *
rqf_py_uniform(PyObject *module, PyObject *state_obj)
{
    uint64_t state;
    double u;

    if (read_state(state_obj, &state) < 0) {
        return NULL;
    }
    u = unit_draw(&state);
    return value_and_state(u, state);
}

PyObject *
rqf_py_backoff_delay(PyObject *module, PyObject *const *args,
                     Py_ssize_t nargs)
{
    double number;
    policy p;

    if (check_nargs("backoff_delay", nargs, 4) < 0 ||
        read_policy(args[1], args[2], args[3], &p) < 0 ||
        read_retry_number(args[0], &number) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(backoff(number, &p));
}

PyObject *
rqf_py_retry_delay(PyObject *module, PyObject *const *args,
                   Py_ssize_t nargs)
{
    uint64_t state;
    double previous, number, delay;
    policy p;

    if (check_nargs("retry_delay", nargs, 7) < 0 ||
        read_state(args[6], &state) < 0 ||
        read_number(args[1], "previous", &previous) < 0 ||
        read_policy(args[2], args[3], args[4], &p) < 0 ||
        read_jitter(args[5], &p) < 0 ||
        read_retry_number(args[0], &number) < 0) {
        return NULL;
    }
    delay = jittered(number, previous, &p, &state);
    return value_and_state(delay, state);
}

PyObject *
rqf_py_next_run_times(PyObject *module, PyObject *const *args,
                      Py_ssize_t nargs)
{
    PyObject *numbers = NULL, *previous = NULL, *times = NULL;
    PyObject *time_obj, *result = NULL;
    uint64_t state;
    double now, number, last;
    Py_ssize_t i, n;
    policy p;

    if (check_nargs("next_run_times", nargs, 8) < 0 ||
        read_state(args[7], &state) < 0 ||
        read_number(args[0], "now", &now) < 0 ||
        read_policy(args[3], args[4], args[5], &p) < 0 ||
        read_jitter(args[6], &p) < 0) {
        return NULL;
    }
    numbers = PySequence_Fast(args[1], "retry_numbers must be a sequence");
    if (numbers == NULL) {
        goto done;
    }
    previous = PySequence_Fast(args[2], "previous must be a sequence");
    if (previous == NULL) {
        goto done;
    }
    n = PySequence_Fast_GET_SIZE(numbers);
    if (n != PySequence_Fast_GET_SIZE(previous)) {
        PyErr_SetString(PyExc_ValueError,
                        "retry_numbers and previous must have the same "
                        "length");
        goto done;
    }
    if (n > MAX_BATCH) {
        PyErr_Format(PyExc_ValueError, "at most %d jobs per call",
                     MAX_BATCH);
        goto done;
    }

    times = PyList_New(n);
    if (times == NULL) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (read_retry_number(PySequence_Fast_GET_ITEM(numbers, i),
                              &number) < 0 ||
            read_number(PySequence_Fast_GET_ITEM(previous, i), "previous",
                        &last) < 0) {
            goto done;
        }
        time_obj = PyFloat_FromDouble(now + jittered(number, last, &p,
                                                     &state));
        if (time_obj == NULL) {
            goto done;
        }
        PyList_SET_ITEM(times, i, time_obj);
    }
    result = Py_BuildValue("(OK)", times, (unsigned long long)state);

done:
    Py_XDECREF(numbers);
    Py_XDECREF(previous);
    Py_XDECREF(times);
    return result;
}
