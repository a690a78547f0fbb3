"""Build what the question describes and answer its numbers first (the ``lead``).

:func:`answer_numbers` plans the code (:mod:`kb.building`), runs it in both Keras versions through
the project's verifier, and writes the opening sentences from the *real* results: the parameter count
of each layer the student asked about with the course formula (``96 × 24 + 24 = 2,328``) when the
formula gives Keras's number, and the output shapes. Anything that cannot be built gets one sentence
in ``notes``; the rest of the answer still comes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kb.answer_types import Lang, Verification
from kb.building import Plan, plan, student_layers, too_big
from kb.core.errors import CoursebotError
from kb.core.schema import KerasMajor
from kb.formulas import layer_formula
from kb.messages import say
from kb.prose import LayerSpec, ModelSpec
from verifiers.report import VerifyReport, format_shape

if TYPE_CHECKING:
    from kb.core.schema import Entry
    from verifiers.report import LayerInfo, SnippetVerifier

MAX_LEAD_LAYERS = 4


@dataclass
class Numbers:
    verification: Verification | None = None
    lead: str = ""
    notes: list[str] = field(default_factory=list)


def _versions(lang: Lang, values: Mapping[KerasMajor, str]) -> str:
    if len(set(values.values())) <= 1:
        return say(lang, "same") if len(values) > 1 else ""
    return say(lang, "differ", k3=values.get("3", "?"), k2=values.get("2", "?"))


def _layer_input(report_layers: list[LayerInfo], index: int, p: Plan) -> list[int | None] | None:
    if index > 0:
        shape = report_layers[index - 1].output_shape
    elif p.input_shape is not None:
        return list(p.input_shape)
    else:
        return None
    if not isinstance(shape, list) or not shape or any(isinstance(d, list) for d in shape):
        return None   # unknown, or several outputs
    return [d for d in shape[1:] if not isinstance(d, list)]


def _lead(spec: ModelSpec, p: Plan, runs: list[VerifyReport], lang: Lang) -> str:
    models = {r.keras_major: r.models[0] for r in runs if r.ok and r.models}
    if not models:
        failed = next((r.error for r in runs if r.error), None)
        if failed is None:
            return ""
        return say(lang, "build_error", type=failed.type, message=failed.message.splitlines()[0][:200].replace("`", "'"))
    first = next(iter(models.values()))
    pairs = student_layers(p, spec, first.layers)
    wanted = [(la, i) for la, i in pairs if spec.target in (None, la.cls, la.core.cls)] or pairs
    asks = spec.asks or ["params", "shape"]
    lines: list[str] = []
    for layer, index in wanted[:MAX_LEAD_LAYERS]:
        name = f"`{_short(layer)}`"
        if "params" in asks:
            params = {m: _param(model.layers, index) for m, model in models.items()}
            value = next(iter(params.values()))
            formula = ""
            shape = _layer_input(first.layers, index, p)
            if shape is not None and value is not None:
                try:
                    f = layer_formula(layer, shape)
                    if f.params == value and f.text and not f.text.startswith("0 "):
                        formula = f"{f.text.split(';')[0]} = "
                except (ValueError, TypeError, IndexError, ZeroDivisionError):
                    formula = ""
            if value is not None:
                lines.append(say(lang, "params", layer=name, formula=formula, value=f"**{value:,}**",
                                 versions=_versions(lang, {m: f"{v:,}" if v is not None else "?"
                                                           for m, v in params.items()})))
        if "shape" in asks:
            shapes = {m: format_shape(model.layers[index].output_shape) for m, model in models.items()
                      if index < len(model.layers)}
            if shapes:
                lines.append(say(lang, "shape", layer=name, value=f"**{next(iter(shapes.values()))}**",
                                 versions=_versions(lang, shapes)))
    if "params" in asks and len(spec.layers) > 1 and p.mode == "chain":
        totals = {m: f"{model.total_params:,}" if model.total_params is not None else "?"
                  for m, model in models.items()}
        lines.append(say(lang, "total", value=f"**{next(iter(totals.values()))}**", versions=_versions(lang, totals)))
    return "\n".join(f"- {line}" for line in lines) if len(lines) > 1 else "".join(lines)


def _param(layers: list[LayerInfo], index: int) -> int | None:
    return layers[index].params if index < len(layers) else None


def _short(layer: LayerSpec) -> str:
    code = layer.code()
    return code if len(code) <= 60 else code[:57] + "…)"


def answer_numbers(spec: ModelSpec, entry: Entry | None, verifier: SnippetVerifier | None, lang: Lang, *, run: bool,
                   session: str | None = None, on_wait: Callable[[int], None] | None = None,
                   carried: bool = False) -> Numbers:
    """Build the student's configuration and write the lead; never raises for a bad description.
    ``carried``: the configuration is the previous turn's, changed (its input was not written in this one)."""
    out = Numbers()
    for problem in spec.problems:
        out.notes.append(say(lang, f"build_{problem.reason}", what=f"`{problem.source}`", **problem.detail))
    if spec.empty:
        return out
    p = plan(spec, entry)
    if p.mode == "chain" and p.input_shape is not None:
        count = too_big(spec, p.input_shape)
        if count is not None:
            out.notes.append(say(lang, "too_many", count=count))
            return out
    shown = format_shape([spec.batch, *p.input_shape]) if p.input_shape is not None else ""
    if p.mode == "snippet":
        title = (getattr(entry, "title_en", None) if lang == "en" else None) or getattr(entry, "title", p.entry_id)
        out.notes.append(say(lang, "in_snippet", title=title, snippet=p.snippet))
    elif p.assumed:
        out.notes.append(say(lang, "default_input", shape=shown))
    elif p.assumed_features and p.input_shape is not None:
        out.notes.append(say(lang, "default_features", shape=shown, features=p.input_shape[-1]))
    elif spec.input_shape is not None and not carried:
        out.notes.append(say(lang, "chain_input", shape=shown))
    v = Verification(source="question", entry=p.entry_id, snippet="question", code=p.code, status="not_verified")
    if not run or verifier is None:
        v.message = say(lang, "not_run")
        out.verification = v
        return out
    try:
        runs = verifier.verify(p.code, session=session, on_wait=on_wait)
    except CoursebotError as exc:
        v.status, v.message = "failed", say(lang, "verify_failed", message=str(exc))
        out.verification = v
        return out
    from verifiers import differences

    v.status, v.runs = "verified", runs
    v.differences = differences(runs[0], runs[1]) if len(runs) == 2 else []
    out.verification = v
    out.lead = _lead(spec, p, runs, lang)
    return out
