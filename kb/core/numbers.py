"""The parameter counts and shapes an entry's answer states, and whether each one is checked.

The product's promise is that every number an entry states about a model is checked against real
Keras. This module finds those numbers in ``answer`` and ``answer_en`` (Markdown) and ties each to
a claim (same number, or same shape) or to an ``unchecked:`` item (with its reason). Loading an
entry (:func:`kb.core.store.parse_entry`) refuses one that states a number tied to neither.

What counts as a stated number (outside fenced code; inline code is searched for shapes only):
- a shape: a tuple of integers and ``None`` such as ``(None, 128)``, ``(32, 25, 1)`` or ``(256,)``
  that is not a call's or keyword's argument (``Dense(64)``, ``shape=(25, 1)`` are configuration);
- a count: a number with thousands separators (``8,256``), the result of a formula (``= 210``),
  or a number of parameters (``파라미터 16개``, ``4,128개의 파라미터``, ``210 parameters``).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from kb.core.schema import Claim, ClaimWhat, Entry

Field_ = Literal["answer", "answer_en"]
Kind = Literal["count", "shape"]
Status = Literal["claimed", "unchecked", "unclaimed"]

_SHAPE_CLAIMS = ("output_shape", "tensor_shape", "weight_shape")

_FENCE = re.compile(r"^[ \t]*(```|~~~).*?^[ \t]*\1[^\n]*$", re.S | re.M)
_INLINE_CODE = re.compile(r"(`+)(.+?)\1", re.S)
_SHAPE = re.compile(r"(?<![\w.=\]])\(\s*((?:(?:None|\d+)\s*,\s*)+(?:None|\d+)?)\s*\)")
_NUMBER = r"\d{1,3}(?:,\d{3})+(?![\d])|\d+"
_THOUSANDS = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?![\d.,]\d)")
_RESULT = re.compile(r"(?:(?<=\s)|(?<=[\d)]))=\s*\**\s*(" + _NUMBER + r")(?![\d/.(]|,\d|\**\s*[×·+/−])")
_KO_COUNT = re.compile(r"(?<![\w.,])(" + _NUMBER + r")\**\s*개(?!짜리)")
_EN_COUNT = re.compile(r"(?<![\w.,])(" + _NUMBER + r")\**\s+(?:trainable\s+)?(?:parameters|params|weights)\b",
                       re.I)
_PARAMS_BEFORE = re.compile(r"(?:파라미터|가중치)(?:\s*(?:수|개수))?\s*(?:는|가|도|은|이)?\s*\**\s*$")
_PARAMS_AFTER = re.compile(r"\s*(?:의\s*)?(?:파라미터|가중치)")


class StatedNumber(BaseModel):
    """One parameter count or shape written in an answer, and what checks it."""

    text: str = Field(description="The number or shape exactly as written, e.g. 8,256 or (None, 128).")
    kind: Kind
    value: int | list[int | None]
    field: Field_ = Field(description="Which text states it: answer or answer_en.")
    start: int = Field(ge=0, description="Offset of text in that field.")
    status: Status = "unclaimed"
    claim: int | None = Field(default=None, description="Index in entry.claims of the claim that checks it.")
    reason: str | None = Field(default=None, description="The unchecked: reason, when status is unchecked.")


def find_numbers(text: str, field: Field_ = "answer") -> list[StatedNumber]:
    """Every parameter count and shape ``text`` (Markdown) states, in order, not yet tied to anything."""
    blanked = _FENCE.sub(lambda m: " " * len(m.group(0)), text)
    found: dict[int, StatedNumber] = {}
    for m in _SHAPE.finditer(blanked):
        found[m.start()] = StatedNumber(text=m.group(0), kind="shape", value=_shape(m.group(1)),
                                        field=field, start=m.start())
    prose = _INLINE_CODE.sub(lambda m: " " * len(m.group(0)), blanked)
    prose = _SHAPE.sub(lambda m: " " * len(m.group(0)), prose)
    spans: list[tuple[int, str]] = [(m.start(), m.group(0)) for m in _THOUSANDS.finditer(prose)]
    spans += [(m.start(1), m.group(1)) for m in _RESULT.finditer(prose)]
    spans += [(m.start(1), m.group(1)) for m in _EN_COUNT.finditer(prose)]
    spans += [(m.start(1), m.group(1)) for m in _KO_COUNT.finditer(prose) if _about_params(prose, m)]
    for start, number in spans:
        found.setdefault(start, StatedNumber(text=number, kind="count", value=_int(number),
                                             field=field, start=start))
    return [found[k] for k in sorted(found)]


def stated_numbers(entry: Entry) -> list[StatedNumber]:
    """The numbers ``entry``'s answer and answer_en state, each tied to a claim or unchecked item if any."""
    numbers = find_numbers(entry.answer, "answer")
    if entry.answer_en:
        numbers += find_numbers(entry.answer_en, "answer_en")
    return [_tie(n, entry) for n in numbers]


def unclaimed_numbers(entry: Entry) -> list[StatedNumber]:
    """The stated numbers that no claim checks and no ``unchecked:`` item explains."""
    return [n for n in stated_numbers(entry) if n.status == "unclaimed"]


def claim_for(number: StatedNumber, snippet: str, *, layer: int | str | None = None, var: str | None = None,
              model: str | None = None, weight: str | None = None) -> Claim:
    """A claim that checks ``number`` against ``snippet``: a layer of a model (``layer``, optionally ``model``),
    a tensor or standalone layer (``var``), or a standalone layer's weight (``var`` and ``weight``).

    The instructor page's form uses this to tie a stated number to what the instructor picks.
    """
    what: ClaimWhat
    if weight is not None:
        what = "weight_shape"
    elif number.kind == "shape":
        what = "output_shape" if var is None else "tensor_shape"
    elif var is not None:
        what = "layer_params"
    else:
        what = "params" if layer is not None else "total_params"
    value = number.value if number.kind == "shape" else None
    return Claim(text=number.text, snippet=snippet, what=what, layer=layer, var=var, model=model,
                 weight=weight, value=value)


def _tie(number: StatedNumber, entry: Entry) -> StatedNumber:
    for i, claim in enumerate(entry.claims):
        if number.kind == "count" and _digits(claim.text) == str(number.value):
            return number.model_copy(update={"status": "claimed", "claim": i})
        if number.kind == "shape" and (
                (claim.what in _SHAPE_CLAIMS and claim.value == number.value) or _norm(claim.text) == _norm(number.text)):
            return number.model_copy(update={"status": "claimed", "claim": i})
    for item in entry.unchecked:
        if _norm(item.text) == _norm(number.text):
            return number.model_copy(update={"status": "unchecked", "reason": item.reason})
    return number


def _about_params(prose: str, match: re.Match[str]) -> bool:
    """Whether a Korean ``N개`` counts parameters: 파라미터/가중치 (수) right before it, or 의 파라미터 after."""
    before = prose[max(0, match.start() - 20):match.start()]
    return bool(_PARAMS_BEFORE.search(before) or _PARAMS_AFTER.match(prose, match.end()))


def _shape(inner: str) -> list[int | None]:
    return [None if part.strip() == "None" else int(part) for part in inner.split(",") if part.strip()]


def _int(number: str) -> int:
    return int(number.replace(",", ""))


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text).lstrip("0") or "0"


def _norm(text: str) -> str:
    return re.sub(r"[\s`*]", "", text)
