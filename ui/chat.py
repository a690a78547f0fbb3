"""Student chat: ask in Korean or English, paste code or an error; answers cite their sources.

The conversation lives in the question log under a session id kept in the URL (``?s=...``), so a
browser refresh shows it again. A question enters the history before its answer is computed: if
the run is cut off (another question, a page switch), it is shown with its logged answer, or with
a clear "interrupted" note -- never silently dropped.
"""

from __future__ import annotations

import uuid
from typing import Any

import streamlit as st

from kb.core.errors import CoursebotError
from kb.messages import Lang
from kb.qlog import QuestionLog
from kb.question import MAX_QUESTION_CHARS, extract_code
from ui import common
from ui import messages as msg
from ui import reports as view

Item = dict[str, Any]     # {"question": str, "answer": Answer.model_dump(mode="json") | None, "log_id": int | None}


def _log() -> QuestionLog:
    return QuestionLog(common.settings().log_url)


def _new_session() -> None:
    st.query_params["s"] = uuid.uuid4().hex[:16]
    st.session_state.history = []


def _ask(text: str) -> None:
    st.session_state.queued = text


def _restore(session: str) -> list[Item]:
    return [{"question": t.question, "answer": t.answer, "log_id": t.id} for t in _log().turns(session)]


def _recover(items: list[Item], session: str) -> None:
    """Fill in answers of questions whose run was cut off, from the log; the rest get the note."""
    missing = [it for it in items if it["answer"] is None and not it.get("interrupted")]
    if not missing:
        return
    known = {it["log_id"] for it in items if it["log_id"] is not None}
    logged = [t for t in _log().turns(session) if t.id not in known and t.answer is not None]
    for item in missing:
        turn = next((t for t in logged if t.question == item["question"].strip()), None)
        if turn is None:
            item["interrupted"] = True
            continue
        logged.remove(turn)
        item["answer"], item["log_id"] = turn.answer, turn.id


def user_bubble(question: str) -> None:
    """The question as typed, with pasted code shown once, as code."""
    if "```" in question:
        st.markdown(question)
        return
    code, rest = extract_code(question) if len(question) <= MAX_QUESTION_CHARS else (None, question)
    if code is not None:
        if rest:
            st.markdown(rest)
        st.code(code, language="python")
    elif "\n" in question.strip():
        st.code(question, language=None)
    else:
        st.markdown(question)


def _lang(answer: Item) -> Lang:
    """The language the answer was written in: its tables, checks and sources follow it."""
    return "en" if answer.get("lang") == "en" else "ko"


def citations(answer: Item) -> None:
    cited = answer.get("citations") or [{"doc": d, "label": d, "note": ""} for d in answer["sources"]]
    if not cited:
        return
    lines = [f"- {c['label']}" + (f" — {c['note']}" if c.get("note") else "") for c in cited]
    st.markdown(f":material/menu_book: **{msg.word('SOURCES', _lang(answer))}**\n" + "\n".join(lines))


def related(answer: Item, key: str) -> None:
    """The other entries found, one click away; after a decline only those close enough to suggest
    (kb.decline.suggestions): a question far from every entry gets none rather than three unrelated ones."""
    if answer["answered"]:
        hits = [h for h in answer["hits"] if h["id"] != answer["entry"] and h["kind"] == "entry"]
    else:
        hits = list(answer.get("suggestions") or [])
    if not hits:
        return
    st.markdown(f"**{msg.word('RELATED', _lang(answer))}**")
    for h in hits:
        st.button(h["title"], key=f"related-{key}-{h['id']}", icon=":material/arrow_forward:",
                  on_click=_ask, args=(h["title"],))


