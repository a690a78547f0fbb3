"""Verification results cached in a local SQLite file by (code hash, Keras major, library versions)."""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert

from kb.core import storage
from kb.core.errors import StorageUnavailable
from kb.core.storage import reports
from verifiers.report import SERVICE_FAILURES, VerifyReport

# Every failure of the service itself: most depend on the machine's load or the worker's state, not
# on the code; a result too large is the code's doing, but costs nothing to run again.
NOT_CACHED = SERVICE_FAILURES
_PACKAGES = {"3": ("tensorflow", "keras"), "2": ("tensorflow", "tf-keras")}


@lru_cache(maxsize=2)
def library_versions(major: str) -> str:
    """Installed versions of the libraries a Keras major version runs on (no import needed)."""
    parts = []
    for name in _PACKAGES[major]:
        try:
            parts.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name}==missing")
    return ",".join(parts)


# Bump when the worker's report gains or changes a field: older rows then are misses, not stale answers.
REPORT_FORMAT = 2


def cache_key(code: str, major: str) -> str:
    # The exact code: the same lines shifted by blank lines have other error line numbers.
    text = f"{REPORT_FORMAT}\0{library_versions(major)}\0{major}\0{code}"
    return hashlib.sha256(text.encode()).hexdigest()


class VerifyCache:
    """Reports in the ``reports`` table of a local SQLite file (see :mod:`kb.core.storage`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = storage.sqlite_url(path)

    def _ready(self) -> str:
        return storage.connect(self.url, storage.CACHE)

    def get(self, code: str, major: str) -> VerifyReport | None:
        if not self.path.exists():
            return None
        try:
            with storage.transaction(self._ready()) as db:
                row = db.execute(select(reports.c.report)
                                 .where(reports.c.key == cache_key(code, major))).first()
        except StorageUnavailable:
            return None  # an unreadable cache is a miss, never a failure
        if not row:
            return None
        try:
            report = VerifyReport.model_validate_json(row[0])
        except ValidationError:
            return None  # a row this version cannot read is a miss; the next run replaces it
        report.cached = True
        return report

    def put(self, code: str, major: str, report: VerifyReport) -> None:
        # Timeouts and worker failures depend on the machine's load: never cache them.
        if report.error and report.error.type in NOT_CACHED:
            return
        values = {"report": report.model_dump_json(), "created": time.time()}
        with storage.transaction(self._ready(), write=True) as db:
            db.execute(insert(reports).values(key=cache_key(code, major), **values)
                       .on_conflict_do_update(index_elements=[reports.c.key], set_=values))
