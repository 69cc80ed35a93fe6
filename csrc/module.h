/* Module state of rqfast._speedups, shared by every concern.
 *
 * The extension keeps no global PyObject *: everything it needs from Python
 * (the datetime C API, zlib and json entry points, RQ's JobStatus members,
 * the exception classes, interned names) lives in this per-module struct,
 * filled by module.c at exec time and released by its clear function. A
 * function reaches it through the module object it was called on.
 */
#ifndef RQF_MODULE_H
#define RQF_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

/* Hash fields of an RQ job, in the order the decoder checks them. */
enum rqf_field {
    RQF_F_DATA,
    RQF_F_CREATED_AT,
    RQF_F_ORIGIN,
    RQF_F_WORKER_NAME,
    RQF_F_DESCRIPTION,
    RQF_F_GROUP_ID,
    RQF_F_ENQUEUED_AT,
    RQF_F_STARTED_AT,
    RQF_F_ENDED_AT,
    RQF_F_LAST_HEARTBEAT,
    RQF_F_TIMEOUT,
    RQF_F_RESULT_TTL,
    RQF_F_FAILURE_TTL,
    RQF_F_TTL,
    RQF_F_NUMBER_OF_RETRIES,
    RQF_F_RETRIES_LEFT,
    RQF_F_REPEATS_LEFT,
    RQF_F_STATUS,
    RQF_F_SUCCESS_CALLBACK_NAME,
    RQF_F_FAILURE_CALLBACK_NAME,
    RQF_F_STOPPED_CALLBACK_NAME,
    RQF_F_SUCCESS_CALLBACK_TIMEOUT,
    RQF_F_FAILURE_CALLBACK_TIMEOUT,
    RQF_F_STOPPED_CALLBACK_TIMEOUT,
    RQF_F_DEPENDENCY_IDS,
    RQF_F_DEPENDENCY_ID,
    RQF_F_ALLOW_DEPENDENCY_FAILURES,
    RQF_F_ENQUEUE_AT_FRONT,
    RQF_F_ENQUEUE_AT_FRONT_ON_RETRY,
    RQF_F_RETRY_INTERVALS,
    RQF_F_REPEAT_INTERVALS,
    RQF_F_EXC_INFO,
    RQF_F_RESULT,
    RQF_F_META,
    RQF_F_WEBHOOKS,
    RQF_F_RQFAST_RETRY,    /* rqfast's retry policy; stock RQ ignores it */
    RQF_F_RQFAST_ATTEMPTS, /* rqfast's attempt history, likewise */
    RQF_F_COUNT
};

/* Job attributes read by the encoder that are not decoded hash fields. */
enum rqf_name {
    RQF_N_RESULT,     /* _result */
    RQF_N_SERIALIZER, /* serializer */
    RQF_N_WEBHOOKS,   /* webhooks */
    RQF_N_META,       /* meta */
    RQF_N_DUMPS,      /* dumps */
    RQF_N_TO_DICT,    /* to_dict */
    RQF_N_STRFTIME,   /* strftime */
    RQF_N_ITEMS,      /* items */
    RQF_N_FUNC_NAME,  /* _func_name: reset by restore, like _instance, */
    RQF_N_INSTANCE,   /* _args and _kwargs, to UNEVALUATED */
    RQF_N_ARGS,
    RQF_N_KWARGS,
    RQF_N_POLICY,       /* _rqfast_policy */
    RQF_N_POLICY_RAW,   /* _rqfast_policy_raw */
    RQF_N_ATTEMPTS_RAW, /* _rqfast_attempts_raw */
    RQF_N_ZDATA,        /* _rqfast_zdata */
    RQF_N_ZEXC,         /* _rqfast_zexc */
    RQF_N_ENCODE,       /* encode */
    RQF_N_DICT,         /* __dict__ */
    RQF_N_DATA,         /* data */
    RQF_N_TO_JSON,      /* to_json */
    RQF_N_COUNT
};

/* How many characters of a bad value an error message quotes. */
#define RQF_SHOWN_BYTES 40

