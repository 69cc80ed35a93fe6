/* A strict reader for the JSON lists of a job hash, and a writer for them.
 *
 * The reader accepts what json.loads() accepts and keeps only two shapes:
 * arrays of integers within int64 and arrays of strings. Whitespace is
 * JSON's four characters; numbers are JSON's grammar, and one with a
 * fraction or an exponent is a float, so the list is rejected. Strings
 * follow json.loads(): control characters are rejected, escaped surrogate
 * pairs are joined, lone escaped surrogates are kept. Input is bounded by
 * RQF_MAX_JSON_LEN (checked by the caller) and RQF_MAX_LIST_ITEMS; a string
 * element never grows while being unescaped, which sizes its buffer.
 *
 * The writer produces json.dumps()'s default text, "[1, 2]" and
 * '["a", "b"]', only where that text is certain; the rest is json.dumps'.
 */
#include "jsonlist.h"

#include <stdint.h>

/* The length of ", " between items. */
#define SEPARATOR_LEN 2

static inline int
is_json_space(Py_UCS4 c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static inline int
is_digit(Py_UCS4 c)
{
    return c >= '0' && c <= '9';
}

static const char *
skip_space(const char *p, const char *end)
{
    while (p < end && is_json_space((unsigned char)*p)) {
        p++;
    }
    return p;
}

/* Read a JSON integer at *pp into *out. Returns 1 and advances *pp, or 0
   when there is no integer there, it is a float, or it leaves int64. */
static int
read_int64(const char **pp, const char *end, long long *out)
{
    const char *p = *pp;
    unsigned long long value = 0;
    unsigned long long limit = (unsigned long long)INT64_MAX;
    int negative = 0;

    if (p < end && *p == '-') {
        negative = 1;
        limit += 1;
        p++;
    }
    if (p == end || !is_digit((unsigned char)*p)) {
        return 0;
    }
    if (*p == '0') {
        p++;
    }
    else {
        while (p < end && is_digit((unsigned char)*p)) {
            unsigned digit = (unsigned)(*p - '0');
            if (value > (limit - digit) / 10) {
                return 0;
            }
            value = value * 10 + digit;
            p++;
        }
    }
    if (p < end && (*p == '.' || *p == 'e' || *p == 'E')) {
        return 0;
    }
    if (negative) {
        *out = value == limit ? INT64_MIN : -(long long)value;
    }
    else {
        *out = (long long)value;
    }
    *pp = p;
    return 1;
}

int
rqf_json_int_list(const char *buf, Py_ssize_t len, PyObject **out)
{
    const char *p = buf, *end = buf + len;
    PyObject *list = NULL, *item;
    long long value;
    int status = 0;

    *out = NULL;
    p = skip_space(p, end);
    if (p == end || *p != '[') {
        return 0;
    }
    list = PyList_New(0);
    if (list == NULL) {
        return -1;
    }

    p = skip_space(p + 1, end);
    if (p < end && *p == ']') {
        p++;
    }
    else {
        for (;;) {
            if (!read_int64(&p, end, &value) ||
                PyList_GET_SIZE(list) >= RQF_MAX_LIST_ITEMS) {
                goto done;
            }
            item = PyLong_FromLongLong(value);
            if (item == NULL || PyList_Append(list, item) < 0) {
                Py_XDECREF(item);
                status = -1;
                goto done;
            }
            Py_DECREF(item);
            p = skip_space(p, end);
            if (p < end && *p == ']') {
                p++;
                break;
            }
            if (p == end || *p != ',') {
                goto done;
            }
            p = skip_space(p + 1, end);
        }
    }
    if (skip_space(p, end) == end) {
        *out = list;
        list = NULL;
        status = 1;
    }

done:
    Py_XDECREF(list);
    return status;
}

static int
hex_value(Py_UCS4 c)
{
    if (c >= '0' && c <= '9') {
        return (int)(c - '0');
    }
    if (c >= 'a' && c <= 'f') {
        return (int)(c - 'a' + 10);
    }
    if (c >= 'A' && c <= 'F') {
        return (int)(c - 'A' + 10);
    }
    return -1;
}

/* Read the four hex digits of a \u escape starting at i (before end).
   Returns the code unit, or -1. */
static long
read_hex4(int kind, const void *data, Py_ssize_t i, Py_ssize_t end)
{
    long unit = 0;
    int k, digit;

    if (end - i < 4) {
        return -1;
    }
    for (k = 0; k < 4; k++) {
        digit = hex_value(PyUnicode_READ(kind, data, i + k));
        if (digit < 0) {
            return -1;
        }
        unit = unit * 16 + digit;
    }
    return unit;
}

/* Unescape the body of a JSON string, text[start:end], which holds at
   least one backslash. Returns 1 with a new str in *out, 0 for a bad
   escape, -1 with an exception. */
static int
unescape(PyObject *text, Py_ssize_t start, Py_ssize_t end, PyObject **out)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 *chars, c;
    Py_ssize_t i = start, n = 0;
    long unit, low;
    int status = 0;

    chars = PyMem_Malloc((size_t)(end - start) * sizeof(Py_UCS4));
    if (chars == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    while (i < end) {
        c = PyUnicode_READ(kind, data, i);
        if (c != '\\') {
            chars[n++] = c;
            i++;
            continue;
        }
        if (i + 1 >= end) {
            goto done;
        }
        c = PyUnicode_READ(kind, data, i + 1);
        i += 2;
        switch (c) {
        case '"':
        case '\\':
        case '/':
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u':
            unit = read_hex4(kind, data, i, end);
            if (unit < 0) {
                goto done;
            }
            i += 4;
            c = (Py_UCS4)unit;
            if (Py_UNICODE_IS_HIGH_SURROGATE(c) && end - i >= 6 &&
                PyUnicode_READ(kind, data, i) == '\\' &&
                PyUnicode_READ(kind, data, i + 1) == 'u') {
                low = read_hex4(kind, data, i + 2, end);
                if (low >= 0 && Py_UNICODE_IS_LOW_SURROGATE((Py_UCS4)low)) {
                    c = Py_UNICODE_JOIN_SURROGATES(c, (Py_UCS4)low);
                    i += 6;
                }
            }
            break;
        default:
            goto done;
        }
        chars[n++] = c;
    }

    *out = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, chars, n);
    status = *out == NULL ? -1 : 1;

done:
    PyMem_Free(chars);
    return status;
}

