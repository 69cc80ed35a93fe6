"""A job's attempt history: the newest attempts, bounded, in one stored layout."""

from __future__ import annotations

import json
import zlib

import hypothesis.strategies as st
import redis
from hypothesis import given, settings

import rqfast
from rqfast.job import (
    ATTEMPTS_KEPT,
    HISTORY_PLAIN_BYTES,
    _entry_json,
    last_attempt,
    last_attempt_number,
    record_attempt,
)

NO_SERVER = redis.Redis()  # never connects: nothing here does I/O


def stored(job: rqfast.Job) -> list[dict[str, object]]:
    """Return the history as stored: JSON text, or zlib-compressed when long."""
    raw = job.__dict__["_rqfast_attempts_raw"]
    text = raw if raw[:1] == b"[" else zlib.decompress(raw)
    entries: list[dict[str, object]] = json.loads(text)
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
        assert last_attempt_number(job) == number

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
    assert last_attempt_number(job) == 11
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


def test_a_short_history_is_stored_as_text_and_a_long_one_compressed() -> None:
    job = rqfast.Job("history", connection=NO_SERVER)
    record_attempt(job, 1, ValueError("short"), "tb", "w", 1.0)
    raw = job.__dict__["_rqfast_attempts_raw"]
    assert raw.startswith(b'[{"n":1,') and json.loads(raw)[0]["message"] == "short"

    # Tracebacks of 1000 characters: past the plain size in a few attempts.
    for number in range(2, ATTEMPTS_KEPT + 1):
        record_attempt(job, number, ValueError("long"), "x" * 1000, "w", 1.0)
        raw = job.__dict__["_rqfast_attempts_raw"]
        text = raw if raw[:1] == b"[" else zlib.decompress(raw)
        assert (raw[:1] == b"[") == (len(text) <= HISTORY_PLAIN_BYTES)
        assert last_attempt_number(job) == number
    assert raw[:1] != b"[" and len(raw) < HISTORY_PLAIN_BYTES
    assert [entry["n"] for entry in stored(job)] == list(range(1, ATTEMPTS_KEPT + 1))


def test_a_compressed_history_in_the_own_layout_is_extended() -> None:
    """A short history compressed (as earlier rqfast releases stored every one)."""
    job = rqfast.Job("history", connection=NO_SERVER)
    record_attempt(job, 1, ValueError("first"), "tb", "w", 1.0)
    # Deflated with a 4 KB window, as earlier releases wrote every history.
    deflate = zlib.compressobj(6, zlib.DEFLATED, 12, 4)
    text = job.__dict__["_rqfast_attempts_raw"]
    job.__dict__["_rqfast_attempts_raw"] = deflate.compress(text) + deflate.flush()
    assert last_attempt_number(job) == 1
    record_attempt(job, 2, ValueError("second"), "tb", "w", None)

    assert job.__dict__["_rqfast_attempts_raw"].startswith(b'[{"n":1,')
    assert [entry["message"] for entry in stored(job)] == ["first", "second"]


def test_both_forms_survive_a_save_and_a_fetch(connection: redis.Redis) -> None:
    queue = rqfast.Queue("default", connection=connection)
    short = queue.enqueue("os.path.join", "a")
    record_attempt(short, 1, ValueError("short"), "tb", "w", 2.0)
    short.save()
    long = queue.enqueue("os.path.join", "b")
    for number in range(1, 7):
        record_attempt(long, number, ValueError("long"), "y" * 1000, "w", 2.0)
    long.save()

    assert connection.hget(short.key, "rqfast_attempts").startswith(b"[")
    assert not connection.hget(long.key, "rqfast_attempts").startswith(b"[")
    fetched_short = rqfast.Job.fetch(short.id, connection=connection)
    fetched_long = rqfast.Job.fetch(long.id, connection=connection)
    assert [attempt.message for attempt in fetched_short.attempts] == ["short"]
    assert [attempt.number for attempt in fetched_long.attempts] == list(range(1, 7))


# Any text, lone surrogates included; numbers of every kind; other types.
scalars = st.one_of(
    st.text(st.characters(blacklist_categories=())),
    st.none(),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["n", "type", "message", "at"]), scalars))
def test_an_entry_is_written_as_json_dumps_writes_it(entry: dict[str, object]) -> None:
    assert _entry_json(entry) == json.dumps(entry, separators=(",", ":")).encode()


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(st.characters(blacklist_categories=()), min_size=120, max_size=400),
        min_size=1,
        max_size=80,
    )
)
def test_long_texts_are_written_as_json_dumps_writes_them(texts: list[str]) -> None:
    """Long texts come from a bounded store of recent ones: repeats and overflow."""
    for text in [*texts, *reversed(texts)]:
        entry = {"n": 1, "traceback": text}
        assert _entry_json(entry) == json.dumps(entry, separators=(",", ":")).encode()
