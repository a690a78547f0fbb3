"""Topics of the field the entries do not cover (``kb/not_covered.yaml``), with example questions.

A student's question that is nearer to one of these examples than the entries are is most likely
about something the course's Q&A does not answer (saving a model, callbacks, attention ...). The
index embeds the examples (:mod:`ingest.uncovered_view`); the search turns the question's nearness
to them into two features of the abstention model, and a declined question is told which uncovered
topic it looks like. Instructors extend the file like the entries: a topic, its titles, and the
ways students ask about it. An entry that answers a topic takes the topic's id (the instructors'
gaps list drafts it so): the index then leaves the topic out. It holds no personal data (names,
addresses, phone numbers are refused).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kb.core.errors import EntryInvalid
from kb.core.pii import find_pii
from kb.core.schema import SLUG, no_blank
from kb.core.store import SAFE_LOADER

UNCOVERED_FILE = Path(__file__).resolve().parents[1] / "not_covered.yaml"


class UncoveredTopic(BaseModel):
    """One topic the entries do not answer, and how students ask about it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=SLUG.pattern)
    title: str = Field(min_length=3, max_length=80, description="Korean title, named when a question is declined.")
    title_en: str = Field(min_length=3, max_length=80, description="English title, for English questions.")
    examples: list[str] = Field(min_length=1, description="Questions students ask about it.")

    @field_validator("examples")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        return no_blank(values)

    @model_validator(mode="after")
    def _no_personal_data(self) -> UncoveredTopic:
        for text in (self.title, self.title_en, *self.examples):
            found = find_pii(text)
            if found:
                raise ValueError(f"contains personal data ({found[0][:3]}…)")
        return self


class UncoveredBank(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    topics: list[UncoveredTopic] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> UncoveredBank:
        ids = [t.id for t in self.topics]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"topic ids must be unique (repeated: {', '.join(repeated)})")
        return self


def load_uncovered(path: Path = UNCOVERED_FILE) -> list[UncoveredTopic]:
    """The topics (none if the file does not exist); a malformed file raises :class:`EntryInvalid`
    naming the topic and the field."""
    if not path.exists():
        return []
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise EntryInvalid(path.name, "", f"cannot be read as YAML ({exc.__class__.__name__})") from None
    try:
        return UncoveredBank.model_validate(raw).topics
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        problem = err["msg"].removeprefix("Value error, ")
        if len(loc) >= 2 and loc[0] == "topics" and isinstance(loc[1], int) and isinstance(raw, dict):
            topics = raw.get("topics")
            item = topics[loc[1]] if isinstance(topics, list) and loc[1] < len(topics) else None
            name = item.get("id") if isinstance(item, dict) else None
            topic = f"topic {name!r}" if name else f"topic #{loc[1] + 1}"
            raise EntryInvalid(f"{path.name}, {topic}", ".".join(str(p) for p in loc[2:]) or "(topic)",
                               problem) from None
        raise EntryInvalid(path.name, ".".join(str(p) for p in loc), problem) from None


def uncovered_stamp(path: Path = UNCOVERED_FILE) -> str | None:
    """A hash of the file's bytes (``None`` if there is none): the index is rebuilt when it changes."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return None
