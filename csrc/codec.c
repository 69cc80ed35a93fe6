/* Decoding and encoding RQ job hashes.
 *
 * Decoding reads HGETALL's mapping (bytes field names to bytes values; str
 * names are accepted too) in one pass: each known field name is found by
 * its length bucket and a memcmp, and its value is kept in a slot indexed
 * by enum rqf_field, later duplicates winning as in a dict. The fields are
 * then converted in a fixed order, the order of the pure-Python twin, so
 * that the first bad field is the one named by both. Every value is
 * untrusted: lengths are checked before parsing (RQF_MAX_TIMESTAMP_LEN,
 * RQF_MAX_INT_LEN, RQF_MAX_JSON_LEN), text must be UTF-8, and a bad value
 * raises JobHashError naming the field and quoting at most RQF_SHOWN_BYTES
 * bytes of it. Payloads that are not zlib streams are kept as they are.
 *
 * Encoding reads the job's attributes and builds the dict stock
 * Job.to_dict() builds, with the same keys in the same order. The caller
 * passes the compressed payload and exception text; timestamps and integer
 * lists are formatted here, everything else is the job's own objects or
 * its serializer's output.
 */
#include "codec.h"

#ifdef RQF_HAVE_ZLIB
#include <zlib.h>
#endif

#include "jsonlist.h"
#include "timestamp.h"

/* Field names as stored in Redis, indexed by enum rqf_field. */
static const char *const field_names[RQF_F_COUNT] = {
    "data",
    "created_at",
    "origin",
    "worker_name",
    "description",
    "group_id",
    "enqueued_at",
    "started_at",
    "ended_at",
    "last_heartbeat",
    "timeout",
    "result_ttl",
    "failure_ttl",
    "ttl",
    "number_of_retries",
    "retries_left",
    "repeats_left",
    "status",
    "success_callback_name",
    "failure_callback_name",
    "stopped_callback_name",
    "success_callback_timeout",
    "failure_callback_timeout",
    "stopped_callback_timeout",
    "dependency_ids",
    "dependency_id",
    "allow_dependency_failures",
    "enqueue_at_front",
    "enqueue_at_front_on_retry",
    "retry_intervals",
    "repeat_intervals",
    "exc_info",
    "result",
    "meta",
    "webhooks",
    "rqfast_retry",
    "rqfast_attempts",
};

/* The Job attribute each field is decoded into; NULL for none. */
static const char *const attr_names[RQF_F_COUNT] = {
    "_data",
    "created_at",
    "origin",
    "worker_name",
    "description",
    "group_id",
    "enqueued_at",
    "started_at",
    "ended_at",
    "last_heartbeat",
    "timeout",
    "result_ttl",
    "failure_ttl",
    "ttl",
    "number_of_retries",
    "retries_left",
    "repeats_left",
    "_status",
    "_success_callback_name",
    "_failure_callback_name",
    "_stopped_callback_name",
    "_success_callback_timeout",
    "_failure_callback_timeout",
    "_stopped_callback_timeout",
    "_dependency_ids",
    NULL,
    "allow_dependency_failures",
    "enqueue_at_front",
    "enqueue_at_front_on_retry",
    "retry_intervals",
    "repeat_intervals",
    "_exc_info",
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
};

static const char *const other_names[RQF_N_COUNT] = {
    "_result",
    "serializer",
    "webhooks",
    "meta",
    "dumps",
    "to_dict",
    "strftime",
    "items",
    "_func_name",
    "_instance",
    "_args",
    "_kwargs",
    "_rqfast_policy",
    "_rqfast_policy_raw",
    "_rqfast_attempts_raw",
    "_rqfast_zdata",
    "_rqfast_zexc",
    "encode",
    "__dict__",
    "data",
    "to_json",
};

/* Runs of fields decoded the same way, in decoding order. */
#define FIRST_TEXT RQF_F_ORIGIN
#define LAST_TEXT RQF_F_GROUP_ID
#define FIRST_TIME RQF_F_ENQUEUED_AT
#define LAST_TIME RQF_F_LAST_HEARTBEAT
#define FIRST_INT RQF_F_TIMEOUT
#define LAST_INT RQF_F_REPEATS_LEFT
#define FIRST_CALLBACK_NAME RQF_F_SUCCESS_CALLBACK_NAME
#define FIRST_CALLBACK_TIMEOUT RQF_F_SUCCESS_CALLBACK_TIMEOUT
#define CALLBACKS 3

/* Decoding */

/* The slot of a field name, or -1 for a name that is not a known field. */
static int
find_field(const rqf_state *st, const char *name, Py_ssize_t len)
{
    int i, field;

    if (len <= 0 || len > RQF_MAX_FIELD_NAME) {
        return -1;
    }
    for (i = st->len_start[len]; i < st->len_start[len + 1]; i++) {
        field = st->field_by_len[i];
        if (memcmp(field_names[field], name, (size_t)len) == 0) {
            return field;
        }
    }
    return -1;
}

/* Raise TypeError for a value that is not bytes, naming its key. */
static void
value_type_error(PyObject *key, PyObject *value)
{
    PyObject *name, *type_name;

    if (PyBytes_Check(key)) {
        name = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(key),
                                    PyBytes_GET_SIZE(key), "surrogateescape");
    }
    else {
        name = Py_NewRef(key);
    }
    if (name == NULL) {
        return;
    }
    type_name = rqf_type_name(value);
    if (type_name != NULL) {
        PyErr_Format(PyExc_TypeError,
                     "job hash field %R: expected bytes, not %U", name,
                     type_name);
        Py_DECREF(type_name);
    }
    Py_DECREF(name);
}

/* Check one key and value of the raw hash and keep the value in its slot
   (a new reference) when the key is a known field. 0, or -1 with an
   exception. */
static int
store_field(const rqf_state *st, PyObject *key, PyObject *value,
            PyObject **slots)
{
    const char *name = NULL;
    Py_ssize_t len = 0;
    int field;

    if (PyBytes_Check(key)) {
        name = PyBytes_AS_STRING(key);
        len = PyBytes_GET_SIZE(key);
    }
    else if (PyUnicode_Check(key)) {
        if (PyUnicode_IS_ASCII(key)) {
            name = (const char *)PyUnicode_1BYTE_DATA(key);
            len = PyUnicode_GET_LENGTH(key);
        }
    }
    else {
        rqf_type_error("job hash keys", "bytes or str", key);
        return -1;
    }
    if (!PyBytes_Check(value)) {
        value_type_error(key, value);
        return -1;
    }

    field = name == NULL ? -1 : find_field(st, name, len);
    if (field >= 0) {
        Py_XSETREF(slots[field], Py_NewRef(value));
    }
    return 0;
}

/* Fill slots from a mapping: a dict directly, anything else through its
   items(). 0, or -1 with an exception. */
static int
collect_fields(const rqf_state *st, PyObject *raw, PyObject **slots)
{
    PyObject *key, *value, *items = NULL, *iter = NULL, *pair = NULL;
    Py_ssize_t pos = 0;
    int status = -1;

    if (PyDict_CheckExact(raw)) {
        while (PyDict_Next(raw, &pos, &key, &value)) {
            if (store_field(st, key, value, slots) < 0) {
                return -1;
            }
        }
        return 0;
    }

    items = PyObject_CallMethodNoArgs(raw, st->names[RQF_N_ITEMS]);
    if (items == NULL) {
        goto done;
    }
    iter = PyObject_GetIter(items);
    if (iter == NULL) {
        goto done;
    }
    while ((pair = PyIter_Next(iter)) != NULL) {
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_ValueError,
                            "items() must yield (key, value) pairs");
            goto done;
        }
        if (store_field(st, PyTuple_GET_ITEM(pair, 0),
                        PyTuple_GET_ITEM(pair, 1), slots) < 0) {
            goto done;
        }
        Py_CLEAR(pair);
    }
    if (!PyErr_Occurred()) {
        status = 0;
    }

done:
    Py_XDECREF(pair);
    Py_XDECREF(iter);
    Py_XDECREF(items);
    return status;
}

/* Raise JobHashError(field, reason); reason is stolen and may be NULL when
   building it failed (its exception then stands). */
static void
raise_field_error(const rqf_state *st, int field, PyObject *reason)
{
    PyObject *error;

    if (reason == NULL) {
        return;
    }
    error = PyObject_CallFunctionObjArgs(st->job_hash_error,
                                         st->field_names[field], reason, NULL);
    Py_DECREF(reason);
    if (error != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(error), error);
        Py_DECREF(error);
    }
}

