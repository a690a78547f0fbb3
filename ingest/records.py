"""What the index holds: one :class:`Record` per entry or raw-document chunk."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal

from ingest.sentence_view import paragraphs
from kb.core.schema import Entry

RecordKind = Literal["entry", "doc"]   # a knowledge-base entry, or a chunk of a raw document


@dataclass
class Record:
    """One retrievable unit: a knowledge-base entry or a chunk of a raw document."""

    key: str                      # "entry:<id>" or "doc:<file>#<n>"
    kind: RecordKind
    entry_id: str | None
    title: str
    text: str                     # what BM25 indexes (and what a doc hit shows)
    dense_texts: list[str]        # what is embedded (short texts)
    sources: list[str] = field(default_factory=list)
    hash: str = ""
    error_patterns: list[str] = field(default_factory=list)   # messages the entry explains
    answer_texts: list[str] = field(default_factory=list)     # answer paragraphs (the second stage's view)

    def __post_init__(self) -> None:
        if not self.hash:
            blob = json.dumps([self.title, self.text, self.dense_texts, self.sources], ensure_ascii=False)
            self.hash = hashlib.sha256(blob.encode()).hexdigest()[:16]


def entry_record(entry: Entry) -> Record:
    lexical = "\n".join([entry.title, entry.title, entry.question, *entry.paraphrases,
                         " ".join(entry.tags), entry.answer, entry.answer_en or ""])
    dense = [entry.title, entry.question, *entry.paraphrases]
    return Record(key=f"entry:{entry.id}", kind="entry", entry_id=entry.id, title=entry.title,
                  text=lexical, dense_texts=dense, sources=entry.source_docs(),
                  error_patterns=list(entry.error_patterns),
                  answer_texts=paragraphs(entry.answer) + paragraphs(entry.answer_en or ""))
