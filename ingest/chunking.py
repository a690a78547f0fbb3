"""Raw course documents cut into redacted chunks (personal data removed before anything is kept)."""

from __future__ import annotations

from pathlib import Path

from ingest.records import Record
from ingest.redact import find_pii, redact
from kb.core.errors import DocumentUnreadable

DOC_CHUNK_SIZE = 600
DOC_CHUNK_OVERLAP = 80


def doc_records(path: Path) -> list[Record]:
    """Chunks of one raw course document, with personal data removed before anything is kept."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentUnreadable(str(path), str(exc)) from None
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=DOC_CHUNK_SIZE, chunk_overlap=DOC_CHUNK_OVERLAP)
    records = []
    for n, chunk in enumerate(splitter.split_text(redact(raw))):
        chunk = redact(chunk).strip()
        if find_pii(chunk) or len(chunk) < 20:
            continue  # a fragment the redactor could not clean is dropped, never stored
        title = f"{path.name} #{n + 1}"
        records.append(Record(key=f"doc:{path.name}#{n}", kind="doc", entry_id=None, title=title,
                              text=chunk, dense_texts=[chunk], sources=[path.name]))
    return records
