"""Real Keras, both versions, in the sandbox: the course's cases with their exact figures."""

from __future__ import annotations

import pytest

from kb.messages import say_note
from verifiers.report import differences

pytestmark = pytest.mark.sandbox

IMDB = """
import tensorflow as tf
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import Embedding, Bidirectional, Dense
vocab_size = 10000
model = Sequential([
    Embedding(vocab_size+1, 64),
    Bidirectional(tf.keras.layers.LSTM(64)),
    Dense(64, activation='relu'),
    Dense(1, activation='sigmoid')
])
"""


def _both(verifier, code):
    reports = verifier.verify(code, ("3", "2"), use_cache=False)
    assert [r.keras_major for r in reports] == ["3", "2"]
    return reports


def test_imdb_bilstm_params(verifier) -> None:
    for report in _both(verifier, IMDB):
        model = report.model("model")
        assert [la.params for la in model.layers] == [640064, 66048, 8256, 65]
        assert model.total_params == 714433
        assert model.layers[1].output_shape == [None, 128]


def test_plain_lstm_dense_is_4160(verifier) -> None:
    code = IMDB.replace("Bidirectional(tf.keras.layers.LSTM(64))", "tf.keras.layers.LSTM(64)")
    for report in _both(verifier, code):
        assert report.model().layers[2].params == 4160


def test_misplaced_return_sequences_errors_differ(verifier) -> None:
    code = IMDB.replace("LSTM(64))", "LSTM(64), return_sequences=False)")
    k3, k2 = _both(verifier, code)
    assert k3.error.type == "ValueError" and "return_sequences" in k3.error.message
    assert k2.error.type == "TypeError"
    assert k3.error.line == k2.error.line == 8  # the Bidirectional(...) line
    assert any("ValueError" in d and "TypeError" in d for d in differences(k3, k2))


def test_conv1d_on_4d_input(verifier) -> None:
    code = ("from tensorflow.keras.layers import Input, Conv1D\n"
            "x = Input(shape=(None, 15, 30))\n"
            "y = Conv1D(30, 3, padding='same')(x)\n")
    k3, k2 = _both(verifier, code)
    assert k3.error.type == "ValueError" and "Kernel shape" in k3.error.message and k3.error.line == 3
    assert k2.ok and {t.var: t.shape for t in k2.tensors}["y"] == [None, None, 15, 30]
    td = code.replace("Conv1D(30, 3, padding='same')(x)", "TimeDistributed(Conv1D(30, 3, padding='same'))(x)")
    td = td.replace("import Input, Conv1D", "import Input, Conv1D, TimeDistributed")
    td += "from tensorflow.keras.models import Model\nm = Model(x, y)\n"
    for report in _both(verifier, td):
        layer = report.model("m").layers[1]
        assert (layer.cls, layer.output_shape, layer.params) == ("TimeDistributed", [None, None, 15, 30], 2730)


def test_lstm_return_state_three_tensors(verifier) -> None:
    code = ("import tensorflow as tf\nfrom tensorflow.keras.layers import LSTM\n"
            "x = tf.random.uniform(shape=(32, 25, 1))\n"
            "outputs = LSTM(20, return_sequences=True, return_state=True)(x)\n")
    for report in _both(verifier, code):
        shapes = {t.var: t.shape for t in report.tensors}
        assert shapes == {"x": [32, 25, 1], "outputs[0]": [32, 25, 20], "outputs[1]": [32, 20],
                          "outputs[2]": [32, 20]}


def test_ner_model_from_the_course(verifier) -> None:
    from kb.core.store import load_entry
    from tests.conftest import ENTRIES_DIR

    code = load_entry(ENTRIES_DIR / "bilstm-cnn-ner-model.yaml").snippet("ner-model").code
    for report in _both(verifier, code):
        model = report.model("model")
        assert model.total_params == 705548
        by_class = {la.cls: la for la in model.layers}
        assert by_class["Bidirectional"].params == 58000
        assert by_class["Bidirectional"].output_shape == [None, None, 100]
        assert by_class["Concatenate"].output_shape == [None, None, 94]


def test_unbuilt_model_is_reported_not_crashed(verifier) -> None:
    code = "from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import Dense\nm = Sequential([Dense(4)])\n"
    for report in _both(verifier, code):
        model = report.model("m")
        assert report.ok and model.built is False and model.total_params is None
        assert "input shape" in model.note and model.note_kind == "not_built"
        assert "입력 shape을 알려 주세요" in say_note("ko", model.note, model.note_kind)


def test_a_model_coursebot_had_to_build_says_so_by_kind_not_by_its_words(verifier) -> None:
    code = ("from tensorflow.keras.models import Sequential\nfrom tensorflow.keras.layers import Embedding, LSTM\n"
            "m = Sequential()\nm.add(Embedding(100, 8))\nm.add(LSTM(4))\n")
    k3, k2 = _both(verifier, code)
    for report in (k3, k2):
        assert report.model("m").total_params == 100 * 8 + 4 * (8 + 4 + 1) * 4
    model = k3.model("m")   # Keras 3 leaves it unbuilt without an input shape; tf-keras builds it on add
    assert model.note_kind == "built_for_counting" and k2.model("m").note is None
    assert say_note("ko", model.note or "", model.note_kind).startswith("파라미터 수를 세려고 coursebot이")
    assert say_note("ko", "some other note", None) == "some other note"


def test_bare_keras_import_and_star_import(verifier) -> None:
    code = "import keras\nfrom keras.layers import *\nm = keras.Sequential([keras.Input(shape=(8,)), Dense(2)])\n"
    k3, k2 = _both(verifier, code)
    assert k3.keras_version.startswith("3.") and k2.keras_version.startswith("2.")
    for report in (k3, k2):
        assert report.model("m").total_params == 18


def test_results_are_cached(verifier) -> None:
    code = "import tensorflow as tf\nd = tf.keras.layers.Dense(7)\ny = d(tf.zeros((2, 3)))\n"
    first = verifier.verify(code, ("3",))[0]
    second = verifier.verify(code, ("3",))[0]
    assert not first.cached and second.cached
    assert second.layers[0].params == first.layers[0].params == 28
