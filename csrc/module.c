/* The rqfast._speedups module: its method table, its state and its
 * multi-phase initialisation. The functions themselves live with their
 * concerns: timestamp.c, retry.c, codec.c (with jsonlist.c), registry.c,
 * resp.c.
 */
#include "module.h"

#include "backoff.h"
#include "codec.h"
#include "registry.h"
#include "resp.h"
#include "retry.h"
#include "timestamp.h"

PyObject *
rqf_type_name(PyObject *obj)
{
    return PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__name__");
}

PyObject *
rqf_type_error(const char *what, const char *expected, PyObject *obj)
{
    PyObject *name = rqf_type_name(obj);

    if (name != NULL) {
        PyErr_Format(PyExc_TypeError, "%s must be %s, not %U", what,
                     expected, name);
        Py_DECREF(name);
    }
    return NULL;
}

char *
rqf_put_decimal(char *p, long long value)
{
    char digits[RQF_DECIMAL_MAX];
    unsigned long long magnitude;
    int n = 0;

    if (value < 0) {
        *p++ = '-';
        magnitude = 0ULL - (unsigned long long)value;
    }
    else {
        magnitude = (unsigned long long)value;
    }
    do {
        digits[n++] = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude != 0);
    while (n > 0) {
        *p++ = digits[--n];
    }
    return p;
}

/* Return getattr(import(module), name) as a new reference, or NULL. */
static PyObject *
import_attr(const char *module, const char *name)
{
    PyObject *mod = PyImport_ImportModule(module), *attr;

    if (mod == NULL) {
        return NULL;
    }
    attr = PyObject_GetAttrString(mod, name);
    Py_DECREF(mod);
    return attr;
}

/* Fill status_values (bytes) and status_members from rq.job.JobStatus.
   0, or -1 with an exception. */
static int
load_statuses(rqf_state *st)
{
    PyObject *enum_class, *members = NULL, *value;
    Py_ssize_t i, n;
    int status = -1;

    enum_class = import_attr("rq.job", "JobStatus");
    if (enum_class == NULL) {
        return -1;
    }
    members = PySequence_Tuple(enum_class);
    if (members == NULL) {
        goto done;
    }
    n = PyTuple_GET_SIZE(members);
    st->status_values = PyTuple_New(n);
    if (st->status_values == NULL) {
        goto done;
    }
    for (i = 0; i < n; i++) {
        value = PyObject_GetAttrString(PyTuple_GET_ITEM(members, i), "value");
        if (value == NULL) {
            goto done;
        }
        if (!PyUnicode_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "JobStatus values must be str");
            Py_DECREF(value);
            goto done;
        }
        PyTuple_SET_ITEM(st->status_values, i, PyUnicode_AsUTF8String(value));
        Py_DECREF(value);
        if (PyTuple_GET_ITEM(st->status_values, i) == NULL) {
            goto done;
        }
    }
    st->status_created = PyObject_GetAttrString(enum_class, "CREATED");
    if (st->status_created == NULL) {
        goto done;
    }
    st->status_members = Py_NewRef(members);
    status = 0;

done:
    Py_XDECREF(members);
    Py_DECREF(enum_class);
    return status;
}

int
rqf_default_keywords_intact(const rqf_state *st)
{
    PyObject *name = PyTuple_GET_ITEM(st->protocol_kwnames, 0);

    return PyDict_GET_SIZE(st->default_keywords) == 1 &&
           PyDict_GetItem(st->default_keywords, name) == st->pickle_protocol;
}

/* Keep RQ's DefaultSerializer.dumps when it is partial(pickle.dumps,
   protocol=pickle.HIGHEST_PROTOCOL), so that the encoder can call
   pickle.dumps itself with the same arguments; otherwise leave that
   shortcut off. 0, or -1 with an exception. */
