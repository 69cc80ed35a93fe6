/* Timestamp parsing and formatting without strptime/strftime.
 *
 * The parser accepts exactly what `datetime.strptime` accepts for RQ's two
 * formats. strptime turns a format into a case-insensitive regular
 * expression whose fields are alternations of one or two digits, so each
 * field below is "the characters up to the next separator", checked against
 * those alternations:
 *
 *   year   exactly four decimal digits (any Unicode decimal digit)
 *   month  1..12 in one or two ASCII digits
 *   day    one ASCII digit 1-9 (optionally after one space), or two digits:
 *          0 then ASCII 1-9, 1 or 2 then any decimal, 3 then ASCII 0-1
 *   hour   one decimal, or 0/1 then any decimal, or 2 then ASCII 0-3
 *   minute one decimal, or ASCII 0-5 then any decimal
 *   second as minute (strptime's 60 and 61 never make a valid datetime)
 *   micro  one to six ASCII digits, right-padded with zeros
 *
 * separated by '-', '-', 'T' or 't', ':', ':', then '.' fraction and 'Z' or
 * 'z', or 'Z'/'z' alone (the legacy format). The date must exist and the
 * year be at least 1. A valid timestamp is at most MAX_TIMESTAMP_CHARS
 * characters, which bounds all work before any digit is read.
 *
 * The formatter writes the 27 ASCII characters itself for exact datetimes
 * from year 1000 on; for earlier years and other objects it calls
 * dt.strftime(), whose output there depends on the platform's C library.
 */
#include "timestamp.h"

#include <datetime.h>
#include <string.h>

/* The longest string that can be a valid timestamp: 4 + 5 * 3 fields of two
   characters with their separators, a six-digit fraction and its dot, Z. */
#define MAX_TIMESTAMP_CHARS 27
/* The length of a formatted timestamp, "YYYY-MM-DDTHH:MM:SS.ffffffZ". */
#define FORMATTED_LEN 27
/* The earliest year formatted here rather than by strftime(). */
#define MIN_FAST_FORMAT_YEAR 1000

typedef struct {
    int year, month, day, hour, minute, second, usec;
} fields;

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t len;
    Py_ssize_t pos;
} cursor;

static inline PyDateTime_CAPI *
capi(rqf_state *st)
{
    return (PyDateTime_CAPI *)st->datetime_capi;
}

/* The value of a decimal digit character, or -1 for any other character. */
static inline int
decimal_value(Py_UCS4 c)
{
    if (c - '0' < 10) {
        return (int)(c - '0');
    }
    if (c < 0x80) {
        return -1;
    }
    return Py_UNICODE_TODECIMAL(c);
}

/* Read up to max decimal characters, storing each character and its value.
   Returns how many were read. */
static int
take_digits(cursor *cur, int max, Py_UCS4 *chars, int *values)
{
    int n = 0;

    while (n < max && cur->pos < cur->len) {
        Py_UCS4 c = PyUnicode_READ(cur->kind, cur->data, cur->pos);
        int value = decimal_value(c);
        if (value < 0) {
            break;
        }
        chars[n] = c;
        values[n] = value;
        n++;
        cur->pos++;
    }
    return n;
}

/* Consume the character lower or upper; 1 if it was there, else 0. */
static inline int
expect(cursor *cur, Py_UCS4 lower, Py_UCS4 upper)
{
    Py_UCS4 c;

    if (cur->pos >= cur->len) {
        return 0;
    }
    c = PyUnicode_READ(cur->kind, cur->data, cur->pos);
    if (c != lower && c != upper) {
        return 0;
    }
    cur->pos++;
    return 1;
}

static inline int
ascii_between(Py_UCS4 c, char low, char high)
{
    return c >= (Py_UCS4)low && c <= (Py_UCS4)high;
}

/* Read a one- or two-character field whose first character, when there are
   two, must be ASCII first_low..first_high (or a '2' followed by ASCII 0-3
   when allow_2x is set, for hours). Returns the value, or -1. */
static int
small_field(cursor *cur, char first_high, int allow_2x)
{
    Py_UCS4 chars[2];
    int values[2];
    int n = take_digits(cur, 2, chars, values);

    if (n == 1) {
        return values[0];
    }
    if (n != 2) {
        return -1;
    }
    if (ascii_between(chars[0], '0', first_high)) {
        return values[0] * 10 + values[1];
    }
    if (allow_2x && chars[0] == '2' && ascii_between(chars[1], '0', '3')) {
        return 20 + values[1];
    }
    return -1;
}

