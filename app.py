"""coursebot in the browser. Thin: renders what the core returns, holds no logic of its own.

For now, the snippet-verification page: paste Keras code and see what Keras 3 and Keras 2
really build. The chat page comes with retrieval.
"""

from __future__ import annotations

import streamlit as st

from kb.settings import Settings
from verifiers import Verifier, differences
from verifiers.report import VerifyReport


@st.cache_resource
def _verifier() -> Verifier:
    return Verifier(Settings.from_env())


def _shape(shape: object) -> str:
    if shape is None:
        return "?"
    return str(tuple(shape)).replace(",)", ")") if isinstance(shape, list) else str(shape)


def _render(report: VerifyReport) -> None:
    st.subheader(f"Keras {report.keras_major}" + (f" ({report.keras_version})" if report.keras_version else ""))
    if report.rejected:
        st.error(f"실행하지 않았습니다 (line {report.rejected.line}): {report.rejected.reason}")
        return
    for model in report.models:
        st.markdown(f"**{model.var}** ({model.cls}) · 전체 파라미터 {model.total_params or '?':,}"
                    if model.total_params else f"**{model.var}** ({model.cls})")
        st.table([{"layer": la.name, "class": la.cls, "output shape": _shape(la.output_shape),
                   "params": la.params} for la in model.layers])
        if model.note:
            st.caption(model.note)
    if report.tensors:
        st.table([{"tensor": t.var, "shape": _shape(t.shape)} for t in report.tensors])
    if report.error:
        where = f" (line {report.error.line})" if report.error.line else ""
        st.error(f"{report.error.type}{where}: {report.error.message}")


st.set_page_config(page_title="coursebot", page_icon="🧪")
st.title("coursebot · Keras 코드 검증")
st.caption("Keras 코드를 붙여 넣으면 Keras 3와 Keras 2(tf-keras)로 실제로 만들어 보고 shape과 파라미터 수를 보여 줍니다.")
code = st.text_area("Keras 코드", height=220, key="code",
                    placeholder="from tensorflow.keras.layers import LSTM\n...")
if st.button("검증하기", type="primary") and code.strip():
    with st.status("샌드박스에서 Keras로 만드는 중…", expanded=False) as status:
        reports = _verifier().verify(code)
        status.update(label="완료", state="complete")
    columns = st.columns(len(reports))
    for column, report in zip(columns, reports):
        with column:
            _render(report)
    if len(reports) == 2:
        for line in differences(reports[0], reports[1]):
            st.warning(f"버전 차이: {line}")
