"""``coursebot chat``: an interactive conversation in the terminal (history, readline editing, ``/new``)."""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from kb.core.errors import CoursebotError
from kb.core.settings import Settings


def run_chat(settings: Settings, *, verify: bool = True) -> int:
    """Read questions until EOF or /quit; /new starts a new conversation (history and session id)."""
    import uuid

    from kb.answer import Answerer
    from kb.messages import say_ui
    from kb.render import print_answer

    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  (line editing and history for input())
    lang = "ko"
    print(say_ui(lang, "chat_intro"))
    answerer = Answerer(settings)
    history: list[Any] = []
    session = uuid.uuid4().hex[:12]
    try:
        while True:
            try:
                question = input(say_ui(lang, "prompt")).strip()
            except EOFError:
                print()
                return 0
            if not question:
                continue
            if question in ("/quit", "/exit"):
                return 0
            if question == "/new":
                history, session = [], uuid.uuid4().hex[:12]
                print(say_ui(lang, "new"))
                continue
            try:
                result = answerer.answer(question, verify=verify, history=history, session=session)
            except CoursebotError as exc:
                print(f"coursebot: {exc}", file=sys.stderr)
                continue
            lang = result.lang
            history.append(result)
            print_answer(result)
    finally:
        answerer.close()