static int
days_in_month(int year, int month)
{
    static const int days[13] = {0,  31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
    if (month == 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) {
        return 29;
    }
    return days[month];
}

/* Parse the characters of a timestamp into tm. 0 on success, -1 when they
   are not a valid timestamp. Sets no exception. */
static int
parse_fields(int kind, const void *data, Py_ssize_t len, fields *tm)
{
    cursor cur = {kind, data, len, 0};
    Py_UCS4 chars[7];
    int values[7];
    int n, i;

    if (len > MAX_TIMESTAMP_CHARS) {
        return -1;
    }

    /* Year: four decimal digits. */
    if (take_digits(&cur, 4, chars, values) != 4 || !expect(&cur, '-', '-')) {
        return -1;
    }
    tm->year = values[0] * 1000 + values[1] * 100 + values[2] * 10 + values[3];

    /* Month: ASCII only. */
    n = take_digits(&cur, 2, chars, values);
    if (n == 0 || chars[0] >= 0x80 || (n == 2 && chars[1] >= 0x80)) {
        return -1;
    }
    tm->month = n == 1 ? values[0] : values[0] * 10 + values[1];
    if (tm->month < 1 || tm->month > 12 || !expect(&cur, '-', '-')) {
        return -1;
    }

    /* Day: a space may stand before a single digit. */
    if (expect(&cur, ' ', ' ')) {
        if (take_digits(&cur, 2, chars, values) != 1 ||
            !ascii_between(chars[0], '1', '9')) {
            return -1;
        }
        tm->day = values[0];
    }
    else {
        n = take_digits(&cur, 2, chars, values);
        if (n == 1 && ascii_between(chars[0], '1', '9')) {
            tm->day = values[0];
        }
        else if (n == 2 &&
                 ((chars[0] == '0' && ascii_between(chars[1], '1', '9')) ||
                  ascii_between(chars[0], '1', '2') ||
                  (chars[0] == '3' && ascii_between(chars[1], '0', '1')))) {
            tm->day = values[0] * 10 + values[1];
        }
        else {
            return -1;
        }
    }
    if (!expect(&cur, 't', 'T')) {
        return -1;
    }

    /* Hour, minute, second. */
    tm->hour = small_field(&cur, '1', 1);
    if (tm->hour < 0 || !expect(&cur, ':', ':')) {
        return -1;
    }
    tm->minute = small_field(&cur, '5', 0);
    if (tm->minute < 0 || !expect(&cur, ':', ':')) {
        return -1;
    }
    tm->second = small_field(&cur, '5', 0);
    if (tm->second < 0) {
        return -1;
    }

    /* Fraction (current format) or none (legacy format), then Z. */
    tm->usec = 0;
    if (expect(&cur, '.', '.')) {
        n = take_digits(&cur, 6, chars, values);
        if (n == 0) {
            return -1;
        }
        for (i = 0; i < 6; i++) {
            if (i < n && chars[i] >= 0x80) {
                return -1;
            }
            tm->usec = tm->usec * 10 + (i < n ? values[i] : 0);
        }
    }
    if (!expect(&cur, 'z', 'Z') || cur.pos != len) {
        return -1;
    }

    if (tm->year < 1 || tm->day > days_in_month(tm->year, tm->month)) {
        return -1;
    }
    return 0;
}

static PyObject *
make_datetime(rqf_state *st, const fields *tm)
{
    PyDateTime_CAPI *api = capi(st);

    return api->DateTime_FromDateAndTime(tm->year, tm->month, tm->day,
                                         tm->hour, tm->minute, tm->second,
                                         tm->usec, st->utc,
                                         api->DateTimeType);
}

int
rqf_parse_timestamp_bytes(rqf_state *st, const char *buf, Py_ssize_t len,
                          PyObject **out)
{
    fields tm;
    PyObject *text;
    int status;
    Py_ssize_t i;

    *out = NULL;
    if (parse_fields(PyUnicode_1BYTE_KIND, buf, len, &tm) == 0) {
        *out = make_datetime(st, &tm);
        return *out == NULL ? -1 : 1;
    }

    /* Only non-ASCII bytes can still make a timestamp (as UTF-8 encoded
       decimal digits); pure ASCII has been read in full above. */
    for (i = 0; i < len && (unsigned char)buf[i] < 0x80; i++) {
    }
    if (i == len || len > MAX_TIMESTAMP_CHARS * 4) {
        return 0;
    }
    text = PyUnicode_DecodeUTF8(buf, len, NULL);
    if (text == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
            return -1;
        }
        PyErr_Clear();
        return 0;
    }
    status = parse_fields(PyUnicode_KIND(text), PyUnicode_DATA(text),
                          PyUnicode_GET_LENGTH(text), &tm);
    Py_DECREF(text);
    if (status != 0) {
        return 0;
    }
    *out = make_datetime(st, &tm);
    return *out == NULL ? -1 : 1;
}