def show(item: Item, key: str) -> None:
    answer = item["answer"]
    if answer is None:
        st.warning(msg.INTERRUPTED, icon=":material/pause_circle:")
        return
    lang = _lang(answer)
    for v in answer["verifications"]:
        if v["source"] == "pasted":
            view.verification(v, expanded=True, show_code=False, lang=lang)
    if answer.get("lead"):
        st.markdown(answer["lead"])
    for note in answer.get("notes", []):
        st.caption(note)
    for v in answer["verifications"]:
        if v["source"] == "question":
            view.verification(v, lang=lang)
    if not answer["answered"]:
        st.info(answer["answer"], icon=":material/help:")
    elif answer["answer"]:
        st.markdown(f"#### {answer['title']}")
        st.markdown(answer["answer"])
        citations(answer)
        for v in answer["verifications"]:
            if v["source"] == "entry":
                view.verification(v, lang=lang)
    related(answer, key)
    if st.session_state.get("instructor_ok"):
        st.caption(msg.INSTRUCTOR_DETAIL.format(confidence=answer["confidence"], ms=answer["took_ms"],
                                                entry=answer["entry"] or "-"))
    log_id = item["log_id"]
    if log_id is not None:
        score = st.feedback("thumbs", key=f"feedback-{log_id}")
        rated: dict[int, int] = st.session_state.setdefault("rated", {})
        if score is not None and rated.get(log_id) != score:
            _log().feedback(log_id, int(score))
            rated[log_id] = score
            st.toast(msg.THANKS, icon=":material/thumb_up:")


def status_of(answer: Item) -> tuple[str, str]:
    stopped = any(r.get("error") and r["error"]["type"] in msg.ERROR_KINDS
                  for v in answer["verifications"] for r in v["runs"])
    lang = _lang(answer)
    return (msg.word("STATUS_STOPPED", lang), "error") if stopped else (msg.word("ANSWERED_IN", lang), "complete")


# -- the page ------------------------------------------------------------------------------------
if "s" not in st.query_params:
    _new_session()
session = st.query_params["s"]
if st.session_state.get("session") != session:
    st.session_state.session = session
    st.session_state.history = _restore(session)
history: list[Item] = st.session_state.history

head, button = st.columns([5, 1], vertical_alignment="bottom")
head.title(msg.CHAT_TITLE)
button.button(msg.NEW_CHAT, icon=":material/add_comment:", on_click=_new_session, key="new_chat")
st.caption(msg.CHAT_CAPTION)
ready = common.loading_notice()   # until the index and the embedder are loaded, nothing can be asked

_recover(history, session)
for i, past in enumerate(history):
    with st.chat_message("user", avatar=":material/person:"):
        user_bubble(past["question"])
    with st.chat_message("assistant", avatar=":material/smart_toy:"):
        show(past, str(i))

question = st.chat_input(msg.CHAT_PLACEHOLDER if ready else msg.CHAT_PLACEHOLDER_LOADING, disabled=not ready) or (
    st.session_state.pop("queued", None))
if not history and not question:
    st.markdown(msg.EXAMPLES_INTRO)
    for n, example in enumerate(msg.EXAMPLES):
        st.button(example, key=f"example-{n}", icon=":material/lightbulb:", on_click=_ask, args=(example,),
                  disabled=not ready)

if question:
    item: Item = {"question": question, "answer": None, "log_id": None}
    history.append(item)                       # before the answer: it never disappears
    with st.chat_message("user", avatar=":material/person:"):
        user_bubble(question)
    with st.chat_message("assistant", avatar=":material/smart_toy:"):
        has_code = len(question) <= MAX_QUESTION_CHARS and extract_code(question)[0] is not None
        try:
            with st.status(msg.RUNNING_CODE if has_code else msg.SEARCHING, expanded=False) as status:
                def waiting(ahead: int) -> None:   # the fair queue's position, while the code waits
                    status.update(label=msg.QUEUED.format(ahead=ahead) if ahead > 0 else msg.RUNNING_CODE)

                result = common.answerer().answer(question, session=session, on_wait=waiting)
                item["answer"], item["log_id"] = result.model_dump(mode="json"), result.log_id
                label, state = status_of(item["answer"])
                status.update(label=label, state=state)  # type: ignore[arg-type]
        except CoursebotError as exc:   # e.g. a question over the length cap: one sentence, no traceback
            history.remove(item)
            st.error(str(exc))
        else:
            show(item, str(len(history) - 1))
