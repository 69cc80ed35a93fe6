/* Retry backoff and jitter: the delay before each retry of a policy. */
#ifndef RQF_BACKOFF_H
#define RQF_BACKOFF_H

#include "module.h"

/* The module-level uniform(state), backoff_delay(n, first, factor, cap),
   retry_delay(n, previous, first, factor, cap, jitter, state) and
   next_run_times(now, numbers, previous, first, factor, cap, jitter,
   state), vectorcall style. */
PyObject *rqf_py_uniform(PyObject *module, PyObject *state);
PyObject *rqf_py_backoff_delay(PyObject *module, PyObject *const *args,
                               Py_ssize_t nargs);
PyObject *rqf_py_retry_delay(PyObject *module, PyObject *const *args,
                             Py_ssize_t nargs);
PyObject *rqf_py_next_run_times(PyObject *module, PyObject *const *args,
                                Py_ssize_t nargs);

#endif /* RQF_BACKOFF_H */