PyObject *
rqf_py_utcparse(PyObject *module, PyObject *arg)
{
    rqf_state *st = rqf_get_state(module);
    fields tm;
    PyObject *shown;

    if (!PyUnicode_Check(arg)) {
        return rqf_type_error("utcparse() argument", "str", arg);
    }
    if (parse_fields(PyUnicode_KIND(arg), PyUnicode_DATA(arg),
                     PyUnicode_GET_LENGTH(arg), &tm) == 0) {
        return make_datetime(st, &tm);
    }

    shown = PyUnicode_Substring(arg, 0, RQF_SHOWN_BYTES);
    if (shown != NULL) {
        PyErr_Format(PyExc_ValueError, "invalid timestamp %R", shown);
        Py_DECREF(shown);
    }
    return NULL;
}

static inline char *
put_digits(char *p, int value, int width)
{
    int i;

    for (i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + value % 10);
        value /= 10;
    }
    return p + width;
}

PyObject *
rqf_utcformat(rqf_state *st, PyObject *dt)
{
    PyObject *result;
    char *p;

    if (!Py_IS_TYPE(dt, capi(st)->DateTimeType) ||
        PyDateTime_GET_YEAR(dt) < MIN_FAST_FORMAT_YEAR) {
        return PyObject_CallMethodOneArg(dt, st->names[RQF_N_STRFTIME],
                                         st->timestamp_format);
    }

    result = PyUnicode_New(FORMATTED_LEN, 127);
    if (result == NULL) {
        return NULL;
    }
    p = (char *)PyUnicode_1BYTE_DATA(result);
    p = put_digits(p, PyDateTime_GET_YEAR(dt), 4);
    *p++ = '-';
    p = put_digits(p, PyDateTime_GET_MONTH(dt), 2);
    *p++ = '-';
    p = put_digits(p, PyDateTime_GET_DAY(dt), 2);
    *p++ = 'T';
    p = put_digits(p, PyDateTime_DATE_GET_HOUR(dt), 2);
    *p++ = ':';
    p = put_digits(p, PyDateTime_DATE_GET_MINUTE(dt), 2);
    *p++ = ':';
    p = put_digits(p, PyDateTime_DATE_GET_SECOND(dt), 2);
    *p++ = '.';
    p = put_digits(p, PyDateTime_DATE_GET_MICROSECOND(dt), 6);
    *p = 'Z';
    return result;
}

PyObject *
rqf_py_utcformat(PyObject *module, PyObject *arg)
{
    return rqf_utcformat(rqf_get_state(module), arg);
}

/* Seconds as repr() writes a float, for durations and Unix timestamps.
 *
 * datetime.timestamp() and timedelta.total_seconds() divide a whole number
 * of microseconds U by 10**6, correctly rounded. While |U| / 10**6 < 2**33,
 * doubles there are less than a microsecond apart, so the decimal U / 10**6
 * itself is the shortest string that reads back as that double: repr()
 * writes its digits, trailing zeros dropped (".0" kept), in scientific
 * notation below 1e-4 as repr does. Outside that range the float is made
 * and repr() called. */

/* 2**33 seconds in microseconds. */
#define EXACT_SECONDS_LIMIT (8589934592LL * 1000000LL)
/* The longest text written here: a sign, ten digits, a dot and six. */
#define SECONDS_TEXT_ROOM 24

