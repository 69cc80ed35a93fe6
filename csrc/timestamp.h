/* RQ timestamps: `%Y-%m-%dT%H:%M:%S.%fZ` (and the legacy `%Y-%m-%dT%H:%M:%SZ`
 * on read), always naive UTC on the wire, aware UTC datetimes in Python.
 */
#ifndef RQF_TIMESTAMP_H
#define RQF_TIMESTAMP_H

#include "module.h"

/* The longest timestamp field read from a job hash, in bytes. */
#define RQF_MAX_TIMESTAMP_LEN 64

/* Import the datetime C API into the module state. 0, or -1 with an
   exception. */
int rqf_timestamp_init(rqf_state *st);

/* Parse a timestamp read from Redis (UTF-8 bytes, any length). Returns 1
   and stores a new aware datetime in *out; 0 when the bytes are not a
   timestamp (no exception set); -1 with an exception on other failures. */
int rqf_parse_timestamp_bytes(rqf_state *st, const char *buf, Py_ssize_t len,
                              PyObject **out);

/* Format a datetime the way RQ stores it, ignoring its tzinfo. Returns a
   new str, or NULL with whatever dt.strftime() raised. */
PyObject *rqf_utcformat(rqf_state *st, PyObject *dt);

/* Return datetime.now(timezone.utc) as a new reference, or NULL. */
PyObject *rqf_utcnow(rqf_state *st);

/* The module-level timestamp_text(dt), repr(dt.timestamp()), and
   seconds_text(td), repr(td.total_seconds()). */
PyObject *rqf_py_timestamp_text(PyObject *module, PyObject *dt);
PyObject *rqf_py_seconds_text(PyObject *module, PyObject *td);

/* The module-level utcparse() and utcformat(). */
PyObject *rqf_py_utcparse(PyObject *module, PyObject *arg);
PyObject *rqf_py_utcformat(PyObject *module, PyObject *arg);

#endif /* RQF_TIMESTAMP_H */
