"""The question log (``var/questions.sqlite``): every question, its answer, and students' 👍/👎.

Questions are passed through :func:`ingest.redact.redact` before they are stored, so an e-mail
address or phone number a student types never reaches the log. The instructor page reads the
unanswered and 👎-rated questions from here, most frequent first.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest.redact import redact

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asked_at REAL NOT NULL,
    question TEXT NOT NULL,
    answered INTEGER NOT NULL,
    entry_id TEXT,
    confidence REAL NOT NULL,
    has_code INTEGER NOT NULL DEFAULT 0,
    took_ms INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    question_id INTEGER NOT NULL REFERENCES questions(id),
    given_at REAL NOT NULL,
    score INTEGER NOT NULL CHECK (score IN (0, 1)),
    entry_id TEXT,
    comment TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS questions_answered ON questions(answered);
"""


@dataclass(frozen=True)
class Pending:
    """A question the knowledge base does not answer well: unanswered or rated 👎."""

    question: str
    times: int
    last_asked: float
    reason: str          # "unanswered" | "disliked"
    entry_id: str | None
    confidence: float


class QuestionLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            with db:
                yield db
        finally:
            db.close()

    def record(self, question: str, *, answered: bool, entry_id: str | None, confidence: float,
               has_code: bool = False, took_ms: int = 0) -> int:
        with self._connect() as db:
            cur = db.execute(
                "INSERT INTO questions (asked_at, question, answered, entry_id, confidence, has_code, took_ms)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (time.time(), redact(question).strip()[:4000], int(answered), entry_id, float(confidence),
                 int(has_code), int(took_ms)))
            return int(cur.lastrowid or 0)

    def feedback(self, question_id: int, score: int, *, comment: str = "") -> int:
        """Store 👍 (1) or 👎 (0) for a logged question; returns the feedback row id."""
        if score not in (0, 1):
            raise ValueError("score must be 0 (👎) or 1 (👍)")
        with self._connect() as db:
            row = db.execute("SELECT entry_id FROM questions WHERE id = ?", (question_id,)).fetchone()
            if row is None:
                raise KeyError(question_id)
            cur = db.execute(
                "INSERT INTO feedback (question_id, given_at, score, entry_id, comment) VALUES (?, ?, ?, ?, ?)",
                (question_id, time.time(), score, row[0], redact(comment)[:2000]))
            return int(cur.lastrowid or 0)

    def pending(self, limit: int = 50) -> list[Pending]:
        """Unanswered and 👎-rated questions, grouped by text, most frequent first."""
        with self._connect() as db:
            rows = db.execute(
                """
                SELECT question, COUNT(*) AS times, MAX(asked_at), 'unanswered', NULL, MAX(confidence)
                FROM questions WHERE answered = 0 GROUP BY lower(trim(question))
                UNION ALL
                SELECT q.question, COUNT(*) AS times, MAX(f.given_at), 'disliked', q.entry_id, MAX(q.confidence)
                FROM feedback f JOIN questions q ON q.id = f.question_id
                WHERE f.score = 0 GROUP BY lower(trim(q.question)), q.entry_id
                ORDER BY times DESC, 3 DESC LIMIT ?
                """, (limit,)).fetchall()
        return [Pending(r[0], int(r[1]), float(r[2]), r[3], r[4], float(r[5])) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._connect() as db:
            q, a = db.execute("SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM questions").fetchone()
            up, down = db.execute(
                "SELECT COALESCE(SUM(score = 1), 0), COALESCE(SUM(score = 0), 0) FROM feedback").fetchone()
        return {"questions": int(q), "answered": int(a), "thumbs_up": int(up), "thumbs_down": int(down)}
