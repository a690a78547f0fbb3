"""coursebot in the browser: `streamlit run app.py` (or `make run`).

Thin: the pages in ``ui/`` render what the core (``kb``, ``verifiers``) returns and hold no logic.
The first start builds the search index if there is none yet. The instructor page is reachable
at ``/instructor`` and shown in the navigation only once unlocked with
``COURSEBOT_INSTRUCTOR_PASSWORD`` (unset: the page only says how to set it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ui import common

st.set_page_config(page_title="coursebot", page_icon=":material/school:", layout="wide")
common.start_loading()
unlocked = bool(st.session_state.get("instructor_ok"))
pages = st.navigation([
    st.Page("ui/chat.py", title="질문하기", icon=":material/chat:", default=True, url_path="chat"),
    st.Page("ui/verify.py", title="코드 검증", icon=":material/code:", url_path="verify"),
    st.Page("ui/instructor.py", title="강사 페이지", icon=":material/lock_open:" if unlocked else ":material/lock:",
            url_path="instructor", visibility="visible" if unlocked else "hidden"),
])
pages.run()
