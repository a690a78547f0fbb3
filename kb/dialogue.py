"""Follow-ups: "그럼 GRU로 바꾸면요?", "units를 절반으로 하면?", "what about bidirectional?".

A follow-up is resolved against the previous turn's :class:`Context`: its topic (question text) joins
the retrieval query, and its configuration is copied with only what the follow-up changes (a layer
swapped, a size scaled or set, an option switched on, the input changed). A question that stands on
its own (its own layers and input, or no follow-up wording) is not dragged to the previous topic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, Field

from kb.prose import RNN, LayerSpec, ModelSpec, find_input, options

FOLLOW_START = re.compile(r"^\s*(그럼|그러면|그렇다면|그거|그건|이걸|저걸|이거|그 모델|같은 모델|여기서|거기서|"
                          r"what about|how about|and if|what if|and with|and now|then|instead|same model|now)\b", re.I)
CHANGE = re.compile(r"면요|면\s*\?|면\s*$|바꾸|바꿔|바뀌|로 하면|으로 하면|이면|라면|대신|절반|반으로|두\s*배|2배|늘리|줄이|켜면|끄면|켜고|"
                    r"추가|붙이|감싸|없애|빼면|instead|half|halve|double|twice|switch|swap|replace|turn on|turn off|"
                    r"set |with |add |wrap|remove", re.I)
BARE_RNN = re.compile(r"(?<![A-Za-z0-9_(])(LSTM|GRU|SimpleRNN)(?![A-Za-z0-9_(])", re.I)
BIDI_ON = re.compile(r"양방향|bidirectional|Bidirectional", re.I)
BIDI_OFF = re.compile(r"(?:양방향|bidirectional)\s*(?:을|를)?\s*(?:빼|없애|없이|remove|drop)|without\s+bidirectional", re.I)
HALF = re.compile(r"절반|반으로|half|halve", re.I)
DOUBLE = re.compile(r"두\s*배|2배|double|twice", re.I)
SET_UNITS = re.compile(r"(?:units?|유닛|뉴런|노드)\s*(?:을|를|수를|개수를|=|:)?\s*(\d{1,9})(?!\d)|(?<!\d)(\d{1,9})\s*(?:개의?\s*)?(?:units?|유닛)", re.I)
APPEND = re.compile(r"추가|붙이|뒤에|다음에|add\b|append|on top", re.I)
SEQ_ON = re.compile(r"return_sequences\s*(?:=\s*True|를\s*(?:켜|True)|을\s*(?:켜|True)|\s*켜|\s+on)", re.I)
FAMILY = {cls: RNN for cls in RNN}
EMBEDDING_DIM = re.compile(r"임베딩\s*(?:차원|크기)|embedding\s*(?:dim|size)|output_dim", re.I)
VOCAB_SIZE = re.compile(r"어휘|단어\s*수|vocab|input_dim", re.I)


class Context(BaseModel):
    """What the next turn may build on."""

    question: str
    entry_id: str | None = None
    spec: ModelSpec | None = None


class Resolution(BaseModel):
    spec: ModelSpec
    query: str
    follow_up: bool = False
    changes: list[str] = Field(default_factory=list)
    resized_only: bool = False   # the changes only resize the previous model: its entry still answers


def is_follow_up(question: str, spec: ModelSpec) -> bool:
    if FOLLOW_START.search(question):
        return True
    stands_alone = len(spec.layers) >= 2 or (spec.layers and spec.input_shape is not None) or len(question) > 60
    return not stands_alone and bool(CHANGE.search(question)) and len(question) <= 40


def _rename(layer: LayerSpec, cls: str) -> LayerSpec:
    kwargs = {k: v for k, v in layer.kwargs.items() if k != "reset_after" or cls == "GRU"}
    return LayerSpec(cls=cls, args=list(layer.args), kwargs=kwargs)


def _set_units(layer: LayerSpec, value: int) -> None:
    core = layer.core
    if core.args and isinstance(core.args[0], int):
        core.args[0] = value
    elif "units" in core.kwargs:
        core.kwargs["units"] = value
    elif "filters" in core.kwargs:
        core.kwargs["filters"] = value


def _target(spec: ModelSpec, question: str) -> list[int]:
    named = {m.group(1).upper() for m in re.finditer(r"(?<![A-Za-z0-9_(])(LSTM|GRU|SimpleRNN|Dense|Conv1D)(?![A-Za-z0-9_(])", question, re.I)}
    hits = [i for i, la in enumerate(spec.layers) if la.core.cls.upper() in named]
    if hits:
        return hits
    first = next((i for i, la in enumerate(spec.layers) if la.core.cls in (*RNN, "Conv1D")), None)
    if first is None:
        first = next((i for i, la in enumerate(spec.layers) if la.core.units is not None and la.cls != "Embedding"), None)
    return [] if first is None else [first]


def _apply(prev: ModelSpec, now: ModelSpec, question: str) -> tuple[ModelSpec, list[str], bool]:
    """The previous configuration with what the follow-up changes, the changes, and whether they only
    resize it (units, embedding sizes, input, batch: the same layers, so the same topic)."""
    sizes = 0
    spec = prev.model_copy(deep=True)
    spec.asks = now.asks or prev.asks
    spec.target = now.target or prev.target
    spec.problems = list(now.problems)
    changes: list[str] = []
    if now.layers:
        for new in now.layers:
            if APPEND.search(question):
                spec.layers.append(new)
                changes.append(f"+ {new.code()}")
                continue
            family = FAMILY.get(new.core.cls, (new.core.cls,))
            index = next((i for i, la in enumerate(spec.layers) if la.core.cls in family), None)
            if index is None:
                spec.layers.append(new)
                changes.append(f"+ {new.code()}")
                continue
            old = spec.layers[index]
            replacement = new if new.cls == old.cls or new.inner is not None else (
                LayerSpec(cls=old.cls, inner=new, kwargs=dict(old.kwargs)) if old.inner is not None else new)
            spec.layers[index] = replacement
            changes.append(f"{old.code()} → {replacement.code()}")
    else:
        bare = [m.group(1).upper() for m in BARE_RNN.finditer(question)]
        canonical = {"LSTM": "LSTM", "GRU": "GRU", "SIMPLERNN": "SimpleRNN"}
        wanted = [canonical[b] for b in bare]
        for cls in wanted[-1:]:
            index = next((i for i, la in enumerate(spec.layers) if la.core.cls in RNN and la.core.cls != cls), None)
            if index is not None:
                old = spec.layers[index]
                core = _rename(old.core, cls)
                spec.layers[index] = LayerSpec(cls=old.cls, inner=core, kwargs=dict(old.kwargs)) if old.inner else core
                changes.append(f"{old.core.cls} → {cls}")
    factor = 0.5 if HALF.search(question) else 2.0 if DOUBLE.search(question) else None
    set_to = SET_UNITS.search(question) if not now.layers else None
    embedding = next((la for la in spec.layers if la.cls == "Embedding" and len(la.args) == 2), None)
    axis = 1 if EMBEDDING_DIM.search(question) else 0 if VOCAB_SIZE.search(question) else None
    if embedding is not None and axis is not None and (factor is not None or set_to is not None):
        old_size = embedding.args[axis]
        if isinstance(old_size, int):
            size = max(1, int(old_size * factor)) if factor is not None else int(next(g for g in set_to.groups() if g))  # type: ignore[union-attr]
            embedding.args[axis] = size
            changes.append(f"Embedding {'output_dim' if axis else 'input_dim'} {old_size} → {size}")
            sizes += 1
    elif factor is not None or set_to is not None:
        for i in _target(spec, question):
            layer = spec.layers[i]
            units = layer.core.units
            if units is None:
                continue
            value = max(1, int(units * factor)) if factor is not None else int(next(g for g in set_to.groups() if g))  # type: ignore[union-attr]
            _set_units(layer, value)
            changes.append(f"{layer.core.cls} units {units} → {value}")
            sizes += 1
    if BIDI_OFF.search(question):
        for i, la in enumerate(spec.layers):
            if la.cls == "Bidirectional" and la.inner is not None:
                spec.layers[i] = la.inner
                changes.append(f"{la.code()} → {la.inner.code()}")
    elif BIDI_ON.search(question) and not any(la.cls == "Bidirectional" for la in now.layers):
        for i, la in enumerate(spec.layers):
            if la.cls in RNN:
                spec.layers[i] = LayerSpec(cls="Bidirectional", inner=la)
                changes.append(f"{la.code()} → Bidirectional({la.code()})")
                break
    extra = options(question)
    if SEQ_ON.search(question):
        extra.setdefault("return_sequences", True)
    for key, setting in extra.items():
        for la in spec.layers:
            core = la.core
            fits = (key in ("return_sequences",) and core.cls in RNN) or (key == "reset_after" and core.cls == "GRU") or (
                key in ("dilation_rate", "padding", "strides") and core.cls == "Conv1D")
            if fits and core.kwargs.get(key) != setting:
                core.kwargs[key] = setting
                changes.append(f"{core.cls} {key}={setting!r}")
    shape, batch = find_input(question)
    if shape is not None and now.input_shape is not None:
        old_shape = spec.input_shape
        if old_shape is not None and len(shape) == len(old_shape):
            shape = [new if new is not None else old for new, old in zip(shape, old_shape, strict=True)]
        spec.input_shape = shape
        changes.append(f"input {old_shape} → {shape}")
        sizes += 1
    if batch is not None and batch != spec.batch:
        spec.batch = batch
        changes.append(f"batch {batch}")
        sizes += 1
    return spec, changes, bool(changes) and sizes == len(changes)


def resolve(question: str, now: ModelSpec, previous: Context | None) -> Resolution:
    """The configuration and retrieval query for this turn, given the previous one."""
    if previous is None or not is_follow_up(question, now):
        return Resolution(spec=now, query=question)
    query = f"{previous.question} {question}"
    if previous.spec is None or previous.spec.empty:
        return Resolution(spec=now, query=query, follow_up=True)
    try:
        spec, changes, resized_only = _apply(previous.spec, now, question)
    except (ValueError, RecursionError, MemoryError, OverflowError):
        return Resolution(spec=now, query=query, follow_up=True)
    if not changes:
        return Resolution(spec=now, query=query, follow_up=True)
    return Resolution(spec=spec, query=query, follow_up=True, changes=changes, resized_only=resized_only)


def previous_context(history: Sequence[object] | None) -> Context | None:
    """The last turn's context from a chat history (Answers) or question-log turns (dicts/objects)."""
    for turn in reversed(history or []):
        raw = getattr(turn, "context", None) if not isinstance(turn, dict) else turn.get("context")
        if raw:
            try:
                return Context.model_validate(raw)
            except ValueError:
                return None
        question = turn.get("question") if isinstance(turn, dict) else getattr(turn, "question", None)
        if question:
            return Context(question=str(question))
    return None