/* Raise JobHashError(field, "<what> <repr of the value's first bytes>"). */
static void
bad_value(const rqf_state *st, int field, const char *what, PyObject *value)
{
    PyObject *shown, *reason;

    shown = PyBytes_FromStringAndSize(
        PyBytes_AS_STRING(value),
        Py_MIN(PyBytes_GET_SIZE(value), RQF_SHOWN_BYTES));
    if (shown == NULL) {
        return;
    }
    reason = PyUnicode_FromFormat("%s %R", what, shown);
    Py_DECREF(shown);
    raise_field_error(st, field, reason);
}

static inline int
present(PyObject *value)
{
    return value != NULL && PyBytes_GET_SIZE(value) > 0;
}

/* The value as UTF-8 text: a new str, or NULL with JobHashError. */
static PyObject *
decode_text(const rqf_state *st, int field, PyObject *value)
{
    PyObject *text = PyUnicode_DecodeUTF8(PyBytes_AS_STRING(value),
                                          PyBytes_GET_SIZE(value), NULL);

    if (text == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
        PyErr_Clear();
        bad_value(st, field, "not valid UTF-8:", value);
    }
    return text;
}

/* The value as an aware UTC datetime, or NULL with JobHashError. */
static PyObject *
decode_timestamp(rqf_state *st, int field, PyObject *value)
{
    PyObject *parsed;
    int status;

    if (PyBytes_GET_SIZE(value) > RQF_MAX_TIMESTAMP_LEN) {
        raise_field_error(
            st, field,
            PyUnicode_FromFormat("timestamp longer than %d bytes",
                                 RQF_MAX_TIMESTAMP_LEN));
        return NULL;
    }
    status = rqf_parse_timestamp_bytes(st, PyBytes_AS_STRING(value),
                                       PyBytes_GET_SIZE(value), &parsed);
    if (status == 0) {
        bad_value(st, field, "invalid timestamp", value);
    }
    return parsed;
}

static inline int
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

static inline int
is_ascii_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The value as an int: ASCII blanks around an optional sign and decimal
   digits, single underscores between digits. A new int, or NULL with
   JobHashError. */
static PyObject *
decode_int(const rqf_state *st, int field, PyObject *value)
{
    const char *p = PyBytes_AS_STRING(value);
    Py_ssize_t len = PyBytes_GET_SIZE(value), i = 0;
    char text[RQF_MAX_INT_LEN + 1];
    int n = 0, digits = 0, negative = 0;
    long long small = 0;

    if (len > RQF_MAX_INT_LEN) {
        goto invalid;
    }
    while (i < len && is_blank(p[i])) {
        i++;
    }
    if (i < len && (p[i] == '+' || p[i] == '-')) {
        negative = p[i] == '-';
        i++;
    }
    if (i == len || !is_ascii_digit(p[i])) {
        goto invalid;
    }
    if (negative) {
        text[n++] = '-';
    }
    while (i < len) {
        if (is_ascii_digit(p[i])) {
            text[n++] = p[i];
            if (digits < 18) {
                small = small * 10 + (p[i] - '0');
            }
            digits++;
            i++;
        }
        else if (p[i] == '_' && i + 1 < len && is_ascii_digit(p[i + 1])) {
            i++;
        }
        else {
            break;
        }
    }
    while (i < len && is_blank(p[i])) {
        i++;
    }
    if (i != len) {
        goto invalid;
    }
    text[n] = '\0';

    /* Eighteen digits always fit a long long. */
    if (digits <= 18) {
        return PyLong_FromLongLong(negative ? -small : small);
    }
    return PyLong_FromString(text, NULL, 10);

invalid:
    bad_value(st, field, "invalid integer", value);
    return NULL;
}

/* bool(int(value)): a new reference to True or False, or NULL. */
static PyObject *
decode_flag(const rqf_state *st, int field, PyObject *value)
{
    PyObject *number = decode_int(st, field, value);
    int truth;

    if (number == NULL) {
        return NULL;
    }
    truth = PyObject_IsTrue(number);
    Py_DECREF(number);
    if (truth < 0) {
        return NULL;
    }
    return Py_NewRef(truth ? Py_True : Py_False);
}

/* The value as a JSON list of ints (ints) or strings; NULL with
   JobHashError. */
static PyObject *
decode_list(const rqf_state *st, int field, PyObject *value, int ints)
{
    PyObject *list;
    int status;

    if (PyBytes_GET_SIZE(value) > RQF_MAX_JSON_LEN) {
        raise_field_error(
            st, field,
            PyUnicode_FromFormat("JSON list longer than %d bytes",
                                 RQF_MAX_JSON_LEN));
        return NULL;
    }
    if (ints) {
        status = rqf_json_int_list(PyBytes_AS_STRING(value),
                                   PyBytes_GET_SIZE(value), &list);
    }
    else {
        status = rqf_json_str_list(PyBytes_AS_STRING(value),
                                   PyBytes_GET_SIZE(value), &list);
    }
    if (status == 0) {
        bad_value(st, field,
                  ints ? "expected a JSON list of integers:"
                       : "expected a JSON list of strings:",
                  value);
    }
    return list;
}

/* The status member named by the value, or NULL with JobHashError. */
static PyObject *
decode_status(const rqf_state *st, PyObject *value)
{
    Py_ssize_t i, n = PyTuple_GET_SIZE(st->status_values);
    Py_ssize_t len = PyBytes_GET_SIZE(value);
    PyObject *known, *text;

    for (i = 0; i < n; i++) {
        known = PyTuple_GET_ITEM(st->status_values, i);
        if (PyBytes_GET_SIZE(known) == len &&
            memcmp(PyBytes_AS_STRING(known), PyBytes_AS_STRING(value),
                   (size_t)len) == 0) {
            return Py_NewRef(PyTuple_GET_ITEM(st->status_members, i));
        }
    }
    /* Bad UTF-8 is reported as such before the status is called unknown. */
    text = decode_text(st, RQF_F_STATUS, value);
    if (text != NULL) {
        Py_DECREF(text);
        bad_value(st, RQF_F_STATUS, "unknown status", value);
    }
    return NULL;
}

#ifdef RQF_HAVE_ZLIB
/* The outcome of inflating a payload in C. */
enum inflated { INFLATED, NOT_ZLIB, ASK_PYTHON };

/* Inflate the zlib stream at in into out, which has room for
   RQF_INFLATE_STACK bytes, in one call and without Python objects; *size
   gets the length inflated. NOT_ZLIB when the bytes cannot be a complete
   zlib stream (zlib.decompress would raise zlib.error), ASK_PYTHON when
   the output does not fit, the input is too long or zlib runs out of
   memory: the caller then repeats the work with Python's zlib. */
static enum inflated
inflate_small(const char *in, Py_ssize_t len, unsigned char *out,
              Py_ssize_t *size)
{
    z_stream zs;
    int status;
    enum inflated outcome = ASK_PYTHON;

    if (len > RQF_INFLATE_MAX_INPUT) {
        return ASK_PYTHON;
    }
    memset(&zs, 0, sizeof(zs));
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = RQF_INFLATE_STACK;
    if (inflateInit(&zs) != Z_OK) {
        return ASK_PYTHON;
    }

    status = inflate(&zs, Z_FINISH);
    if (status == Z_STREAM_END) {
        /* Bytes after the end of the stream are ignored, as zlib.decompress
           ignores them. */
        *size = (Py_ssize_t)(RQF_INFLATE_STACK - zs.avail_out);
        outcome = INFLATED;
    }
    else if (status == Z_DATA_ERROR || status == Z_NEED_DICT ||
             (status == Z_BUF_ERROR && zs.avail_in == 0 &&
              zs.avail_out > 0)) {
        /* Corrupt, needing a dictionary, or truncated. */
        outcome = NOT_ZLIB;
    }
    inflateEnd(&zs);
    return outcome;
}
#endif

/* zlib.decompress(value), or value itself when it is not a zlib stream.
   A new reference, or NULL with an exception. Payloads whose output fits
   RQF_INFLATE_STACK bytes are inflated by zlib directly; larger ones, and
   every stream when the extension was built without zlib's header, go
   through Python's zlib module. */
