"""The parameter count and output shape of one layer, as the course writes the formula.

This is pedagogy shown next to the real Keras result (never instead of it);
``tests/kb/test_formulas.py`` builds hundreds of random configurations per class in real Keras
(both versions) and checks that these formulas give Keras's numbers.

Shapes here exclude the batch axis; ``None`` is an unknown length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kb.prose import LayerSpec

Shape = list[int | None]


@dataclass
class Formula:
    params: int
    text: str              # e.g. "96 × 24 + 24"
    output: Shape


def _kw(spec: LayerSpec, name: str, position: int, default: object) -> object:
    if name in spec.kwargs:
        return spec.kwargs[name]
    return spec.args[position] if len(spec.args) > position else default


def _int(value: object, default: int = 1) -> int:
    if isinstance(value, (list, tuple)):
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _rnn(spec: LayerSpec, shape: Shape) -> Formula:
    units = _int(_kw(spec, "units", 0, 1))
    d = shape[-1] or 0
    sequences = bool(spec.kwargs.get("return_sequences", False))
    out: Shape = [shape[0], units] if sequences else [units]
    if spec.cls == "SimpleRNN":
        return Formula((d + units) * units + units, f"({d} + {units}) × {units} + {units}", out)
    if spec.cls == "LSTM":
        return Formula(4 * ((d + units) * units + units), f"4 × (({d} + {units}) × {units} + {units})", out)
    if spec.kwargs.get("reset_after", True) is False:
        return Formula(3 * ((d + units) * units + units), f"3 × (({d} + {units}) × {units} + {units})", out)
    return Formula(3 * ((d + units) * units + 2 * units),
                   f"3 × (({d} + {units}) × {units} + 2 × {units})", out)


def _conv_length(length: int | None, kernel: int, stride: int, dilation: int, padding: str) -> int | None:
    if length is None:
        return None
    if padding in ("same", "causal"):
        return math.ceil(length / stride)
    span = dilation * (kernel - 1) + 1
    return max(0, (length - span) // stride + 1)


def _conv1d(spec: LayerSpec, shape: Shape) -> Formula:
    filters = _int(_kw(spec, "filters", 0, 1))
    kernel = _int(_kw(spec, "kernel_size", 1, 1))
    stride = _int(_kw(spec, "strides", 2, 1))
    padding = str(_kw(spec, "padding", 3, "valid")).lower()
    dilation = _int(spec.kwargs.get("dilation_rate", 1))
    d = shape[-1] or 0
    bias = spec.kwargs.get("use_bias", True) is not False
    params = kernel * d * filters + (filters if bias else 0)
    text = f"{kernel} × {d} × {filters}" + (f" + {filters}" if bias else "")
    length = _conv_length(shape[0], kernel, stride, dilation, padding)
    if shape[0] is not None and padding == "valid":
        text += (f"; length: ({shape[0]} − {dilation} × ({kernel} − 1) − 1) // {stride} + 1 = {length}"
                 if dilation > 1 or stride > 1 else f"; length: {shape[0]} − {kernel} + 1 = {length}")
    return Formula(params, text, [length, filters])


def _pooling(spec: LayerSpec, shape: Shape) -> Formula:
    if spec.cls.startswith("Global"):
        return Formula(0, "0 (no weights)", [shape[-1]])
    pool = _int(_kw(spec, "pool_size", 0, 2), 2)
    stride_value = _kw(spec, "strides", 1, None)
    stride = _int(stride_value, pool) if stride_value is not None else pool
    padding = str(_kw(spec, "padding", 2, "valid")).lower()
    length = _conv_length(shape[0], pool, stride, 1, padding)
    return Formula(0, "0 (no weights)", [length, shape[-1]])


def layer_formula(spec: LayerSpec, shape: Shape) -> Formula:
    """Params, formula text and output shape of ``spec`` applied to an input of ``shape``."""
    cls = spec.cls
    if cls == "Dense":
        units = _int(_kw(spec, "units", 0, 1))
        d = shape[-1] or 0
        bias = spec.kwargs.get("use_bias", True) is not False
        return Formula(d * units + (units if bias else 0), f"{d} × {units}" + (f" + {units}" if bias else ""),
                       [*shape[:-1], units])
    if cls == "Embedding":
        vocab, dim = _int(_kw(spec, "input_dim", 0, 1)), _int(_kw(spec, "output_dim", 1, 1))
        return Formula(vocab * dim, f"{vocab} × {dim}", [*shape, dim])
    if cls in ("LSTM", "GRU", "SimpleRNN"):
        return _rnn(spec, shape)
    if cls == "Conv1D":
        return _conv1d(spec, shape)
    if cls in ("MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D"):
        return _pooling(spec, shape)
    if cls == "Bidirectional" and spec.inner is not None:
        inner = layer_formula(spec.inner, shape)
        mode = spec.kwargs.get("merge_mode", "concat")
        out = list(inner.output)
        if mode == "concat" and out and out[-1] is not None:
            out[-1] = 2 * out[-1]
        return Formula(2 * inner.params, f"2 × [{inner.text}]", out)
    if cls == "TimeDistributed" and spec.inner is not None:
        inner = layer_formula(spec.inner, shape[1:])
        return Formula(inner.params, inner.text, [shape[0], *inner.output])
    if cls == "Flatten":
        size = math.prod(d for d in shape if d is not None) if None not in shape else None
        return Formula(0, "0 (no weights)", [size])
    if cls == "Dropout":
        return Formula(0, "0 (no weights)", list(shape))
    raise ValueError(f"no formula for {cls}")
