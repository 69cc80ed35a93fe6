/* Registry scanning: split members, validate job ids, partition by score. */
#ifndef RQF_REGISTRY_H
#define RQF_REGISTRY_H

#include "module.h"

/* The module-level split_members(members), member_job_ids(members),
   validate_job_id(job_id), validate_job_ids(job_ids) and
   partition_by_deadline(scored, deadline), vectorcall style. */
PyObject *rqf_py_split_members(PyObject *module, PyObject *const *args,
                               Py_ssize_t nargs);
PyObject *rqf_py_member_job_ids(PyObject *module, PyObject *const *args,
                                Py_ssize_t nargs);
PyObject *rqf_py_validate_job_id(PyObject *module, PyObject *const *args,
                                 Py_ssize_t nargs);
PyObject *rqf_py_validate_job_ids(PyObject *module, PyObject *const *args,
                                  Py_ssize_t nargs);
PyObject *rqf_py_partition_by_deadline(PyObject *module,
                                       PyObject *const *args,
                                       Py_ssize_t nargs);

#endif /* RQF_REGISTRY_H */
