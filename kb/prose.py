"""Layers and sizes a student writes in prose, parsed into a :class:`ModelSpec`.

Finds Keras layer expressions (``LSTM(96)``, ``Bidirectional(GRU(48))``, ``Embedding(8000, 64)``,
``Conv1D(50, 4, dilation_rate=4)``), layers written in words ("GRU 24 유닛", "LSTM with 32 units",
"임베딩 차원 200"), and the input ("(None, 15, 4)", "배치 16, 길이 12, 특성 5", "sequence length 60
with 7 features"). Everything is a single left-to-right scan with bounded regular expressions; the
arguments of an expression are read with :mod:`ast` (literals and small integer arithmetic only).
"""

from __future__ import annotations

import re

from kb.layer_spec import (
    LAYERS,
    POOLING,
    RNN,
    WRAPPERS,
    LayerSpec,
    ModelSpec,
    Unbuildable,
    Value,
    find_expressions,
)

__all__ = ["LAYERS", "POOLING", "RNN", "WRAPPERS", "LayerSpec", "ModelSpec", "Unbuildable", "find_input",
           "find_input_words", "find_word_layers", "options", "parse"]

# -- layers written in words -----------------------------------------------------------------------
_N = r"(?<!\d)(\d{1,3}(?:,\d{3}){1,4}(?![\d,])|\d{1,12}(?!\d))"
_UNIT = r"(?:개의?\s*)?(?:유닛|units?|뉴런|neurons?|노드|nodes?|cells?|셀|hidden)"
WORD_LAYER = re.compile(
    rf"(?<![A-Za-z0-9_(])(양방향\s*|bidirectional\s+|Bi)?(LSTM|GRU|SimpleRNN|Dense)(?![A-Za-z0-9_(])\s*(?:레이어|층|layer)?\s*"
    rf"(?:에|을|를|은|는|이|가|의|with|of)?\s*(?:{_N}\s*{_UNIT}|{_UNIT}\s*(?:가|를|을|이|는|=|:)?\s*{_N})", re.I)
UNITS_FIRST = re.compile(
    rf"(?<!\w){_N}\s*(?:-|개|개의)?\s*(?:유닛|units?|unit|뉴런|neurons?|cells?)\s*(?:짜리|인|의)?\s*"
    rf"(양방향\s*|bidirectional\s+)?(LSTM|GRU|SimpleRNN|Dense)(?![A-Za-z0-9_(])", re.I)
EMB_DIM = re.compile(rf"(?:임베딩\s*(?:차원|벡터\s*크기|크기)|embedding\s*(?:dim(?:ension)?|size)|output_dim)\s*(?:은|는|이|가|=|:|of|is)?\s*{_N}"
                     rf"|{_N}\s*차원\s*(?:짜리\s*)?임베딩|{_N}-?dim(?:ensional)?\s+embedding", re.I)
VOCAB = re.compile(rf"(?:어휘|단어\s*사전|사전|vocab(?:ulary)?|input_dim)\s*(?:크기|수|size)?\s*(?:은|는|이|가|=|:|of|is)?\s*{_N}"
                   rf"|{_N}\s*(?:개의?\s*)?(?:단어|words|tokens?)", re.I)
CONV_WORDS = re.compile(r"Conv1D(?![A-Za-z0-9_(])[^.?!\n]{0,60}", re.I)
FILTERS = re.compile(rf"(?:필터|filters?)\s*(?:수|개수)?\s*(?:은|는|가|=|:)?\s*{_N}|{_N}\s*(?:개의?\s*)?(?:필터|filters)", re.I)
KERNEL = re.compile(rf"(?:커널|kernel)[\s_]*(?:크기|size)?\s*(?:은|는|가|=|:)?\s*{_N}", re.I)
OPTION = re.compile(r"\b(dilation_rate|strides|padding|return_sequences|reset_after|pool_size|merge_mode)\s*"
                    r"(?:=|:|를|을)?\s*(True|False|'[a-z]+'|\"[a-z]+\"|[a-z]+(?=\W|$)|\d+)", re.I)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


