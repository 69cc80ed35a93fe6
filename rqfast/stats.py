"""Per-queue retry counters and a job's attempt history, as ``rqfast stats`` shows them.

rqfast workers count, per queue, in the hash ``rqfast:stats:<queue>`` (stock RQ
neither writes nor reads it):

- ``retried``: failed attempts that were retried, now or later;
- ``exhausted``: jobs that failed with no retries left;
- ``gave_up``: jobs whose exception their policy does not retry;
- ``succeeded_after_retry``: jobs that succeeded after at least one failed
  attempt, and ``succeeded_after:<n>`` those that did after exactly n.

The counters are incremented inside the same script call that finishes the
attempt, so they stay exact with any number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from redis import Redis

__all__ = ["QueueCounters", "counters_key", "read_counters"]

COUNTERS_PREFIX = "rqfast:stats:"


def counters_key(queue_name: str) -> str:
    """Return the key of a queue's rqfast counters hash."""
    return f"{COUNTERS_PREFIX}{queue_name}"


@dataclass(frozen=True)
class QueueCounters:
    """The retry counters of one queue."""

    queue: str
    retried: int = 0
    exhausted: int = 0
    gave_up: int = 0
    succeeded_after_retry: int = 0
    #: How many jobs succeeded after exactly n failed attempts, by n.
    succeeded_after: dict[int, int] = field(default_factory=dict)


def read_counters(connection: Redis, queue_names: list[str]) -> list[QueueCounters]:
    """Return the counters of each named queue, in one round trip."""
    with connection.pipeline(transaction=False) as pipe:
        for name in queue_names:
            pipe.hgetall(counters_key(name))
        hashes = pipe.execute()
    found = []
    for name, raw in zip(queue_names, hashes, strict=True):
        values = {key.decode(): int(value) for key, value in raw.items()}
        after = {
            int(key.split(":", 1)[1]): count
            for key, count in values.items()
            if key.startswith("succeeded_after:")
        }
        found.append(
            QueueCounters(
                queue=name,
                retried=values.get("retried", 0),
                exhausted=values.get("exhausted", 0),
                gave_up=values.get("gave_up", 0),
                succeeded_after_retry=values.get("succeeded_after_retry", 0),
                succeeded_after=dict(sorted(after.items())),
            )
        )
    return found
