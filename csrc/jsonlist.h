/* The two JSON shapes a job hash holds: lists of integers
 * (retry_intervals, repeat_intervals) and lists of strings (dependency_ids).
 */
#ifndef RQF_JSONLIST_H
#define RQF_JSONLIST_H

#include "module.h"

/* The longest JSON list field read, in bytes. */
#define RQF_MAX_JSON_LEN (1 << 20)
/* The most items a JSON list field may hold. */
#define RQF_MAX_LIST_ITEMS 65536

/* Parse a JSON array of integers that fit a signed 64-bit integer. Returns
   1 and stores a new list in *out; 0 when the text is anything else (no
   exception set); -1 with an exception when memory runs out. */
int rqf_json_int_list(const char *buf, Py_ssize_t len, PyObject **out);

/* Parse UTF-8 text holding a JSON array of strings, as json.loads() would
   read it. Same returns as rqf_json_int_list. */
int rqf_json_str_list(const char *buf, Py_ssize_t len, PyObject **out);

/* Return json.dumps(obj) as a new str, or NULL with its exception. Lists of
   machine-sized ints and of plain printable ASCII strings are written here;
   anything else goes to json.dumps. */
PyObject *rqf_json_dumps(rqf_state *st, PyObject *obj);

#endif /* RQF_JSONLIST_H */