static PyObject *
inflate_value(const rqf_state *st, PyObject *value)
{
    PyObject *inflated;

#ifdef RQF_HAVE_ZLIB
    unsigned char out[RQF_INFLATE_STACK];
    Py_ssize_t size = 0;

    switch (inflate_small(PyBytes_AS_STRING(value), PyBytes_GET_SIZE(value),
                          out, &size)) {
    case INFLATED:
        return PyBytes_FromStringAndSize((const char *)out, size);
    case NOT_ZLIB:
        return Py_NewRef(value);
    case ASK_PYTHON:
        break;
    }
#endif
    inflated = PyObject_CallOneArg(st->zlib_decompress, value);
    if (inflated == NULL && PyErr_ExceptionMatches(st->zlib_error)) {
        PyErr_Clear();
        return Py_NewRef(value);
    }
    return inflated;
}

/* values[field] = value, stealing value; NULL value means it failed.
   0, or -1 with an exception. */
static int
keep(PyObject **values, int field, PyObject *value)
{
    if (value == NULL) {
        return -1;
    }
    Py_XSETREF(values[field], value);
    return 0;
}

/* Convert the collected slots into attribute values (new references in
   values, indexed like slots; NULL for an attribute not assigned), in the
   twin's order. *zexc is set when exc_info was a zlib stream. 0, or -1
   with an exception. */
static int
decode_fields(rqf_state *st, PyObject **slots, PyObject **values,
              int *zexc)
{
    PyObject *value, *text, *list;
    int f;

    if (keep(values, RQF_F_DATA, inflate_value(st, slots[RQF_F_DATA])) < 0) {
        return -1;
    }
    value = slots[RQF_F_CREATED_AT];
    if (keep(values, RQF_F_CREATED_AT,
            present(value) ? decode_timestamp(st, RQF_F_CREATED_AT, value)
                           : rqf_utcnow(st)) < 0) {
        return -1;
    }
    for (f = FIRST_TEXT; f <= LAST_TEXT; f++) {
        value = slots[f];
        if (keep(values, f,
                present(value) ? decode_text(st, f, value)
                : f == RQF_F_ORIGIN ? Py_NewRef(st->empty_str)
                                    : Py_NewRef(Py_None)) < 0) {
            return -1;
        }
    }
    for (f = FIRST_TIME; f <= LAST_TIME; f++) {
        value = slots[f];
        if (keep(values, f,
                present(value) ? decode_timestamp(st, f, value)
                               : Py_NewRef(Py_None)) < 0) {
            return -1;
        }
    }
    for (f = FIRST_INT; f <= LAST_INT; f++) {
        value = slots[f];
        if (keep(values, f,
                present(value) ? decode_int(st, f, value)
                               : Py_NewRef(Py_None)) < 0) {
            return -1;
        }
    }
    value = slots[RQF_F_STATUS];
    if (keep(values, RQF_F_STATUS,
            present(value) ? decode_status(st, value)
                           : Py_NewRef(st->status_created)) < 0) {
        return -1;
    }

    for (f = FIRST_CALLBACK_NAME; f < FIRST_CALLBACK_NAME + CALLBACKS; f++) {
        if (present(slots[f]) &&
            keep(values, f, decode_text(st, f, slots[f])) < 0) {
            return -1;
        }
    }
    for (f = FIRST_CALLBACK_TIMEOUT; f < FIRST_CALLBACK_TIMEOUT + CALLBACKS;
         f++) {
        if (slots[f] != NULL &&
            keep(values, f, decode_int(st, f, slots[f])) < 0) {
            return -1;
        }
    }

    if (present(slots[RQF_F_DEPENDENCY_IDS])) {
        list = decode_list(st, RQF_F_DEPENDENCY_IDS,
                           slots[RQF_F_DEPENDENCY_IDS], 0);
    }
    else if (present(slots[RQF_F_DEPENDENCY_ID])) {
        text = decode_text(st, RQF_F_DEPENDENCY_ID,
                           slots[RQF_F_DEPENDENCY_ID]);
        list = text == NULL ? NULL : PyList_New(1);
        if (list != NULL) {
            PyList_SET_ITEM(list, 0, text);
        }
        else {
            Py_XDECREF(text);
        }
    }
    else {
        list = PyList_New(0);
    }
    if (keep(values, RQF_F_DEPENDENCY_IDS, list) < 0) {
        return -1;
    }

    value = slots[RQF_F_ALLOW_DEPENDENCY_FAILURES];
    if (keep(values, RQF_F_ALLOW_DEPENDENCY_FAILURES,
            present(value)
                ? decode_flag(st, RQF_F_ALLOW_DEPENDENCY_FAILURES, value)
                : Py_NewRef(Py_None)) < 0) {
        return -1;
    }
    value = slots[RQF_F_ENQUEUE_AT_FRONT];
    if (keep(values, RQF_F_ENQUEUE_AT_FRONT,
            value != NULL ? decode_flag(st, RQF_F_ENQUEUE_AT_FRONT, value)
                          : Py_NewRef(Py_None)) < 0) {
        return -1;
    }
    value = slots[RQF_F_ENQUEUE_AT_FRONT_ON_RETRY];
    if (keep(values, RQF_F_ENQUEUE_AT_FRONT_ON_RETRY,
            present(value)
                ? decode_flag(st, RQF_F_ENQUEUE_AT_FRONT_ON_RETRY, value)
                : Py_NewRef(Py_False)) < 0) {
        return -1;
    }

    for (f = RQF_F_RETRY_INTERVALS; f <= RQF_F_REPEAT_INTERVALS; f++) {
        if (present(slots[f]) &&
            keep(values, f, decode_list(st, f, slots[f], 1)) < 0) {
            return -1;
        }
    }

    value = slots[RQF_F_EXC_INFO];
    if (present(value)) {
        /* inflate_value() returns bytes, or the bytes it was given. */
        PyObject *inflated = inflate_value(st, value);
        if (inflated == NULL) {
            return -1;
        }
        *zexc = inflated != value;
        text = decode_text(st, RQF_F_EXC_INFO, inflated);
        Py_DECREF(inflated);
        if (keep(values, RQF_F_EXC_INFO, text) < 0) {
            return -1;
        }
    }
    return 0;
}

/* Collect and decode a raw hash into values (see decode_fields). 0, or -1
   with an exception; slots and values then hold what was made so far. */
static int
decode_hash(rqf_state *st, PyObject *raw, PyObject **slots,
            PyObject **values, int *zexc)
{
    if (collect_fields(st, raw, slots) < 0) {
        return -1;
    }
    if (slots[RQF_F_DATA] == NULL) {
        PyErr_SetString(st->no_such_job_error,
                        "job hash has no 'data' field");
        return -1;
    }
    return decode_fields(st, slots, values, zexc);
}

/* (result, meta, webhooks) as raw bytes or None: a new tuple, or NULL. */
static PyObject *
undecoded(PyObject **slots)
{
    PyObject *result = slots[RQF_F_RESULT], *meta = slots[RQF_F_META];
    PyObject *webhooks = slots[RQF_F_WEBHOOKS];

    return PyTuple_Pack(3, present(result) ? result : Py_None,
                        present(meta) ? meta : Py_None,
                        present(webhooks) ? webhooks : Py_None);
}

static void
release(PyObject **objects, int count)
{
    int i;

    for (i = 0; i < count; i++) {
        Py_XDECREF(objects[i]);
    }
}

PyObject *
rqf_py_decode_job_hash(PyObject *module, PyObject *raw)
{
    rqf_state *st = rqf_get_state(module);
    PyObject *slots[RQF_F_COUNT] = {NULL}, *values[RQF_F_COUNT] = {NULL};
    PyObject *attrs = NULL, *rest = NULL, *result = NULL;
    int f, zexc = 0;

    if (decode_hash(st, raw, slots, values, &zexc) < 0) {
        goto done;
    }
    attrs = PyDict_New();
    if (attrs == NULL) {
        goto done;
    }
    for (f = 0; f < RQF_F_COUNT; f++) {
        if (values[f] != NULL &&
            PyDict_SetItem(attrs, st->attr_names[f], values[f]) < 0) {
            goto done;
        }
    }
    rest = undecoded(slots);
    if (rest == NULL) {
        goto done;
    }
    result = PyTuple_Pack(4, attrs, PyTuple_GET_ITEM(rest, 0),
                          PyTuple_GET_ITEM(rest, 1),
                          PyTuple_GET_ITEM(rest, 2));

done:
    Py_XDECREF(rest);
    Py_XDECREF(attrs);
    release(values, RQF_F_COUNT);
    release(slots, RQF_F_COUNT);
    return result;
}

/* state[name] = (value, compressed) if compressed is true, else None.
   0, or -1 with an exception. */
