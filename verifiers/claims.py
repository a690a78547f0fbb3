"""Check an entry: every snippet against its ``expect``, every claim against the real result."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from kb.core.schema import Claim, Entry, ExpectCore, KerasMajor
from verifiers.report import Dim, ModelInfo, Shape, VerifyReport

if TYPE_CHECKING:
    from verifiers.report import SnippetVerifier

# What a snippet really gave for one expected number: a count, a shape, a sentence why there is
# none ("no layer 'x'"), or None when Keras reports nothing.
Observed = int | list[Dim] | Shape | str | None


@dataclass(frozen=True)
class Mismatch:
    entry: str
    snippet: str
    keras: str
    what: str
    expected: object
    actual: object

    def __str__(self) -> str:
        return (f"{self.entry} / {self.snippet} (Keras {self.keras}): {self.what}: "
                f"expected {_fmt(self.expected)}, got {_fmt(self.actual)}")


def _fmt(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def outcome(report: VerifyReport) -> str:
    if report.rejected:
        return f"refused ({report.rejected.reason})"
    if report.error:
        return f"{report.error.type}: {report.error.message[:160]}"
    return "ok"


def compare(expect: ExpectCore, report: VerifyReport) -> list[tuple[str, object, object]]:
    """(what, expected, actual) for every way ``report`` differs from ``expect``."""
    if report.rejected:
        return [("outcome", "the snippet to run", outcome(report))]
    problems: list[tuple[str, object, object]] = []
    if expect.error:
        actual_type = report.error.type if report.error else "ok"
        if actual_type != expect.error:
            problems.append(("outcome", expect.error, outcome(report)))
        return problems
    if expect.ok and not report.ok:
        return [("outcome", "ok", outcome(report))]
    if expect.layers is not None or expect.total_params is not None:
        model = report.model(expect.model)
        if model is None:
            return [*problems, ("model", expect.model or "a model", "no model in the snippet")]
        problems += _compare_model(expect, model)
    for var, shape in (expect.tensors or {}).items():
        tensor = next((t for t in report.tensors if t.var == var), None)
        actual = tensor.shape if tensor else "no such tensor"
        if actual != shape:
            problems.append((f"tensor {var} shape", shape, actual))
    for var, params in (expect.layer_params or {}).items():
        layer = next((la for la in report.layers if la.var == var), None)
        actual_params = layer.params if layer else "no such layer"
        if actual_params != params:
            problems.append((f"layer {var} params", params, actual_params))
    return problems


def _compare_model(expect: ExpectCore, model: ModelInfo) -> list[tuple[str, object, object]]:
    problems: list[tuple[str, object, object]] = []
    if expect.total_params is not None and model.total_params != expect.total_params:
        problems.append((f"{model.var} total params", expect.total_params, model.total_params))
    if expect.layers is not None:
        if len(expect.layers) != len(model.layers):
            problems.append((f"{model.var} layer count", len(expect.layers), len(model.layers)))
        for i, (want, got) in enumerate(zip(expect.layers, model.layers, strict=False)):
            label = f"{model.var} layer {i} ({got.cls})"
            if want.cls is not None and want.cls != got.cls:
                problems.append((f"{label} class", want.cls, got.cls))
            if want.output_shape is not None and want.output_shape != got.output_shape:
                problems.append((f"{label} output shape", want.output_shape, got.output_shape))
            if want.params is not None and want.params != got.params:
                problems.append((f"{label} params", want.params, got.params))
    return problems


def claim_actual(claim: Claim, report: VerifyReport) -> Observed:
    """The value in ``report`` that ``claim`` talks about (or a sentence why there is none)."""
    if claim.what == "weight_shape":
        return _weight_shape(claim, report)
    if claim.what in ("tensor_shape", "layer_params"):
        if claim.what == "tensor_shape":
            tensor = next((t for t in report.tensors if t.var == claim.var), None)
            return tensor.shape if tensor else f"no tensor '{claim.var}'"
        layer = next((la for la in report.layers if la.var == claim.var), None)
        return layer.params if layer else f"no layer '{claim.var}'"
    model = report.model(claim.model)
    if model is None:
        return "no model"
    if claim.what == "total_params":
        return model.total_params
    index = resolve_layer(claim.layer, model)
    if index is None:
        return f"no layer {claim.layer!r}"
    info = model.layers[index]
    return info.params if claim.what == "params" else info.output_shape


def _weight_shape(claim: Claim, report: VerifyReport) -> Observed:
    """The shape of weight ``claim.weight`` (name without scope or ``:0``) of standalone layer ``claim.var``."""
    layer = next((la for la in report.layers if la.var == claim.var), None)
    if layer is None:
        return f"no layer '{claim.var}'"
    for weight in layer.weights:
        if weight.name.split(":")[0].split("/")[-1] == claim.weight:
            return weight.shape
    return f"no weight '{claim.weight}' in '{claim.var}'"


def resolve_layer(ref: int | str | None, model: ModelInfo) -> int | None:
    if isinstance(ref, int):
        return ref if -len(model.layers) <= ref < len(model.layers) else None
    if not ref:
        return None
    cls, _, nth = ref.partition("#")
    matches = [i for i, la in enumerate(model.layers) if la.cls == cls]
    n = int(nth) if nth.isdigit() else 1
    return matches[n - 1] if len(matches) >= n else None


def verify_and_check(entry: Entry, verifier: SnippetVerifier, *, use_cache: bool = True
                     ) -> tuple[list[Mismatch], dict[str, list[VerifyReport]]]:
    """Run every snippet of ``entry`` with ``verifier`` (a :class:`verifiers.report.SnippetVerifier`) and check it."""
    reports = {s.name: verifier.verify(s.code, use_cache=use_cache) for s in entry.verify}
    return check_entry(entry, reports), reports


def check_entry(entry: Entry, reports: dict[str, list[VerifyReport]]) -> list[Mismatch]:
    """Mismatches of ``entry`` given the reports of each of its snippets (by snippet name)."""
    found: list[Mismatch] = []
    for snippet in entry.verify:
        for report in reports.get(snippet.name, []):
            expect = snippet.expect.for_version(report.keras_major)
            for what, expected, actual in compare(expect, report):
                found.append(Mismatch(entry.id, snippet.name, report.keras_major, what, expected, actual))
    for claim in entry.claims:
        for report in reports.get(claim.snippet, []):
            if claim.keras and report.keras_major != claim.keras:
                continue
            actual = claim_actual(claim, report)
            if actual != claim.expected():
                found.append(Mismatch(entry.id, claim.snippet, report.keras_major,
                                      f"claim '{claim.text}' ({claim.what})", claim.expected(), actual))
    return found


def claim_status(entry: Entry, reports: dict[str, list[VerifyReport]]) -> list[tuple[Claim, KerasMajor, Observed, bool]]:
    """(claim, keras major, actual value, holds) for every claim and version: for display."""
    rows = []
    for claim in entry.claims:
        for report in reports.get(claim.snippet, []):
            if claim.keras and report.keras_major != claim.keras:
                continue
            actual = claim_actual(claim, report)
            rows.append((claim, report.keras_major, actual, actual == claim.expected()))
    return rows
