"""The instructor page's form mode: an entry without writing YAML, where every number the answer
states is tied to a snippet's layer (or the whole model) with the real Keras value shown next to it,
or listed as unchecked with a reason. It only builds the YAML; validation, the stated-number rule,
verification and saving are the core's (the same path as the YAML mode and ``coursebot add``)."""

from __future__ import annotations

from typing import Any

import streamlit as st
import yaml

from kb.core.numbers import StatedNumber, claim_for, find_numbers
from kb.core.settings import Settings
from ui import messages as msg
from verifiers.report import format_shape

SNIPPET = "example"
TOTAL, UNCHECKED = -1, -2


def _run(code: str, settings: Settings) -> None:
    from verifiers import get_verifier

    reports = get_verifier(settings).verify(code)
    st.session_state.form_runs = {"code": code, "runs": [r.model_dump(mode="json") for r in reports]}


def _layers(code: str) -> list[dict[str, Any]]:
    """The last model's layers in the snippet's Keras 3 run (if it was run with this code)."""
    runs = st.session_state.get("form_runs")
    if not runs or runs["code"] != code or not runs["runs"] or not runs["runs"][0]["models"]:
        return []
    model = runs["runs"][0]["models"][-1]
    return [{"total": model["total_params"]}, *model["layers"]]


def _real(number: StatedNumber, choice: int, layers: list[dict[str, Any]]) -> str:
    if not layers or choice == UNCHECKED:
        return ""
    if choice == TOTAL:
        value: object = layers[0]["total"]
    else:
        layer = layers[choice + 1]
        value = layer["output_shape"] if number.kind == "shape" else layer["params"]
    shown = f"{value:,}" if isinstance(value, int) else format_shape(value)
    mark = "✓" if value == number.value else "✗"
    return msg.FORM_REAL.format(mark=mark, value=shown)


def _tie_numbers(numbers: list[StatedNumber], code: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    layers = _layers(code)
    claims: list[dict[str, Any]] = []
    unchecked: list[dict[str, str]] = []
    if not numbers:
        return claims, unchecked
    st.markdown(msg.FORM_NUMBERS)
    if code.strip() and not layers:
        st.caption(msg.FORM_RUN_FIRST)
    for i, number in enumerate(numbers):
        options = ([] if number.kind == "shape" else [TOTAL]) + list(range(len(layers) - 1 if layers else 0))
        options += [UNCHECKED]

        def label(choice: int) -> str:
            if choice == TOTAL:
                return msg.FORM_TOTAL
            if choice == UNCHECKED:
                return msg.FORM_UNCHECKED
            la = layers[choice + 1]
            return msg.FORM_LAYER.format(n=choice, name=la["name"], cls=la["class"])

        left, mid, right = st.columns([1, 3, 2], vertical_alignment="center")
        left.markdown(f"`{number.text}`")
        choice = mid.selectbox(msg.FORM_TIE, options, format_func=label, key=f"tie-{i}-{number.text}",
                               label_visibility="collapsed")
        if choice == UNCHECKED:
            reason = right.text_input(msg.FORM_REASON, key=f"reason-{i}-{number.text}")
            if reason.strip():
                unchecked.append({"text": number.text, "reason": reason.strip()})
            continue
        right.markdown(_real(number, choice, layers))
        claim = claim_for(number, SNIPPET, layer=None if choice == TOTAL else choice)
        claims.append(claim.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
                      | {"text": number.text, "snippet": SNIPPET, "what": claim.what})
    return claims, unchecked


def form_yaml(settings: Settings) -> str:
    """The form's fields, as entry YAML."""
    def lines(key: str, label: str) -> list[str]:
        return [p.strip() for p in st.text_area(label, key=key).splitlines() if p.strip()]

    def items(key: str, label: str) -> list[str]:
        return [t.strip() for t in st.text_input(label, key=key).split(",") if t.strip()]

    form: dict[str, Any] = {
        "id": st.text_input(msg.FORM_ID, key="f_id"),
        "title": st.text_input(msg.FORM_TITLE, key="f_title"),
        "lang": "ko",
        "tags": items("f_tags", msg.FORM_TAGS),
        "question": st.text_input(msg.FORM_QUESTION, key="f_question"),
        "paraphrases": lines("f_para", msg.FORM_PARAPHRASES),
        "answer": st.text_area(msg.FORM_ANSWER, key="f_answer", height=160),
        "sources": [{"doc": d} for d in items("f_sources", msg.FORM_SOURCES)],
    }
    code = st.text_area(msg.FORM_CODE, key="f_code", height=140)
    if code.strip():
        form["verify"] = [{"name": SNIPPET, "code": code, "expect": {"ok": True}}]
        st.button(msg.FORM_RUN, key="f_run", icon=":material/play_arrow:", on_click=_run, args=(code, settings))
    claims, unchecked = _tie_numbers(find_numbers(form["answer"]), code)
    if claims:
        form["claims"] = claims
    if unchecked:
        form["unchecked"] = unchecked
    return yaml.safe_dump({k: v for k, v in form.items() if v}, allow_unicode=True, sort_keys=False)
