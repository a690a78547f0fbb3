"""The formula shown to students equals what Keras builds: 100 random configurations per layer class,
built in real Keras 3 and tf-keras in the sandbox (50 models per run, so a class costs two runs)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kb.core.settings import Settings
from kb.formulas import layer_formula
from kb.prose import LayerSpec

pytestmark = pytest.mark.sandbox

PER_CLASS = 100
PER_RUN = 50
Config = tuple[LayerSpec, list[int | None]]


def _rnn(cls: str) -> Callable[[random.Random], Config]:
    def make(r: random.Random) -> Config:
        kwargs: dict[str, object] = {}
        if r.random() < 0.4:
            kwargs["return_sequences"] = True
        if cls == "GRU" and r.random() < 0.5:
            kwargs["reset_after"] = r.random() < 0.5
        length = r.choice([None, r.randint(1, 30)])
        return LayerSpec(cls=cls, args=[r.randint(1, 70)], kwargs=kwargs), [length, r.randint(1, 40)]  # type: ignore[arg-type]
    return make


def _dense(r: random.Random) -> Config:
    shape: list[int | None] = [r.randint(1, 300)] if r.random() < 0.5 else [r.randint(1, 20), r.randint(1, 100)]
    kwargs: dict[str, object] = {"use_bias": False} if r.random() < 0.2 else {}
    return LayerSpec(cls="Dense", args=[r.randint(1, 200)], kwargs=kwargs), shape  # type: ignore[arg-type]


def _embedding(r: random.Random) -> Config:
    return LayerSpec(cls="Embedding", args=[r.randint(2, 30000), r.randint(1, 300)]), [r.choice([None, r.randint(1, 50)])]


def _conv1d(r: random.Random) -> Config:
    kernel = r.randint(1, 9)
    padding = r.choice(["valid", "same", "causal"])
    kwargs: dict[str, object] = {"padding": padding}
    if r.random() < 0.5:
        kwargs["dilation_rate"] = r.randint(1, 6)
    elif padding != "causal" and r.random() < 0.5:
        kwargs["strides"] = r.randint(1, 4)
    dilation = int(kwargs.get("dilation_rate", 1))  # type: ignore[call-overload]
    length = r.randint(dilation * (kernel - 1) + 1, 120)
    return LayerSpec(cls="Conv1D", args=[r.randint(1, 64), kernel], kwargs=kwargs), [length, r.randint(1, 32)]  # type: ignore[arg-type]


def _bidirectional(r: random.Random) -> Config:
    inner, shape = _rnn(r.choice(["LSTM", "GRU", "SimpleRNN"]))(r)
    kwargs: dict[str, object] = {"merge_mode": r.choice(["concat", "sum", "mul", "ave"])} if r.random() < 0.4 else {}
    return LayerSpec(cls="Bidirectional", inner=inner, kwargs=kwargs), shape  # type: ignore[arg-type]


def _time_distributed(r: random.Random) -> Config:
    if r.random() < 0.5:
        inner, shape = _dense(r)
        return LayerSpec(cls="TimeDistributed", inner=inner), [r.randint(1, 12), *shape[-1:]]
    inner, shape = _conv1d(r)
    return LayerSpec(cls="TimeDistributed", inner=inner), [r.randint(1, 6), *shape]


def _pooling(r: random.Random) -> Config:
    cls = r.choice(["MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D"])
    if cls.startswith("Global"):
        return LayerSpec(cls=cls), [r.randint(1, 50), r.randint(1, 64)]
    pool = r.randint(1, 5)
    kwargs: dict[str, object] = {"pool_size": pool, "padding": r.choice(["valid", "same"])}
    if r.random() < 0.5:
        kwargs["strides"] = r.randint(1, 4)
    return LayerSpec(cls=cls, kwargs=kwargs), [r.randint(pool, 80), r.randint(1, 16)]  # type: ignore[arg-type]


CLASSES: dict[str, Callable[[random.Random], Config]] = {
    "Dense": _dense, "Embedding": _embedding, "SimpleRNN": _rnn("SimpleRNN"), "LSTM": _rnn("LSTM"),
    "GRU": _rnn("GRU"), "Conv1D": _conv1d, "Bidirectional": _bidirectional,
    "TimeDistributed": _time_distributed, "Pooling1D": _pooling,
}


def _batches(configs: list[Config]) -> Iterator[tuple[list[Config], str]]:
    for start in range(0, len(configs), PER_RUN):
        chunk = configs[start:start + PER_RUN]
        lines = ["from tensorflow.keras import Input, Sequential", "from tensorflow.keras.layers import *"]
        lines += [f"m{i:03d} = Sequential([Input(shape={tuple(shape)!r}), {spec.code()}])"
                  for i, (spec, shape) in enumerate(chunk)]
        yield chunk, "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def long_verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from verifiers import Verifier

    data: Path = tmp_path_factory.mktemp("formula-var")
    v = Verifier(Settings(data_dir=data, verify_timeout=120.0, verify_memory_mb=2048))
    yield v
    v.close()


@pytest.mark.parametrize("name", list(CLASSES))
def test_formula_equals_keras_on_random_configurations(name: str, long_verifier: object) -> None:
    r = random.Random(f"formula-{name}")
    configs = [CLASSES[name](r) for _ in range(PER_CLASS)]
    checked = 0
    for chunk, code in _batches(configs):
        runs = long_verifier.verify(code, use_cache=False)  # type: ignore[attr-defined]
        assert {run.keras_major for run in runs} == {"3", "2"}
        for run in runs:
            assert run.ok, f"Keras {run.keras_major}: {run.error}"
            models = sorted(run.models, key=lambda m: m.var)
            assert len(models) == len(chunk)
            for model, (spec, shape) in zip(models, chunk, strict=True):
                layer = model.layers[0]
                formula = layer_formula(spec, shape)
                where = f"Keras {run.keras_major}: {spec.code()} on {shape}"
                assert formula.params == layer.params, f"{where}: formula {formula.params}, Keras {layer.params}"
                assert [None, *formula.output] == layer.output_shape, (
                    f"{where}: formula {formula.output}, Keras {layer.output_shape}")
                checked += 1
    assert checked == 2 * PER_CLASS
