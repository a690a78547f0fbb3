"""The instructor page's coverage gaps: students' unanswered and 👎-rated questions grouped by topic,
most asked first, each group one click away from a draft entry in the YAML editor."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from kb.gaps import find_gaps
from kb.qlog import QuestionLog
from ui import common
from ui import messages as msg


def _use_draft(draft: str) -> None:
    st.session_state.entry_draft = draft
    st.session_state.entry_yaml = draft
    st.session_state.mode = msg.MODE_YAML
    st.session_state.draft_loaded = True


def show() -> None:
    answerer = common.answerer()
    log = answerer.log if answerer.log is not None else QuestionLog(answerer.settings.log_url)
    counts = log.counts()
    st.caption(msg.GAP_COUNTS.format(**counts))
    if st.session_state.pop("draft_loaded", False):
        st.success(msg.DRAFT_LOADED, icon=":material/edit_note:")
    gaps = find_gaps(answerer.settings, log=log, embedder=answerer.searcher.embedder, searcher=answerer.searcher)
    if not gaps.groups:
        st.info(msg.NO_GAPS)
        return
    for n, group in enumerate(gaps.groups):
        with st.container(border=True, key=f"gap-{n}"):
            st.markdown(msg.GAP_TITLE.format(n=n + 1, label=group.label, count=group.count))
            if group.topic is not None:
                st.caption(msg.GAP_TOPIC.format(title=group.topic.title, id=group.topic.id))
            for q in group.questions:
                why = msg.REASON_UNANSWERED if q.reason == "unanswered" else msg.REASON_DISLIKED
                first = q.question.strip().splitlines()[0][:120]
                st.markdown(f"- {first} · {msg.TIMES.format(n=q.times)} · {why}")
            st.button(msg.MAKE_DRAFT, key=f"draft-{n}", icon=":material/note_add:",
                      on_click=_use_draft, args=(group.draft,))
    with st.expander(msg.ALL_PENDING, icon=":material/list:"):
        st.dataframe([{
            msg.COL_QUESTION: p.question, msg.COL_TIMES: p.times,
            msg.COL_REASON: msg.REASON_UNANSWERED if p.reason == "unanswered" else msg.REASON_DISLIKED,
            msg.COL_ENTRY: p.entry_id or "", msg.COL_CONFIDENCE: round(p.confidence, 2),
            msg.COL_LAST: datetime.fromtimestamp(p.last_asked).strftime("%Y-%m-%d %H:%M"),
        } for p in log.pending()], hide_index=True)
