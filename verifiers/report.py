"""What a verification returns: pydantic models whose JSON is DESIGN.md's ``verify --json`` contract.

One convention for every type here: ``model_dump(mode="json")`` writes the contract, and
``model_validate`` reads it back (the verification cache stores exactly that JSON). Attribute names
are the JSON keys, except ``cls``, which is ``"class"`` in JSON (a Python keyword).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field

from kb.core.schema import KerasMajor
from verifiers.policy import RefusalKind

Dim = int | None
# The ``error.type`` of a run the service stopped or could not believe, as opposed to an exception
# the snippet itself raised (ValueError, ...). Spelled here only; the interfaces word each one.
ServiceFailure = Literal["Timeout", "Crashed", "NoResult", "ResultTooLarge", "InvalidResult", "ForkHang",
                         "WorkerError", "SandboxError", "QueueFull"]
SERVICE_FAILURES: frozenset[str] = frozenset(get_args(ServiceFailure))
Shape = list[Dim | list[Dim]]  # a list of shapes for layers with several outputs


class _Data(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)


class LayerInfo(_Data):
    name: str
    cls: str = Field(alias="class")
    output_shape: Shape | None
    params: int | None


class ModelInfo(_Data):
    var: str
    cls: str = Field(default="Model", alias="class")
    built: bool = True
    layers: list[LayerInfo]
    total_params: int | None
    trainable_params: int | None
    note: str | None = None             # the worker's own English words, for readers of the raw JSON
    note_kind: NoteKind | None = None   # what the note says, for wording it in the reader's language


class TensorInfo(_Data):
    var: str
    shape: list[Dim] | None


class WeightInfo(_Data):
    name: str
    shape: list[Dim] | None


class StandaloneLayer(_Data):
    """A layer bound to a variable but not part of any model (e.g. ``lstm = LSTM(20)``)."""

    var: str
    cls: str = Field(alias="class")
    built: bool
    params: int | None
    weights: list[WeightInfo]


class ErrorInfo(_Data):
    type: str
    message: str
    line: int | None = None


class Rejection(_Data):
    reason: str                # in English; ``kind`` and ``subject`` let an interface word it
    line: int | None = None
    kind: RefusalKind | Literal[""] = ""   # "" in reports cached before it existed
    subject: str = ""


class VerifyReport(_Data):
    ok: bool
    keras_version: str | None
    keras_major: KerasMajor
    models: list[ModelInfo] = Field(default_factory=list)
    tensors: list[TensorInfo] = Field(default_factory=list)
    layers: list[StandaloneLayer] = Field(default_factory=list)
    error: ErrorInfo | None = None
    rejected: Rejection | None = None
    stdout: str = ""
    took_ms: int = 0
    cached: bool = False

    @classmethod
    def from_worker(cls, major: KerasMajor, keras_version: str, raw: dict[str, Any]) -> VerifyReport:
        """The report for one worker result (``verifiers.validate.result_of`` has checked its shape)."""
        return cls.model_validate({**raw, "keras_major": major, "keras_version": keras_version})

    @classmethod
    def refused(cls, major: KerasMajor, reason: str, line: int | None, kind: RefusalKind | Literal[""] = "",
                subject: str = "") -> VerifyReport:
        return cls(keras_major=major, keras_version=None, ok=False,
                   rejected=Rejection(reason=reason, line=line, kind=kind, subject=subject))

    def model(self, var: str | None = None) -> ModelInfo | None:
        if var is None:
            return self.models[-1] if self.models else None
        return next((m for m in self.models if m.var == var), None)


def format_shape(shape: object) -> str:
    """A shape as Keras prints it, ``(None, 128)``; a list of shapes joined by commas; ``?`` if unknown."""
    if shape is None:
        return "?"
    if not isinstance(shape, list):
        return str(shape)
    if shape and isinstance(shape[0], list):
        return ", ".join(format_shape(s) for s in shape)
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


NoteKind = Literal["built_for_counting", "not_built"]   # the worker built the model itself / could not
DifferenceKind = Literal["outcome", "total_params", "output_shape", "params", "layer_count", "tensor_shape"]


class Difference(_Data):
    """One way two runs of a snippet differ (Keras 3 vs Keras 2); the interfaces word it per language."""

    kind: DifferenceKind
    where: str                 # the model, "model.Layer" or the tensor; "" for the outcome
    first: str                 # the first run's value, already formatted ("refused", "runs", "8,256", "(None, 4)")
    second: str
    first_keras: KerasMajor    # "3"
    second_keras: KerasMajor   # "2"

    def english(self) -> str:
        a, b = f"Keras {self.first_keras}", f"Keras {self.second_keras}"
        if self.kind == "outcome":
            return f"{a}: {self.first}; {b}: {self.second}"
        if self.kind == "layer_count":
            return f"{self.where}: {self.first} layers in {a}, {self.second} in {b}"
        what = {"total_params": "total params", "output_shape": "output shape", "params": "params",
                "tensor_shape": "shape"}[self.kind]
        return f"{self.where}: {what} {a} {self.first} vs {b} {self.second}"


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _outcome(r: VerifyReport) -> str:
    if r.rejected:
        return "refused"
    return r.error.type if r.error else "runs"


def diff_items(first: VerifyReport, second: VerifyReport) -> list[Difference]:
    """Every way ``first`` and ``second`` (the same snippet in two Keras versions) differ."""
    out: list[Difference] = []

    def add(kind: DifferenceKind, where: str, x: str, y: str) -> None:
        out.append(Difference(kind=kind, where=where, first=x, second=y, first_keras=first.keras_major,
                              second_keras=second.keras_major))

    if _outcome(first) != _outcome(second):
        add("outcome", "", _outcome(first), _outcome(second))
    for m1 in first.models:
        m2 = second.model(m1.var)
        if m2 is None:
            continue
        if m1.total_params != m2.total_params:
            add("total_params", m1.var, _count(m1.total_params), _count(m2.total_params))
        for l1, l2 in zip(m1.layers, m2.layers, strict=False):
            if l1.output_shape != l2.output_shape:
                add("output_shape", f"{m1.var}.{l1.cls}", format_shape(l1.output_shape), format_shape(l2.output_shape))
            if l1.params != l2.params:
                add("params", f"{m1.var}.{l1.cls}", _count(l1.params), _count(l2.params))
        if len(m1.layers) != len(m2.layers):
            add("layer_count", m1.var, str(len(m1.layers)), str(len(m2.layers)))
    shapes2 = {t.var: t.shape for t in second.tensors}
    for t1 in first.tensors:
        if t1.var in shapes2 and shapes2[t1.var] != t1.shape:
            add("tensor_shape", t1.var, format_shape(t1.shape), format_shape(shapes2[t1.var]))
    return out


def differences(first: VerifyReport, second: VerifyReport) -> list[str]:
    """The differences in English (the ``verify --json`` and ``ask --json`` ``differences`` strings)."""
    return [d.english() for d in diff_items(first, second)]


class SnippetVerifier(Protocol):
    """What the product asks of a verifier (``verifiers.Verifier`` is the real one): build a snippet
    with each Keras version, read the cache only, stop."""

    def verify(self, code: str, majors: tuple[KerasMajor, ...] | None = None, *, use_cache: bool = True,
               session: str | None = None, on_wait: Callable[[int], None] | None = None) -> list[VerifyReport]: ...

    def cached(self, code: str, majors: tuple[KerasMajor, ...] | None = None) -> list[VerifyReport] | None: ...

    def close(self) -> None: ...
