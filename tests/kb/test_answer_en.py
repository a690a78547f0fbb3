"""Every entry has an English answer that states the same checked numbers, and all answers render.

Rendering uses a real CommonMark renderer (markdown-it-py): bold that closes right after ``)`` or a
backtick and before a Korean particle is not closed by CommonMark's flanking rules and shows up as
literal ``**``; this test catches it in both languages.
"""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from kb.core.schema import Entry
from kb.core.store import load_entries
from tests.conftest import ENTRIES_DIR

ENTRIES = load_entries(ENTRIES_DIR)
RENDERER = MarkdownIt("commonmark")
CODE = re.compile(r"<pre>.*?</pre>|<code>.*?</code>", re.S)
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def literal_emphasis(markdown: str) -> list[str]:
    """Every ``**`` or ``__`` that survives rendering outside code, with a little context."""
    html = CODE.sub("", RENDERER.render(markdown))
    return [html[max(0, m.start() - 20):m.end() + 20] for m in re.finditer(r"\*\*|__", html)]


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_has_an_english_answer_with_every_claim(entry: Entry) -> None:
    assert entry.answer_en, f"{entry.id} has no answer_en"
    assert not HANGUL.search(entry.answer_en), f"{entry.id}: answer_en contains Korean"
    for claim in entry.claims:
        assert claim.text in entry.answer_en, f"{entry.id}: claim {claim.text} missing from answer_en"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_entry_has_an_english_title(entry: Entry) -> None:
    assert entry.title_en and not HANGUL.search(entry.title_en), f"{entry.id}: no English title"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.id)
def test_answers_render_without_literal_emphasis_markers(entry: Entry) -> None:
    for field in ("answer", "answer_en"):
        text = getattr(entry, field)
        assert text is not None
        assert literal_emphasis(text) == [], f"{entry.id}.{field}"


def test_the_render_check_catches_bold_closing_before_a_particle() -> None:
    assert literal_emphasis("팽창 합성곱은 **구멍(간격)**을 둡니다.") != []
    assert literal_emphasis("Conv1D는 **3차원 입력 `(배치, 길이, 채널)`**을 받습니다.") != []
    assert literal_emphasis("팽창 합성곱은 **구멍**(간격)을 둡니다. `__init__` **굵게** 씁니다.") == []


def test_a_claim_missing_from_answer_en_is_refused() -> None:
    entry = next(e for e in ENTRIES if e.id == "dense-params-after-bilstm")
    data = entry.model_dump(by_alias=True, exclude_none=True)
    data["answer_en"] = data["answer_en"].replace("8,256", "eight thousand")
    with pytest.raises(ValueError, match="8,256"):
        Entry.model_validate(data)
