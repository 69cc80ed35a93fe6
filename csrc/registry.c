/* Registry scanning.
 *
 * An RQ registry is a sorted set whose members are a job id or, in the
 * started registry, "<job id>:<execution id>". Members come from Redis as
 * bytes (or str from a decoding client) and are decoded as strict UTF-8;
 * nothing about their length or content is trusted. Scores are Unix
 * seconds, and a member is due when 0 <= score <= deadline, which is the
 * range RQ itself queries. Each function takes a list or a tuple and walks
 * it once; the result lists are allocated at their final size.
 */
#include "registry.h"

/* The separator between a job id and an execution id. */
#define RQF_MEMBER_SEPARATOR ':'

static int
check_nargs(const char *name, Py_ssize_t expected, Py_ssize_t nargs)
{
    if (nargs != expected) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes exactly %zd argument%s (%zd given)", name,
                     expected, expected == 1 ? "" : "s", nargs);
        return -1;
    }
    return 0;
}

/* Return 0 when seq is a list or a tuple, else -1 with TypeError. */
static int
check_sequence(const char *what, PyObject *seq)
{
    if (!PyList_Check(seq) && !PyTuple_Check(seq)) {
        rqf_type_error(what, "a list or a tuple", seq);
        return -1;
    }
    return 0;
}

/* Return a member as a new str reference: bytes decoded as strict UTF-8,
   str as it is. NULL with TypeError or UnicodeDecodeError otherwise. */
static PyObject *
member_text(PyObject *member)
{
    if (PyBytes_Check(member)) {
        return PyUnicode_DecodeUTF8(PyBytes_AS_STRING(member),
                                    PyBytes_GET_SIZE(member), NULL);
    }
    if (PyUnicode_Check(member)) {
        return Py_NewRef(member);
    }
    return rqf_type_error("registry member", "bytes or str", member);
}

/* Return the index of the first separator in text, or -1 when there is
   none, or -2 with an exception. */
static Py_ssize_t
find_separator(PyObject *text, Py_ssize_t start)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(text);

    if (start >= length) {
        return -1;
    }
    return PyUnicode_FindChar(text, RQF_MEMBER_SEPARATOR, start, length, 1);
}

/* split_members(members): a list of (job_id, execution_id) str pairs;
   ValueError for a member holding more than one separator. */
PyObject *
rqf_py_split_members(PyObject *module, PyObject *const *args,
                     Py_ssize_t nargs)
{
    PyObject *members, *result, *text = NULL, *job_id = NULL;
    PyObject *execution_id = NULL, *pair;
    Py_ssize_t size, i, colon, second, length;

    if (check_nargs("split_members", 1, nargs) < 0) {
        return NULL;
    }
    members = args[0];
    if (check_sequence("members", members) < 0) {
        return NULL;
    }
    size = PySequence_Fast_GET_SIZE(members);
    result = PyList_New(size);
    if (result == NULL) {
        return NULL;
    }

    for (i = 0; i < size; i++) {
        text = member_text(PySequence_Fast_GET_ITEM(members, i));
        if (text == NULL) {
            goto error;
        }
        length = PyUnicode_GET_LENGTH(text);
        colon = find_separator(text, 0);
        if (colon == -2) {
            goto error;
        }
        if (colon == -1) {
            job_id = Py_NewRef(text);
            execution_id = PyUnicode_New(0, 0);
        }
        else {
            second = find_separator(text, colon + 1);
            if (second == -2) {
                goto error;
            }
            if (second >= 0) {
                PyErr_Format(PyExc_ValueError,
                             "registry member %R holds more than one ':'",
                             text);
                goto error;
            }
            job_id = PyUnicode_Substring(text, 0, colon);
            execution_id = PyUnicode_Substring(text, colon + 1, length);
        }
        if (job_id == NULL || execution_id == NULL) {
            goto error;
        }
        pair = PyTuple_Pack(2, job_id, execution_id);
        if (pair == NULL) {
            goto error;
        }
        PyList_SET_ITEM(result, i, pair);
        Py_CLEAR(job_id);
        Py_CLEAR(execution_id);
        Py_CLEAR(text);
    }
    return result;

error:
    Py_XDECREF(job_id);
    Py_XDECREF(execution_id);
    Py_XDECREF(text);
    Py_DECREF(result);
    return NULL;
}

/* member_job_ids(members): the text before the first separator of each
   member, as a list of str. */
PyObject *
rqf_py_member_job_ids(PyObject *module, PyObject *const *args,
                      Py_ssize_t nargs)
{
    PyObject *members, *result, *text = NULL, *job_id;
    Py_ssize_t size, i, colon;

    if (check_nargs("member_job_ids", 1, nargs) < 0) {
        return NULL;
    }
    members = args[0];
    if (check_sequence("members", members) < 0) {
        return NULL;
    }
    size = PySequence_Fast_GET_SIZE(members);
    result = PyList_New(size);
    if (result == NULL) {
        return NULL;
    }

    for (i = 0; i < size; i++) {
        text = member_text(PySequence_Fast_GET_ITEM(members, i));
        if (text == NULL) {
            goto error;
        }
        colon = find_separator(text, 0);
        if (colon == -2) {
            goto error;
        }
        job_id = colon == -1 ? Py_NewRef(text)
                             : PyUnicode_Substring(text, 0, colon);
        if (job_id == NULL) {
            goto error;
        }
        PyList_SET_ITEM(result, i, job_id);
        Py_CLEAR(text);
    }
    return result;

error:
    Py_XDECREF(text);
    Py_DECREF(result);
    return NULL;
}

