"""Job timeouts by SIGALRM, as stock RQ sets them, for a fraction of the cost.

Stock RQ's ``UnixSignalDeathPenalty`` installs its handler for SIGALRM before
each job and puts the default back after it, through ``signal.signal``, whose
Python wrapper converts both the new and the previous handler to and from
``signal.Handlers``; for a handler that is a function, each conversion raises
and catches an exception. That is a noticeable share of a short job's cost.

:class:`AlarmDeathPenalty` does the same two changes through the C functions
the ``signal`` module wraps, so a job sees the same handler, the same alarm
and the same exception and message when it runs out of time, and SIGALRM is
back to its default between jobs as with stock RQ.
"""

from __future__ import annotations

import importlib
import signal
from collections.abc import Callable
from typing import Any

from rq.timeouts import BaseTimeoutException, UnixSignalDeathPenalty

__all__ = ["AlarmDeathPenalty"]

_signal_module = importlib.import_module("_signal")
#: ``signal.signal`` without the conversion of handlers to and from enums.
_set_handler: Callable[[int, Any], Any] = getattr(
    _signal_module, "signal", signal.signal
)
_SIGALRM = int(signal.SIGALRM)
_SIG_DFL = int(signal.SIG_DFL)


class AlarmDeathPenalty(UnixSignalDeathPenalty):
    """Raise the job's timeout exception when SIGALRM fires, as stock RQ does."""

    def __init__(
        self,
        timeout: Any,
        exception: type[Exception] = BaseTimeoutException,
        **kwargs: Any,
    ) -> None:
        super().__init__(timeout, exception, **kwargs)  # type: ignore[no-untyped-call]

    def setup_death_penalty(self) -> None:
        """Install the handler and set the alarm to the timeout, in seconds."""
        _set_handler(_SIGALRM, self.handle_death_penalty)
        signal.alarm(self._timeout)

    def cancel_death_penalty(self) -> None:
        """Clear the alarm and put SIGALRM's default handling back."""
        signal.alarm(0)
        _set_handler(_SIGALRM, _SIG_DFL)
