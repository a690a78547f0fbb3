"""Remove personal data from text before it can reach the index or a log.

Masks e-mail addresses, phone numbers (Korean mobile/landline and international forms),
street-address lines, and drops the signature blocks and header lines that carry names.
"""

from __future__ import annotations

import re

from kb.core.pii import ADDRESS, EMAIL, HEADER_LINE, ORG_SIGNATURE, PHONE, WROTE_LINE, find_pii

__all__ = ["find_pii", "redact"]


def redact(text: str) -> str:
    """Return ``text`` with personal data removed or masked."""
    text = HEADER_LINE.sub("", text)
    text = WROTE_LINE.sub("", text)
    text = ADDRESS.sub("[주소 삭제]", text)
    text = ORG_SIGNATURE.sub("", text)
    text = EMAIL.sub("[이메일 삭제]", text)
    text = PHONE.sub("[전화번호 삭제]", text)
    return re.sub(r"\n{3,}", "\n\n", text)
