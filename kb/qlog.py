"""The question log: every question, its answer, and students' 👍/👎 (storage: :mod:`kb.core.storage`).

Questions, comments and the stored answer/context are passed through
:func:`ingest.redact.redact_question` before they are stored, so an e-mail address or phone number
a student types never reaches the log. The instructor page reads the unanswered and 👎-rated
student questions from here, most frequent first; the chat restores a conversation with
:meth:`QuestionLog.turns`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, case, func, insert, literal, select, union_all

from ingest.redact import redact_question
from kb.core import storage
from kb.core.storage import feedback, questions

Audience = Literal["student", "instructor"]
MAX_QUESTION, MAX_COMMENT = 4000, 2000


class Pending(BaseModel):
    """A question the knowledge base does not answer well: unanswered or rated 👎."""

    model_config = ConfigDict(frozen=True)

    question: str
    times: int
    last_asked: float
    reason: Literal["unanswered", "disliked"]
    entry_id: str | None
    confidence: float


class Turn(BaseModel):
    """One logged question of a conversation, with what is needed to show it again."""

    model_config = ConfigDict(frozen=True)

    id: int
    question: str
    answered: bool
    entry_id: str | None
    context: dict[str, Any] | None
    answer: dict[str, Any] | None
    asked_at: float


def _clean(value: Any) -> Any:
    """Redact every string inside a JSON value (answers quote the question)."""
    if isinstance(value, str):
        return redact_question(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class QuestionLog:
    """The log in the database at ``url`` (or a SQLite file ``path``), migrated on first use."""

    def __init__(self, url: str | Path) -> None:
        self.url = storage.sqlite_url(url) if isinstance(url, Path) else url
        storage.connect(self.url, storage.QUESTIONS)

    def record(self, question: str, *, answered: bool, entry_id: str | None, confidence: float,
               has_code: bool = False, took_ms: int = 0, session: str | None = None,
               refused: str | None = None, audience: Audience = "student",
               context: dict[str, Any] | None = None, answer: dict[str, Any] | None = None) -> int:
        """Store one question; returns its id (for :meth:`feedback` and :meth:`turns`)."""
        row = {
            "asked_at": time.time(), "question": redact_question(question).strip()[:MAX_QUESTION],
            "answered": bool(answered), "entry_id": entry_id, "confidence": float(confidence),
            "has_code": bool(has_code), "took_ms": int(took_ms), "session": session,
            "refused": refused, "audience": audience,
            "context": _clean(context) if context is not None else None,
            "answer": _clean(answer) if answer is not None else None,
        }
        with storage.transaction(self.url, write=True) as db:
            new_id = db.execute(insert(questions).values(**row).returning(questions.c.id)).scalar_one()
        return int(new_id)

    def feedback(self, question_id: int, score: int, comment: str = "") -> int:
        """Store 👍 (1) or 👎 (0) for a logged question, replacing an earlier rating of it.

        Returns the feedback row id. Raises ``KeyError`` for an unknown question id.
        """
        if score not in (0, 1):
            raise ValueError("score must be 0 (👎) or 1 (👍)")
        with storage.transaction(self.url, write=True) as db:
            entry = db.execute(select(questions.c.entry_id).where(questions.c.id == question_id)).first()
            if entry is None:
                raise KeyError(question_id)
            values = {"given_at": time.time(), "score": score, "entry_id": entry[0],
                      "comment": redact_question(comment)[:MAX_COMMENT]}
            stmt = _upsert(db.dialect.name).values(question_id=question_id, **values)
            stmt = stmt.on_conflict_do_update(index_elements=[feedback.c.question_id], set_=values)
            return int(db.execute(stmt.returning(feedback.c.id)).scalar_one())

    def turns(self, session: str, limit: int = 20) -> list[Turn]:
        """The last ``limit`` questions of one conversation, oldest first."""
        q = questions.c
        stmt = (select(q.id, q.question, q.answered, q.entry_id, q.context, q.answer, q.asked_at)
                .where(q.session == session).order_by(q.id.desc()).limit(limit))
        with storage.transaction(self.url) as db:
            rows = db.execute(stmt).all()
        return [Turn(id=r.id, question=r.question, answered=bool(r.answered), entry_id=r.entry_id,
                     context=r.context, answer=r.answer, asked_at=r.asked_at) for r in reversed(rows)]

    def pending(self, limit: int = 50) -> list[Pending]:
        """Students' unanswered and 👎-rated questions, grouped by text, most frequent first.

        Refused questions (personal data, off-limits topics) and instructors' probes are left out.
        """
        q, f = questions.c, feedback.c
        student = and_(q.refused.is_(None), q.audience == "student")
        key = func.lower(func.trim(q.question))
        unanswered = (select(func.min(q.question).label("question"), func.count().label("times"),
                             func.max(q.asked_at).label("last"), literal("unanswered").label("reason"),
                             literal(None, type_=q.entry_id.type).label("entry_id"),
                             func.max(q.confidence).label("confidence"))
                      .where(~q.answered, student).group_by(key))
        disliked = (select(func.min(q.question), func.count(), func.max(f.given_at), literal("disliked"),
                           q.entry_id, func.max(q.confidence))
                    .select_from(feedback.join(questions, q.id == f.question_id))
                    .where(f.score == 0, student).group_by(key, q.entry_id))
        both = union_all(unanswered, disliked).subquery()
        stmt = select(both).order_by(both.c.times.desc(), both.c.last.desc()).limit(limit)
        with storage.transaction(self.url) as db:
            rows = db.execute(stmt).all()
        return [Pending(question=r[0], times=int(r[1]), last_asked=float(r[2]), reason=r[3],
                        entry_id=r[4], confidence=float(r[5])) for r in rows]

    def counts(self) -> dict[str, int]:
        """Students' questions, how many were answered, and the 👍/👎 given."""
        q, f = questions.c, feedback.c
        student = q.audience == "student"
        with storage.transaction(self.url) as db:
            asked, answered = db.execute(
                select(func.count(), func.coalesce(func.sum(case((q.answered, 1), else_=0)), 0))
                .where(student)).one()
            up, down = db.execute(
                select(func.coalesce(func.sum(case((f.score == 1, 1), else_=0)), 0),
                       func.coalesce(func.sum(case((f.score == 0, 1), else_=0)), 0))
                .select_from(feedback.join(questions, q.id == f.question_id)).where(student)).one()
        return {"questions": int(asked), "answered": int(answered), "thumbs_up": int(up),
                "thumbs_down": int(down)}


def _upsert(dialect: str) -> Any:
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(feedback)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(feedback)
