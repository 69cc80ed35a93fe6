/* RQ's retry interval rules: which delay a retry waits for. */
#ifndef RQF_RETRY_H
#define RQF_RETRY_H

#include "module.h"

/* The module-level get_interval(count, intervals) and
   retry_interval(intervals, retries_left), vectorcall style. */
PyObject *rqf_py_get_interval(PyObject *module, PyObject *const *args,
                              Py_ssize_t nargs);
PyObject *rqf_py_retry_interval(PyObject *module, PyObject *const *args,
                                Py_ssize_t nargs);

#endif /* RQF_RETRY_H */
