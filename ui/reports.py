"""Keras results drawn in Streamlit from their JSON form (``Verification.model_dump(mode="json")``): Keras 3 and
Keras 2 side by side with the cells that differ highlighted, "차이 없음" when nothing differs, and a
✓/✗ line per number the answer states; in English for an answer to an English question. Works the same for a fresh answer and one restored from the
question log."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from kb.messages import Lang, failure_name, say_difference, say_failure, say_note, say_rejection, say_value
from ui import messages as msg
from verifiers.report import VerifyReport, diff_items, format_shape

Json = dict[str, Any]
COLUMNS = ("COL_LAYER", "COL_CLASS", "COL_SHAPE", "COL_PARAMS")
HIGHLIGHT = "background-color: #fff3bf; font-weight: 600"



def _rows(model: Json) -> list[tuple[str, str, str, str]]:
    return [(la["name"], la["class"], format_shape(la["output_shape"]),
             "?" if la["params"] is None else f"{la['params']:,}") for la in model["layers"]]


def _other_model(run: Json | None, var: str) -> Json | None:
    if run is None:
        return None
    return next((m for m in run["models"] if m["var"] == var), None)


def _layer_table(model: Json, other: Json | None, lang: Lang = "ko") -> None:
    rows = _rows(model)
    frame = pd.DataFrame(rows, columns=[msg.word(c, lang) for c in COLUMNS])
    if other is None:
        st.table(frame)
        return
    theirs = _rows(other)

    def style(row: pd.Series) -> list[str]:
        i = int(row.name)
        mine = rows[i]
        them = theirs[i] if i < len(theirs) else None
        # The layer's auto-generated name differs between versions by design: compare class/shape/params.
        return ["" if c == 0 or (them is not None and mine[c] == them[c]) else HIGHLIGHT for c in range(4)]

    st.table(frame.style.apply(style, axis=1))


def rejection_text(rejected: Json, lang: Lang = "ko") -> str:
    where = msg.word("AT_LINE", lang).format(line=rejected["line"]) if rejected.get("line") else ""
    reason = str(rejected["reason"])
    if _syntax(rejected):
        detail = rejected.get("subject") or reason.removeprefix("it is not valid Python").strip(" ()")
        return msg.word("SYNTAX_ERROR", lang).format(where=where, detail=detail)
    why = say_rejection(lang, str(rejected.get("kind", "")), str(rejected.get("subject", "")),
                        reason)
    return msg.word("REFUSED", lang).format(where=where, reason=why)


def _syntax(rejected: Json) -> bool:
    return rejected.get("kind") == "syntax" or str(rejected["reason"]).startswith("it is not valid Python")


def code_span(text: object) -> str:
    """A snippet's own text as inline code: Markdown would read `__init__` as bold, and links and
    images in an error message as links and images."""
    return "`" + " ".join(str(text).replace("`", "'").split()) + "`"


def error_text(error: Json, lang: Lang = "ko") -> str:
    where = msg.word("AT_LINE", lang).format(line=error["line"]) if error.get("line") else ""
    named = failure_name(lang, error["type"])
    if named is not None:   # the sandbox's own failure: a sentence of ours, in the reader's language
        return f"{named}{where}: {say_failure(lang, error['type'], str(error['message']))}"
    return f"{error['type']}{where}: {code_span(error['message'])}"


def report_table(run: Json, other: Json | None = None, lang: Lang = "ko") -> None:
    """One Keras version's result: a layer table per model (cells differing from ``other`` marked),
    tensors, or the error."""
    label = f"Keras {run['keras_major']}" + (f" ({run['keras_version']})" if run.get("keras_version") else "")
    st.markdown(f"**{label}**")
    if run.get("rejected"):
        st.error(rejection_text(run["rejected"], lang))
        return
    for model in run["models"]:
        total = (msg.word("TOTAL_PARAMS", lang).format(n=say_value(model["total_params"]))
                 if model["total_params"] is not None else "")
        st.caption(f"{code_span(model['var'])} ({code_span(model['class'])}){total}")
        _layer_table(model, _other_model(other, model["var"]), lang)
        if model.get("note"):
            st.caption(say_note(lang, model["note"], model.get("note_kind")))
    if run["tensors"]:
        st.table(pd.DataFrame([(t["var"], format_shape(t["shape"])) for t in run["tensors"]],
                              columns=[msg.word("COL_TENSOR", lang), msg.word("COL_SHAPE", lang)]))
    if run.get("error"):
        st.error(error_text(run["error"], lang))
    elif run["ok"]:
        st.success(msg.word("BUILT_OK", lang), icon=":material/check_circle:")


def differences(first: Json, second: Json, lang: Lang = "ko") -> list[str]:
    """What differs between the two versions' results (empty when nothing does)."""
    a, b = VerifyReport.model_validate(first), VerifyReport.model_validate(second)
    return [say_difference(lang, d) for d in diff_items(a, b)]


def runs_side_by_side(runs: list[Json], lang: Lang = "ko") -> None:
    columns = st.columns(len(runs))
    for i, (column, run) in enumerate(zip(columns, runs, strict=True)):
        other = runs[1 - i] if len(runs) == 2 else None
        with column:
            report_table(run, other, lang)
    if len(runs) == 2:
        diffs = differences(runs[0], runs[1], lang)
        for line in diffs:
            st.warning(msg.word("VERSION_DIFF", lang).format(line=line), icon=":material/compare_arrows:")
        if not diffs:
            st.caption(msg.word("NO_DIFFERENCE", lang))


def claims_by_text(claims: list[Json]) -> list[tuple[str, bool, list[Json]]]:
    groups: dict[str, list[Json]] = {}
    for check in claims:
        groups.setdefault(check["text"], []).append(check)
    return [(text, all(c["ok"] for c in checks), checks) for text, checks in groups.items()]


def verification(v: Json, *, expanded: bool = False, show_code: bool = True, lang: Lang = "ko") -> None:
    """An expander with Keras 3 and Keras 2 side by side, differences and claim checks, its words in
    ``lang`` (the language of the answer it belongs to)."""
    marks = ""
    if v["claims"]:
        marks = " ✓" if all(c["ok"] for c in v["claims"]) else " ✗"
    title = {"entry": msg.word("CHECKED", lang).format(name=v["snippet"], marks=marks),
             "question": msg.word("QUESTION_BUILT", lang)}.get(v["source"], msg.word("PASTED_RESULT", lang))
    with st.expander(title, expanded=expanded, icon=":material/science:"):
        runs = v["runs"]
        syntax = any(r.get("rejected") and _syntax(r["rejected"]) for r in runs)
        if v["explanation"] and not syntax:
            st.warning(v["explanation"])
        if not runs:
            unverified = msg.word("NOT_VERIFIED", lang)
            st.info(unverified if v["status"] == "not_verified" else (v["message"] or unverified))
            return
        if show_code:
            st.code(v["code"], language="python")
        runs_side_by_side(runs, lang)
        for text, holds, checks in claims_by_text(v["claims"]):
            real = " · ".join(f"Keras {c['keras']}: {say_value(c['actual'])}" for c in checks)
            if holds:
                st.markdown(msg.word("CLAIM_OK", lang).format(text=text, real=real))
            else:
                st.error(msg.word("CLAIM_BAD", lang).format(text=text, real=real))
