"""Snippet verification: paste Keras code and see what Keras 3 and Keras 2 really build."""

from __future__ import annotations

import streamlit as st

from kb.core.settings import Settings
from ui import messages as msg
from ui import reports as view
from verifiers import get_verifier

st.title(msg.VERIFY_TITLE)
st.caption(msg.VERIFY_CAPTION)
code = st.text_area(msg.VERIFY_LABEL, height=220, key="code",
                    placeholder="from tensorflow.keras.layers import LSTM\n...")
if st.button(msg.VERIFY_BUTTON, type="primary") and code.strip():
    with st.status(msg.VERIFY_RUNNING, expanded=False) as status:
        # The process-wide verifier (the chat shares it); this page needs no search index.
        reports = get_verifier(Settings.from_env()).verify(code)
        failed = any(r.error and r.error.type in msg.ERROR_KINDS for r in reports)
        status.update(label=msg.STATUS_STOPPED if failed else msg.STATUS_DONE,
                      state="error" if failed else "complete")
    view.runs_side_by_side([r.model_dump(mode="json") for r in reports])