static int
set_compressed(PyObject *state, PyObject *name, int compressed,
               PyObject *value, PyObject *raw)
{
    PyObject *pair;
    int status;

    if (!compressed) {
        return PyDict_SetItem(state, name, Py_None);
    }
    pair = PyTuple_Pack(2, value, raw);
    if (pair == NULL) {
        return -1;
    }
    status = PyDict_SetItem(state, name, pair);
    Py_DECREF(pair);
    return status;
}

/* Write a decoded hash into a Job's instance dict: the attributes stock
   restore assigns, the payload's deserialized parts reset to UNEVALUATED,
   rqfast's own fields and the compressed forms read. 0, or -1 with an
   exception (state may then be partly written). */
static int
write_state(rqf_state *st, PyObject **slots, PyObject **values, int zexc,
            PyObject *state)
{
    PyObject *const *names = st->names;
    PyObject *value;
    int f, n;

    for (f = 0; f < RQF_F_COUNT; f++) {
        if (values[f] != NULL &&
            PyDict_SetItem(state, st->attr_names[f], values[f]) < 0) {
            return -1;
        }
    }
    for (n = RQF_N_FUNC_NAME; n <= RQF_N_KWARGS; n++) {
        if (PyDict_SetItem(state, names[n], st->unevaluated) < 0) {
            return -1;
        }
    }
    if (PyDict_SetItem(state, names[RQF_N_POLICY], Py_None) < 0) {
        return -1;
    }
    value = slots[RQF_F_RQFAST_RETRY];
    if (PyDict_SetItem(state, names[RQF_N_POLICY_RAW],
                       value != NULL ? value : Py_None) < 0) {
        return -1;
    }
    value = slots[RQF_F_RQFAST_ATTEMPTS];
    if (PyDict_SetItem(state, names[RQF_N_ATTEMPTS_RAW],
                       value != NULL ? value : Py_None) < 0) {
        return -1;
    }

    /* A payload that was not a zlib stream comes back as the same object. */
    if (set_compressed(state, names[RQF_N_ZDATA],
                       values[RQF_F_DATA] != slots[RQF_F_DATA],
                       values[RQF_F_DATA], slots[RQF_F_DATA]) < 0) {
        return -1;
    }
    if (values[RQF_F_EXC_INFO] != NULL &&
        set_compressed(state, names[RQF_N_ZEXC], zexc,
                       values[RQF_F_EXC_INFO], slots[RQF_F_EXC_INFO]) < 0) {
        return -1;
    }
    return 0;
}

PyObject *
rqf_py_decode_job_state(PyObject *module, PyObject *const *args,
                        Py_ssize_t nargs)
{
    rqf_state *st = rqf_get_state(module);
    PyObject *slots[RQF_F_COUNT] = {NULL}, *values[RQF_F_COUNT] = {NULL};
    PyObject *result = NULL;
    int zexc = 0;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "decode_job_state() takes exactly 2 arguments "
                     "(%zd given)",
                     nargs);
        return NULL;
    }
    if (!PyDict_Check(args[1])) {
        return rqf_type_error("state", "a dict", args[1]);
    }

    if (decode_hash(st, args[0], slots, values, &zexc) < 0) {
        goto done;
    }
    result = undecoded(slots);
    if (result != NULL &&
        write_state(st, slots, values, zexc, args[1]) < 0) {
        Py_CLEAR(result);
    }

done:
    release(values, RQF_F_COUNT);
    release(slots, RQF_F_COUNT);
    return result;
}

/* Encoding */

/* dict[name] = value, stealing value; NULL value means it failed.
   0, or -1 with an exception. */
static int
put(PyObject *dict, PyObject *name, PyObject *value)
{
    int status;

    if (value == NULL) {
        return -1;
    }
    status = PyDict_SetItem(dict, name, value);
    Py_DECREF(value);
    return status;
}

/* When a step writes its key. */
enum when {
    ALWAYS,      /* always, the value as it is */
    OR_EMPTY,    /* always: the converted value if true, else "" */
    IF_NOT_NONE, /* when the value is not None */
    IF_TRUE,     /* when the value is true */
    SPECIAL      /* a rule of its own, in encode_special() */
};

/* How a step converts the value it writes. */
enum conversion {
    AS_IS,
    TIMESTAMP, /* utcformat() */
    JSON,      /* json.dumps() */
    INT        /* int() */
};

typedef struct {
    unsigned char field;
    unsigned char when;
    unsigned char conversion;
} step;

/* The keys of Job.to_dict(), in its order. */
static const step encode_steps[] = {
    {RQF_F_CREATED_AT, SPECIAL, AS_IS},
    {RQF_F_DATA, SPECIAL, AS_IS},
    {RQF_F_SUCCESS_CALLBACK_NAME, OR_EMPTY, AS_IS},
    {RQF_F_FAILURE_CALLBACK_NAME, OR_EMPTY, AS_IS},
    {RQF_F_STOPPED_CALLBACK_NAME, OR_EMPTY, AS_IS},
    {RQF_F_STARTED_AT, OR_EMPTY, TIMESTAMP},
    {RQF_F_ENDED_AT, OR_EMPTY, TIMESTAMP},
    {RQF_F_LAST_HEARTBEAT, OR_EMPTY, TIMESTAMP},
    {RQF_F_WORKER_NAME, OR_EMPTY, AS_IS},
    {RQF_F_GROUP_ID, OR_EMPTY, AS_IS},
    {RQF_F_NUMBER_OF_RETRIES, IF_NOT_NONE, AS_IS},
    {RQF_F_RETRIES_LEFT, IF_NOT_NONE, AS_IS},
    {RQF_F_RETRY_INTERVALS, IF_NOT_NONE, JSON},
    {RQF_F_ENQUEUE_AT_FRONT_ON_RETRY, IF_TRUE, INT},
    {RQF_F_ORIGIN, IF_TRUE, AS_IS},
    {RQF_F_DESCRIPTION, IF_NOT_NONE, AS_IS},
    {RQF_F_ENQUEUED_AT, IF_NOT_NONE, TIMESTAMP},
    {RQF_F_REPEATS_LEFT, IF_NOT_NONE, AS_IS},
    {RQF_F_REPEAT_INTERVALS, IF_NOT_NONE, JSON},
    {RQF_F_RESULT, SPECIAL, AS_IS},
    {RQF_F_EXC_INFO, SPECIAL, AS_IS},
    {RQF_F_TIMEOUT, IF_NOT_NONE, AS_IS},
    {RQF_F_SUCCESS_CALLBACK_TIMEOUT, IF_NOT_NONE, AS_IS},
    {RQF_F_FAILURE_CALLBACK_TIMEOUT, IF_NOT_NONE, AS_IS},
    {RQF_F_STOPPED_CALLBACK_TIMEOUT, IF_NOT_NONE, AS_IS},
    {RQF_F_WEBHOOKS, SPECIAL, AS_IS},
    {RQF_F_RESULT_TTL, IF_NOT_NONE, AS_IS},
    {RQF_F_FAILURE_TTL, IF_NOT_NONE, AS_IS},
    {RQF_F_STATUS, ALWAYS, AS_IS},
    {RQF_F_DEPENDENCY_IDS, SPECIAL, AS_IS},
    {RQF_F_META, SPECIAL, AS_IS},
    {RQF_F_TTL, IF_TRUE, AS_IS},
    {RQF_F_ALLOW_DEPENDENCY_FAILURES, IF_NOT_NONE, INT},
    {RQF_F_ENQUEUE_AT_FRONT, IF_NOT_NONE, INT},
};

#define ENCODE_STEPS (sizeof(encode_steps) / sizeof(encode_steps[0]))

/* Each step writes at most one key, dependency_ids two, and rqfast adds
   two of its own. */
_Static_assert(ENCODE_STEPS + 1 + 2 <= RQF_ENCODED_KEYS,
               "RQF_ENCODED_KEYS is too small for the encoder's keys");

/* The arguments of encode_job_hash(), in order. */
enum { ARG_JOB, ARG_DATA, ARG_EXC_INFO, ARG_META, ARG_RESULT, ARGS };

static const char *const arg_names[ARGS] = {
    "job", "data", "exc_info", "include_meta", "include_result",
};

/* The parameters of a function taking some of the arguments above: its
   name, their indexes in order, and how many are required (the optional
   flags default to True). */
typedef struct {
    const char *function;
    int count;
    int required;
    int args[ARGS];
} signature;

static const signature encode_hash_signature = {
    "encode_job_hash", 5, 3,
    {ARG_JOB, ARG_DATA, ARG_EXC_INFO, ARG_META, ARG_RESULT},
};

static const signature encode_state_signature = {
    "encode_job_state", 3, 1, {ARG_JOB, ARG_META, ARG_RESULT},
};