BARE = re.compile(r"(?<![A-Za-z0-9_(])(GlobalMaxPooling1D|GlobalAveragePooling1D|MaxPooling1D|AveragePooling1D|Flatten)"
                  r"(?![A-Za-z0-9_(])")


def find_word_layers(text: str) -> list[tuple[int, LayerSpec]]:
    out: list[tuple[int, LayerSpec]] = [(m.start(), LayerSpec(cls=m.group(1))) for m in BARE.finditer(text)]
    for m in WORD_LAYER.finditer(text):
        units = _int(m.group(3) or m.group(4))
        spec = LayerSpec(cls=_canonical(m.group(2)), args=[units])
        out.append((m.start(), _wrap(spec) if m.group(1) else spec))
    for m in UNITS_FIRST.finditer(text):
        spec = LayerSpec(cls=_canonical(m.group(3)), args=[_int(m.group(1))])
        out.append((m.start(), _wrap(spec) if m.group(2) else spec))
    dim = EMB_DIM.search(text)
    if dim:
        vocab = VOCAB.search(text)
        size = _int(next(g for g in dim.groups() if g))
        vocab_size = _int(next(g for g in vocab.groups() if g)) if vocab else None
        if vocab_size is not None:
            out.append((min(dim.start(), vocab.start() if vocab else dim.start()),
                        LayerSpec(cls="Embedding", args=[vocab_size, size])))
    for m in CONV_WORDS.finditer(text):
        filters, kernel = FILTERS.search(m.group(0)), KERNEL.search(m.group(0))
        if filters and kernel:
            count = _int(next(g for g in filters.groups() if g))
            out.append((m.start(), LayerSpec(cls="Conv1D", args=[count, _int(kernel.group(1))])))
    return out


# "양방향 GRU(32)", "a bidirectional LSTM(64)", "BiLSTM(64)"-style prefixes, and "GRU(32)를 Bidirectional로
# 감싸면", "LSTM(16) wrapped in a Bidirectional layer", "wrap GRU(32) in Bidirectional" after the call.
BIDI_BEFORE = re.compile(r"(?:양방향(?:\s*(?:레이어|층)?(?:의|인)?)?|bidirectional|Bidirectional\s*(?:로|으로)\s*감싼|Bi-?)\s*$", re.I)
BIDI_AFTER = re.compile(r"\s*(?:을|를|은|는|이|가)?\s*(?:(?:wrapped\s+)?in(?:to|side)?\s+(?:a\s+|the\s+)?bidirectional"
                        r"|bidirectional\s*(?:로|으로)\s*(?:감싸|감싼|씌우|씌운|wrap))", re.I)


def _wrapped_in_words(text: str, start: int, end: int, layer: LayerSpec) -> LayerSpec:
    """``layer`` inside Bidirectional when the words around its call say so (an RNN written bare)."""
    if layer.cls not in RNN or layer.inner is not None:
        return layer
    if BIDI_BEFORE.search(text[max(0, start - 20):start]) or BIDI_AFTER.match(text, end):
        return _wrap(layer)
    return layer


def _canonical(name: str) -> str:
    return {"lstm": "LSTM", "gru": "GRU", "simplernn": "SimpleRNN", "dense": "Dense"}[name.lower()]


def _wrap(spec: LayerSpec) -> LayerSpec:
    return LayerSpec(cls="Bidirectional", inner=spec)


def options(text: str) -> dict[str, Value]:
    """``dilation_rate=4``, ``padding='causal'``, ``return_sequences=True`` written outside a call."""
    out: dict[str, Value] = {}
    for m in OPTION.finditer(text):
        raw = m.group(2).strip("'\"")
        value: Value = {"true": True, "false": False}.get(raw.lower(), raw)
        if isinstance(value, str) and value.isdigit():
            value = int(value)
        out[m.group(1)] = value
    return out


