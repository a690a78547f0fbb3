"""Patterns that find personal data: e-mail addresses, phone numbers, street addresses, headers.

Used to refuse entries that carry personal data and, by ``ingest.redact``, to mask it in text
that reaches the index or the question log.
"""

from __future__ import annotations

import re

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\d.])(?:\+?82[- .]?)?0?1[016789][- .)]?\d{3,4}[- .]?\d{4}(?![\d])"
    r"|(?<![\d.])0\d{1,2}[- .)]\d{3,4}[- .]\d{4}(?![\d])"
    r"|(?<![\d.])\+\d{1,3}[- .]\d{1,4}[- .]\d{3,4}[- .]\d{3,4}(?![\d])"
)
# Korean street addresses: a city/province word followed by a road/district with a number.
ADDRESS = re.compile(
    r"^.*(?:특별시|광역시|특별자치시|[가-힣]+도\s)\s*.*(?:[가-힣0-9]+(?:로|길|동|구|군|읍|면)\s*\d+).*$",
    re.MULTILINE,
)
# Lines that only exist to identify people: mail headers, signatures, contact labels.
HEADER_LINE = re.compile(
    r"^\s*(?:보낸\s*사람|받는\s*사람|From|To|Cc|Sent|Mobile|Tel|Phone|Email|E-mail|휴대폰|연락처|"
    r"전화)\s*[:：]?.*$",
    re.MULTILINE | re.IGNORECASE,
)
WROTE_LINE = re.compile(r"^.*(?:님이 작성|wrote):\s*$", re.MULTILINE)
ORG_SIGNATURE = re.compile(r"^\s*[가-힣A-Za-z]+팀\s*/\s*[가-힣A-Za-z]+\s*$", re.MULTILINE)


def find_pii(text: str) -> list[str]:
    """The e-mail addresses and phone numbers in ``text`` (for validation and tests)."""
    return [m.group(0) for m in EMAIL.finditer(text)] + [m.group(0) for m in PHONE.finditer(text)]