/* Match vectorcall arguments to sig's parameters, storing borrowed
   references in out (indexed by ARG_*; unused ones NULL). 0, or -1 with
   TypeError. */
static int
parse_encode_args(const signature *sig, PyObject *const *args,
                  Py_ssize_t nargs, PyObject *kwnames, PyObject **out)
{
    Py_ssize_t i, nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    int k;

    if (nargs > sig->count) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes at most %d arguments (%zd given)",
                     sig->function, sig->count, nargs);
        return -1;
    }
    for (k = 0; k < ARGS; k++) {
        out[k] = NULL;
    }
    for (k = 0; k < nargs; k++) {
        out[sig->args[k]] = args[k];
    }
    for (i = 0; i < nkw; i++) {
        PyObject *keyword = PyTuple_GET_ITEM(kwnames, i);
        const char *name = NULL;
        for (k = 0; k < sig->count; k++) {
            name = arg_names[sig->args[k]];
            if (PyUnicode_CompareWithASCIIString(keyword, name) == 0) {
                break;
            }
        }
        if (k == sig->count) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got an unexpected keyword argument %R",
                         sig->function, keyword);
            return -1;
        }
        if (out[sig->args[k]] != NULL) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got multiple values for argument '%s'",
                         sig->function, name);
            return -1;
        }
        out[sig->args[k]] = args[nargs + i];
    }
    for (k = 0; k < sig->count; k++) {
        if (out[sig->args[k]] != NULL) {
            continue;
        }
        if (k < sig->required) {
            PyErr_Format(PyExc_TypeError,
                         "%s() missing required argument '%s'",
                         sig->function, arg_names[sig->args[k]]);
            return -1;
        }
        out[sig->args[k]] = Py_True;
    }
    return 0;
}

/* Return converted value as a new reference, or NULL. */
static PyObject *
convert(rqf_state *st, PyObject *value, int conversion)
{
    switch (conversion) {
    case TIMESTAMP:
        return rqf_utcformat(st, value);
    case JSON:
        return rqf_json_dumps(st, value);
    case INT:
        return PyNumber_Long(value);
    default:
        return Py_NewRef(value);
    }
}

/* Reading the job's attributes.
 *
 * Stock to_dict() reads about 35 attributes of the job, nearly all plain
 * values in its instance dict. Where the interpreter allows it (the GIL
 * builds of CPython 3.10 to 3.13, whose _PyType_Lookup is exported), a read
 * goes straight to the instance dict when the job's type looks attributes
 * up generically and has no data descriptor (a property, a slot) of that
 * name anywhere in its MRO: getattr() would then return the dict's value
 * too. A name missing from the dict, and every read elsewhere, goes
 * through PyObject_GetAttr. What the type allows is worked out once per
 * type and version tag (RQF_PLAIN_TYPES types are remembered).
 */
#if !defined(Py_GIL_DISABLED) && PY_VERSION_HEX >= 0x030A0000 &&           \
    PY_VERSION_HEX < 0x030E0000
#define HAVE_PLAIN_READS 1
#endif

/* Bit of an encoder read in a plain mask: a field's attribute is its
   field's bit, one of the other names RQF_F_COUNT past its index. */
#define NAME_BIT(n) (RQF_F_COUNT + (n))

#if RQF_F_COUNT + RQF_N_COUNT > 64
#error "the plain-read mask holds at most 64 names"
#endif

typedef struct {
    PyObject *job;
    PyObject *dict;  /* the job's instance dict, or NULL: all by getattr */
    uint64_t plain;  /* the reads that may come from dict */
} reader;

/* The name read_attr() reads for a bit; NULL for a bit never read. */
static PyObject *
read_name(const rqf_state *st, int bit)
{
    return bit < RQF_F_COUNT ? st->attr_names[bit]
                             : st->names[bit - RQF_F_COUNT];
}

#ifdef HAVE_PLAIN_READS
/* The plain mask of type, worked out now: no bit when the type does not
   look attributes up generically or its instances have no dict. */
static uint64_t
find_plain_reads(const rqf_state *st, PyTypeObject *type)
{
    PyObject *name, *descr;
    uint64_t plain = 0;
    int bit;

    if (type->tp_getattro != PyObject_GenericGetAttr ||
        type->tp_dictoffset == 0) {
        return 0;
    }
    for (bit = 0; bit < RQF_F_COUNT + RQF_N_COUNT; bit++) {
        name = read_name(st, bit);
        if (name == NULL) {
            continue;
        }
        /* A borrowed reference or NULL; it raises nothing. */
        descr = _PyType_Lookup(type, name);
        if (descr == NULL || Py_TYPE(descr)->tp_descr_set == NULL) {
            plain |= (uint64_t)1 << bit;
        }
    }
    return plain;
}
#endif

#ifdef HAVE_PLAIN_READS
/* The plain mask of type: a remembered one while the type's version tag
   is unchanged, else one worked out now (and remembered when the type has
   a version tag, which the lookups assign if they can). */
static uint64_t
plain_reads(rqf_state *st, PyTypeObject *type)
{
    rqf_plain_type *entry;
    uint64_t plain;
    int i;

    for (i = 0; i < RQF_PLAIN_TYPES; i++) {
        entry = &st->plain_types[i];
        if (entry->type == (PyObject *)type && entry->version != 0 &&
            entry->version == type->tp_version_tag) {
            return entry->plain;
        }
    }

    plain = find_plain_reads(st, type);
    if (type->tp_version_tag != 0) {
        entry = &st->plain_types[st->next_plain_type];
        st->next_plain_type = (st->next_plain_type + 1) % RQF_PLAIN_TYPES;
        Py_XSETREF(entry->type, Py_NewRef((PyObject *)type));
        entry->version = type->tp_version_tag;
        entry->plain = plain;
    }
    return plain;
}
#endif

/* Prepare to read job's attributes: its instance dict (a new reference)
   and plain mask in *r, or no dict when every read must go through
   getattr. 0, or -1 with an exception. */
static int
open_reader(rqf_state *st, PyObject *job, reader *r)
{
    r->job = job;
    r->dict = NULL;
    r->plain = 0;
#ifdef HAVE_PLAIN_READS
    r->plain = plain_reads(st, Py_TYPE(job));
    if (r->plain == 0) {
        return 0;
    }
    r->dict = PyObject_GenericGetDict(job, NULL);
    if (r->dict == NULL) {
        r->plain = 0;
        return -1;
    }
    if (!PyDict_Check(r->dict)) {
        Py_CLEAR(r->dict);
        r->plain = 0;
    }
#endif
    return 0;
}

/* job.<name of bit> as a new reference, or NULL with an exception. */
static PyObject *
read_attr(const rqf_state *st, const reader *r, int bit)
{
    PyObject *name = read_name(st, bit), *value;

    if (r->plain >> bit & 1) {
        value = PyDict_GetItemWithError(r->dict, name);
        if (value != NULL) {
            return Py_NewRef(value);
        }
        if (PyErr_Occurred()) {
            return NULL;
        }
    }
    return PyObject_GetAttr(r->job, name);
}

/* Is the attribute true (1), false (0), or failing (-1)? On 0 and 1,
   *value is the attribute (a new reference). */
static int
read_truth(const rqf_state *st, const reader *r, int bit, PyObject **value)
{
    int truth;

    *value = read_attr(st, r, bit);
    if (*value == NULL) {
        return -1;
    }
    truth = PyObject_IsTrue(*value);
    if (truth < 0) {
        Py_CLEAR(*value);
    }
    return truth;
}

/* Encoding steps */

/* Apply one ordinary step: read the attribute, test it, write the key.
   0, or -1 with an exception. */
static int
encode_step(rqf_state *st, const reader *r, PyObject *obj, const step *s)
{
    PyObject *key = st->field_names[s->field];
    PyObject *value = read_attr(st, r, s->field);
    int truth, status = -1;

    if (value == NULL) {
        return -1;
    }
    if (s->when == ALWAYS || s->when == IF_NOT_NONE) {
        truth = value != Py_None || s->when == ALWAYS;
    }
    else {
        truth = PyObject_IsTrue(value);
        if (truth < 0) {
            goto done;
        }
    }

    if (truth) {
        status = put(obj, key, convert(st, value, s->conversion));
    }
    else if (s->when == OR_EMPTY) {
        status = PyDict_SetItem(obj, key, st->empty_str);
    }
    else {
        status = 0;
    }

done:
    Py_DECREF(value);
    return status;
}