# -- the input ---------------------------------------------------------------------------------------
TUPLE = re.compile(r"(?<![\w)])\(\s*((?:None|\d+)(?:\s*,\s*(?:None|\d+)){1,3})\s*,?\s*\)")
BATCH = re.compile(rf"(?:배치(?:\s*크기)?|batch(?:\s*size|_size)?)\s*(?:은|는|이|가|=|:|of|is)?\s*{_N}", re.I)
LENGTH = re.compile(rf"(?:시퀀스\s*길이|문장\s*길이|길이|타임\s*스텝|타임스텝|시점|time\s*steps?|timesteps|sequence\s*length|(?:sequences?\s+of\s+|input\s+)?length|"
                    rf"seq_len|max_?len|window(?:\s*size)?|윈도우(?:\s*크기)?)\s*(?:은|는|이|가|=|:|of|is)?\s*{_N}"
                    rf"|{_N}\s*(?:개의?\s*)?(?:타임\s*스텝|timesteps|time\s*steps|-?\s*steps?\b|시점)", re.I)
FEATURES = re.compile(rf"(?:(?:입력\s*)?(?:특성|피처|특징)|feature(?:s|\s*dim)?|채널|channels?|변수"
                      rf"|입력(?:의)?\s*(?:차원|크기|벡터\s*(?:크기|차원))|input\s*(?:dimension|dim|size|features?)"
                      rf"|inputs?\s+of\s+(?:dimension|size))\s*(?:수|개수)?\s*(?:은|는|이|가|=|:|of|is)?\s*{_N}"
                      rf"|{_N}\s*(?:개의?\s*)?(?:input\s+|입력\s*)?(?:특성|피처|features?|channels|변수)"
                      rf"|입력(?:이|은|는)?\s*{_N}\s*차원|{_N}\s*차원(?:의|짜리)?\s*(?:입력|(?:단어\s*)?(?:벡터|임베딩))"
                      rf"|{_N}\s*-?\s*dim(?:ensional|s)?\s+(?:word\s+)?(?:inputs?|vectors?|embeddings?|features?)", re.I)


def _first_number(m: re.Match[str] | None) -> int | None:
    if m is None:
        return None
    return _int(next(g for g in m.groups() if g))


def find_input(text: str) -> tuple[list[int | None] | None, int | None]:
    """(input shape without batch, batch size) as the question states them."""
    shape, batch, _ = find_input_words(text)
    return shape, batch


def find_input_words(text: str) -> tuple[list[int | None] | None, int | None, bool]:
    """``find_input`` and whether the shape was written in words ("길이 100", "입력 차원 8"), not as a tuple."""
    batch = _first_number(BATCH.search(text))
    for m in TUPLE.finditer(text):
        before = text[max(0, m.start() - 14):m.start()]
        if re.search(r"(pool_size|kernel_size|strides|Embedding|Dense)\s*=?\s*$", before):
            continue
        dims: list[int | None] = [None if p.strip() == "None" else int(p) for p in m.group(1).split(",")]
        if dims[0] is None or (len(dims) == 3 and batch is None and "shape" not in before.lower()) or (
                batch is not None and len(dims) == 3 and dims[0] == batch):
            if dims[0] is not None and len(dims) == 3:
                batch = dims[0]
            return dims[1:], batch, False
        return dims, batch, False
    length = _first_number(LENGTH.search(text))
    features = _first_number(FEATURES.search(text))
    if length is None and features is None:
        return None, batch, False
    return ([length, features] if features is not None else [length]), batch, True


