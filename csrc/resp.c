/* Packing a command in RESP for the worker's lifecycle script calls.
 *
 * hiredis.pack_command copies every argument into a string of its own and
 * formats each length with sprintf; a script call of some seventy arguments
 * spends most of its packing there. Here the arguments are measured in one
 * pass and written into the result in a second, numbers formatted by hand.
 * The bytes are those hiredis produces: "*<count>\r\n", then for each
 * argument "$<length>\r\n<bytes>\r\n", where a str is its UTF-8 and an int
 * or a float its repr(). Anything else is left to hiredis (see resp.h).
 */
#include "resp.h"

#include <string.h>

/* Room for the decimal digits of any 64-bit integer, a sign, and for the
   longest repr() of a double ("-2.2250738585072014e-308", 24 bytes). */
#define NUMBER_ROOM 32
/* Arguments measured on the stack; longer commands use the heap. */
#define STACK_ITEMS 96

typedef struct {
    const char *data;
    Py_ssize_t len;
    char number[NUMBER_ROOM];
} piece;

/* Count the decimal digits of a non-negative length. */
static Py_ssize_t
decimal_width(Py_ssize_t n)
{
    Py_ssize_t width = 1;

    while (n >= 10) {
        n /= 10;
        width++;
    }
    return width;
}

/* Point p at the bytes of item. 1 when done, 0 when the item is one hiredis
   must pack, -1 with an exception (none is expected: encoding failures are
   left to hiredis too). */
static int
measure(PyObject *item, piece *p)
{
    if (PyBytes_CheckExact(item)) {
        p->data = PyBytes_AS_STRING(item);
        p->len = PyBytes_GET_SIZE(item);
        return 1;
    }
    if (PyUnicode_Check(item)) {
        p->data = PyUnicode_AsUTF8AndSize(item, &p->len);
        if (p->data == NULL) {
            /* Lone surrogates: hiredis raises its own error for them. */
            PyErr_Clear();
            return 0;
        }
        return 1;
    }
    if (PyLong_CheckExact(item)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(item, &overflow);

        if (overflow != 0) {
            return 0;
        }
        if (v == -1 && PyErr_Occurred()) {
            return -1;
        }
        p->data = p->number;
        p->len = rqf_put_decimal(p->number, v) - p->number;
        return 1;
    }
    if (PyFloat_CheckExact(item)) {
        char *text = PyOS_double_to_string(PyFloat_AS_DOUBLE(item), 'r', 0,
                                           Py_DTSF_ADD_DOT_0, NULL);
        size_t len;

        if (text == NULL) {
            return -1;
        }
        len = strlen(text);
        if (len > NUMBER_ROOM) {
            PyMem_Free(text);
            return 0;
        }
        memcpy(p->number, text, len);
        PyMem_Free(text);
        p->data = p->number;
        p->len = (Py_ssize_t)len;
        return 1;
    }
    return 0;
}

/* Write "<prefix><n>\r\n" at out; return the end. */
static char *
write_header(char *out, char prefix, Py_ssize_t n)
{
    *out++ = prefix;
    out = rqf_put_decimal(out, (long long)n);
    *out++ = '\r';
    *out++ = '\n';
    return out;
}

PyObject *
rqf_py_pack_command(PyObject *module, PyObject *args)
{
    piece stack[STACK_ITEMS], *pieces = stack;
    Py_ssize_t count, i, total;
    PyObject *result = NULL;
    char *out;

    if (!PyTuple_Check(args)) {
        return rqf_type_error("pack_command() argument", "a tuple", args);
    }
    count = PyTuple_GET_SIZE(args);
    if (count > STACK_ITEMS) {
        pieces = PyMem_New(piece, count);
        if (pieces == NULL) {
            return PyErr_NoMemory();
        }
    }

    total = 1 + decimal_width(count) + 2;
    for (i = 0; i < count; i++) {
        int measured = measure(PyTuple_GET_ITEM(args, i), &pieces[i]);

        if (measured <= 0) {
            if (measured == 0) {
                result = Py_NewRef(Py_None);
            }
            goto done;
        }
        total += 1 + decimal_width(pieces[i].len) + 2 + pieces[i].len + 2;
    }

    result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL) {
        goto done;
    }
    out = write_header(PyBytes_AS_STRING(result), '*', count);
    for (i = 0; i < count; i++) {
        out = write_header(out, '$', pieces[i].len);
        memcpy(out, pieces[i].data, (size_t)pieces[i].len);
        out += pieces[i].len;
        *out++ = '\r';
        *out++ = '\n';
    }
    assert(out == PyBytes_AS_STRING(result) + total);

done:
    if (pieces != stack) {
        PyMem_Free(pieces);
    }
    return result;
}