/* Return 1 when every character of text is an ASCII letter, digit, '_'
   or '-' and there is at least one, else 0. Never fails. */
static int
is_valid_job_id(PyObject *text)
{
    Py_ssize_t length = PyUnicode_GET_LENGTH(text), i;
    const Py_UCS1 *chars;

    if (length == 0 || !PyUnicode_IS_ASCII(text)) {
        return 0;
    }
    chars = PyUnicode_1BYTE_DATA(text);
    for (i = 0; i < length; i++) {
        Py_UCS1 c = chars[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return 0;
        }
    }
    return 1;
}

/* Return 0 when job_id is valid, else -1 with RQ's TypeError or
   ValueError. */
static int
check_job_id(PyObject *job_id)
{
    if (!PyUnicode_Check(job_id)) {
        PyErr_Format(PyExc_TypeError, "Job ID must be a string, not %R",
                     (PyObject *)Py_TYPE(job_id));
        return -1;
    }
    if (!is_valid_job_id(job_id)) {
        PyErr_SetString(PyExc_ValueError,
                        "Job ID must only contain letters, numbers, "
                        "underscores and dashes");
        return -1;
    }
    return 0;
}

/* validate_job_id(job_id): None, or an exception as RQ raises it. */
PyObject *
rqf_py_validate_job_id(PyObject *module, PyObject *const *args,
                       Py_ssize_t nargs)
{
    if (check_nargs("validate_job_id", 1, nargs) < 0) {
        return NULL;
    }
    if (check_job_id(args[0]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* validate_job_ids(job_ids): None, or the exception of the first invalid
   id. */
PyObject *
rqf_py_validate_job_ids(PyObject *module, PyObject *const *args,
                        Py_ssize_t nargs)
{
    PyObject *job_ids;
    Py_ssize_t size, i;

    if (check_nargs("validate_job_ids", 1, nargs) < 0) {
        return NULL;
    }
    job_ids = args[0];
    if (check_sequence("job_ids", job_ids) < 0) {
        return NULL;
    }
    size = PySequence_Fast_GET_SIZE(job_ids);
    for (i = 0; i < size; i++) {
        if (check_job_id(PySequence_Fast_GET_ITEM(job_ids, i)) < 0) {
            return NULL;
        }
    }
    Py_RETURN_NONE;
}

/* Return 0 when number is an int or a float but not a bool, else -1 with
   TypeError. */
static int
check_number(const char *what, PyObject *number)
{
    if (PyBool_Check(number) ||
        !(PyLong_Check(number) || PyFloat_Check(number))) {
        rqf_type_error(what, "a number", number);
        return -1;
    }
    return 0;
}

/* Convert a number already accepted by check_number into *out.
   Returns 0, or -1 with OverflowError. */
static int
to_double(PyObject *number, double *out)
{
    *out = PyFloat_AsDouble(number);
    if (*out == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    return 0;
}

/* partition_by_deadline(scored, deadline): a tuple (due, rest) of lists of
   member str, due holding those with 0 <= score <= deadline, in order. */
PyObject *
rqf_py_partition_by_deadline(PyObject *module, PyObject *const *args,
                             Py_ssize_t nargs)
{
    PyObject *scored, *due = NULL, *rest = NULL, *text = NULL, *entry;
    PyObject *result = NULL;
    Py_ssize_t size, i;
    double limit, score;

    if (check_nargs("partition_by_deadline", 2, nargs) < 0) {
        return NULL;
    }
    scored = args[0];
    if (check_sequence("scored", scored) < 0) {
        return NULL;
    }
    if (check_number("deadline", args[1]) < 0 ||
        to_double(args[1], &limit) < 0) {
        return NULL;
    }
    due = PyList_New(0);
    if (due == NULL) {
        return NULL;
    }
    rest = PyList_New(0);
    if (rest == NULL) {
        goto done;
    }

    size = PySequence_Fast_GET_SIZE(scored);
    for (i = 0; i < size; i++) {
        entry = PySequence_Fast_GET_ITEM(scored, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2) {
            PyErr_SetString(PyExc_TypeError,
                            "scored entries must be (member, score) tuples");
            goto done;
        }
        /* The twin's order: the score's type, the member, then the
           score's value. */
        if (check_number("score", PyTuple_GET_ITEM(entry, 1)) < 0) {
            goto done;
        }
        text = member_text(PyTuple_GET_ITEM(entry, 0));
        if (text == NULL) {
            goto done;
        }
        if (to_double(PyTuple_GET_ITEM(entry, 1), &score) < 0) {
            goto done;
        }
        if (PyList_Append(score >= 0.0 && score <= limit ? due : rest,
                          text) < 0) {
            goto done;
        }
        Py_CLEAR(text);
    }
    result = PyTuple_Pack(2, due, rest);

done:
    Py_XDECREF(text);
    Py_XDECREF(rest);
    Py_DECREF(due);
    return result;
}
