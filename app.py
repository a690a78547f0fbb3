"""coursebot in the browser: `streamlit run app.py` (or `make run`).

Thin: the pages in ``ui/`` render what the core (``kb``, ``verifiers``) returns and hold no logic.
The first start builds the search index if there is none yet.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

st.set_page_config(page_title="coursebot", page_icon="🧪", layout="wide")
pages = st.navigation([
    st.Page("ui/chat.py", title="질문하기", icon="💬", default=True),
    st.Page("ui/verify.py", title="코드 검증", icon="🧪"),
    st.Page("ui/instructor.py", title="강사 페이지", icon="🧑‍🏫"),
])
pages.run()
