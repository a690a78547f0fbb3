"""Turn a :class:`~kb.prose.ModelSpec` into Keras code the sandbox builds.

Two ways, chosen by what the student stated:

* **chain** — the student gave the input (or the first layer is an ``Embedding``, which needs no
  feature count): ``Sequential([Input(...), *layers])``; with no input at all, a small default input
  is assumed and said so.
* **snippet** — no input given: the best entry's own snippet, with its layers of the same classes
  replaced by the student's, in order (``LSTM(64)`` → ``LSTM(96)``), so the student's layers sit in
  the course's example; said so in one sentence.

``student`` maps each of the student's layers to its position among the built model's layers, so the
answer can read the real params and shapes of exactly those layers.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kb.formulas import layer_formula
from kb.prose import LAYERS, POOLING, RNN, WRAPPERS, LayerSpec, ModelSpec

if TYPE_CHECKING:
    from kb.core.schema import Entry
    from verifiers.report import LayerInfo

DEFAULT_INPUT: list[int | None] = [None, 8]
MAX_PARAMS = 50_000_000


@dataclass
class Plan:
    code: str
    mode: str                              # "chain" | "snippet"
    student: list[int]                     # model layer index of each student layer
    input_shape: list[int | None] | None   # chain: the input (no batch axis)
    assumed: bool = False                  # chain on DEFAULT_INPUT
    assumed_features: bool = False         # a stated length, with DEFAULT_INPUT's feature count
    entry_id: str | None = None
    snippet: str | None = None
    problems: list[str] = field(default_factory=list)


def _imports(classes: set[str]) -> str:
    names = ", ".join(sorted(classes))
    return ("from tensorflow.keras import Input, Sequential\n"
            f"from tensorflow.keras.layers import {names}\n")


def _classes(layer: LayerSpec) -> set[str]:
    return {layer.cls} | (_classes(layer.inner) if layer.inner is not None else set())


def chain(spec: ModelSpec) -> Plan:
    shape = spec.input_shape
    assumed = False
    first = spec.layers[0]
    if shape is None:
        if first.cls == "Embedding":
            shape = [None]
        else:
            shape, assumed = list(DEFAULT_INPUT), True
    if first.cls == "Embedding" and len(shape) > 1:
        shape = shape[:1]        # token ids: (length,), features do not apply
    features_assumed = spec.input_in_words and len(shape) == 1 and _takes_sequences(first)
    if features_assumed:         # "길이 100" before an LSTM/Conv1D: 100 time steps, features unknown
        shape = [shape[0], DEFAULT_INPUT[-1]]
    elif spec.input_in_words and len(shape) == 2 and shape[0] is None and not _takes_sequences(first):
        shape = shape[1:]        # "입력 차원 20" before a Dense: a vector, not a sequence of them
    classes = set().union(*(_classes(la) for la in spec.layers))
    batch = f", batch_size={spec.batch}" if spec.batch else ""
    lines = [f"    Input(shape={tuple(shape)!r}{batch}),"] + [f"    {la.code()}," for la in spec.layers]
    code = _imports(classes) + "\nmodel = Sequential([\n" + "\n".join(lines) + "\n])\n"
    return Plan(code, "chain", list(range(len(spec.layers))), shape, assumed, features_assumed)


def _takes_sequences(layer: LayerSpec) -> bool:
    """Layers whose input is (time steps, features): a length alone is not their whole input."""
    return layer.cls in WRAPPERS or layer.core.cls in (*RNN, *POOLING, "Conv1D")


def too_big(spec: ModelSpec, shape: list[int | None]) -> int | None:
    """The formula's parameter count when it is beyond what a sandbox run should build."""
    total = 0
    current = list(shape)
    try:
        for layer in spec.layers:
            f = layer_formula(layer, current)
            total += f.params
            current = f.output
    except (ValueError, TypeError, IndexError, ZeroDivisionError):
        return None
    return total if total > MAX_PARAMS else None


