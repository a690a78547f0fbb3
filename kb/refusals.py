"""Requests refused whatever the search score: personal data about anyone, and financial advice.

:func:`check` is called before the search. A refused question gets a fixed, polite message (in
:mod:`kb.refusal_messages`), is logged with ``refused=<kind>`` and never reaches the instructors'
list of unanswered content questions. The patterns need a *request* for the data (e-mail, phone,
address, list of students) next to a *person* (instructor, TA, student, a named classmate), so a
question about an LSTM's "address" of a weight or a stock-price *dataset* is not refused.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel

from kb.refusal_messages import REFUSAL_MESSAGES


class RefusalKind(StrEnum):
    PERSONAL = "personal_data"
    FINANCIAL = "financial_advice"
    INSTRUCTIONS = "instructions"   # asks to reveal or override coursebot's instructions


class Refusal(BaseModel):
    kind: RefusalKind
    message: str


_PERSON = (r"(강사|교수|조교|선생|튜터|수강생|학생|동기|같은\s*반|옆자리|instructor|teacher|professor|lecturer|"
           r"\bTA\b|tutor|student|classmate|\bhis\b|\bher\b|someone)")
_DATA = (r"(이메일|메일\s*주소|e-?mail|전화|휴대폰|핸드폰|연락처|번호|phone|mobile|contact|주소|사는\s*(곳|동네)|"
         r"집|address|명단|성적|roster|grades?)")
PERSONAL = [
    re.compile(_PERSON + r".{0,40}?" + _DATA, re.I | re.S),
    re.compile(_DATA + r".{0,40}?" + _PERSON, re.I | re.S),
]
NOT_PERSONAL = re.compile(r"(메모리\s*주소|memory address|ip\s*address|주소\s*값|url)", re.I)
FINANCIAL = [
    re.compile(r"(주식|주가|종목|매수|매도|투자|코인|비트코인|이더리움|가상화폐|암호화폐|코스피|코스닥|나스닥|ETF|적금|"
               r"포트폴리오|\bstocks?\b|\binvest(ing|ment)?\b|crypto|bitcoin|ethereum|\bETFs?\b|portfolio|savings)", re.I),
]
ADVICE = re.compile(r"(사(야|도|면|는\s*게)|살까|팔(아야|까)|넣어도|추천|오를까|내릴까|조언|좋을까|할까|어떻게\s*짜|도\s*될까|(투자|매수|매도|베팅|올인)\s*해?도\s*(되|돼|괜찮)|"
                    r"\bshould\b|\bbuy\b|\bsell\b|recommend|advice|which)", re.I)

# Text that asks to see or to override the assistant's instructions. coursebot has no language model
# to steer, but such text is no course question: answering it with a nearby entry would be wrong too.
INSTRUCTIONS = re.compile(
    r"(시스템\s*프롬프트|system\s*prompt|(이전|앞|위|지금까지|기존)[^.?!\n]{0,12}(지시|명령|규칙|지침)[^.?!\n]{0,8}(무시|잊)|"
    r"(ignore|disregard|forget)\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier)?\s*(instructions|rules|prompts?)|"
    r"jailbreak|developer\s*mode|개발자\s*모드|관리자\s*(모드|권한|승인))", re.I)

# A stock index named in English is the data of many forecasting exercises ("Which loss should I use for
# NASDAQ price prediction?"): refused only next to a trading word, not next to "should" or "which".
INDEX = re.compile(r"(kospi|kosdaq|nasdaq|s&p\s*500|dow\s*jones)", re.I)
TRADE = re.compile(r"(\bbuy|\bsell|\binvest|all[\s-]in\b|\blong\s+position|\bgo\s+long|\bshort\s+(it|the|position)|"
                   r"\bleverag|put\s+(my|our)\s+money|사야|살까|팔아야|팔까|매수|매도|투자)", re.I)
# A market named as the data a model learns from, not as something to buy.
AS_DATA = re.compile(r"(주가|주식|코인|비트코인|stock(\s*price)?s?|crypto)\s*(데이터|시계열|dataset|data|series)", re.I)


def check(question: str) -> Refusal | None:
    """The refusal for ``question``, or None when it may be answered."""
    text = question.strip()
    if any(p.search(text) for p in PERSONAL) and not NOT_PERSONAL.search(text):
        return Refusal(kind=RefusalKind.PERSONAL, message=REFUSAL_MESSAGES[RefusalKind.PERSONAL])
    if INSTRUCTIONS.search(text):
        return Refusal(kind=RefusalKind.INSTRUCTIONS, message=REFUSAL_MESSAGES[RefusalKind.INSTRUCTIONS])
    markets = AS_DATA.sub(" ", text)   # "주가 데이터로 학습한 LSTM에 ... 넣어도 될까요?" asks about the model
    if (any(p.search(markets) for p in FINANCIAL) and ADVICE.search(text)) or (INDEX.search(text) and TRADE.search(text)):
        return Refusal(kind=RefusalKind.FINANCIAL, message=REFUSAL_MESSAGES[RefusalKind.FINANCIAL])
    return None
