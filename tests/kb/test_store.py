"""Malformed entries are refused with one sentence naming the file and field; nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kb.core.errors import DuplicateEntry, EntryInvalid
from kb.core.store import entries_lock, load_entries, parse_entry, write_entry

GOOD = """\
id: dense-count-demo
title: Dense 파라미터 예시
question: Dense(3)에 4차원 입력이면 파라미터는?
answer: 4·3+3 = 15개입니다.
sources:
  - doc: lecture-03
verify:
  - name: dense-demo
    code: |
      import tensorflow as tf
      d = tf.keras.layers.Dense(3)
      y = d(tf.zeros((1, 4)))
    expect:
      layer_params: {d: 15}
claims:
  - {text: "15", snippet: dense-demo, what: layer_params, var: d}
"""


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("id: [unclosed", "", "not valid YAML"),
        (GOOD.replace("title: Dense 파라미터 예시\n", ""), "title", "missing"),
        (GOOD.replace("layer_params: {d: 15}", "layer_params: {d: fifteen}"), "verify[0].expect.layer_params.d", "integer"),
        (GOOD.replace("lang", "lang") + "lang: fr\n", "lang", "invalid"),
        (GOOD + "sorces: []\n", "sorces", "not a known field"),
        (GOOD.replace("id: dense-count-demo", "id: Dense Demo"), "id", "lowercase"),
        (GOOD.replace('text: "15"', 'text: "16"'), "", "does not appear in the answer"),
        (GOOD + "tags: [call 010-2222-3333]\n", "", "personal data"),
        ("- just\n- a list\n", "", "mapping"),
    ],
)
def test_malformed_entry_is_refused_with_file_and_field(text: str, field: str, words: str) -> None:
    with pytest.raises(EntryInvalid) as info:
        parse_entry(text, "dense-count-demo.yaml")
    message = str(info.value)
    assert message.startswith("dense-count-demo.yaml:")
    assert info.value.field == field
    assert words in message
    assert message.count("\n") == 0


def test_id_must_match_file_name(tmp_path: Path) -> None:
    path = tmp_path / "other-name.yaml"
    path.write_text(GOOD, encoding="utf-8")
    with pytest.raises(EntryInvalid, match="must equal the file name"):
        load_entries(tmp_path)


def test_write_is_atomic_and_refuses_duplicates(tmp_path: Path) -> None:
    entry = parse_entry(GOOD, "x.yaml")
    with entries_lock(tmp_path):
        target = write_entry(entry, tmp_path, text=GOOD)
    assert target.read_text(encoding="utf-8") == GOOD
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(DuplicateEntry, match="already exists"):
        write_entry(entry, tmp_path)
    assert sorted(os.listdir(tmp_path)) == before  # nothing new, no temp file left
    assert load_entries(tmp_path)[0] == entry


def test_dump_round_trips(tmp_path: Path) -> None:
    entry = parse_entry(GOOD, "x.yaml")
    write_entry(entry, tmp_path)
    assert load_entries(tmp_path) == [entry]


def test_write_failure_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = parse_entry(GOOD, "x.yaml")

    def boom(*_args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_entry(entry, tmp_path)
    assert list(tmp_path.iterdir()) == []