static PyObject *
seconds_from_microseconds(long long us)
{
    char buf[SECONDS_TEXT_ROOM], *p = buf;
    unsigned long long magnitude =
        us < 0 ? 0ULL - (unsigned long long)us : (unsigned long long)us;
    unsigned long long whole = magnitude / 1000000ULL;
    int fraction = (int)(magnitude % 1000000ULL);

    if (magnitude == 0) {
        return PyUnicode_FromString("0.0");
    }
    if (us < 0) {
        *p++ = '-';
    }
    if (magnitude < 100) {
        /* Below 1e-4, repr() writes d[.d]e-0N: 1 to 99 microseconds. */
        int first = (int)(magnitude >= 10 ? magnitude / 10 : magnitude);
        int second = (int)(magnitude >= 10 ? magnitude % 10 : 0);

        *p++ = (char)('0' + first);
        if (second != 0) {
            *p++ = '.';
            *p++ = (char)('0' + second);
        }
        memcpy(p, magnitude >= 10 ? "e-05" : "e-06", 4);
        p += 4;
        return PyUnicode_FromStringAndSize(buf, p - buf);
    }
    p = rqf_put_decimal(p, (long long)whole);
    *p++ = '.';
    if (fraction == 0) {
        *p++ = '0';
    }
    else {
        char *start = p;

        p = put_digits(p, fraction, 6);
        while (p > start && p[-1] == '0') {
            p--;
        }
    }
    return PyUnicode_FromStringAndSize(buf, p - buf);
}

/* repr(number), for the float a method of obj returns; NULL on error. */
static PyObject *
repr_of_method(PyObject *obj, const char *method)
{
    PyObject *number = PyObject_CallMethod(obj, method, NULL), *text;

    if (number == NULL) {
        return NULL;
    }
    text = PyObject_Repr(number);
    Py_DECREF(number);
    return text;
}

/* Days from 1970-01-01 to a proleptic Gregorian date. */
static long long
days_from_civil(int year, int month, int day)
{
    long long y = year - (month <= 2);
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

PyObject *
rqf_py_timestamp_text(PyObject *module, PyObject *dt)
{
    rqf_state *st = rqf_get_state(module);

    if (Py_IS_TYPE(dt, capi(st)->DateTimeType) &&
        ((PyDateTime_DateTime *)dt)->hastzinfo &&
        PyDateTime_DATE_GET_TZINFO(dt) == st->utc) {
        long long seconds =
            days_from_civil(PyDateTime_GET_YEAR(dt), PyDateTime_GET_MONTH(dt),
                            PyDateTime_GET_DAY(dt)) * 86400LL +
            PyDateTime_DATE_GET_HOUR(dt) * 3600LL +
            PyDateTime_DATE_GET_MINUTE(dt) * 60LL +
            PyDateTime_DATE_GET_SECOND(dt);
        long long us = seconds * 1000000LL + PyDateTime_DATE_GET_MICROSECOND(dt);

        if (us > -EXACT_SECONDS_LIMIT && us < EXACT_SECONDS_LIMIT) {
            return seconds_from_microseconds(us);
        }
    }
    return repr_of_method(dt, "timestamp");
}

PyObject *
rqf_py_seconds_text(PyObject *module, PyObject *td)
{
    rqf_state *st = rqf_get_state(module);

    if (Py_IS_TYPE(td, capi(st)->DeltaType)) {
        long long us =
            (PyDateTime_DELTA_GET_DAYS(td) * 86400LL +
             PyDateTime_DELTA_GET_SECONDS(td)) * 1000000LL +
            PyDateTime_DELTA_GET_MICROSECONDS(td);

        if (us > -EXACT_SECONDS_LIMIT && us < EXACT_SECONDS_LIMIT) {
            return seconds_from_microseconds(us);
        }
    }
    return repr_of_method(td, "total_seconds");
}

PyObject *
rqf_utcnow(rqf_state *st)
{
    return PyObject_CallOneArg(st->datetime_now, st->utc);
}

int
rqf_timestamp_init(rqf_state *st)
{
    PyDateTime_CAPI *api = PyCapsule_Import(PyDateTime_CAPSULE_NAME, 0);

    /* datetime.h defines a static PyDateTimeAPI pointer for its macros;
       this file keeps the API in the module state and leaves it unused. */
    (void)PyDateTimeAPI;
    if (api == NULL) {
        return -1;
    }
    st->datetime_capi = api;
    st->utc = Py_NewRef(api->TimeZone_UTC);
    st->datetime_now =
        PyObject_GetAttrString((PyObject *)api->DateTimeType, "now");
    if (st->datetime_now == NULL) {
        return -1;
    }
    st->timestamp_format = PyUnicode_InternFromString("%Y-%m-%dT%H:%M:%S.%fZ");
    if (st->timestamp_format == NULL) {
        return -1;
    }
    return 0;
}
