"""Snippet verification: paste Keras code and see what Keras 3 and Keras 2 really build."""

from __future__ import annotations

import streamlit as st

from kb.core.settings import Settings
from ui import reports as view
from verifiers import differences, get_verifier

st.title("coursebot · Keras 코드 검증")
st.caption("Keras 코드를 붙여 넣으면 Keras 3와 Keras 2(tf-keras)로 실제로 만들어 보고 shape과 파라미터 수를 보여 줍니다.")
code = st.text_area("Keras 코드", height=220, key="code",
                    placeholder="from tensorflow.keras.layers import LSTM\n...")
if st.button("검증하기", type="primary") and code.strip():
    with st.status("샌드박스에서 Keras로 만드는 중…", expanded=False) as status:
        # The process-wide verifier (the chat shares it); this page needs no search index.
        reports = get_verifier(Settings.from_env()).verify(code)
        status.update(label="완료", state="complete")
    columns = st.columns(len(reports))
    for column, report in zip(columns, reports, strict=True):
        with column:
            view.report_table(report)
    if len(reports) == 2:
        for line in differences(reports[0], reports[1]):
            st.warning(f"버전 차이: {line}")
