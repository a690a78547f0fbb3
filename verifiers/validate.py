"""Nothing a snippet's process sends is believed before it passes these models.

The child runs the student's code, so its report may be forged or malformed. The worker's own
observations (``Reply``: outcome, signal, time) are trusted; the child's ``raw`` text is parsed
and validated here, and anything else becomes one clear ``InvalidResult`` error. A forged but
well-formed report can only change how that snippet itself is displayed and cached.
"""

from __future__ import annotations

import json
import signal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from verifiers.protocol import STDOUT_CAP
from verifiers.report import NoteKind, ServiceFailure

Name = Annotated[str, Field(max_length=500)]
Count = Annotated[int, Field(ge=0, le=10**15)]
Dim = Annotated[int, Field(ge=0, le=10**12)] | None
Shape = list[Dim]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)


class ErrorModel(_Strict):
    type: Name
    message: Annotated[str, Field(max_length=4000)]
    line: Annotated[int, Field(ge=0)] | None = None


class LayerModel(_Strict):
    name: Name
    cls: Name = Field(alias="class")
    output_shape: Annotated[list[Dim | Shape], Field(max_length=64)] | None
    params: Count | None


class ModelModel(_Strict):
    var: Name
    cls: Name = Field(alias="class")
    built: bool
    layers: Annotated[list[LayerModel], Field(max_length=2000)]
    total_params: Count | None
    trainable_params: Count | None
    note: Annotated[str, Field(max_length=1000)] | None = None
    note_kind: NoteKind | None = None


class TensorModel(_Strict):
    var: Name
    shape: Annotated[Shape, Field(max_length=64)] | None


class WeightModel(_Strict):
    name: Name
    shape: Annotated[Shape, Field(max_length=64)] | None


class StandaloneModel(_Strict):
    var: Name
    cls: Name = Field(alias="class")
    built: bool
    params: Count | None
    weights: Annotated[list[WeightModel], Field(max_length=200)]


class ChildResultModel(_Strict):
    ok: bool
    models: Annotated[list[ModelModel], Field(max_length=100)]
    tensors: Annotated[list[TensorModel], Field(max_length=500)]
    layers: Annotated[list[StandaloneModel], Field(max_length=500)]
    error: ErrorModel | None
    stdout: Annotated[str, Field(max_length=STDOUT_CAP + 100)]


class ReplyModel(_Strict):
    id: int
    outcome: Literal["done", "timeout", "cpu", "crashed", "no_result", "too_large", "fork_hang", "worker_error"]
    raw: Annotated[str, Field(max_length=200_000)]
    signal: int | None
    took_ms: Annotated[int, Field(ge=0)]
    anomaly: Literal["fork_hang", "cleanup", "template_lost"] | None


def failure(kind: ServiceFailure, message: str, took_ms: int = 0) -> dict[str, Any]:
    return {"ok": False, "models": [], "tensors": [], "layers": [], "stdout": "",
            "error": {"type": kind, "message": message, "line": None}, "took_ms": took_ms}


INVALID = ("the snippet's process sent back a report that is not a valid result, so none of its "
           "numbers are shown")


def parse_reply(line: bytes) -> ReplyModel | None:
    """The worker's reply line, or None if the worker itself spoke nonsense."""
    try:
        return ReplyModel.model_validate_json(line)
    except ValidationError:
        return None


def result_of(reply: ReplyModel, timeout: float) -> dict[str, Any]:
    """The raw result dict (as ``VerifyReport.from_worker`` reads it) for one validated reply."""
    took = reply.took_ms
    if reply.outcome == "done":
        try:
            child = ChildResultModel.model_validate(json.loads(reply.raw))
        except (ValueError, RecursionError, ValidationError):  # deep nesting: RecursionError
            return failure("InvalidResult", INVALID, took)
        data = child.model_dump(mode="json", by_alias=True)
        data["took_ms"] = took
        return data
    if reply.outcome == "timeout":
        return failure("Timeout", f"the snippet ran longer than {timeout:g} s and was stopped", took)
    if reply.outcome == "too_large":
        return failure("ResultTooLarge", "the snippet's report was larger than 64 KB", took)
    if reply.outcome == "fork_hang":
        return failure("ForkHang", "the worker's child did not start", took)
    if reply.outcome == "worker_error":
        return failure("WorkerError", f"the Keras worker failed: {reply.raw[:300]}", took)
    if reply.signal == signal.SIGXCPU:
        return failure("Timeout", "the snippet used more CPU time than allowed and was stopped", took)
    if reply.signal:
        try:
            name = signal.Signals(reply.signal).name
        except ValueError:
            name = str(reply.signal)
        return failure("Crashed", f"the snippet's process was killed by signal {name}", took)
    if reply.raw:
        return failure("SandboxError", f"isolation failed: {reply.raw[:300]}", took)
    return failure("NoResult", "the snippet ended without a result (did it exit early?)", took)
