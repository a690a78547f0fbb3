"""Remove personal data from text before it can reach the index or a log.

Two kinds of text, two functions:

- :func:`redact_document` cleans a raw course document added with ``ingest --docs`` (mail threads,
  forum posts): it drops the header, "wrote:" and signature lines that carry names, then masks
  e-mail addresses, phone numbers and street addresses.
- :func:`redact_question` cleans what a student typed, which is often Python: it only masks
  e-mail addresses, phone numbers and street addresses, and drops a quoted mail header only in
  its exact form (``From: ...``), so a line such as ``from tensorflow.keras import layers`` or
  ``to_categorical(y)`` is kept.
"""

from __future__ import annotations

import re

from kb.core.pii import (
    ADDRESS,
    EMAIL,
    HEADER_LINE,
    ORG_SIGNATURE,
    PHONE,
    QUESTION_HEADER_LINE,
    WROTE_LINE,
    find_pii,
)

__all__ = ["find_pii", "redact", "redact_document", "redact_question"]


def _mask(text: str) -> str:
    text = ADDRESS.sub("[주소 삭제]", text)
    text = EMAIL.sub("[이메일 삭제]", text)
    return PHONE.sub("[전화번호 삭제]", text)


def redact_document(text: str) -> str:
    """Return a course document with its personal data (and the lines that carry names) removed."""
    text = HEADER_LINE.sub("", text)
    text = WROTE_LINE.sub("", text)
    text = ORG_SIGNATURE.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", _mask(text))


def redact_question(text: str) -> str:
    """Return a student's question (prose and code) with personal data masked, every code line kept."""
    text = QUESTION_HEADER_LINE.sub("", text)
    text = WROTE_LINE.sub("", text)
    return _mask(text)


# Documents were the first user; the index still calls it by this name.
redact = redact_document