/* The longest field name, for the length-bucketed field lookup. */
#define RQF_MAX_FIELD_NAME 32

/* How many Job types the encoder remembers the attribute layout of. */
#define RQF_PLAIN_TYPES 4

/* One Job type whose attributes the encoder checked for data descriptors:
   the type (a strong reference, or NULL for a free entry), its version tag
   at the time (the interpreter changes it whenever the type or a base is
   modified) and a bit per encoder read that may come straight from the
   instance dict. */
typedef struct {
    PyObject *type;
    unsigned int version;
    uint64_t plain;
} rqf_plain_type;

typedef struct {
    /* The datetime C API capsule (a PyDateTime_CAPI *), borrowed for the
       life of the interpreter; timestamp.c is the only reader. */
    void *datetime_capi;
    PyObject *utc;          /* datetime.timezone.utc */
    PyObject *datetime_now; /* datetime.datetime.now */
    PyObject *timestamp_format;
    PyObject *zlib_compress;
    PyObject *zlib_decompress;
    PyObject *zlib_error;
    PyObject *unevaluated; /* rq.job.UNEVALUATED */
    PyObject *json_dumps;
    PyObject *job_hash_error;
    PyObject *no_such_job_error;
    PyObject *status_values;  /* tuple of bytes, JobStatus values */
    PyObject *status_members; /* tuple of JobStatus, same order */
    PyObject *status_created; /* JobStatus.CREATED */
    PyObject *empty_str;
    PyObject *unserializable; /* "Unserializable return value" */
    /* RQ's DefaultSerializer.dumps, a partial of pickle.dumps at the
       highest protocol, and its keywords dict; both NULL when this RQ's
       serializer is not that partial (every dumps is then called as it
       is). */
    PyObject *default_dumps;
    PyObject *default_keywords;
    PyObject *pickle_dumps;     /* pickle.dumps */
    PyObject *pickle_protocol;  /* pickle.HIGHEST_PROTOCOL */
    PyObject *protocol_kwnames; /* ("protocol",) */
    rqf_plain_type plain_types[RQF_PLAIN_TYPES];
    int next_plain_type; /* the entry replaced next */
    /* Deflating small payloads without Python's zlib module (codec.c):
       whether it is allowed, and the z_stream and output buffer kept for
       it (allocated on first use, NULL until then). */
    int direct_deflate;
    void *deflater;
    unsigned char *deflate_out;
    PyObject *field_names[RQF_F_COUNT]; /* interned hash field names */
    PyObject *attr_names[RQF_F_COUNT];  /* interned Job attribute names */
    PyObject *field_bytes[RQF_F_COUNT]; /* the field names as bytes */
    PyObject *names[RQF_N_COUNT];
    /* Fields sorted by name length: entries field_by_len[len_start[n]]
       up to field_by_len[len_start[n + 1]] have names of n bytes. */
    unsigned char len_start[RQF_MAX_FIELD_NAME + 2];
    unsigned char field_by_len[RQF_F_COUNT];
} rqf_state;

/* Return the module state of the module a function was called on. */
static inline rqf_state *
rqf_get_state(PyObject *module)
{
    return (rqf_state *)PyModule_GetState(module);
}

/* Is RQ's default serializer still partial(pickle.dumps, protocol=...)
   with the keywords it had at import? Only with default_dumps set. */
int rqf_default_keywords_intact(const rqf_state *st);

/* Return type(obj).__name__ as a new reference, or NULL with an exception. */
PyObject *rqf_type_name(PyObject *obj);

/* Raise TypeError "<what> must be <expected>, not <type name>". Returns
   NULL so that callers can return its result. */
/* The widest long long in decimal, sign included. */
#define RQF_DECIMAL_MAX 20

/* Write the decimal text of value at p (room for RQF_DECIMAL_MAX bytes);
   return the end. */
char *rqf_put_decimal(char *p, long long value);

PyObject *rqf_type_error(const char *what, const char *expected,
                         PyObject *obj);

#endif /* RQF_MODULE_H */
