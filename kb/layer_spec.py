"""A layer as a student writes it in a question: ``LSTM(96)``, ``Bidirectional(GRU(48))``, ``Dense(10**9)``.

:class:`LayerSpec` and :class:`ModelSpec` are the parsed configuration (pydantic, carried between
turns as JSON). :func:`find_expressions` reads every layer call in a text with a bounded scan and
:mod:`ast` (literals and small integer arithmetic only); what cannot be built is named, not raised.
"""

from __future__ import annotations

import ast
import re
from typing import Literal

from pydantic import BaseModel, Field

Value = int | float | str | bool | None
Ask = Literal["params", "shape"]

RNN = ("LSTM", "GRU", "SimpleRNN")
WRAPPERS = ("Bidirectional", "TimeDistributed")
POOLING = ("MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D")
LAYERS = RNN + WRAPPERS + POOLING + ("Dense", "Embedding", "Conv1D", "Dropout", "Flatten")
NOT_LAYERS = {"Input", "Sequential", "Model", "ValueError", "TypeError", "print", "summary"}
LIMIT = 10**7          # units/filters/vocabulary above this cannot be built in a sandbox run
# The sizes a layer cannot be built without ("LSTM(return_sequences=True)" describes a pattern, not a model).
SIZES: dict[str, tuple[str, ...]] = {"Dense": ("units",), **dict.fromkeys(RNN, ("units",)),
                                     "Conv1D": ("filters", "kernel_size"), "Embedding": ("input_dim", "output_dim")}
# Why an expression cannot be built; kb.messages words each reason in Korean and English.
Reason = Literal["unsized", "unknown_layer", "no_inner", "too_large", "not_positive", "unsupported"]


class LayerSpec(BaseModel):
    """One layer: class, positional and keyword arguments, the wrapped layer for wrappers."""

    cls: str
    args: list[Value] = Field(default_factory=list)
    kwargs: dict[str, Value] = Field(default_factory=dict)
    inner: LayerSpec | None = None

    def code(self) -> str:
        parts = [self.inner.code()] if self.inner is not None else []
        parts += [repr(a) for a in self.args]
        parts += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.cls}({', '.join(parts)})"

    @property
    def core(self) -> LayerSpec:
        """The layer that holds the weights (the wrapped one for Bidirectional/TimeDistributed)."""
        return self.inner.core if self.inner is not None else self

    @property
    def units(self) -> int | None:
        first = self.args[0] if self.args else self.kwargs.get("units", self.kwargs.get("filters"))
        return first if isinstance(first, int) and not isinstance(first, bool) else None