# -- inside an entry's snippet ------------------------------------------------------------------------
def _layer_calls(tree: ast.AST) -> list[ast.Call]:
    """Top-level layer calls (not the layer inside a wrapper), in source order."""
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n) in LAYERS]
    inner = {id(a) for c in calls if _name(c) in ("Bidirectional", "TimeDistributed")
             for a in c.args[:1]}
    top = [c for c in calls if id(c) not in inner]
    return sorted(top, key=lambda c: (c.lineno, c.col_offset))


def _name(call: ast.Call) -> str:
    f = call.func
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _same_kind(call: ast.Call, layer: LayerSpec) -> bool:
    if _name(call) != layer.cls:
        return False
    if layer.inner is None:
        return True
    wrapped = call.args[0] if call.args and isinstance(call.args[0], ast.Call) else None
    return wrapped is not None and _name(wrapped) == layer.inner.cls


def in_snippet(spec: ModelSpec, code: str) -> tuple[str, list[int]] | None:
    """The snippet with the student's layers in place of its own (and their positions), or None."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    calls = _layer_calls(tree)
    picked: list[int] = []
    start = 0
    for layer in spec.layers:
        index = next((i for i in range(start, len(calls)) if _same_kind(calls[i], layer)), None)
        if index is None:
            return None
        picked.append(index)
        start = index + 1
    lines = code.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line.encode()))
    data = code.encode()
    for index, layer in sorted(zip(picked, spec.layers, strict=True), key=lambda p: -p[0]):
        call = calls[index]
        if call.end_lineno is None or call.end_col_offset is None:
            return None
        a = offsets[call.lineno - 1] + call.col_offset
        b = offsets[call.end_lineno - 1] + call.end_col_offset
        new = layer.code()
        old_kwargs = [k for k in call.keywords if k.arg in ("input_shape", "input_dim", "input_length", "name")]
        if old_kwargs:   # keep how the snippet feeds its first layer
            extra = ", ".join(ast.unparse(k) for k in old_kwargs)
            new = new[:-1] + (", " if new[-2] != "(" else "") + extra + ")"
        data = data[:a] + new.encode() + data[b:]
    # The student's classes may be new to the snippet (LSTM inside Bidirectional): import them too.
    classes = set().union(*(_classes(la) for la in spec.layers))
    out = data.decode().splitlines(keepends=True)
    last_import = max((i for i, line in enumerate(out) if line.startswith(("import ", "from "))), default=-1)
    out.insert(last_import + 1, f"from tensorflow.keras.layers import {', '.join(sorted(classes))}\n")
    return "".join(out), picked


def plan(spec: ModelSpec, entry: Entry | None) -> Plan:
    """Chain when the input is stated (or not needed); otherwise the entry's snippet if one fits."""
    needs_input = spec.input_shape is None and spec.layers[0].cls != "Embedding"
    if needs_input and entry is not None:
        for snippet in entry.verify:
            placed = in_snippet(spec, snippet.code)
            if placed is not None:
                code, picked = placed
                return Plan(code, "snippet", picked, None, entry_id=entry.id, snippet=snippet.name)
    return chain(spec)


def student_layers(plan: Plan, spec: ModelSpec, report_layers: list[LayerInfo]) -> list[tuple[LayerSpec, int]]:
    """(student layer, index among the report's layers) for the layers the report shows."""
    if plan.mode == "chain":
        return [(la, i) for i, la in enumerate(spec.layers) if i < len(report_layers)]
    out: list[tuple[LayerSpec, int]] = []
    try:
        calls = _layer_calls(ast.parse(plan.code))
    except SyntaxError:
        return out
    for layer, call_index in zip(spec.layers, plan.student, strict=True):
        cls = layer.cls
        nth = sum(1 for c in calls[:call_index] if _name(c) == cls)
        positions = [i for i, rl in enumerate(report_layers) if rl.cls == cls]
        if nth < len(positions):
            out.append((layer, positions[nth]))
    return out