static int
load_default_dumps(rqf_state *st)
{
    PyObject *name, *serializer, *dumps = NULL, *partial = NULL;
    PyObject *func = NULL, *args = NULL, *keywords = NULL;
    int status = -1;

    st->pickle_dumps = import_attr("pickle", "dumps");
    st->pickle_protocol = import_attr("pickle", "HIGHEST_PROTOCOL");
    name = PyUnicode_InternFromString("protocol");
    if (name == NULL) {
        return -1;
    }
    st->protocol_kwnames = PyTuple_Pack(1, name);
    Py_DECREF(name);
    if (st->pickle_dumps == NULL || st->pickle_protocol == NULL ||
        st->protocol_kwnames == NULL) {
        return -1;
    }

    serializer = import_attr("rq.serializers", "DefaultSerializer");
    if (serializer == NULL) {
        return -1;
    }
    dumps = PyObject_GetAttr(serializer, st->names[RQF_N_DUMPS]);
    partial = import_attr("functools", "partial");
    if (dumps == NULL || partial == NULL) {
        goto done;
    }
    status = 0;
    if (!Py_IS_TYPE(dumps, (PyTypeObject *)partial)) {
        goto done;
    }
    func = PyObject_GetAttrString(dumps, "func");
    args = PyObject_GetAttrString(dumps, "args");
    keywords = PyObject_GetAttrString(dumps, "keywords");
    if (func == NULL || args == NULL || keywords == NULL) {
        status = -1;
        goto done;
    }
    if (func == st->pickle_dumps && PyTuple_CheckExact(args) &&
        PyTuple_GET_SIZE(args) == 0 && PyDict_CheckExact(keywords)) {
        st->default_keywords = Py_NewRef(keywords);
        if (rqf_default_keywords_intact(st)) {
            st->default_dumps = Py_NewRef(dumps);
        }
        else {
            Py_CLEAR(st->default_keywords);
        }
    }

done:
    Py_XDECREF(keywords);
    Py_XDECREF(args);
    Py_XDECREF(func);
    Py_XDECREF(partial);
    Py_XDECREF(dumps);
    Py_DECREF(serializer);
    return status;
}

static int
speedups_exec(PyObject *module)
{
    rqf_state *st = rqf_get_state(module);

    if (rqf_timestamp_init(st) < 0 || rqf_codec_init(st) < 0 ||
        load_statuses(st) < 0 || load_default_dumps(st) < 0) {
        return -1;
    }
    st->zlib_compress = import_attr("zlib", "compress");
    st->zlib_decompress = import_attr("zlib", "decompress");
    st->zlib_error = import_attr("zlib", "error");
    st->unevaluated = import_attr("rq.job", "UNEVALUATED");
    st->json_dumps = import_attr("json", "dumps");
    st->job_hash_error = import_attr("rqfast.exceptions", "JobHashError");
    st->no_such_job_error = import_attr("rq.exceptions", "NoSuchJobError");
    st->empty_str = PyUnicode_FromStringAndSize("", 0);
    st->unserializable =
        PyUnicode_InternFromString("Unserializable return value");
    if (st->zlib_compress == NULL || st->zlib_decompress == NULL ||
        st->zlib_error == NULL ||
        st->unevaluated == NULL ||
        st->json_dumps == NULL || st->job_hash_error == NULL ||
        st->no_such_job_error == NULL || st->empty_str == NULL ||
        st->unserializable == NULL) {
        return -1;
    }
    return rqf_deflate_init(st, module);
}

/* Call visit on every object the state holds; shared by traverse and
   clear so that neither can miss a member. */
#define STATE_MEMBERS(X, st)                                                 \
    X((st)->utc);                                                            \
    X((st)->datetime_now);                                                   \
    X((st)->timestamp_format);                                               \
    X((st)->zlib_compress);                                                  \
    X((st)->zlib_decompress);                                                \
    X((st)->zlib_error);                                                     \
    X((st)->unevaluated);                                                    \
    X((st)->json_dumps);                                                     \
    X((st)->job_hash_error);                                                 \
    X((st)->no_such_job_error);                                              \
    X((st)->status_values);                                                  \
    X((st)->status_members);                                                 \
    X((st)->status_created);                                                 \
    X((st)->empty_str);                                                      \
    X((st)->unserializable);                                                 \
    X((st)->default_dumps);                                                  \
    X((st)->default_keywords);                                               \
    X((st)->pickle_dumps);                                                   \
    X((st)->pickle_protocol);                                                \
    X((st)->protocol_kwnames)

static int
speedups_traverse(PyObject *module, visitproc visit, void *arg)
{
    rqf_state *st = rqf_get_state(module);
    int i;

    if (st == NULL) {
        return 0;
    }
    STATE_MEMBERS(Py_VISIT, st);
    for (i = 0; i < RQF_F_COUNT; i++) {
        Py_VISIT(st->field_names[i]);
        Py_VISIT(st->attr_names[i]);
        Py_VISIT(st->field_bytes[i]);
    }
    for (i = 0; i < RQF_N_COUNT; i++) {
        Py_VISIT(st->names[i]);
    }
    for (i = 0; i < RQF_PLAIN_TYPES; i++) {
        Py_VISIT(st->plain_types[i].type);
    }
    return 0;
}

