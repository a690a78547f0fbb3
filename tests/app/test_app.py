"""The Streamlit page, driven with AppTest against the real verifier."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from kb.settings import PROJECT_ROOT

pytestmark = pytest.mark.sandbox

CONV_4D = ("from tensorflow.keras.layers import Input, Conv1D\n"
           "x = Input(shape=(None, 15, 30))\ny = Conv1D(30, 3, padding='same')(x)\n")


def test_pasted_snippet_shows_both_versions_and_the_difference() -> None:
    at = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    at.run()
    at.text_area(key="code").input(CONV_4D)
    at.button[0].click()
    at.run()
    assert not at.exception
    subheaders = [s.value for s in at.subheader]
    assert any(s.startswith("Keras 3") for s in subheaders) and any(s.startswith("Keras 2") for s in subheaders)
    assert any("Kernel shape" in e.value for e in at.error)  # Keras 3 refuses the 4-D input
    assert any("버전 차이" in w.value for w in at.warning)
