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
# Korean street addresses: a city or province name followed by a road/district with a number.
# Provinces are named ("도" alone is also the particle "also": "이 모델도 ... 2개로 10").
ADDRESS = re.compile(
    r"^.*(?:특별시|광역시|특별자치시|(?:경기|강원|충청[남북]|충[남북]|전라[남북]|전[남북]|경상[남북]|경[남북]|제주)"
    r"(?:특별자치)?도\s|(?:서울|부산|대구|인천|광주|대전|울산|세종)(?:시)?\s)"
    r"\s*.*(?:[가-힣0-9]+(?:로|길|동|구|군|읍|면)\s*\d+).*$",
    re.MULTILINE,
)
# Lines that only exist to identify people, in documents (mail threads, signatures). English
# labels need their colon ("From: ...", "Tel: ..."), or a number after a contact label ("Mobile
# 010-..."), so a code line such as ``from keras import layers`` or ``to_categorical(y)`` stays.
HEADER_LINE = re.compile(
    r"^\s*(?:(?:보낸\s*사람|받는\s*사람|휴대폰|연락처|전화)\s*[:：]?"
    r"|(?:From|To|Cc|Sent|Mobile|Tel|Phone|Email|E-mail)\s*[:：]"
    r"|(?:Mobile|Tel|Phone|Email|E-mail)\s+[+(\d\w.%-]*[\d@]).*$",
    re.MULTILINE | re.IGNORECASE,
)
# A mail header quoted inside a student's question: exact case, colon and a space, so no Python
# line can match (``from x import y`` has no colon; ``To: int = 3`` would need the capital).
QUESTION_HEADER_LINE = re.compile(r"^[ \t]*(?:From|To|Cc|Sent|보낸\s*사람|받는\s*사람)[ \t]*[:：][ \t].*$",
                                  re.MULTILINE)
# "On Mon, ... <a@b> wrote:" / "... 님이 작성:" (not a code line like ``if wrote:``).
WROTE_LINE = re.compile(r"^(?:.*님이 작성|On\s.*\swrote|.*<[^>]*>\s*wrote)\s*:\s*$", re.MULTILINE)
ORG_SIGNATURE = re.compile(r"^\s*[가-힣A-Za-z]+팀\s*/\s*[가-힣A-Za-z]+\s*$", re.MULTILINE)


def find_pii(text: str) -> list[str]:
    """The e-mail addresses and phone numbers in ``text`` (for validation and tests)."""
    return [m.group(0) for m in EMAIL.finditer(text)] + [m.group(0) for m in PHONE.finditer(text)]
