"""What ``Answerer.answer`` returns: pydantic models; ``model_dump(mode="json")`` is the ``ask --json`` contract.

Attribute names equal the JSON keys of DESIGN.md's ``ask --json`` contract. Fields excluded from the
JSON (``pasted``, ``built``, ``hit_answers``) are what the interfaces read besides it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, field_serializer

from kb.core.sources import Citation
from kb.decline import Suggestion
from kb.refusals import RefusalKind
from kb.search_types import Hit, NearTopic
from verifiers.claims import Observed
from verifiers.report import VerifyReport

Lang = Literal["ko", "en"]
Source = Literal["entry", "pasted", "question"]


class ClaimCheck(BaseModel):
    text: str            # the number as the answer writes it
    keras: str           # Keras major version checked
    actual: Observed     # what Keras really gives
    ok: bool


class Verification(BaseModel):
    """One snippet's real results per Keras version (from an entry, pasted, or built from the question)."""

    source: Source
    entry: str | None = None         # the entry whose snippet this is (None: pasted or built from the question)
    snippet: str                     # the snippet's name
    code: str
    status: Literal["verified", "cached", "not_verified", "failed"]
    runs: list[VerifyReport] = Field(default_factory=list)
    differences: list[str] = Field(default_factory=list)
    claims: list[ClaimCheck] = Field(default_factory=list)
    explanation: str = ""            # a failing pasted snippet: the error in plain words
    message: str = ""                # why it is not verified, when it is not

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.ok for r in self.runs)

    @field_serializer("runs")
    def _runs(self, runs: list[VerifyReport]) -> list[dict[str, Any]]:
        return [r.model_dump(mode="json") for r in runs]

    def claims_by_text(self) -> list[tuple[str, bool, list[ClaimCheck]]]:
        """Claims grouped by the number the answer writes: (text, holds everywhere, per-version checks)."""
        groups: dict[str, list[ClaimCheck]] = {}
        for check in self.claims:
            groups.setdefault(check.text, []).append(check)
        return [(text, all(c.ok for c in checks), checks) for text, checks in groups.items()]



class Answer(BaseModel):

    question: str
    answered: bool
    confidence: float
    lang: Lang = "ko"
    lead: str = ""                   # Markdown: the direct answer to the student's own numbers
    notes: list[str] = Field(default_factory=list)   # assumptions, what was carried over, what could not be built
    context: dict[str, Any] | None = None            # what a follow-up may build on (topic, configuration)
    title: str = ""
    answer: str = ""                 # Markdown: the entry's answer in the student's language
    entry: str | None = None         # the entry answering
    sources: list[str] = Field(default_factory=list)
    hits: list[Hit] = Field(default_factory=list)
    hit_answers: dict[str, str] = Field(default_factory=dict, exclude=True)
    verifications: list[Verification] = Field(default_factory=list)
    pasted: Verification | None = Field(default=None, exclude=True)
    built: Verification | None = Field(default=None, exclude=True)   # source "question"
    error_text: str | None = None    # an error message found in the question (no code)
    took_ms: int = 0
    log_id: int | None = None
    refused: RefusalKind | None = None   # why the question was refused whatever the score
    suggestions: list[Suggestion] = Field(default_factory=list)   # closest covered topics when declined
    uncovered: NearTopic | None = None   # the uncovered topic (kb/not_covered.yaml) a declined question looks like
    citations: list[Citation] = Field(default_factory=list)   # readable sources: kind · title (date), note

    @property
    def related(self) -> list[Hit]:
        return [h for h in self.hits if h.id != self.entry]

    @property
    def all_verifications(self) -> list[Verification]:
        return [v for v in (self.pasted, self.built) if v is not None] + self.verifications

    @field_serializer("hits")
    def _hits(self, hits: list[Hit]) -> list[dict[str, Any]]:
        return [{**h.model_dump(mode="json"), "answer": self.hit_answers.get(h.id, "")} for h in hits]

    @field_serializer("verifications")
    def _verifications(self, verifications: list[Verification]) -> list[dict[str, Any]]:
        return [v.model_dump(mode="json") for v in self.all_verifications]

    @field_serializer("confidence")
    def _confidence(self, confidence: float) -> float:
        return round(confidence, 4)


