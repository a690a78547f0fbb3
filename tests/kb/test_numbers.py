"""Every parameter count and shape an entry states is checked by a claim or listed as unchecked with a reason."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kb.core.errors import EntryInvalid
from kb.core.numbers import claim_for, find_numbers, stated_numbers, unclaimed_numbers
from kb.core.settings import PROJECT_ROOT
from kb.core.store import load_entries, parse_entry
from tests.conftest import ENTRIES_DIR

ENTRY = """\
id: dense-count-demo
title: Dense 파라미터 예시
question: Dense(3)에 입력 특성 4개면 파라미터는?
answer: |
  4·3+3 = 15개입니다. 출력은 `(1, 3)`입니다.
answer_en: |
  4·3+3 = 15 parameters. The output is `(1, 3)`.
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
  - {text: "(1, 3)", snippet: dense-demo, what: tensor_shape, var: y, value: [1, 3]}
"""

UNCHECKED_9999 = ENTRY.replace("= 15개입니다.", "= 15개입니다. 전체 모델은 9,999개입니다.")


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run([sys.executable, "-m", "kb", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=PROJECT_ROOT, timeout=600)


@pytest.mark.parametrize(("text", "expected"), [
    ("64·64+64 = **4,160**개입니다.", ["4,160"]),
    ("Embedding 640,064 + Bidirectional 66,048", ["640,064", "66,048"]),
    ("`(None, 92, 32)` → `(None, 2944)`, 편향 `(256,)`", ["(None, 92, 32)", "(None, 2944)", "(256,)"]),
    ("the layer has 20·10 + 10 = 210 parameters either way", ["210"]),
    ("Dense(1)의 파라미터는 33개뿐입니다.", ["33"]),
    ("a Dense layer with 65 params", ["65"]),
    ("뒤의 `Dense(32)`는 4128개의 파라미터를 가집니다.", ["4128"]),
    ("494 // 5 = 98", ["98"]),
])
def test_counts_and_shapes_are_found(text: str, expected: list[str]) -> None:
    assert [n.text for n in find_numbers(text)] == expected


@pytest.mark.parametrize("text", [
    "`Dense(64)` 뒤 `Embedding(10001, 64)`와 `Input(shape=(25, 1))`",   # configuration, not results
    "게이트가 4개이고 단어 3개짜리 문장, 태그 18개로 가정",                  # counted things, not parameters
    "LSTM의 파라미터 공식에서 가중치 묶음이 4개입니다.",
    "시간 축은 두 번째 축(axis=1)이고 σ(z) = 1/(1+e^(−z))입니다.",
    "**파라미터 = 4 × (입력 특성 수 × units + units × units + units)**",
    "```python\nmodel = Sequential([Input(shape=(92, 32)), Dense(1)])  # 2,945 params\n```\n",
    "`x.reshape(-1, 25, 1)`과 `(배치, 25, 1)`",
])
def test_configuration_and_prose_counts_are_not_stated_numbers(text: str) -> None:
    assert find_numbers(text) == []


def test_stated_numbers_are_tied_to_claims_in_both_languages() -> None:
    entry = parse_entry(ENTRY, "demo.yaml")
    numbers = stated_numbers(entry)
    assert [(n.field, n.text, n.status, n.claim) for n in numbers] == [
        ("answer", "15", "claimed", 0), ("answer", "(1, 3)", "claimed", 1),
        ("answer_en", "15", "claimed", 0), ("answer_en", "(1, 3)", "claimed", 1)]
    assert numbers[1].value == [1, 3] and numbers[1].kind == "shape"
    assert unclaimed_numbers(entry) == []
    assert json.loads(numbers[0].model_dump_json())["status"] == "claimed"


def test_an_unchecked_number_is_refused_in_one_sentence_naming_it() -> None:
    with pytest.raises(EntryInvalid) as info:
        parse_entry(UNCHECKED_9999, "demo.yaml")
    message = str(info.value)
    assert "9,999" in message and "field 'answer'" in message and message.count(". ") == 0
    unparsed = parse_entry(UNCHECKED_9999, "demo.yaml", check_numbers=False)
    assert [n.text for n in unclaimed_numbers(unparsed)] == ["9,999"]


def test_a_number_listed_as_unchecked_with_a_reason_is_accepted() -> None:
    text = UNCHECKED_9999 + 'unchecked:\n  - {text: "9,999", reason: "a count from another course, given as an example"}\n'
    entry = parse_entry(text, "demo.yaml")
    status = {n.text: (n.status, n.reason) for n in stated_numbers(entry)}
    assert status["9,999"] == ("unchecked", "a count from another course, given as an example")
    with pytest.raises(EntryInvalid, match="unchecked"):
        parse_entry(text.replace('text: "9,999"', 'text: "8,888"'), "demo.yaml")


def test_claim_for_ties_a_stated_number_to_what_the_instructor_picks() -> None:
    entry = parse_entry(UNCHECKED_9999, "demo.yaml", check_numbers=False)
    nine = unclaimed_numbers(entry)[0]
    claim = claim_for(nine, "dense-demo", var="d")
    assert (claim.what, claim.expected()) == ("layer_params", 9999)
    shape = next(n for n in stated_numbers(entry) if n.kind == "shape")
    assert claim_for(shape, "dense-demo", var="y").what == "tensor_shape"
    assert claim_for(shape, "dense-demo", layer=0).what == "output_shape"
    fixed = entry.model_copy(update={"claims": [*entry.claims, claim]})
    assert unclaimed_numbers(fixed) == []


def test_the_knowledge_base_passes_the_rule() -> None:
    entries = load_entries(ENTRIES_DIR)
    numbers = [n for e in entries for n in stated_numbers(e)]
    assert len(numbers) > 150
    assert all(n.status != "unclaimed" for n in numbers)
    unchecked = [n for n in numbers if n.status == "unchecked"]
    assert len(unchecked) * 10 < len(numbers)   # most stated numbers are real claims, not excuses
    assert all(re.search(r"not a Keras output|not a tensor", n.reason or "") for n in unchecked)


def test_add_and_check_refuse_an_unchecked_number_and_write_nothing(tmp_path: Path) -> None:
    entries = tmp_path / "entries"
    entries.mkdir()
    env = {"COURSEBOT_ENTRIES_DIR": str(entries)}
    new = tmp_path / "dense-count-demo.yaml"
    new.write_text(UNCHECKED_9999, encoding="utf-8")
    added = run("add", str(new), env=env)
    assert added.returncode != 0 and "9,999" in added.stderr and "Traceback" not in added.stderr
    assert list(entries.iterdir()) == []

    (entries / "dense-count-demo.yaml").write_text(UNCHECKED_9999, encoding="utf-8")
    before = sorted((p.name, p.read_bytes()) for p in entries.iterdir())
    for args in (("check",), ("check", "--list")):
        checked = run(*args, env=env)
        assert checked.returncode != 0, args
        assert "9,999" in checked.stderr and "Traceback" not in checked.stderr
        assert len(checked.stderr.strip().splitlines()) == 1
    assert sorted((p.name, p.read_bytes()) for p in entries.iterdir()) == before


@pytest.mark.sandbox
def test_weight_shape_claims_are_checked_against_real_keras(verifier: object) -> None:
    from verifiers.claims import verify_and_check

    entry = next(e for e in load_entries(ENTRIES_DIR) if e.id == "lstm-four-gates-kernel")
    assert verify_and_check(entry, verifier)[0] == []
    swapped = [c.model_copy(update={"value": [256, 64]}) if c.weight == "recurrent_kernel" else c
               for c in entry.claims]
    mismatches = verify_and_check(entry.model_copy(update={"claims": swapped}), verifier)[0]
    assert sorted(m.keras for m in mismatches) == ["2", "3"]
    assert all("(64, 256)" in m.what and m.actual == [64, 256] for m in mismatches)


def test_check_summary_counts_the_stated_numbers() -> None:
    from kb.render import check_summary

    entries = load_entries(ENTRIES_DIR)
    line = check_summary([(e, []) for e in entries])
    stated = sum(len(stated_numbers(e)) for e in entries)
    claimed, unchecked = (int(x) for x in re.findall(r"(\d+) (?:claimed|unchecked)", line))
    assert f"{len(entries)} entries" in line and f"{stated} stated numbers" in line
    assert claimed + unchecked == stated and line.endswith("0 mismatch(es)")


@pytest.mark.sandbox
def test_preview_lists_the_numbers_with_real_values_and_refuses_the_unchecked_one(
        tmp_path: Path, verifier: object) -> None:
    from kb.authoring import preview_entry
    from kb.core.settings import Settings

    settings = Settings(data_dir=tmp_path / "var", entries_dir=tmp_path / "entries")
    preview = preview_entry(UNCHECKED_9999, "dense-count-demo.yaml", settings, verifier=verifier)
    assert not preview.ok and preview.error is not None and "9,999" in preview.error
    assert [(n.text, n.status) for n in preview.numbers if n.field == "answer"] == [
        ("15", "claimed"), ("9,999", "unclaimed"), ("(1, 3)", "claimed")]
    assert preview.mismatches == [] and sorted(r.keras_major for r in preview.reports["dense-demo"]) == ["2", "3"]
    assert not settings.entries_dir.exists() or list(settings.entries_dir.iterdir()) == []
