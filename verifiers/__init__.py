"""Build Keras snippets for real, in sandboxed warm workers, and report shapes and params.

``verify(code, keras)`` returns one :class:`VerifyReport` per Keras major version. TensorFlow
is only ever imported inside the worker processes. Each worker runs up to
``verify_concurrency`` snippets at once behind a :class:`~verifiers.fair.FairQueue`.
"""

from __future__ import annotations

import atexit
import itertools
import queue
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Literal

from kb.core.errors import WorkerFailed
from kb.core.schema import KerasMajor
from kb.core.settings import Settings
from verifiers.cache import VerifyCache
from verifiers.fair import FairQueue, OnWait, QueueFull
from verifiers.policy import check_policy
from verifiers.report import ErrorInfo, VerifyReport, differences
from verifiers.sandbox import KerasWorker, slots_per_worker

_anonymous = itertools.count()

__all__ = ["Verifier", "VerifyReport", "close_default", "differences", "get_verifier", "verify"]


class Verifier:
    """Owns the warm workers and the cache for one set of settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache = VerifyCache(settings.cache_path)
        self._workers: dict[KerasMajor, KerasWorker] = {}
        self._queues: dict[KerasMajor, FairQueue] = {}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def concurrency(self) -> int:
        """Snippets one worker runs at once (the setting, or one per CPU core)."""
        return slots_per_worker(self.settings)

    def queue(self, major: KerasMajor) -> FairQueue:
        with self._lock:
            if major not in self._queues:
                self._queues[major] = FairQueue(self.concurrency, self.settings.verify_session_queue)
            return self._queues[major]

    def worker(self, major: KerasMajor) -> KerasWorker:
        with self._lock:
            if self._closed:
                raise WorkerFailed("The verifier was shut down.")
            if major not in self._workers:
                self._workers[major] = KerasWorker(major, self.settings)
            return self._workers[major]

    def verify(self, code: str, majors: tuple[KerasMajor, ...] | None = None, *, use_cache: bool = True,
               session: str | None = None, on_wait: OnWait | None = None) -> list[VerifyReport]:
        """Build ``code`` with each Keras major version in ``majors``.

        ``session`` names the student (the fair queue's unit; None = a session of its own).
        ``on_wait(ahead)`` is called in the calling thread while the snippet waits for a free
        slot, with the number of snippets running or due to start before it, whenever it changes.
        """
        majors = majors or self.settings.keras_versions
        refusal = check_policy(code)
        if refusal:
            return [VerifyReport.refused(m, refusal.reason, refusal.line, refusal.kind, refusal.subject) for m in majors]
        who = session if session is not None else f"anonymous-{next(_anonymous)}"
        if len(majors) == 1 and on_wait is None:
            return [self._verify_one(code, majors[0], use_cache, who, None)]
        events: queue.SimpleQueue[tuple[str, int]] = queue.SimpleQueue()

        def waiter(major: KerasMajor) -> OnWait | None:
            return (lambda ahead: events.put((major, ahead))) if on_wait is not None else None

        with ThreadPoolExecutor(max_workers=len(majors)) as pool:
            futures: list[Future[VerifyReport]] = []
            for m in majors:
                future = pool.submit(self._verify_one, code, m, use_cache, who, waiter(m))
                future.add_done_callback(lambda _f: events.put(("", -1)))
                futures.append(future)
            latest: dict[str, int] = {}
            shown: int | None = None
            finished = 0
            while finished < len(futures):
                major, ahead = events.get()
                if not major:
                    finished += 1
                    continue
                latest[major] = ahead
                if on_wait is not None and max(latest.values()) != shown:
                    shown = max(latest.values())
                    on_wait(shown)
            return [f.result() for f in futures]

    def cached(self, code: str, majors: tuple[KerasMajor, ...] | None = None) -> list[VerifyReport] | None:
        """Reports from the cache only (never starts a worker); None if any is missing."""
        majors = majors or self.settings.keras_versions
        reports = [r for r in (self.cache.get(code, m) for m in majors) if r is not None]
        return reports if len(reports) == len(majors) else None

    def _verify_one(self, code: str, major: KerasMajor, use_cache: bool, session: str,
                    on_wait: OnWait | None) -> VerifyReport:
        if use_cache:
            hit = self.cache.get(code, major)
            if hit is not None:
                return hit
        worker = self.worker(major)
        slots = self.queue(major)
        try:
            lease = slots.acquire(session, on_wait)
        except QueueFull as exc:
            return VerifyReport(keras_major=major, keras_version=worker.keras_version, ok=False,
                                error=ErrorInfo(type="QueueFull", message=str(exc)))
        # Still running after verify_aside_after: it leaves its slot to the next snippet (the worker
        # drops it to the lowest CPU priority at the same moment) and runs on to its own timeout.
        aside = self.settings.verify_aside_after
        timer = threading.Timer(aside, lease.step_aside) if aside > 0 else None
        try:
            if timer is not None:
                timer.daemon = True
                timer.start()
            raw = worker.run(code)
        finally:
            if timer is not None:
                timer.cancel()
            lease.release()
        report = VerifyReport.from_worker(major, worker.keras_version or "", raw)
        self.cache.put(code, major, report)
        return report

    def close(self) -> None:
        """Stop every worker for good (a warm-up still under way in another thread starts none)."""
        with self._lock:
            self._closed = True
            for worker in self._workers.values():
                worker.shutdown()
            self._workers.clear()


_default: Verifier | None = None


def get_verifier(settings: Settings | None = None) -> Verifier:
    """A process-wide verifier (warm workers are reused across calls)."""
    global _default
    settings = settings or Settings.from_env()
    if _default is None or _default.settings != settings:
        if _default is not None:
            _default.close()
        _default = Verifier(settings)
    return _default


def close_default() -> None:
    """Stop the process-wide verifier's workers (at exit, or between tests)."""
    global _default
    if _default is not None:
        _default.close()
        _default = None


def verify(code: str, keras: KerasMajor | Literal["both"] = "both",
           settings: Settings | None = None) -> list[VerifyReport]:
    """Verify ``code`` with Keras 3, 2 or both (``keras`` is "3", "2" or "both")."""
    verifier = get_verifier(settings)
    majors = verifier.settings.keras_versions if keras == "both" else (keras,)
    return verifier.verify(code, majors)


atexit.register(close_default)