/* Read the JSON string starting at the quote at *pos of text. Returns 1
   with a new str in *out and *pos past the closing quote, 0 when it is
   not a valid string, -1 with an exception. */
static int
read_string(PyObject *text, Py_ssize_t *pos, PyObject **out)
{
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    Py_ssize_t start = *pos + 1, i = start;
    int escaped = 0, status;
    Py_UCS4 c;

    for (;;) {
        if (i >= len) {
            return 0;
        }
        c = PyUnicode_READ(kind, data, i);
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            return 0;
        }
        if (c == '\\') {
            escaped = 1;
            i++;
        }
        i++;
    }

    if (escaped) {
        status = unescape(text, start, i, out);
    }
    else {
        *out = PyUnicode_Substring(text, start, i);
        status = *out == NULL ? -1 : 1;
    }
    if (status == 1) {
        *pos = i + 1;
    }
    return status;
}

static Py_ssize_t
skip_space_text(int kind, const void *data, Py_ssize_t i, Py_ssize_t len)
{
    while (i < len && is_json_space(PyUnicode_READ(kind, data, i))) {
        i++;
    }
    return i;
}

int
rqf_json_str_list(const char *buf, Py_ssize_t len, PyObject **out)
{
    PyObject *text, *list = NULL, *item = NULL;
    Py_ssize_t i, n;
    const void *data;
    int kind, status = 0, read;

    *out = NULL;
    text = PyUnicode_DecodeUTF8(buf, len, NULL);
    if (text == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    kind = PyUnicode_KIND(text);
    data = PyUnicode_DATA(text);
    n = PyUnicode_GET_LENGTH(text);

    i = skip_space_text(kind, data, 0, n);
    if (i == n || PyUnicode_READ(kind, data, i) != '[') {
        goto done;
    }
    list = PyList_New(0);
    if (list == NULL) {
        status = -1;
        goto done;
    }
    i = skip_space_text(kind, data, i + 1, n);
    if (i < n && PyUnicode_READ(kind, data, i) == ']') {
        i++;
    }
    else {
        for (;;) {
            if (i == n || PyUnicode_READ(kind, data, i) != '"' ||
                PyList_GET_SIZE(list) >= RQF_MAX_LIST_ITEMS) {
                goto done;
            }
            read = read_string(text, &i, &item);
            if (read <= 0) {
                status = read;
                goto done;
            }
            if (PyList_Append(list, item) < 0) {
                status = -1;
                goto done;
            }
            Py_CLEAR(item);
            i = skip_space_text(kind, data, i, n);
            if (i < n && PyUnicode_READ(kind, data, i) == ']') {
                i++;
                break;
            }
            if (i == n || PyUnicode_READ(kind, data, i) != ',') {
                goto done;
            }
            i = skip_space_text(kind, data, i + 1, n);
        }
    }
    if (skip_space_text(kind, data, i, n) == n) {
        *out = list;
        list = NULL;
        status = 1;
    }

done:
    Py_XDECREF(item);
    Py_XDECREF(list);
    Py_DECREF(text);
    return status;
}

/* json.dumps(list) for an exact list of exact ints within long long.
   Returns a new str; NULL with no exception when the list does not
   qualify; NULL with an exception on failure. */
static PyObject *
dump_int_list(PyObject *list)
{
    Py_ssize_t n = PyList_GET_SIZE(list), i;
    char *buf, *p;
    PyObject *item, *result = NULL;
    long long value;
    int overflow;

    if (n > (PY_SSIZE_T_MAX - 2) / (RQF_DECIMAL_MAX + SEPARATOR_LEN)) {
        return NULL;
    }
    buf = PyMem_Malloc((size_t)(n * (RQF_DECIMAL_MAX + SEPARATOR_LEN) + 2));
    if (buf == NULL) {
        return PyErr_NoMemory();
    }

    p = buf;
    *p++ = '[';
    for (i = 0; i < n; i++) {
        item = PyList_GET_ITEM(list, i);
        if (!PyLong_CheckExact(item)) {
            goto done;
        }
        value = PyLong_AsLongLongAndOverflow(item, &overflow);
        if (overflow) {
            goto done;
        }
        if (i > 0) {
            *p++ = ',';
            *p++ = ' ';
        }
        p = rqf_put_decimal(p, value);
    }
    *p++ = ']';
    result = PyUnicode_DecodeASCII(buf, p - buf, NULL);

done:
    PyMem_Free(buf);
    return result;
}

/* A string json.dumps writes as it is between quotes: printable ASCII
   without '"' or '\\'. */
static int
is_plain_string(PyObject *item)
{
    const Py_UCS1 *chars;
    Py_ssize_t n, i;

    if (!PyUnicode_CheckExact(item) || !PyUnicode_IS_ASCII(item)) {
        return 0;
    }
    chars = PyUnicode_1BYTE_DATA(item);
    n = PyUnicode_GET_LENGTH(item);
    for (i = 0; i < n; i++) {
        if (chars[i] < 0x20 || chars[i] > 0x7e || chars[i] == '"' ||
            chars[i] == '\\') {
            return 0;
        }
    }
    return 1;
}

/* json.dumps(list) for an exact list of plain strings; same returns as
   dump_int_list. */
static PyObject *
dump_str_list(PyObject *list)
{
    Py_ssize_t n = PyList_GET_SIZE(list), i, total = 2, len;
    PyObject *item, *result;
    Py_UCS1 *p;

    for (i = 0; i < n; i++) {
        item = PyList_GET_ITEM(list, i);
        if (!is_plain_string(item)) {
            return NULL;
        }
        len = PyUnicode_GET_LENGTH(item);
        if (len > PY_SSIZE_T_MAX / 2 - total - 4) {
            return NULL;
        }
        total += len + 2 + (i > 0 ? SEPARATOR_LEN : 0);
    }

    result = PyUnicode_New(total, 127);
    if (result == NULL) {
        return NULL;
    }
    p = PyUnicode_1BYTE_DATA(result);
    *p++ = '[';
    for (i = 0; i < n; i++) {
        item = PyList_GET_ITEM(list, i);
        len = PyUnicode_GET_LENGTH(item);
        if (i > 0) {
            *p++ = ',';
            *p++ = ' ';
        }
        *p++ = '"';
        memcpy(p, PyUnicode_1BYTE_DATA(item), (size_t)len);
        p += len;
        *p++ = '"';
    }
    *p = ']';
    return result;
}

PyObject *
rqf_json_dumps(rqf_state *st, PyObject *obj)
{
    PyObject *result = NULL;

    if (PyList_CheckExact(obj)) {
        if (PyList_GET_SIZE(obj) == 0 ||
            PyLong_CheckExact(PyList_GET_ITEM(obj, 0))) {
            result = dump_int_list(obj);
        }
        else {
            result = dump_str_list(obj);
        }
        if (result != NULL || PyErr_Occurred()) {
            return result;
        }
    }
    return PyObject_CallOneArg(st->json_dumps, obj);
}
