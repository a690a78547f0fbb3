"""Instructor page: write or paste an entry, preview its validation and real Keras results, save it
(through the same core function as `coursebot add`), try it with a question, and see which student
questions went unanswered or were rated 👎."""

from __future__ import annotations

import hmac
from datetime import datetime

import streamlit as st
import yaml

from kb.authoring import add_entry_text, preview_entry
from kb.core.errors import CoursebotError
from kb.core.settings import Settings
from ui import common, messages, reports

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

st.title("강사 페이지")
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

tab_add, tab_pending = st.tabs(["항목 추가", "답하지 못한 질문"])

with tab_add:
    mode = st.radio("작성 방식", ["YAML", "양식"], horizontal=True, key="mode")
    if mode == "YAML":
        text = st.text_area("항목 YAML", value=TEMPLATE, height=420, key="entry_yaml")
    else:
        form = {
            "id": st.text_input("id (영문 소문자와 -)", key="f_id"),
            "title": st.text_input("제목", key="f_title"),
            "question": st.text_input("대표 질문", key="f_question"),
            "paraphrases": [p for p in st.text_area("다른 표현들 (한 줄에 하나)", key="f_para").splitlines() if p.strip()],
            "answer": st.text_area("답변 (Markdown)", key="f_answer", height=160),
            "tags": [t.strip() for t in st.text_input("태그 (쉼표로 구분)", key="f_tags").split(",") if t.strip()],
            "sources": [{"doc": d.strip()} for d in st.text_input("출처 (쉼표로 구분)", key="f_sources").split(",")
                        if d.strip()],
        }
        code = st.text_area("검증할 Keras 코드 (선택)", key="f_code", height=140)
        if code.strip():
            form["verify"] = [{"name": "example", "code": code, "expect": {"ok": True}}]
        text = yaml.safe_dump({k: v for k, v in form.items() if v}, allow_unicode=True, sort_keys=False)

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
                    reports.runs_side_by_side([r.to_json() for r in runs])
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
            st.success(f"답한 항목: **{answer.title}** (`{answer.entry_id}`, 확신도 {answer.confidence:.2f})")
        else:
            st.warning(f"지식 베이스가 답하지 않았습니다 (확신도 {answer.confidence:.2f}). 다른 표현을 paraphrases에 넣어 보세요.")

with tab_pending:
    log = common.answerer().log
    counts = log.counts()
    st.caption(f"질문 {counts['questions']}개 · 답함 {counts['answered']}개 · 👍 {counts['thumbs_up']} · "
               f"👎 {counts['thumbs_down']}")
    rows = log.pending()
    if not rows:
        st.info("답하지 못했거나 👎를 받은 질문이 아직 없습니다.")
    else:
        st.dataframe([{
            "질문": p.question, "횟수": p.times,
            "이유": "답하지 못함" if p.reason == "unanswered" else "👎",
            "답한 항목": p.entry_id or "", "확신도": round(p.confidence, 2),
            "마지막": datetime.fromtimestamp(p.last_asked).strftime("%Y-%m-%d %H:%M"),
        } for p in rows], hide_index=True)
