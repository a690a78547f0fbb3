"""Student chat: ask in Korean or English, paste code or an error; answers cite their sources."""

from __future__ import annotations

from typing import Any

import streamlit as st

from kb.answer import extract_code
from ui import common, reports

st.title("coursebot · Keras 강의 Q&A")
st.caption("강의 지식 베이스에서 답하고, 답에 나오는 Keras 코드는 실제로 만들어 shape과 파라미터 수를 보여 줍니다. "
           "코드나 오류 메시지를 그대로 붙여 넣어도 됩니다.")

if "history" not in st.session_state:
    st.session_state.history = []      # list of Answer
if "rated" not in st.session_state:
    st.session_state.rated = {}        # log id -> score already stored


def show(a: Any) -> None:
    if a.pasted is not None:
        reports.verification(a.pasted, expanded=True)
    if not a.answered:
        st.info(a.text)
    else:
        st.markdown(f"#### {a.title}")
        st.markdown(a.text)
        if a.sources:
            st.caption("출처: " + ", ".join(a.sources))
        for v in a.verifications:
            reports.verification(v)
        related = a.related
        if related:
            st.caption("관련 항목: " + " · ".join(h.title for h in related))
    st.caption(f"확신도 {a.confidence:.2f} · {a.took_ms} ms")
    log_id = a.log_id
    if log_id is not None:
        score = st.feedback("thumbs", key=f"feedback-{log_id}")
        if score is not None and st.session_state.rated.get(log_id) != score:
            common.answerer().log.feedback(log_id, int(score))
            st.session_state.rated[log_id] = score
            st.toast("의견 고맙습니다!")


for past in st.session_state.history:
    with st.chat_message("user"):
        st.markdown(past.question if "\n" not in past.question else f"```\n{past.question}\n```")
    with st.chat_message("assistant"):
        show(past)

question = st.chat_input("질문을 입력하거나 Keras 코드/오류를 붙여 넣으세요")
if question:
    with st.chat_message("user"):
        st.markdown(question if "\n" not in question else f"```\n{question}\n```")
    with st.chat_message("assistant"):
        has_code = extract_code(question)[0] is not None
        label = "붙여 넣은 코드를 Keras 3와 Keras 2로 실행하는 중…" if has_code else "답을 찾는 중…"
        with st.status(label, expanded=False) as status:
            answer = common.answerer().answer(question)
            status.update(label="완료", state="complete")
        st.session_state.history.append(answer)
        show(answer)