static int
speedups_clear(PyObject *module)
{
    rqf_state *st = rqf_get_state(module);
    int i;

    if (st == NULL) {
        return 0;
    }
    STATE_MEMBERS(Py_CLEAR, st);
    for (i = 0; i < RQF_F_COUNT; i++) {
        Py_CLEAR(st->field_names[i]);
        Py_CLEAR(st->attr_names[i]);
        Py_CLEAR(st->field_bytes[i]);
    }
    for (i = 0; i < RQF_N_COUNT; i++) {
        Py_CLEAR(st->names[i]);
    }
    for (i = 0; i < RQF_PLAIN_TYPES; i++) {
        Py_CLEAR(st->plain_types[i].type);
    }
    rqf_deflate_clear(st);
    st->datetime_capi = NULL;
    return 0;
}

static void
speedups_free(void *module)
{
    speedups_clear((PyObject *)module);
}

static PyMethodDef speedups_methods[] = {
    {"utcparse", (PyCFunction)rqf_py_utcparse, METH_O,
     "Parse an RQ timestamp into an aware UTC datetime."},
    {"utcformat", (PyCFunction)rqf_py_utcformat, METH_O,
     "Format a datetime the way RQ stores it."},
    {"timestamp_text", (PyCFunction)rqf_py_timestamp_text, METH_O,
     "Return repr(dt.timestamp())."},
    {"seconds_text", (PyCFunction)rqf_py_seconds_text, METH_O,
     "Return repr(td.total_seconds())."},
    {"get_interval", (PyCFunction)(void (*)(void))rqf_py_get_interval,
     METH_FASTCALL, "Return the delay before retry number count."},
    {"retry_interval", (PyCFunction)(void (*)(void))rqf_py_retry_interval,
     METH_FASTCALL, "Return the delay before a job's next retry."},
    {"uniform", (PyCFunction)rqf_py_uniform, METH_O,
     "Return (a float in [0, 1), new state) drawn with SplitMix64."},
    {"backoff_delay", (PyCFunction)(void (*)(void))rqf_py_backoff_delay,
     METH_FASTCALL, "Return the delay before a retry, without jitter."},
    {"retry_delay", (PyCFunction)(void (*)(void))rqf_py_retry_delay,
     METH_FASTCALL, "Return (the jittered delay before a retry, new state)."},
    {"next_run_times", (PyCFunction)(void (*)(void))rqf_py_next_run_times,
     METH_FASTCALL, "Return (each job's next run time, new state)."},
    {"decode_job_hash", (PyCFunction)rqf_py_decode_job_hash, METH_O,
     "Decode a job hash into (attributes, result, meta, webhooks)."},
    {"decode_job_state", (PyCFunction)(void (*)(void))rqf_py_decode_job_state,
     METH_FASTCALL, "Decode a job hash into a Job's instance dict."},
    {"encode_job_hash", (PyCFunction)(void (*)(void))rqf_py_encode_job_hash,
     METH_FASTCALL | METH_KEYWORDS,
     "Return the mapping stock Job.to_dict() returns."},
    {"encode_job_state",
     (PyCFunction)(void (*)(void))rqf_py_encode_job_state,
     METH_FASTCALL | METH_KEYWORDS,
     "Return what Job.to_dict() stores, keeping the compressed forms."},
    {"compress", (PyCFunction)rqf_py_compress, METH_O,
     "Return zlib.compress(data)."},
    {"changed_fields", (PyCFunction)(void (*)(void))rqf_py_changed_fields,
     METH_FASTCALL, "Return the entries whose bytes differ from the hash."},
    {"split_members", (PyCFunction)(void (*)(void))rqf_py_split_members,
     METH_FASTCALL, "Split registry members into (job_id, execution_id)."},
    {"member_job_ids", (PyCFunction)(void (*)(void))rqf_py_member_job_ids,
     METH_FASTCALL, "Return the job id of each registry member."},
    {"validate_job_id",
     (PyCFunction)(void (*)(void))rqf_py_validate_job_id, METH_FASTCALL,
     "Raise as RQ does unless job_id is a valid job id."},
    {"validate_job_ids",
     (PyCFunction)(void (*)(void))rqf_py_validate_job_ids, METH_FASTCALL,
     "Validate every job id; raise for the first invalid one."},
    {"partition_by_deadline",
     (PyCFunction)(void (*)(void))rqf_py_partition_by_deadline,
     METH_FASTCALL, "Split (member, score) pairs into due and the rest."},
    {"pack_command", (PyCFunction)rqf_py_pack_command, METH_O,
     "Return a command's RESP bytes as hiredis packs them, or None."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot speedups_slots[] = {
    {Py_mod_exec, (void *)speedups_exec},
    {0, NULL},
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "rqfast._speedups",
    .m_doc = "C implementations of rqfast._reference.",
    .m_size = sizeof(rqf_state),
    .m_methods = speedups_methods,
    .m_slots = speedups_slots,
    .m_traverse = speedups_traverse,
    .m_clear = speedups_clear,
    .m_free = speedups_free,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModuleDef_Init(&speedups_module);
}
