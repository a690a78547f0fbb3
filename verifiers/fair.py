"""A fair queue in front of a Keras worker's slots: round-robin across sessions.

One student's burst of snippets does not starve the others: when a slot frees, the next session
in rotation starts its oldest waiting snippet, then goes to the back of the rotation. Each
session may have only a few snippets waiting; a waiting caller learns how many snippets are
ahead of it (running, or due to start before it) whenever that number changes.

A snippet that runs long may *step aside*: it leaves its slot to the next waiting snippet and
keeps running outside the slots (the worker has dropped it to the lowest CPU priority), up to as
many such snippets as there are slots; past that, it keeps its slot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable

from kb.core.errors import CoursebotError

OnWait = Callable[[int], None]


class QueueFull(CoursebotError):
    """A session already has its limit of snippets waiting."""


class _Ticket:
    __slots__ = ("granted",)

    def __init__(self) -> None:
        self.granted = False


class Lease:
    """One granted slot: :meth:`step_aside` at most once, then :meth:`release` exactly once (thread-safe:
    a timer may step aside while the holder releases)."""

    def __init__(self, queue: FairQueue) -> None:
        self._queue = queue
        self._lock = threading.Lock()
        self.aside = False
        self.released = False

    def step_aside(self) -> bool:
        with self._lock:
            if not self.released and not self.aside:
                self.aside = self._queue._step_aside()
            return self.aside

    def release(self) -> None:
        with self._lock:
            if not self.released:
                self.released = True
                self._queue._release(self.aside)


class FairQueue:
    def __init__(self, slots: int, per_session: int) -> None:
        self.slots = max(1, slots)
        self.per_session = max(1, per_session)
        self.running = 0   # holding a slot
        self.aside = 0     # stepped aside: still running, outside the slots (at most ``slots``)
        self._queues: OrderedDict[str, deque[_Ticket]] = OrderedDict()
        self._cond = threading.Condition()

    @property
    def waiting(self) -> int:
        with self._cond:
            return sum(len(q) for q in self._queues.values())

    def acquire(self, session: str, on_wait: OnWait | None = None) -> Lease:
        """Block until a slot is ours (then release it through the lease); raises QueueFull."""
        ticket = _Ticket()
        with self._cond:
            if self.running < self.slots and not self._queues:
                self.running += 1
                return Lease(self)
            queue = self._queues.get(session)
            if queue is not None and len(queue) >= self.per_session:
                raise QueueFull(
                    f"You already have {len(queue)} snippets waiting to run; wait for them to finish "
                    "before sending another."
                )
            self._queues.setdefault(session, deque()).append(ticket)
            self._cond.notify_all()  # a new session may move into the rotation ahead of others
        last: int | None = None
        try:
            while True:
                with self._cond:
                    if ticket.granted:
                        return Lease(self)
                    ahead = self._ahead(session, ticket)
                    if ahead == last:
                        self._cond.wait()
                        continue
                if on_wait is not None:
                    on_wait(ahead)  # outside the lock: a slow callback delays nobody else
                last = ahead
        except BaseException:
            self._cancel(session, ticket)
            raise

    def release(self) -> None:
        """Give back a slot taken by :meth:`acquire` (the same as its lease's ``release()``)."""
        self._release(False)

    def _release(self, aside: bool) -> None:
        with self._cond:
            if aside:
                self.aside -= 1
            else:
                self.running -= 1
            self._grant()
            self._cond.notify_all()

    def _step_aside(self) -> bool:
        with self._cond:
            if self.aside >= self.slots:
                return False
            self.aside += 1
            self.running -= 1
            self._grant()
            self._cond.notify_all()
            return True

    def _grant(self) -> None:
        while self.running < self.slots and self._queues:
            session, queue = next(iter(self._queues.items()))
            ticket = queue.popleft()
            if queue:
                self._queues.move_to_end(session)
            else:
                del self._queues[session]
            ticket.granted = True
            self.running += 1

    def _ahead(self, session: str, ticket: _Ticket) -> int:
        """Snippets running now plus those the rotation starts before ``ticket``."""
        queue = self._queues[session]
        depth = queue.index(ticket)
        before = 0
        for other, waiting in self._queues.items():
            if other == session:
                before += depth
                break
            before += min(len(waiting), depth + 1)
        for waiting in list(self._queues.values())[list(self._queues).index(session) + 1:]:
            before += min(len(waiting), depth)
        return self.running + before

    def _cancel(self, session: str, ticket: _Ticket) -> None:
        with self._cond:
            if ticket.granted:
                self.running -= 1
                self._grant()
            else:
                queue = self._queues.get(session)
                if queue is not None and ticket in queue:
                    queue.remove(ticket)
                    if not queue:
                        del self._queues[session]
            self._cond.notify_all()
