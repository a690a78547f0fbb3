"""The knowledge-base entry: one YAML file per entry, validated by these pydantic models.

An entry is a curated Q&A item. ``verify`` snippets are doctests for the answer: each states
what Keras really produces (shapes, parameter counts, or the error), per Keras major version
where the two differ. ``claims`` tie numbers written in the answer text to a snippet result,
so that a wrong number in an answer is caught.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}$")
Shape = list[int | None]  # None for a batch or time axis of any size
KerasMajor = Literal["2", "3"]  # "3" = Keras 3, "2" = tf-keras (Keras 2)
ClaimWhat = Literal["params", "total_params", "output_shape", "tensor_shape", "layer_params", "weight_shape"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Source(_Strict):
    doc: str = Field(min_length=1, description="Course document file name, lecture or URL.")
    note: str = ""


class LayerExpect(_Strict):
    cls: str | None = Field(default=None, alias="class")
    output_shape: Shape | None = None
    params: int | None = Field(default=None, ge=0)

    def as_dict(self) -> dict[str, object]:
        return self.model_dump(by_alias=True, exclude_none=True)


class ExpectCore(_Strict):
    """What one run of a snippet must show. Only the fields given are checked."""

    ok: bool | None = None
    error: str | None = Field(default=None, description="Exception type name, e.g. ValueError.")
    model: str | None = Field(default=None, description="Variable of the model to check (default: last).")
    layers: list[LayerExpect] | None = None
    total_params: int | None = Field(default=None, ge=0)
    tensors: dict[str, Shape | None] | None = None
    layer_params: dict[str, int] | None = Field(
        default=None, description="Parameters of layers bound to variables outside any model.")

    @model_validator(mode="after")
    def _ok_and_error(self) -> ExpectCore:
        if self.error and self.ok:
            raise ValueError("cannot expect both ok: true and an error")
        return self


class Expect(ExpectCore):
    keras2: ExpectCore | None = Field(default=None, description="Overrides for Keras 2 (tf-keras).")
    keras3: ExpectCore | None = Field(default=None, description="Overrides for Keras 3.")

    def for_version(self, major: KerasMajor) -> ExpectCore:
        base = self.model_dump(exclude={"keras2", "keras3"}, exclude_none=True, by_alias=True)
        override = self.keras2 if major == "2" else self.keras3
        if override is not None:
            changes = override.model_dump(exclude_none=True, by_alias=True)
            if "error" in changes:  # a run that fails has no shapes or counts to compare
                base = {k: v for k, v in base.items() if k == "model"}
            if changes.get("ok"):
                base.pop("error", None)
            base.update(changes)
        if "error" not in base and "ok" not in base:
            base["ok"] = True
        return ExpectCore.model_validate(base)


class Snippet(_Strict):
    name: str = Field(pattern=SLUG.pattern)
    code: str = Field(min_length=1)
    expect: Expect = Field(default_factory=Expect)


class Claim(_Strict):
    """A number the answer states, checked against a snippet's real result."""

    text: str = Field(min_length=1, description="The number exactly as the answer writes it, e.g. 8,256.")
    snippet: str
    what: ClaimWhat = "params"
    layer: int | str | None = Field(default=None, description="Layer index, class name or Class#n.")
    var: str | None = Field(default=None, description="Tensor or standalone-layer variable.")
    weight: str | None = Field(default=None, description=(
        "For weight_shape: the weight's name without scope, e.g. kernel, recurrent_kernel, bias, embeddings."))
    model: str | None = None
    value: int | Shape | None = Field(default=None, description="Defaults to the number in text.")
    keras: KerasMajor | None = Field(default=None, description="Only check this Keras version.")

    def expected(self) -> int | Shape:
        if self.value is not None:
            return self.value
        digits = re.sub(r"[^0-9]", "", self.text)
        if not digits:
            raise ValueError(f"claim text {self.text!r} holds no number; give a value")
        return int(digits)

    @model_validator(mode="after")
    def _target(self) -> Claim:
        if self.what in ("params", "output_shape") and self.layer is None:
            raise ValueError(f"a '{self.what}' claim needs a layer")
        if self.what == "weight_shape" and not (self.var and self.weight):
            raise ValueError("a 'weight_shape' claim needs a var (a standalone layer) and a weight")
        if self.what in ("tensor_shape", "layer_params") and not self.var:
            raise ValueError(f"a '{self.what}' claim needs a var")
        if self.what in ("output_shape", "tensor_shape", "weight_shape") and self.value is None:
            raise ValueError(f"a '{self.what}' claim needs a value (the shape as a list)")
        if self.value is None:
            self.expected()
        return self


class Unchecked(_Strict):
    """A number the answer states on purpose without a claim (e.g. a formula's input), and why."""

    text: str = Field(min_length=1, description="The number exactly as the answer writes it.")
    reason: str = Field(min_length=3)


def no_blank(values: list[str]) -> list[str]:
    """A list field's validator: no empty or all-blank strings."""
    if any(not v.strip() for v in values):
        raise ValueError("must not contain empty strings")
    return values


class Entry(_Strict):
    id: str = Field(pattern=SLUG.pattern)
    title: str = Field(min_length=3)
    title_en: str | None = Field(default=None, min_length=3, description="The title in English, for English questions.")
    question: str = Field(min_length=3)
    answer: str = Field(min_length=10)
    answer_en: str | None = Field(default=None, description="The answer in English (same claims).")
    lang: Literal["ko", "en"] = "ko"
    tags: list[str] = Field(default_factory=list)
    paraphrases: list[str] = Field(default_factory=list, description="Other ways students ask this.")
    error_patterns: list[str] = Field(default_factory=list, description=(
        "Error messages this entry explains (Keras 2 and Keras 3 wording), matched against pasted errors."))
    sources: list[Source] = Field(default_factory=list)
    verify: list[Snippet] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    unchecked: list[Unchecked] = Field(default_factory=list, description=(
        "Numbers the answer states that no claim checks, each with the reason."))

    @field_validator("tags", "paraphrases", "error_patterns")
    @classmethod
    def _no_blank(cls, values: list[str]) -> list[str]:
        return no_blank(values)

    @model_validator(mode="after")
    def _cross_checks(self) -> Entry:
        names = [s.name for s in self.verify]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"snippet names must be unique (repeated: {', '.join(dupes)})")
        for claim in self.claims:
            if claim.snippet not in names:
                raise ValueError(f"claim {claim.text!r} refers to unknown snippet {claim.snippet!r}")
            if claim.text not in self.answer:
                raise ValueError(f"claim {claim.text!r} does not appear in the answer text")
            if self.answer_en is not None and claim.text not in self.answer_en:
                raise ValueError(f"claim {claim.text!r} does not appear in answer_en")
        for item in self.unchecked:
            if item.text not in self.answer and item.text not in (self.answer_en or ""):
                raise ValueError(f"unchecked {item.text!r} appears in neither answer nor answer_en")
        return self

    def snippet(self, name: str) -> Snippet:
        return next(s for s in self.verify if s.name == name)

    def source_docs(self) -> list[str]:
        return [s.doc for s in self.sources]
