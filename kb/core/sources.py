"""The source catalogue (``kb/sources.yaml``): what each cited course document is, for readers.

Entries cite documents by id (``sources: [{doc: 000_cb71a1bfbe5d09c1.txt}]``); the catalogue says
what that document is -- its kind (an instructor's e-mail answer, a question on the course's Q&A
board, a study note), a title and, when known, a date -- so an answer can show
"강사 이메일 답변 · TimeDistributed 레이어의 역할 (2020-12)" instead of a file name. It holds no
personal data (names, addresses, phone numbers are refused like in entries).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kb.core.errors import EntryInvalid
from kb.core.pii import find_pii
from kb.core.store import SAFE_LOADER

SOURCES_FILE = Path(__file__).resolve().parents[1] / "sources.yaml"


class SourceKind(StrEnum):
    INSTRUCTOR_EMAIL = "instructor_email"
    COURSE_QA = "course_qa"
    STUDY_NOTE = "study_note"


KIND_LABELS: dict[SourceKind, str] = {
    SourceKind.INSTRUCTOR_EMAIL: "강사 이메일 답변",
    SourceKind.COURSE_QA: "강의 Q&A 게시판",
    SourceKind.STUDY_NOTE: "학습 노트",
}


class SourceDoc(BaseModel):
    """One cited document, as readers see it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: SourceKind
    title: str = Field(min_length=1, max_length=120)
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}(-\d{2})?$")

    @field_validator("date", mode="before")
    @classmethod
    def _date_as_text(cls, value: object) -> object:
        return value.isoformat() if hasattr(value, "isoformat") else value

    @field_validator("title")
    @classmethod
    def _no_personal_data(cls, value: str) -> str:
        found = find_pii(value)
        if found:
            raise ValueError(f"contains personal data ({found[0][:3]}…)")
        return value

    def label(self) -> str:
        """'강사 이메일 답변 · TimeDistributed 레이어의 역할 (2020-12)'."""
        when = f" ({self.date})" if self.date else ""
        return f"{KIND_LABELS[self.kind]} · {self.title}{when}"


class Citation(BaseModel):
    """A readable citation: the document id (as in ``sources``), its label, and the entry's note."""

    model_config = ConfigDict(frozen=True)

    doc: str
    label: str
    note: str = ""


def load_sources(path: Path = SOURCES_FILE) -> dict[str, SourceDoc]:
    """The catalogue; a malformed file raises :class:`EntryInvalid` naming the document and field."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise EntryInvalid(path.name, "(file)", f"cannot be read as YAML ({exc.__class__.__name__})") from None
    if not isinstance(raw, dict):
        raise EntryInvalid(path.name, "(file)", "must map document ids to {kind, title, date}")
    out: dict[str, SourceDoc] = {}
    for doc, value in raw.items():
        try:
            out[str(doc)] = SourceDoc.model_validate(value)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(document)"
            raise EntryInvalid(path.name, f"{doc}.{where}", err["msg"]) from None
    return out


def cite(doc: str, note: str, catalogue: dict[str, SourceDoc]) -> Citation:
    """The readable form of one cited document (an uncatalogued one, a URL or a lecture, stays as written)."""
    known = catalogue.get(doc)
    return Citation(doc=doc, label=known.label() if known else doc, note=note)