class Unbuildable(ValueError):
    """An expression names an unknown layer or impossible sizes: ``reason`` says which, ``detail`` the
    values its message needs (the layer, the sizes, the unsupported text)."""

    def __init__(self, reason: Reason, **detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class Problem(BaseModel):
    """An expression of the question that cannot be built, and why."""

    source: str                      # as written, at most 60 characters
    reason: Reason
    detail: dict[str, str] = Field(default_factory=dict)


class ModelSpec(BaseModel):
    """What the question describes: layers in order, the input, what is asked."""

    layers: list[LayerSpec] = Field(default_factory=list)
    input_shape: list[int | None] | None = None     # without the batch axis
    batch: int | None = None
    input_in_words: bool = False                      # the input was written in words, not as a tuple
    asks: list[Ask] = Field(default_factory=list)
    target: str | None = None                         # the class the student asks about, if named
    problems: list[Problem] = Field(default_factory=list)  # expressions that cannot be built, and why

    @property
    def empty(self) -> bool:
        return not self.layers


# -- layer expressions ----------------------------------------------------------------------------
CALL_START = re.compile(r"(?<![\w.])(?:(?:tf\.)?(?:keras\.)?layers\.)?([A-Z][A-Za-z0-9_]*)\(")


def _value(node: ast.expr) -> Value:
    """A literal, or small integer arithmetic such as ``10**9`` or ``2*64``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool, type(None))):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _value(node.operand)
        if isinstance(inner, (int, float)) and not isinstance(inner, bool):
            return -inner
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Pow, ast.FloorDiv)):
        left, right = _value(node.left), _value(node.right)
        if isinstance(left, int) and isinstance(right, int) and not isinstance(left, bool):
            if isinstance(node.op, ast.Pow):
                if not 0 <= right <= 64 or abs(left) > 10**6:
                    raise Unbuildable("too_large", size=ast.unparse(node)[:40])   # _sized names the layer
                return int(left**right)
            ops = {ast.Add: left + right, ast.Sub: left - right, ast.Mult: left * right,
                   ast.FloorDiv: left // right if right else 0}
            return ops[type(node.op)]
    if isinstance(node, ast.Tuple):
        raise Unbuildable("unsupported", text=ast.unparse(node)[:40])
    raise Unbuildable("unsupported", text=ast.unparse(node)[:40])


def _sized(node: ast.expr, layer: str) -> Value:
    try:
        return _value(node)
    except Unbuildable as exc:
        if exc.reason == "too_large" and "layer" not in exc.detail:
            raise Unbuildable("too_large", layer=layer, size=exc.detail["size"]) from None
        raise


def _layer(node: ast.expr) -> LayerSpec:
    if not isinstance(node, ast.Call):
        raise Unbuildable("unsupported", text=ast.unparse(node)[:40])
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name not in LAYERS:
        raise Unbuildable("unknown_layer", layer=name)
    spec = LayerSpec(cls=name)
    args = list(node.args)
    if name in WRAPPERS:
        if not args:
            raise Unbuildable("no_inner", layer=name)
        spec.inner = _layer(args.pop(0))
    for arg in args:
        spec.args.append(_sized(arg, name))
    for kw in node.keywords:
        if kw.arg is None:
            raise Unbuildable("unsupported", text="**kwargs")
        if kw.arg in ("input_shape", "input_dim", "input_length"):
            continue     # read separately as the input
        if kw.arg == "layer" and name in WRAPPERS:
            spec.inner = _layer(kw.value)
            continue
        spec.kwargs[kw.arg] = _sized(kw.value, name)
    named = {kw.arg for kw in node.keywords}
    missing = [size for i, size in enumerate(SIZES.get(name, ())) if i >= len(spec.args) and size not in named]
    if missing:
        raise Unbuildable("unsized", layer=name, sizes=", ".join(missing))
    for part in (spec, spec.core):
        numbers = [v for v in part.args if isinstance(v, int) and not isinstance(v, bool)]
        if any(n > LIMIT for n in numbers):
            raise Unbuildable("too_large", layer=part.cls, size=f"{max(numbers):,}")
        if part.cls not in ("Dropout",) and any(n <= 0 for n in numbers):
            raise Unbuildable("not_positive", layer=part.cls, size=str(min(numbers)))
    return spec


def _balanced_end(text: str, open_at: int) -> int | None:
    depth = 0
    for i in range(open_at, min(len(text), open_at + 400)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


def find_expressions(text: str) -> tuple[list[tuple[int, LayerSpec, str]], list[Problem]]:
    """Layer expressions (position, spec, source) and the ones that cannot be built, left to right."""
    found: list[tuple[int, LayerSpec, str]] = []
    problems: list[Problem] = []
    pos = 0
    while True:
        m = CALL_START.search(text, pos)
        if m is None:
            break
        name = m.group(1)
        end = _balanced_end(text, m.end() - 1)
        if end is None or name in NOT_LAYERS or name.endswith(("Error", "Exception")):
            pos = m.end()
            continue
        source = text[m.start():end]
        pos = end
        try:
            tree = ast.parse(source.replace("→", " "), mode="eval")
            found.append((m.start(), _layer(tree.body), source))
        except SyntaxError:
            continue
        except Unbuildable as exc:
            problems.append(Problem(source=source[:60], reason=exc.reason, detail=exc.detail))
        except (ValueError, OverflowError, RecursionError, MemoryError):
            problems.append(Problem(source=source[:60], reason="unsupported", detail={"text": source[:40]}))
    return found, problems
