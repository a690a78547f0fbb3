"""What a verification returns: plain data, JSON as DESIGN.md's ``verify --json`` contract."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Shape = list[Any]  # ints and None; a list of shapes for layers with several outputs


@dataclass
class LayerInfo:
    name: str
    cls: str
    output_shape: Shape | None
    params: int | None


@dataclass
class ModelInfo:
    var: str
    cls: str
    built: bool
    layers: list[LayerInfo]
    total_params: int | None
    trainable_params: int | None
    note: str | None = None


@dataclass
class TensorInfo:
    var: str
    shape: Shape | None


@dataclass
class StandaloneLayer:
    """A layer bound to a variable but not part of any model (e.g. ``lstm = LSTM(20)``)."""

    var: str
    cls: str
    built: bool
    params: int | None
    weights: list[dict[str, Any]]


@dataclass
class ErrorInfo:
    type: str
    message: str
    line: int | None


@dataclass
class Rejection:
    reason: str
    line: int | None


@dataclass
class VerifyReport:
    keras_major: str
    keras_version: str | None
    ok: bool
    models: list[ModelInfo] = field(default_factory=list)
    tensors: list[TensorInfo] = field(default_factory=list)
    layers: list[StandaloneLayer] = field(default_factory=list)
    error: ErrorInfo | None = None
    rejected: Rejection | None = None
    stdout: str = ""
    took_ms: int = 0
    cached: bool = False

    @classmethod
    def from_worker(cls, major: str, keras_version: str, raw: dict[str, Any]) -> VerifyReport:
        err = raw.get("error")
        return cls(
            keras_major=major,
            keras_version=keras_version,
            ok=bool(raw.get("ok")),
            models=[
                ModelInfo(
                    var=m["var"], cls=m.get("class", "Model"), built=m.get("built", True),
                    layers=[LayerInfo(la["name"], la["class"], la["output_shape"], la["params"])
                            for la in m["layers"]],
                    total_params=m["total_params"], trainable_params=m["trainable_params"],
                    note=m.get("note"),
                )
                for m in raw.get("models", [])
            ],
            tensors=[TensorInfo(t["var"], t["shape"]) for t in raw.get("tensors", [])],
            layers=[StandaloneLayer(la["var"], la["class"], la["built"], la["params"], la["weights"])
                    for la in raw.get("layers", [])],
            error=ErrorInfo(err["type"], err["message"], err.get("line")) if err else None,
            stdout=raw.get("stdout", ""),
            took_ms=int(raw.get("took_ms", 0)),
        )

    @classmethod
    def refused(cls, major: str, reason: str, line: int | None) -> VerifyReport:
        return cls(keras_major=major, keras_version=None, ok=False, rejected=Rejection(reason, line))

    def model(self, var: str | None = None) -> ModelInfo | None:
        if var is None:
            return self.models[-1] if self.models else None
        return next((m for m in self.models if m.var == var), None)

    def to_json(self) -> dict[str, Any]:
        def model_json(m: ModelInfo) -> dict[str, Any]:
            return {
                "var": m.var, "class": m.cls, "built": m.built,
                "layers": [{"name": la.name, "class": la.cls, "output_shape": la.output_shape,
                            "params": la.params} for la in m.layers],
                "total_params": m.total_params, "trainable_params": m.trainable_params,
                "note": m.note,
            }

        return {
            "ok": self.ok,
            "keras_version": self.keras_version,
            "keras_major": self.keras_major,
            "models": [model_json(m) for m in self.models],
            "tensors": [asdict(t) for t in self.tensors],
            "layers": [{"var": la.var, "class": la.cls, "built": la.built, "params": la.params,
                        "weights": la.weights} for la in self.layers],
            "error": asdict(self.error) if self.error else None,
            "rejected": asdict(self.rejected) if self.rejected else None,
            "stdout": self.stdout,
            "took_ms": self.took_ms,
            "cached": self.cached,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerifyReport:
        raw = dict(data)
        report = cls.from_worker(raw["keras_major"], raw.get("keras_version") or "", raw)
        report.keras_version = raw.get("keras_version")
        if raw.get("rejected"):
            report.rejected = Rejection(**raw["rejected"])
        return report


def format_shape(shape: Any) -> str:
    """A shape as Keras prints it, ``(None, 128)``; a list of shapes joined by commas; ``?`` if unknown."""
    if shape is None:
        return "?"
    if not isinstance(shape, list):
        return str(shape)
    if shape and isinstance(shape[0], list):
        return ", ".join(format_shape(s) for s in shape)
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims},)" if len(shape) == 1 else f"({dims})"


def differences(first: VerifyReport, second: VerifyReport) -> list[str]:
    """Human-readable differences between two runs (Keras 3 vs Keras 2) of one snippet."""
    a, b = f"Keras {first.keras_major}", f"Keras {second.keras_major}"
    out: list[str] = []
    if first.ok != second.ok or (first.error and second.error and first.error.type != second.error.type):
        def outcome(r: VerifyReport) -> str:
            if r.rejected:
                return "refused"
            return f"{r.error.type}" if r.error else "runs"
        out.append(f"{a}: {outcome(first)}; {b}: {outcome(second)}")
    for m1 in first.models:
        m2 = second.model(m1.var)
        if m2 is None:
            continue
        if m1.total_params != m2.total_params:
            out.append(f"{m1.var}: total params {a} {m1.total_params} vs {b} {m2.total_params}")
        for l1, l2 in zip(m1.layers, m2.layers, strict=False):
            if l1.output_shape != l2.output_shape:
                out.append(f"{m1.var}.{l1.cls}: output shape {a} {l1.output_shape} vs {b} {l2.output_shape}")
            if l1.params != l2.params:
                out.append(f"{m1.var}.{l1.cls}: params {a} {l1.params} vs {b} {l2.params}")
        if len(m1.layers) != len(m2.layers):
            out.append(f"{m1.var}: {len(m1.layers)} layers in {a}, {len(m2.layers)} in {b}")
    shapes2 = {t.var: t.shape for t in second.tensors}
    for t in first.tensors:
        if t.var in shapes2 and shapes2[t.var] != t.shape:
            out.append(f"{t.var}: shape {a} {t.shape} vs {b} {shapes2[t.var]}")
    return out
