"""Instructor page: write or paste an entry, preview its validation and real Keras results, save it
(through the same core function as `coursebot add`), try it with a question, and see which student
questions went unanswered or were rated 👎."""

from __future__ import annotations

import hmac

import streamlit as st

from kb.authoring import add_entry_text, preview_entry
from kb.core.errors import CoursebotError
from kb.core.settings import Settings
from ui import common, gaps_view, messages, reports
from ui.entry_form import form_yaml

TEMPLATE = """id: my-new-entry
title: 새 항목 제목
lang: ko
tags: [LSTM]
question: 학생이 묻는 질문
paraphrases:
  - 다른 표현의 같은 질문
answer: |
  답변 (Markdown). 숫자를 적으면 claims로 검증하세요: LSTM(32)의 파라미터는 4,352개입니다.
sources:
  - doc: 강의 3주차
verify:
  - name: lstm32
    code: |
      from tensorflow.keras.layers import Input, LSTM
      from tensorflow.keras.models import Model
      x = Input(shape=(None, 1))
      model = Model(x, LSTM(32)(x))
    expect:
      total_params: 4352
claims:
  - {text: "4,352", snippet: lstm32, what: total_params}
"""

st.title(messages.INSTRUCTOR_TITLE)
password = Settings.from_env().instructor_password
if not password:
    st.info(messages.INSTRUCTOR_UNSET, icon=":material/lock:")
    st.stop()
if not st.session_state.get("instructor_ok"):
    secret = st.text_input(messages.INSTRUCTOR_PROMPT, type="password", key="password")
    if secret:
        if hmac.compare_digest(secret.encode(), password.encode()):
            st.session_state.instructor_ok = True
            st.rerun()
        st.error(messages.INSTRUCTOR_WRONG)
    st.stop()
settings = common.settings()

st.html("<style>.st-key-entry_yaml textarea { font-family: 'Source Code Pro', ui-monospace, monospace; "
        "font-size: 0.85rem; }</style>")
tab_add, tab_gaps = st.tabs([messages.TAB_ADD, messages.TAB_GAPS])

with tab_add:
    # Widget state is dropped when the page is left: keep the YAML draft in a key of its own.
    if "entry_yaml" not in st.session_state:
        st.session_state.entry_yaml = st.session_state.get("entry_draft", TEMPLATE)
    if "mode" not in st.session_state:
        st.session_state.mode = messages.MODE_YAML
    mode = st.radio("작성 방식", [messages.MODE_YAML, messages.MODE_FORM], horizontal=True, key="mode")
    if mode == messages.MODE_YAML:
        text = st.text_area("항목 YAML", height=420, key="entry_yaml")
        st.session_state.entry_draft = text
    else:
        text = form_yaml(settings)

    c1, c2 = st.columns(2)
    preview_clicked = c1.button("미리보기 (검증)", key="preview")
    save_clicked = c2.button("저장", type="primary", key="save")
    if preview_clicked:
        with st.status("검증하는 중… (Keras 3와 Keras 2로 실행)", expanded=False) as status:
            preview = preview_entry(text, "entry.yaml", settings, verifier=common.answerer().verifier)
            status.update(label="검증 완료", state="complete")
        if preview.error:
            st.error(preview.error)
        else:
            assert preview.entry is not None
            if preview.duplicate:
                st.warning(f"id '{preview.entry.id}'는 이미 있습니다. 저장하면 거절됩니다 (다른 id를 쓰세요).")
            for problem in preview.mismatches:
                st.error(f"✗ {problem}")
            if preview.ok:
                st.success(f"'{preview.entry.id}': 형식이 맞고, 스니펫 {len(preview.entry.verify)}개와 "
                           f"숫자 {len(preview.entry.claims)}개가 실제 Keras와 일치합니다. 저장할 수 있습니다.")
            st.markdown(f"#### {preview.entry.title}")
            st.markdown(preview.entry.answer)
            for name, runs in preview.reports.items():
                with st.expander(f"검증: {name}", expanded=True):
                    reports.runs_side_by_side([r.model_dump(mode="json") for r in runs])
    if save_clicked:
        try:
            with st.status("검증하고 저장하는 중…", expanded=False) as status:
                result = add_entry_text(text, "entry.yaml", settings, verifier=common.answerer().verifier)
                status.update(label="저장 완료", state="complete")
            common.answerer().refresh()
            st.session_state.saved_id = result.entry.id
            st.success(f"'{result.entry.id}' 항목을 저장했고 검색 색인에 바로 넣었습니다 "
                       f"(스니펫 {result.snippets}개, 숫자 {result.claims}개 검증).")
        except CoursebotError as exc:
            st.error(f"저장하지 않았습니다: {exc}")

    st.divider()
    st.subheader("질문으로 시험해 보기")
    probe = st.text_input("학생처럼 질문해 보세요", key="probe")
    if probe:
        answer = common.answerer().answer(probe, verify=False, audience="instructor")
        if answer.answered:
            st.success(f"답한 항목: **{answer.title}** (`{answer.entry}`, 확신도 {answer.confidence:.2f})")
        else:
            st.warning(f"지식 베이스가 답하지 않았습니다 (확신도 {answer.confidence:.2f}). 다른 표현을 paraphrases에 넣어 보세요.")

with tab_gaps:
    gaps_view.show()
