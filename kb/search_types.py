"""What a search returns (:class:`SearchResult` with its :class:`Hit` list) and the fusions it can use.

Kept apart from :mod:`kb.search` so that the answer's types and the decline message can name them
without the search machinery.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer


class Fusion(StrEnum):
    RRF = "rrf"
    WEIGHTED = "weighted"
    DENSE = "dense"
    LEXICAL = "lexical"


class Hit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str                      # entry id, or "doc:<file>#<n>" for a raw-document chunk
    kind: Literal["entry", "doc"]
    title: str
    score: float                 # fused ranking score (only meaningful for ordering)
    confidence: float = 0.0
    sources: list[str]
    # what the ranking used; not part of the JSON
    chunk: str = Field(exclude=True)   # the matched text (the entry's question, or the document chunk)
    cosine: float = Field(default=0.0, exclude=True)
    bm25: float = Field(default=0.0, exclude=True)
    coverage: float = Field(default=0.0, exclude=True)

    @field_serializer("score")
    def _score(self, score: float) -> float:
        return round(score, 4)

    @field_serializer("confidence")
    def _confidence(self, confidence: float) -> float:
        return round(confidence, 3)


class NearTopic(BaseModel):
    """An uncovered topic (kb/not_covered.yaml) a declined question looks like."""

    id: str
    title: str
    title_en: str


class SearchResult(BaseModel):
    question: str
    hits: list[Hit]
    confidence: float
    answered: bool
    threshold: float
    features: dict[str, float] = Field(default_factory=dict)
    error_route: str | None = None   # the entry a pasted error was routed to, if any
    uncovered: NearTopic | None = None   # the uncovered topic the question is nearer to than to any entry