# -- what is asked -------------------------------------------------------------------------------------
PARAM_WORDS = re.compile(r"파라미터|매개\s*변수|가중치\s*(?:수|개수)|params?\b|parameters?|weights?\b|count_params", re.I)
SHAPE_WORDS = re.compile(r"shape|모양|형태|출력\s*(?:크기|차원|길이)|output|차원|length of the output", re.I)
TARGET = re.compile(r"(?<![A-Za-z0-9_(])(Dense|LSTM|GRU|SimpleRNN|Embedding|Conv1D|Bidirectional|TimeDistributed)"
                    r"(?![A-Za-z0-9_(])\s*(?:레이어|층|layer)?\s*(?:의|'s)?\s*(?:파라미터|param|출력|output|shape)", re.I)
TARGET_EN = re.compile(r"(?:params?|parameters?|output shape|shape)\s+(?:of|in|for)\s+(?:the\s+)?"
                       r"(Dense|LSTM|GRU|SimpleRNN|Embedding|Conv1D|Bidirectional|TimeDistributed)(?![A-Za-z0-9_(])", re.I)
REVERSED = re.compile(r"[\s,]*(?:[A-Za-z]+\s+){0,3}(?:레이어\s*|층\s*)?(?:after|following|앞에|앞엔)\b", re.I)
CLASS_CASE = {name.lower(): name for name in LAYERS}


def parse(text: str) -> ModelSpec:
    """Everything the question states about a model (possibly nothing); never raises on odd text."""
    try:
        return _parse(text)
    except (ValueError, RecursionError, MemoryError, OverflowError):
        return ModelSpec()


def _parse(text: str) -> ModelSpec:
    spec = ModelSpec()
    found, spec.problems = find_expressions(text)
    layers = [(pos, pos + len(src), _wrapped_in_words(text, pos, pos + len(src), layer)) for pos, layer, src in found]
    taken = [(a, b) for a, b, _ in layers]
    for pos, layer in find_word_layers(text):
        if not any(a <= pos < b for a, b in taken):
            end = pos + 1 + (m.end() if (m := re.match(r"\S*", text[pos + 1:])) else 0)
            layers.append((pos, end, layer))
    layers.sort(key=lambda item: item[0])
    for i in range(len(layers) - 1):   # "Dense(1) after LSTM(8)", "Dense(1) 앞에 GRU(50)": written backwards
        if REVERSED.match(text[layers[i][1]:layers[i + 1][0]]):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    spec.layers = [layer for _, _, layer in layers]
    if any(problem.reason == "unsized" for problem in spec.problems):
        spec.layers = []   # a chain with an unsized layer in it would be another model than the one described
    # Options written outside any call apply to every layer that takes them; those inside a call
    # ("GRU(32, return_sequences=True) 그리고 GRU(16)") belong to that call only.
    outside = text
    for a, b in taken:
        outside = outside[:a] + " " * (b - a) + outside[b:]
    extra = options(outside)
    for layer in spec.layers:
        core = layer.core
        for key, value in extra.items():
            if key in ("return_sequences", "reset_after") and core.cls in RNN:
                if key == "reset_after" and core.cls != "GRU":
                    continue
                core.kwargs.setdefault(key, value)
            elif (key in ("dilation_rate", "padding", "strides") and core.cls == "Conv1D") or (
                    key in ("pool_size", "padding", "strides") and core.cls in POOLING[:2]):
                core.kwargs.setdefault(key, value)
            elif key == "merge_mode" and layer.cls == "Bidirectional":
                layer.kwargs.setdefault(key, value)
    spec.input_shape, spec.batch, spec.input_in_words = find_input_words(text)
    if spec.input_in_words and spec.layers and spec.layers[0].core.cls == "Embedding" and spec.input_shape:
        # An Embedding takes word ids: "300-dim embeddings" is its output, only a length can be its input.
        length = spec.input_shape[0]
        spec.input_shape = [length] if length is not None else None
        spec.input_in_words = spec.input_shape is not None
    if PARAM_WORDS.search(text):
        spec.asks.append("params")
    if SHAPE_WORDS.search(text):
        spec.asks.append("shape")
    target = TARGET.search(text) or TARGET_EN.search(text)
    if target:
        spec.target = CLASS_CASE[target.group(1).lower()]
    return spec