/* job.serializer.dumps(value) as a new reference, or NULL. RQ's default
   serializer, partial(pickle.dumps, protocol=HIGHEST_PROTOCOL), is
   unwrapped: pickle.dumps is called with the partial's own arguments. A
   partial rebuilt in place by __setstate__ would not be noticed; one whose
   keywords were changed is. */
static PyObject *
serialize(rqf_state *st, const reader *r, PyObject *value)
{
    PyObject *serializer, *dumps, *dumped;

    serializer = read_attr(st, r, NAME_BIT(RQF_N_SERIALIZER));
    if (serializer == NULL) {
        return NULL;
    }
    dumps = PyObject_GetAttr(serializer, st->names[RQF_N_DUMPS]);
    Py_DECREF(serializer);
    if (dumps == NULL) {
        return NULL;
    }
    if (dumps == st->default_dumps && rqf_default_keywords_intact(st)) {
        PyObject *args[2] = {value, st->pickle_protocol};
        dumped = PyObject_Vectorcall(st->pickle_dumps, args, 1,
                                     st->protocol_kwnames);
    }
    else {
        dumped = PyObject_CallOneArg(dumps, value);
    }
    Py_DECREF(dumps);
    return dumped;
}

/* json.dumps([webhook.to_dict() for webhook in webhooks]), or NULL. */
static PyObject *
dump_webhooks(rqf_state *st, PyObject *webhooks)
{
    PyObject *iter, *item, *dicts, *dumped = NULL;

    dicts = PyList_New(0);
    if (dicts == NULL) {
        return NULL;
    }
    iter = PyObject_GetIter(webhooks);
    if (iter == NULL) {
        goto done;
    }
    while ((item = PyIter_Next(iter)) != NULL) {
        PyObject *dict =
            PyObject_CallMethodNoArgs(item, st->names[RQF_N_TO_DICT]);
        Py_DECREF(item);
        if (dict == NULL || PyList_Append(dicts, dict) < 0) {
            Py_XDECREF(dict);
            goto done;
        }
        Py_DECREF(dict);
    }
    if (!PyErr_Occurred()) {
        dumped = PyObject_CallOneArg(st->json_dumps, dicts);
    }

done:
    Py_XDECREF(iter);
    Py_DECREF(dicts);
    return dumped;
}

/* Apply a step with a rule of its own. 0, or -1 with an exception. */
static int
encode_special(rqf_state *st, const reader *r, PyObject *const *args,
               PyObject *obj, int field)
{
    PyObject *key = st->field_names[field];
    PyObject *value = NULL, *out;
    int truth, status = -1;

    switch (field) {
    case RQF_F_CREATED_AT:
        truth = read_truth(st, r, field, &value);
        if (truth < 0) {
            return -1;
        }
        if (truth) {
            status = put(obj, key, rqf_utcformat(st, value));
        }
        else {
            PyObject *now = rqf_utcnow(st);
            status = now == NULL ? -1 : put(obj, key, rqf_utcformat(st, now));
            Py_XDECREF(now);
        }
        break;

    case RQF_F_DATA:
        return PyDict_SetItem(obj, key, args[ARG_DATA]);

    case RQF_F_RESULT:
        value = read_attr(st, r, NAME_BIT(RQF_N_RESULT));
        if (value == NULL) {
            return -1;
        }
        truth = value == Py_None ? 0 : PyObject_IsTrue(args[ARG_RESULT]);
        if (truth <= 0) {
            status = truth;
            break;
        }
        out = serialize(st, r, value);
        if (out == NULL && PyErr_ExceptionMatches(PyExc_Exception)) {
            PyErr_Clear();
            out = Py_NewRef(st->unserializable);
        }
        status = put(obj, key, out);
        break;

    case RQF_F_EXC_INFO:
        if (args[ARG_EXC_INFO] == Py_None) {
            return 0;
        }
        truth = PyObject_IsTrue(args[ARG_RESULT]);
        if (truth <= 0) {
            return truth;
        }
        return PyDict_SetItem(obj, key, args[ARG_EXC_INFO]);

    case RQF_F_WEBHOOKS:
        truth = read_truth(st, r, NAME_BIT(RQF_N_WEBHOOKS), &value);
        status = truth <= 0 ? truth : put(obj, key, dump_webhooks(st, value));
        break;

    case RQF_F_DEPENDENCY_IDS:
        truth = read_truth(st, r, field, &value);
        if (truth <= 0) {
            return truth;
        }
        if (PyList_CheckExact(value)) {
            out = Py_NewRef(PyList_GET_ITEM(value, 0));
        }
        else {
            PyObject *zero = PyLong_FromLong(0);
            out = zero == NULL ? NULL : PyObject_GetItem(value, zero);
            Py_XDECREF(zero);
        }
        if (put(obj, st->field_names[RQF_F_DEPENDENCY_ID], out) == 0) {
            status = put(obj, key, rqf_json_dumps(st, value));
        }
        break;

    case RQF_F_META:
        truth = read_truth(st, r, NAME_BIT(RQF_N_META), &value);
        if (truth > 0) {
            truth = PyObject_IsTrue(args[ARG_META]);
        }
        status = truth <= 0 ? truth : put(obj, key, serialize(st, r, value));
        break;
    }

    Py_XDECREF(value);
    return status;
}

/* A new empty dict with room for entries keys. */
static PyObject *
presized_dict(Py_ssize_t entries)
{
#if PY_VERSION_HEX >= 0x030A0000 && PY_VERSION_HEX < 0x030E0000
    return _PyDict_NewPresized(entries);
#else
    (void)entries;
    return PyDict_New();
#endif
}

/* Build the mapping stock to_dict() returns from params (indexed by
   ARG_*), reading the job through r. A new dict, or NULL. */
