"""The source catalogue (kb/sources.yaml): every cited document is in it, readable and free of personal data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb.core.errors import EntryInvalid
from kb.core.settings import Settings
from kb.core.sources import SourceKind, cite, load_sources
from kb.core.store import load_entries
from tests.conftest import ENTRIES_DIR


def test_every_cited_document_is_catalogued_with_a_kind_and_title() -> None:
    catalogue = load_sources()
    cited = {s.doc for e in load_entries(ENTRIES_DIR) for s in e.sources}
    assert cited and cited <= set(catalogue), sorted(cited - set(catalogue))
    assert {d.kind for d in catalogue.values()} == set(SourceKind)


def test_a_citation_reads_as_kind_title_date_and_keeps_the_note() -> None:
    c = cite("000_cb71a1bfbe5d09c1.txt", "2번 답변", load_sources())
    assert c.label == "강사 이메일 답변 · TimeDistributed 레이어의 역할 (2020-12)"
    assert c.note == "2번 답변" and c.doc == "000_cb71a1bfbe5d09c1.txt"
    assert cite("강의 3주차", "", {}).label == "강의 3주차"   # an uncatalogued source stays as written


@pytest.mark.parametrize(("body", "words"), [
    ("a.txt: {kind: blog, title: x}", "a.txt.kind"),
    ("a.txt: {kind: study_note, title: 'mail kim@example.com'}", "personal data"),
    ("a.txt: {kind: study_note, title: x, date: 'last year'}", "a.txt.date"),
    ("- just a list", "must map"),
])
def test_a_bad_catalogue_is_refused_in_one_sentence(tmp_path: Path, body: str, words: str) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(EntryInvalid) as err:
        load_sources(path)
    assert words in str(err.value) and "\n" not in str(err.value)


@pytest.mark.sandbox
def test_ask_json_keeps_doc_ids_and_adds_readable_citations(built_index: Settings) -> None:
    from tests.kb.test_answer import run_cli

    out = run_cli("ask", "TimeDistributed 레이어의 역할", "--json", "--no-verify",
                  data_dir=str(built_index.data_dir))
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["sources"] and all(s.endswith(".txt") for s in data["sources"])
    assert [c["doc"] for c in data["citations"]] == data["sources"]
    assert all(" · " in c["label"] and ".txt" not in c["label"] for c in data["citations"])
    text = run_cli("ask", "TimeDistributed 레이어의 역할", "--no-verify", data_dir=str(built_index.data_dir))
    assert "강사 이메일 답변 · TimeDistributed" in text.stdout
