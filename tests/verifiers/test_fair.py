"""The fair queue in front of a worker's slots (plain threads, no sandbox needed)."""

from __future__ import annotations

import threading
import time

import pytest

from verifiers.fair import FairQueue, QueueFull


def _wait_until(check: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.005)


def test_round_robin_across_sessions_and_positions() -> None:
    q = FairQueue(slots=1, per_session=3)
    q.acquire("holder")
    order: list[str] = []
    seen: dict[str, list[int]] = {}
    threads = []

    def job(session: str, name: str) -> None:
        q.acquire(session, lambda ahead: seen.setdefault(name, []).append(ahead))
        order.append(name)
        q.release()

    try:
        for session, name in [("a", "a1"), ("a", "a2"), ("a", "a3"), ("b", "b1")]:
            t = threading.Thread(target=job, args=(session, name), daemon=True)
            t.start()
            threads.append(t)
            count = len(threads)
            _wait_until(lambda: q.waiting == count)  # noqa: B023 - waited on right here
        with pytest.raises(QueueFull, match="3 snippets waiting"):
            q.acquire("a")
        # Rotation a, b, a, a: b1 starts second although it came last; "ahead" counts the running one.
        expected = {"a1": 1, "b1": 2, "a2": 3, "a3": 4}
        _wait_until(lambda: {k: v[-1] for k, v in seen.items()} == expected)
    finally:
        q.release()
        for t in threads:
            t.join(5)
    assert order == ["a1", "b1", "a2", "a3"]
    after_b1 = seen["a3"][seen["a3"].index(4):]  # b1 cut in ahead of it, then it only moved up
    assert after_b1 == sorted(after_b1, reverse=True)
    assert q.running == 0 and q.waiting == 0


def test_free_slots_start_at_once_and_callback_failure_leaves_no_ticket() -> None:
    q = FairQueue(slots=2, per_session=1)
    calls: list[int] = []
    q.acquire("x", calls.append)
    q.acquire("y", calls.append)
    assert calls == [] and q.running == 2

    def boom(ahead: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        q.acquire("z", boom)
    assert q.waiting == 0
    q.release()
    q.release()
    assert q.running == 0


def test_a_long_snippet_steps_aside_for_the_next_one_up_to_as_many_as_there_are_slots() -> None:
    q = FairQueue(slots=1, per_session=3)
    long_one = q.acquire("a")
    started = threading.Event()

    def next_one() -> None:
        q.acquire("b").release()
        started.set()

    t = threading.Thread(target=next_one, daemon=True)
    t.start()
    _wait_until(lambda: q.waiting == 1)
    assert not started.wait(0.2)                  # the one slot is held
    assert long_one.step_aside()                  # ... until the long snippet steps aside
    assert started.wait(5) and q.aside == 1 and q.running == 0
    second = q.acquire("c")
    assert not second.step_aside()                # no more aside than there are slots: it keeps its slot
    assert q.running == 1 and q.aside == 1
    long_one.release()
    long_one.release()                            # a lease is released once, whatever calls it again
    assert second.step_aside() and q.aside == 1 and q.running == 0
    second.release()
    second.step_aside()                           # too late: it is over, nothing changes
    assert q.running == 0 and q.aside == 0 and q.waiting == 0
    t.join(5)
