"""``geo.db.engine.concurrently``: independent reads at the same time, results in order."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, text

from geo.db.engine import concurrently


def test_results_come_back_in_the_order_of_the_calls() -> None:
    assert concurrently(lambda: 1, lambda: "two", lambda: [3]) == [1, "two", [3]]
    assert concurrently(lambda: 7) == [7]
    assert concurrently() == []


def test_the_calls_run_at_the_same_time() -> None:
    # Each call waits for the other: one after another, the first would wait forever
    # (broken after 10 s).
    meeting = threading.Barrier(2, timeout=10)
    names = concurrently(
        lambda: (meeting.wait(), threading.current_thread().name)[1],
        lambda: (meeting.wait(), threading.current_thread().name)[1],
    )
    assert len(set(names)) == 2


def test_a_failing_call_raises_after_every_call_has_ended() -> None:
    ended = []

    def slow() -> str:
        ended.append("slow")
        return "done"

    def fails() -> None:
        raise ValueError("first")

    def fails_later() -> None:
        raise KeyError("second")

    with pytest.raises(ValueError, match="first"):
        concurrently(fails, slow, fails_later)
    assert ended == ["slow"]


@pytest.mark.db
def test_each_call_has_its_own_database_session(pg_server_url) -> None:
    engine = create_engine(pg_server_url)
    meeting = threading.Barrier(3, timeout=10)

    def backend() -> int:
        with engine.connect() as conn:
            meeting.wait()  # all three connections open at once
            return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

    try:
        pids = concurrently(backend, backend, backend)
    finally:
        engine.dispose()
    assert len(set(pids)) == 3
