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
    RQF_N_COUNT
};

/* How many characters of a bad value an error message quotes. */
#define RQF_SHOWN_BYTES 40

/* The longest field name, for the length-bucketed field lookup. */
#define RQF_MAX_FIELD_NAME 32

typedef struct {
    /* The datetime C API capsule (a PyDateTime_CAPI *), borrowed for the
       life of the interpreter; timestamp.c is the only reader. */
    void *datetime_capi;
    PyObject *utc;          /* datetime.timezone.utc */
    PyObject *datetime_now; /* datetime.datetime.now */
    PyObject *timestamp_format;
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
    PyObject *field_names[RQF_F_COUNT]; /* interned hash field names */
    PyObject *attr_names[RQF_F_COUNT];  /* interned Job attribute names */
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

/* Return type(obj).__name__ as a new reference, or NULL with an exception. */
PyObject *rqf_type_name(PyObject *obj);

/* Raise TypeError "<what> must be <expected>, not <type name>". Returns
   NULL so that callers can return its result. */
PyObject *rqf_type_error(const char *what, const char *expected,
                         PyObject *obj);

#endif /* RQF_MODULE_H */
