"""Keras reports drawn in Streamlit: Keras 3 and Keras 2 side by side, differences, ✓ lines."""

from __future__ import annotations

from typing import Any

import streamlit as st

from verifiers.report import format_shape


def report_table(report: Any) -> None:
    """One Keras version's result: a layer table per model, tensors, or the error."""
    label = f"Keras {report.keras_major}" + (f" ({report.keras_version})" if report.keras_version else "")
    st.markdown(f"**{label}**")
    if report.rejected:
        where = f" ({report.rejected.line}번째 줄)" if report.rejected.line else ""
        st.error(f"실행하지 않았습니다{where}: {report.rejected.reason}")
        return
    for model in report.models:
        total = f" · 전체 파라미터 {model.total_params:,}" if model.total_params is not None else ""
        st.caption(f"{model.var} ({model.cls}){total}")
        st.table([{"layer": la.name, "class": la.cls, "output shape": format_shape(la.output_shape),
                   "params": "?" if la.params is None else f"{la.params:,}"} for la in model.layers])
        if model.note:
            st.caption(model.note)
    if report.tensors:
        st.table([{"tensor": t.var, "shape": format_shape(t.shape)} for t in report.tensors])
    if report.error:
        where = f" ({report.error.line}번째 줄)" if report.error.line else ""
        st.error(f"{report.error.type}{where}: {report.error.message}")
    elif report.ok:
        st.success("오류 없이 만들어졌습니다")


def verification(v: Any, *, expanded: bool = False) -> None:
    """An expander with Keras 3 and Keras 2 side by side, differences and claim checks."""
    marks = ""
    if v.claims:
        marks = " ✓" if all(c.ok for c in v.claims) else " ✗"
    title = f"검증: {v.name}{marks}" if v.source == "entry" else "붙여 넣은 코드 실행 결과"
    with st.expander(title, expanded=expanded):
        if v.explanation:
            st.warning(v.explanation)
        if not v.runs:
            st.info(v.message or "아직 검증되지 않았습니다.")
            return
        st.code(v.code, language="python")
        columns = st.columns(len(v.runs))
        for column, run in zip(columns, v.runs, strict=True):
            with column:
                report_table(run)
        for line in v.differences:
            st.warning(f"버전 차이: {line}")
        for text, holds, checks in v.claims_by_text():
            real = " · ".join(f"Keras {c.keras}: {_number(c.actual)}" for c in checks)
            if holds:
                st.markdown(f"✓ 답변의 **{text}** — 실제 값 {real}")
            else:
                st.error(f"✗ 답변의 {text} — 실제 값 {real}")


def _number(value: object) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    return format_shape(value)
