"""A job's attempt history: the newest attempts, bounded, in one stored layout."""

from __future__ import annotations

import json
import zlib

import hypothesis.strategies as st
import redis
from hypothesis import given, settings

import rqfast
from rqfast.job import ATTEMPTS_KEPT, last_attempt, record_attempt

NO_SERVER = redis.Redis()  # never connects: nothing here does I/O


def stored(job: rqfast.Job) -> list[dict[str, object]]:
    raw = job.__dict__["_rqfast_attempts_raw"]
    entries: list[dict[str, object]] = json.loads(zlib.decompress(raw))
    return entries


# Pieces that look like the history's own syntax, joined into messages.
messages = st.lists(
    st.sampled_from(['{"n":', ",", '"', "\\", "é", "\n", "a", "]", "[", ',{"n":1}']),
    max_size=8,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(messages, min_size=1, max_size=ATTEMPTS_KEPT + 5))
def test_keeps_the_newest_attempts_in_order(texts: list[str]) -> None:
    job = rqfast.Job("history", connection=NO_SERVER)

    for number, text in enumerate(texts, start=1):
        record_attempt(job, number, ValueError(text), f"tb {text}", "w", 1.5)
        newest = last_attempt(job)
        assert newest is not None
        assert (newest["n"], newest["message"], newest["traceback"]) == (
            number,
            text,
            f"tb {text}",
        )

    entries = stored(job)
    kept = texts[-ATTEMPTS_KEPT:]
    assert [entry["n"] for entry in entries] == list(
        range(len(texts) - len(kept) + 1, len(texts) + 1)
    )
    assert [entry["message"] for entry in entries] == kept
    assert entries[-1] == last_attempt(job)


def test_a_history_in_another_layout_is_read_and_extended() -> None:
    job = rqfast.Job("history", connection=NO_SERVER)
    foreign = [{"retry_in": 3, "n": index, "message": "old"} for index in range(12)]
    job.__dict__["_rqfast_attempts_raw"] = zlib.compress(json.dumps(foreign).encode())

    assert last_attempt(job) == foreign[-1]
    record_attempt(job, 12, KeyError("k"), "tb", None, None)

    entries = stored(job)
    assert len(entries) == ATTEMPTS_KEPT
    assert entries[:-1] == foreign[-(ATTEMPTS_KEPT - 1) :]
    assert entries[-1]["n"] == 12 and entries[-1]["type"] == "KeyError"


def test_reads_what_a_restored_job_holds(connection: redis.Redis) -> None:
    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue("os.path.join", "a")
    record_attempt(job, 1, ValueError("first"), "tb", "w", 2.0)
    job.save()

    fetched = rqfast.Job.fetch(job.id, connection=connection)
    record_attempt(fetched, 2, ValueError("second"), "tb", "w", None)
    fetched.save()

    again = rqfast.Job.fetch(job.id, connection=connection)
    assert [attempt.message for attempt in again.attempts] == ["first", "second"]
    assert [attempt.retry_in for attempt in again.attempts] == [2.0, None]
