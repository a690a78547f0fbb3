"""Build Keras snippets for real, in sandboxed warm workers, and report shapes and params.

``verify(code, keras)`` returns one :class:`VerifyReport` per Keras major version. TensorFlow
is only ever imported inside the worker processes.
"""

from __future__ import annotations

import atexit
import threading
from concurrent.futures import ThreadPoolExecutor

from kb.core.errors import WorkerFailed
from kb.core.settings import Settings
from verifiers.cache import VerifyCache
from verifiers.policy import check_policy
from verifiers.report import VerifyReport, differences
from verifiers.sandbox import KerasWorker

__all__ = ["Verifier", "VerifyReport", "close_default", "differences", "get_verifier", "verify"]


class Verifier:
    """Owns the warm workers and the cache for one set of settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache = VerifyCache(settings.cache_path)
        self._workers: dict[str, KerasWorker] = {}
        self._lock = threading.Lock()
        self._closed = False

    def worker(self, major: str) -> KerasWorker:
        with self._lock:
            if self._closed:
                raise WorkerFailed("The verifier was shut down.")
            if major not in self._workers:
                self._workers[major] = KerasWorker(major, self.settings)
            return self._workers[major]

    def verify(self, code: str, majors: tuple[str, ...] | None = None, *,
               use_cache: bool = True) -> list[VerifyReport]:
        majors = majors or self.settings.keras_versions
        refusal = check_policy(code)
        if refusal:
            return [VerifyReport.refused(m, refusal.reason, refusal.line) for m in majors]
        if len(majors) == 1:
            return [self._verify_one(code, majors[0], use_cache)]
        with ThreadPoolExecutor(max_workers=len(majors)) as pool:
            return list(pool.map(lambda m: self._verify_one(code, m, use_cache), majors))

    def cached(self, code: str, majors: tuple[str, ...] | None = None) -> list[VerifyReport] | None:
        """Reports from the cache only (never starts a worker); None if any is missing."""
        majors = majors or self.settings.keras_versions
        reports = [r for r in (self.cache.get(code, m) for m in majors) if r is not None]
        return reports if len(reports) == len(majors) else None

    def _verify_one(self, code: str, major: str, use_cache: bool) -> VerifyReport:
        if use_cache:
            hit = self.cache.get(code, major)
            if hit is not None:
                return hit
        worker = self.worker(major)
        raw = worker.run(code)
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


def verify(code: str, keras: str = "both", settings: Settings | None = None) -> list[VerifyReport]:
    """Verify ``code`` with Keras 3, 2 or both (``keras`` is "3", "2" or "both")."""
    verifier = get_verifier(settings)
    majors = verifier.settings.keras_versions if keras == "both" else (keras,)
    return verifier.verify(code, majors)


atexit.register(close_default)
