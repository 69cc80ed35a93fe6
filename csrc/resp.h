/* Packing a command in RESP, byte for byte as hiredis.pack_command does. */
#ifndef RQF_RESP_H
#define RQF_RESP_H

#include "module.h"

/* The module-level pack_command(args): the RESP bytes of a tuple of exact
   bytes, str (subclasses too), exact int in the 64-bit range and exact
   float, or None when an item is of any other kind or cannot be encoded,
   so that the caller asks hiredis itself (which then packs it or raises). */
PyObject *rqf_py_pack_command(PyObject *module, PyObject *args);

#endif /* RQF_RESP_H */
