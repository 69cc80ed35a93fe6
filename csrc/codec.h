/* The job hash codec: a Redis hash of an RQ job to typed values and back.
 */
#ifndef RQF_CODEC_H
#define RQF_CODEC_H

#include "module.h"

/* The longest integer field read, sign and blanks included. */
#define RQF_MAX_INT_LEN 64

/* Payloads inflated to at most this many bytes are inflated by zlib into
   a stack buffer; longer ones go through Python's zlib module. */
#define RQF_INFLATE_STACK 8192

/* The longest compressed payload the direct path reads, well within
   zlib's unsigned int lengths; longer ones go through Python's zlib. */
#define RQF_INFLATE_MAX_INPUT (1 << 30)

/* Payloads of at most this many bytes are deflated here, holding the GIL,
   with a z_stream kept between calls; longer ones by Python's zlib, which
   releases the GIL while it works. */
#define RQF_DEFLATE_MAX_INPUT (64 * 1024)

/* The most keys Job.to_dict() writes: every step of the encoder, with
   dependency_id, and rqfast's two fields. Its dict is made this size. */
#define RQF_ENCODED_KEYS 37

/* Mappings of at most this many entries are held on the stack while
   changed_fields() diffs them; larger ones in memory from PyMem. */
#define RQF_DIFF_STACK 64

/* Fill the codec's part of the module state. 0, or -1 with an exception. */
int rqf_codec_init(rqf_state *st);

/* Decide whether payloads may be deflated here (the zlib linked into the
   extension is the version Python's zlib module runs) and publish it as
   the module's direct_deflate. 0, or -1 with an exception. */
int rqf_deflate_init(rqf_state *st, PyObject *module);

/* Release the z_stream kept for deflating, if any. */
void rqf_deflate_clear(rqf_state *st);

/* decode_job_hash(raw) -> (attributes, result, meta, webhooks). */
PyObject *rqf_py_decode_job_hash(PyObject *module, PyObject *raw);

/* decode_job_state(raw, state) -> (result, meta, webhooks): decode a job
   hash into state, a Job's instance dict, as rqfast's Job.restore does. */
PyObject *rqf_py_decode_job_state(PyObject *module, PyObject *const *args,
                                  Py_ssize_t nargs);

/* encode_job_hash(job, data, exc_info, include_meta=True,
   include_result=True) -> the mapping stock Job.to_dict() returns. */
PyObject *rqf_py_encode_job_hash(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs, PyObject *kwnames);

/* encode_job_state(job, include_meta=True, include_result=True) -> what
   rqfast's Job.to_dict() returns: encode_job_hash() of the job with its
   payload and exception text compressed (reusing and refreshing the
   compressed forms kept in its instance dict) and rqfast's fields. */
PyObject *rqf_py_encode_job_state(PyObject *module, PyObject *const *args,
                                  Py_ssize_t nargs, PyObject *kwnames);

/* compress(data) -> zlib.compress(data), the same bytes. */
PyObject *rqf_py_compress(PyObject *module, PyObject *data);

/* changed_fields(mapping, raw) -> the entries of mapping (str names to
   values, as to_dict() returns them) whose bytes, as redis-py would send
   them, differ from raw's (HGETALL's bytes) for the same name. */
PyObject *rqf_py_changed_fields(PyObject *module, PyObject *const *args,
                                Py_ssize_t nargs);

#endif /* RQF_CODEC_H */
