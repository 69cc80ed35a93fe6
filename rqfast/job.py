"""rqfast's Job: RQ's Job with its hash read and written by the C codec.

A job hash is decoded in one call into the attribute values stock
``Job.restore`` assigns, and encoded in one call into the mapping stock
``Job.to_dict`` returns, so what reaches Redis is byte for byte what stock RQ
writes. The methods here are also copied onto ``rq.job.Job`` by
:func:`rqfast.install`, so they call stock code through module-level
references rather than ``super()``.

The compressed payload (``data``) and exception text (``exc_info``) are kept
next to the values they were made from, so saving a job whose payload has not
changed compresses nothing. A payload read from Redis is written back exactly
as it was read; stock RQ would recompress it, which gives the same bytes for
any payload written by this zlib at RQ's level.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

import rq.job
from rq.job import UNEVALUATED
from rq.job import Job as _RQJob
from rq.webhook import Webhook

from . import _impl

__all__ = ["Job"]

# Stock restore assigns the payload through the `data` setter, which forgets
# any deserialized function and arguments; restore does the same in one step.
_PAYLOAD_UNEVALUATED = {
    "_func_name": UNEVALUATED,
    "_instance": UNEVALUATED,
    "_args": UNEVALUATED,
    "_kwargs": UNEVALUATED,
}
_UNSERIALIZABLE_RESULT = rq.job.UNSERIALIZABLE_RETURN_VALUE_PAYLOAD  # type: ignore[attr-defined]


class Job(_RQJob):
    """An RQ job whose hash is decoded and encoded in C."""

    def restore(self, raw_data: Mapping[Any, Any]) -> None:
        """Overwrite this job's attributes with a job hash as HGETALL returns it."""
        attrs, result, meta, webhooks = _impl.ext.decode_job_hash(raw_data)
        state = self.__dict__
        state.update(attrs)
        state.update(_PAYLOAD_UNEVALUATED)

        # Keep the compressed forms read, unless they were stored uncompressed.
        data = attrs["_data"]
        compressed = raw_data.get(b"data")
        state["_rqfast_zdata"] = (
            (data, compressed)
            if compressed is not None and data != compressed
            else None
        )
        exc_info = attrs.get("_exc_info")
        if exc_info is not None:
            compressed = raw_data.get(b"exc_info")
            state["_rqfast_zexc"] = (
                (exc_info, compressed)
                if compressed is not None and exc_info.encode() != compressed
                else None
            )

        if result is not None:
            try:
                self._result = self.serializer.loads(result)
            except Exception:
                self._result = _UNSERIALIZABLE_RESULT
        if meta is None:
            self.meta = {}
        else:
            try:
                self.meta = self.serializer.loads(meta)
            except Exception:
                self.meta = {"unserialized": meta}
        if webhooks is not None:
            try:
                self.webhooks = [
                    Webhook.from_dict(entry) for entry in json.loads(webhooks.decode())
                ]
            except Exception:
                self.log.warning(
                    "Job %s: failed to deserialize webhooks", self.id, exc_info=True
                )
                self.webhooks = []

    def to_dict(
        self, include_meta: bool = True, include_result: bool = True
    ) -> dict[str, Any]:
        """Return the mapping stock RQ stores for this job, encoded in C."""
        state = self.__dict__
        data = self.data
        cached = state.get("_rqfast_zdata")
        if cached is not None and cached[0] is data:
            zdata = cached[1]
        else:
            zdata = zlib.compress(data)
            state["_rqfast_zdata"] = (data, zdata)

        zexc = None
        exc_info = self._exc_info
        if exc_info is not None and include_result:
            cached = state.get("_rqfast_zexc")
            if cached is not None and cached[0] is exc_info:
                zexc = cached[1]
            else:
                zexc = zlib.compress(str(exc_info).encode("utf-8"))
                state["_rqfast_zexc"] = (exc_info, zexc)

        return _impl.ext.encode_job_hash(
            self, zdata, zexc, include_meta, include_result
        )

    def get_retry_interval(self) -> int:
        """Return the delay in seconds before this job's next retry."""
        return _impl.ext.retry_interval(self.retry_intervals, self.retries_left or 0)


PATCHES: list[tuple[type, type]] = [(_RQJob, Job)]
