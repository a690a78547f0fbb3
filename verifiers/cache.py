"""Verification results cached in SQLite by (code hash, Keras major, library versions)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from verifiers.report import VerifyReport

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


def cache_key(code: str, major: str) -> str:
    text = f"{library_versions(major)}\0{major}\0{code.strip()}"
    return hashlib.sha256(text.encode()).hexdigest()


class VerifyCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute(
            "CREATE TABLE IF NOT EXISTS reports (key TEXT PRIMARY KEY, report TEXT NOT NULL, "
            "created REAL NOT NULL)"
        )
        return conn

    def get(self, code: str, major: str) -> VerifyReport | None:
        if not self.path.exists():
            return None
        try:
            with self._connect() as conn:
                row = conn.execute("SELECT report FROM reports WHERE key = ?",
                                   (cache_key(code, major),)).fetchone()
        except sqlite3.DatabaseError:
            return None
        if not row:
            return None
        report = VerifyReport.from_json(json.loads(row[0]))
        report.cached = True
        return report

    def put(self, code: str, major: str, report: VerifyReport) -> None:
        # Timeouts and worker failures depend on the machine's load: never cache them.
        if report.error and report.error.type in ("Timeout", "WorkerError", "SandboxError", "Crashed", "ForkHang"):
            return
        with self._connect() as conn:
            conn.execute("INSERT OR REPLACE INTO reports VALUES (?, ?, ?)",
                         (cache_key(code, major), json.dumps(report.to_json()), time.time()))