static PyObject *
encode_hash(rqf_state *st, const reader *r, PyObject *const *params)
{
    PyObject *obj = presized_dict(RQF_ENCODED_KEYS);
    size_t i;
    int status;

    if (obj == NULL) {
        return NULL;
    }
    for (i = 0; i < ENCODE_STEPS; i++) {
        const step *s = &encode_steps[i];
        if (s->when == SPECIAL) {
            status = encode_special(st, r, params, obj, s->field);
        }
        else {
            status = encode_step(st, r, obj, s);
        }
        if (status < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

PyObject *
rqf_py_encode_job_hash(PyObject *module, PyObject *const *args,
                       Py_ssize_t nargs, PyObject *kwnames)
{
    rqf_state *st = rqf_get_state(module);
    PyObject *params[ARGS], *obj;
    reader r;

    if (parse_encode_args(&encode_hash_signature, args, nargs, kwnames,
                          params) < 0 ||
        open_reader(st, params[ARG_JOB], &r) < 0) {
        return NULL;
    }
    obj = encode_hash(st, &r, params);
    Py_XDECREF(r.dict);
    return obj;
}

/* Compressing */

#ifdef RQF_HAVE_ZLIB
/* The memory level Python's zlib module deflates with: 8, or zlib's
   maximum when that is lower. */
#if MAX_MEM_LEVEL >= 8
#define DEFLATE_MEM_LEVEL 8
#else
#define DEFLATE_MEM_LEVEL MAX_MEM_LEVEL
#endif

/* Make the kept z_stream and its output buffer, sized for the longest
   payload deflated here. 0, or -1 when zlib or memory refused (no
   exception set: direct deflating is then off for good, and the caller
   falls back to Python's zlib). */
static int
open_deflater(rqf_state *st)
{
    z_stream *zs = PyMem_Calloc(1, sizeof(z_stream));

    if (zs == NULL) {
        return -1;
    }
    if (deflateInit2(zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, MAX_WBITS,
                     DEFLATE_MEM_LEVEL, Z_DEFAULT_STRATEGY) != Z_OK) {
        PyMem_Free(zs);
        st->direct_deflate = 0;
        return -1;
    }
    st->deflate_out = PyMem_Malloc(deflateBound(zs, RQF_DEFLATE_MAX_INPUT));
    if (st->deflate_out == NULL) {
        deflateEnd(zs);
        PyMem_Free(zs);
        st->direct_deflate = 0;
        return -1;
    }
    st->deflater = zs;
    return 0;
}
#endif

void
rqf_deflate_clear(rqf_state *st)
{
#ifdef RQF_HAVE_ZLIB
    if (st->deflater != NULL) {
        deflateEnd((z_stream *)st->deflater);
        PyMem_Free(st->deflater);
        st->deflater = NULL;
    }
#endif
    PyMem_Free(st->deflate_out);
    st->deflate_out = NULL;
}

/* zlib.compress(data): a new bytes object, or NULL with an exception.
   Bytes of at most RQF_DEFLATE_MAX_INPUT are deflated here with the kept
   z_stream, at zlib.compress()'s level, window and memory level, in one
   deflate() call into a buffer of deflateBound() bytes; deflateReset()
   then makes the stream as new, so the output is zlib.compress()'s own.
   Anything else, and any failure of zlib here, goes to Python's zlib. */
static PyObject *
compress_payload(rqf_state *st, PyObject *data)
{
#ifdef RQF_HAVE_ZLIB
    if (st->direct_deflate && PyBytes_CheckExact(data) &&
        PyBytes_GET_SIZE(data) <= RQF_DEFLATE_MAX_INPUT &&
        (st->deflater != NULL || open_deflater(st) == 0)) {
        z_stream *zs = st->deflater;
        int status, reset;
        uLong produced;

        zs->next_in = (Bytef *)PyBytes_AS_STRING(data);
        zs->avail_in = (uInt)PyBytes_GET_SIZE(data);
        zs->next_out = st->deflate_out;
        zs->avail_out = (uInt)deflateBound(zs, RQF_DEFLATE_MAX_INPUT);
        status = deflate(zs, Z_FINISH);
        produced = zs->total_out;
        reset = deflateReset(zs);
        if (reset != Z_OK) {
            /* Never again: the stream is in an unknown state. */
            st->direct_deflate = 0;
            rqf_deflate_clear(st);
        }
        else if (status == Z_STREAM_END) {
            return PyBytes_FromStringAndSize((const char *)st->deflate_out,
                                             (Py_ssize_t)produced);
        }
    }
#endif
    return PyObject_CallOneArg(st->zlib_compress, data);
}

int
rqf_deflate_init(rqf_state *st, PyObject *module)
{
    st->direct_deflate = 0;
#if defined(RQF_HAVE_ZLIB) && !defined(Py_GIL_DISABLED)
    {
        PyObject *zlib = PyImport_ImportModule("zlib"), *version;
        int same;

        if (zlib == NULL) {
            return -1;
        }
        version = PyObject_GetAttrString(zlib, "ZLIB_RUNTIME_VERSION");
        Py_DECREF(zlib);
        if (version == NULL) {
            return -1;
        }
        same = PyUnicode_Check(version) &&
               PyUnicode_CompareWithASCIIString(version, zlibVersion()) == 0;
        Py_DECREF(version);
        st->direct_deflate = same;
    }
#endif
    return PyModule_AddObjectRef(module, "direct_deflate",
                                 st->direct_deflate ? Py_True : Py_False);
}

PyObject *
rqf_py_compress(PyObject *module, PyObject *data)
{
    return compress_payload(rqf_get_state(module), data);
}

/* Encoding a job as rqfast's Job.to_dict() does */

/* str(value).encode("utf-8"): a new reference, or NULL. A str is encoded
   here, a subclass through its own encode(). */
static PyObject *
text_utf8(PyObject *value)
{
    PyObject *text = PyObject_Str(value), *encoded;

    if (text == NULL) {
        return NULL;
    }
    if (PyUnicode_CheckExact(text)) {
        encoded = PyUnicode_AsUTF8String(text);
    }
    else {
        encoded = PyObject_CallMethod(text, "encode", "s", "utf-8");
    }
    Py_DECREF(text);
    return encoded;
}

/* The compressed form of value (of str(value) in UTF-8 when text is set):
   state[name][1] when state[name] is a pair (value, compressed) for this
   very object, else newly compressed and stored there as such a pair. A
   new reference, or NULL with an exception. */
static PyObject *
compressed_form(rqf_state *st, PyObject *state, PyObject *name,
                PyObject *value, int text)
{
    PyObject *cached, *input, *compressed, *pair;
    int status;

    cached = PyDict_GetItemWithError(state, name);
    if (cached == NULL && PyErr_Occurred()) {
        return NULL;
    }
    if (cached != NULL && PyTuple_CheckExact(cached) &&
        PyTuple_GET_SIZE(cached) == 2 &&
        PyTuple_GET_ITEM(cached, 0) == value) {
        return Py_NewRef(PyTuple_GET_ITEM(cached, 1));
    }

    input = text ? text_utf8(value) : Py_NewRef(value);
    if (input == NULL) {
        return NULL;
    }
    compressed = compress_payload(st, input);
    Py_DECREF(input);
    if (compressed == NULL) {
        return NULL;
    }
    pair = PyTuple_Pack(2, value, compressed);
    status = pair == NULL ? -1 : PyDict_SetItem(state, name, pair);
    Py_XDECREF(pair);
    if (status < 0) {
        Py_CLEAR(compressed);
    }
    return compressed;
}

/* obj[key] = state[name] when that is true. 0, or -1 with an exception. */
static int
copy_if_true(PyObject *state, PyObject *name, PyObject *obj, PyObject *key)
{
    PyObject *value = PyDict_GetItemWithError(state, name);
    int truth;

    if (value == NULL) {
        return PyErr_Occurred() ? -1 : 0;
    }
    Py_INCREF(value);
    truth = PyObject_IsTrue(value);
    if (truth > 0) {
        truth = PyDict_SetItem(obj, key, value);
    }
    Py_DECREF(value);
    return truth < 0 ? -1 : 0;
}

/* Add rqfast's own fields to obj: the retry policy (its to_json(), or the
   raw form read) and the attempt history, from the instance dict.
   0, or -1 with an exception. */
static int
add_rqfast_fields(rqf_state *st, PyObject *state, PyObject *obj)
{
    PyObject *key = st->field_names[RQF_F_RQFAST_RETRY], *policy;
    int status;

    policy = PyDict_GetItemWithError(state, st->names[RQF_N_POLICY]);
    if (policy == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (policy != NULL && policy != Py_None) {
        Py_INCREF(policy);
        status = put(obj, key,
                     PyObject_CallMethodNoArgs(policy,
                                               st->names[RQF_N_TO_JSON]));
        Py_DECREF(policy);
    }
    else {
        status = copy_if_true(state, st->names[RQF_N_POLICY_RAW], obj, key);
    }
    if (status < 0) {
        return -1;
    }
    return copy_if_true(state, st->names[RQF_N_ATTEMPTS_RAW], obj,
                        st->field_names[RQF_F_RQFAST_ATTEMPTS]);
}

PyObject *
rqf_py_encode_job_state(PyObject *module, PyObject *const *args,
                        Py_ssize_t nargs, PyObject *kwnames)
{
    rqf_state *st = rqf_get_state(module);
    PyObject *params[ARGS], *job, *state, *data = NULL, *exc = NULL;
    PyObject *zdata = NULL, *zexc = NULL, *obj = NULL;
    reader r = {NULL, NULL, 0};
    int truth;

    if (parse_encode_args(&encode_state_signature, args, nargs, kwnames,
                          params) < 0) {
        return NULL;
    }
    job = params[ARG_JOB];
    state = PyObject_GetAttr(job, st->names[RQF_N_DICT]);
    if (state == NULL) {
        return NULL;
    }

    if (!PyDict_CheckExact(state)) {
        rqf_type_error("job.__dict__", "a plain dict", state);
        goto done;
    }
    if (open_reader(st, job, &r) < 0) {
        goto done;
    }
    data = PyObject_GetAttr(job, st->names[RQF_N_DATA]);
    if (data == NULL) {
        goto done;
    }
    zdata = compressed_form(st, state, st->names[RQF_N_ZDATA], data, 0);
    if (zdata == NULL) {
        goto done;
    }
    exc = read_attr(st, &r, RQF_F_EXC_INFO);
    if (exc == NULL) {
        goto done;
    }
    if (exc != Py_None) {
        truth = PyObject_IsTrue(params[ARG_RESULT]);
        if (truth < 0) {
            goto done;
        }
        if (truth) {
            zexc = compressed_form(st, state, st->names[RQF_N_ZEXC], exc, 1);
            if (zexc == NULL) {
                goto done;
            }
        }
    }

    params[ARG_DATA] = zdata;
    params[ARG_EXC_INFO] = zexc != NULL ? zexc : Py_None;
    obj = encode_hash(st, &r, params);
    if (obj != NULL && add_rqfast_fields(st, state, obj) < 0) {
        Py_CLEAR(obj);
    }

done:
    Py_XDECREF(zexc);
    Py_XDECREF(exc);
    Py_XDECREF(zdata);
    Py_XDECREF(data);
    Py_XDECREF(r.dict);
    Py_DECREF(state);
    return obj;
}

/* Diffing a mapping against the hash read */

/* text.encode() as redis-py sends a str: a str itself is UTF-8 encoded
   here, a subclass through its own encode(). A new reference, or NULL with
   the exception encode() raised. */
static PyObject *
encode_text(const rqf_state *st, PyObject *text)
{
    if (PyUnicode_CheckExact(text)) {
        return PyUnicode_AsUTF8String(text);
    }
    return PyObject_CallMethodNoArgs(text, st->names[RQF_N_ENCODE]);
}

/* What redis-py sends for a hash value: bytes as they are, str UTF-8
   encoded, a float's repr() and anything else's str(), encoded. A new
   reference (usually bytes), or NULL with an exception. */
static PyObject *
sent_value(const rqf_state *st, PyObject *value)
{
    PyObject *text, *sent;

    if (PyBytes_Check(value)) {
        return Py_NewRef(value);
    }
    if (PyUnicode_Check(value)) {
        return encode_text(st, value);
    }
    text = PyFloat_Check(value) ? PyObject_Repr(value) : PyObject_Str(value);
    if (text == NULL) {
        return NULL;
    }
    sent = encode_text(st, text);
    Py_DECREF(text);
    return sent;
}

/* Do the bytes of read equal the len bytes at text? */
static inline int
same_bytes(PyObject *read, const char *text, Py_ssize_t len)
{
    return PyBytes_GET_SIZE(read) == len &&
           memcmp(PyBytes_AS_STRING(read), text, (size_t)len) == 0;
}

/* Is value's sent form different from read, the hash's value or NULL when
   the hash has none (compared as None)? 1, 0, or -1 with an exception.
   ASCII str and machine-sized int values against bytes are compared
   without building their bytes; the rest as "read != sent" in Python. */
static int
value_changed(const rqf_state *st, PyObject *read, PyObject *value)
{
    PyObject *sent, *differs;
    char digits[RQF_DECIMAL_MAX];
    long long number;
    int overflow, changed;

    if (read == NULL || PyBytes_CheckExact(read)) {
        if (PyUnicode_CheckExact(value) && PyUnicode_IS_ASCII(value)) {
            return read == NULL ||
                   !same_bytes(read, (const char *)PyUnicode_1BYTE_DATA(value),
                               PyUnicode_GET_LENGTH(value));
        }
        if (PyLong_CheckExact(value)) {
            number = PyLong_AsLongLongAndOverflow(value, &overflow);
            if (number == -1 && PyErr_Occurred()) {
                return -1;
            }
            if (!overflow) {
                char *end = rqf_put_decimal(digits, number);

                return read == NULL || !same_bytes(read, digits, end - digits);
            }
        }
    }

    sent = sent_value(st, value);
    if (sent == NULL) {
        return -1;
    }
    if (read != NULL && PyBytes_CheckExact(read) && PyBytes_CheckExact(sent)) {
        changed = !same_bytes(read, PyBytes_AS_STRING(sent),
                              PyBytes_GET_SIZE(sent));
        Py_DECREF(sent);
        return changed;
    }
    differs = PyObject_RichCompare(read != NULL ? read : Py_None, sent, Py_NE);
    Py_DECREF(sent);
    if (differs == NULL) {
        return -1;
    }
    changed = PyObject_IsTrue(differs);
    Py_DECREF(differs);
    return changed;
}

/* name.encode(): for a job hash field name, the bytes kept for it (their
   hash already computed), else as encode_text() makes them. A new
   reference, or NULL with an exception. */
static PyObject *
encode_name(const rqf_state *st, PyObject *name)
{
    int field;

    if (PyUnicode_CheckExact(name) && PyUnicode_IS_ASCII(name)) {
        field = find_field(st, (const char *)PyUnicode_1BYTE_DATA(name),
                           PyUnicode_GET_LENGTH(name));
        if (field >= 0) {
            return Py_NewRef(st->field_bytes[field]);
        }
    }
    return encode_text(st, name);
}

/* Add mapping's entry (name, value) to changed if its sent form differs
   from raw's value for name.encode(). Borrows all; the caller holds name
   and value. 0, or -1 with an exception. */
static int
diff_entry(const rqf_state *st, PyObject *raw, PyObject *name,
           PyObject *value, PyObject *changed)
{
    PyObject *key, *read;
    int status;

    if (!PyUnicode_Check(name)) {
        rqf_type_error("mapping keys", "str", name);
        return -1;
    }
    key = encode_name(st, name);
    if (key == NULL) {
        return -1;
    }
    read = PyDict_GetItemWithError(raw, key);
    Py_DECREF(key);
    if (read == NULL && PyErr_Occurred()) {
        return -1;
    }

    /* Converting value may run Python code that changes raw. */
    Py_XINCREF(read);
    status = value_changed(st, read, value);
    Py_XDECREF(read);
    if (status > 0) {
        status = PyDict_SetItem(changed, name, value);
    }
    return status;
}

PyObject *
rqf_py_changed_fields(PyObject *module, PyObject *const *args,
                      Py_ssize_t nargs)
{
    rqf_state *st = rqf_get_state(module);
    PyObject *stack[2 * RQF_DIFF_STACK], **entries = stack;
    PyObject *mapping, *raw, *key, *value, *changed = NULL;
    Py_ssize_t i, n = 0, pos = 0;

    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError,
                     "changed_fields() takes exactly 2 arguments "
                     "(%zd given)",
                     nargs);
        return NULL;
    }
    mapping = args[0];
    raw = args[1];
    if (!PyDict_CheckExact(mapping)) {
        return rqf_type_error("mapping", "a plain dict", mapping);
    }
    if (!PyDict_CheckExact(raw)) {
        return rqf_type_error("raw", "a plain dict", raw);
    }

    /* The entries are held for the whole diff: converting a value runs
       Python code, which may change mapping. */
    if (PyDict_GET_SIZE(mapping) > RQF_DIFF_STACK) {
        entries = PyMem_New(PyObject *, 2 * PyDict_GET_SIZE(mapping));
        if (entries == NULL) {
            return PyErr_NoMemory();
        }
    }
    while (PyDict_Next(mapping, &pos, &key, &value)) {
        entries[2 * n] = Py_NewRef(key);
        entries[2 * n + 1] = Py_NewRef(value);
        n++;
    }

    changed = PyDict_New();
    if (changed == NULL) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        if (diff_entry(st, raw, entries[2 * i], entries[2 * i + 1],
                       changed) < 0) {
            Py_CLEAR(changed);
            goto done;
        }
    }

done:
    for (i = 0; i < 2 * n; i++) {
        Py_DECREF(entries[i]);
    }
    if (entries != stack) {
        PyMem_Free(entries);
    }
    return changed;
}

/* Setup */

/* Intern a table of names into the state. 0, or -1 with an exception. */
static int
intern_names(const char *const *table, int count, PyObject **out)
{
    int i;

    for (i = 0; i < count; i++) {
        if (table[i] == NULL) {
            continue;
        }
        out[i] = PyUnicode_InternFromString(table[i]);
        if (out[i] == NULL) {
            return -1;
        }
    }
    return 0;
}

int
rqf_codec_init(rqf_state *st)
{
    int counts[RQF_MAX_FIELD_NAME + 2] = {0};
    int f, len, next[RQF_MAX_FIELD_NAME + 2];

    if (intern_names(field_names, RQF_F_COUNT, st->field_names) < 0 ||
        intern_names(attr_names, RQF_F_COUNT, st->attr_names) < 0 ||
        intern_names(other_names, RQF_N_COUNT, st->names) < 0) {
        return -1;
    }
    for (f = 0; f < RQF_F_COUNT; f++) {
        st->field_bytes[f] = PyBytes_FromString(field_names[f]);
        if (st->field_bytes[f] == NULL ||
            PyObject_Hash(st->field_bytes[f]) == -1) {
            return -1;
        }
    }

    /* Bucket the field names by length for find_field(). */
    for (f = 0; f < RQF_F_COUNT; f++) {
        len = (int)strlen(field_names[f]);
        if (len > RQF_MAX_FIELD_NAME) {
            PyErr_SetString(PyExc_SystemError, "field name too long");
            return -1;
        }
        counts[len]++;
    }
    st->len_start[0] = 0;
    for (len = 0; len <= RQF_MAX_FIELD_NAME; len++) {
        st->len_start[len + 1] =
            (unsigned char)(st->len_start[len] + counts[len]);
        next[len] = st->len_start[len];
    }
    for (f = 0; f < RQF_F_COUNT; f++) {
        len = (int)strlen(field_names[f]);
        st->field_by_len[next[len]++] = (unsigned char)f;
    }
    return 0;
}
