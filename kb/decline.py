"""What a student gets instead of an answer: a refusal, or the closest covered topics.

:func:`refusal_for` is the answerer's first call (personal data and financial advice are refused
whatever the score, see :mod:`kb.refusals`); :func:`suggestions` turns the hits of a declined
question into clickable suggestions (each carries the entry's own question, to ask it as is).
"""

from __future__ import annotations

from pydantic import BaseModel

from kb.refusals import Refusal, check
from kb.search_types import Hit

SUGGEST_FLOOR = 0.05   # a hit this unlikely to answer anything is no useful suggestion
MAX_SUGGESTIONS = 3


class Suggestion(BaseModel):
    id: str          # entry id
    title: str
    question: str    # the entry's question: what a click asks


def refusal_for(question: str) -> Refusal | None:
    return check(question)


def suggestions(hits: list[Hit]) -> list[Suggestion]:
    """The closest covered entries among ``hits`` (best first), if any is close enough."""
    return [Suggestion(id=h.id, title=h.title, question=h.chunk)
            for h in hits if h.kind == "entry" and h.confidence >= SUGGEST_FLOOR][:MAX_SUGGESTIONS]
