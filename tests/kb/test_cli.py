"""The coursebot command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kb.core.settings import PROJECT_ROOT
from tests.conftest import ENTRIES_DIR


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "kb", *args], input=stdin, capture_output=True,
                          text=True, env=full_env, cwd=PROJECT_ROOT, timeout=600)


def test_help_lists_the_commands() -> None:
    out = run("--help")
    assert out.returncode == 0
    for command in ("verify", "check", "add"):
        assert command in out.stdout


def test_check_list_shows_valid_entries() -> None:
    out = run("check", "--list", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["count"] >= 24


@pytest.mark.parametrize(
    ("args", "stdin", "words"),
    [
        (("verify", "/nonexistent/snippet.py"), None, "Cannot read"),
        (("verify",), "   \n", "empty"),
        (("check", "no-such-entry"), None, "No entry with id"),
    ],
)
def test_bad_input_is_one_sentence_and_nonzero(args: tuple[str, ...], stdin: str | None, words: str) -> None:
    out = run(*args, stdin=stdin)
    assert out.returncode != 0
    assert out.stdout == ""
    assert words in out.stderr
    assert "Traceback" not in out.stderr and out.stderr.count("\n") == 1


@pytest.mark.parametrize("args", [("ask", "-"), ("verify", "-"), ("ask", "LSTM \udcff 파라미터")])
def test_bytes_that_are_not_utf8_get_one_sentence(args: tuple[str, ...]) -> None:
    """Undecodable bytes on stdin or in an argument: one sentence, exit 2, no traceback."""
    argv = [a.encode("utf-8", "surrogateescape") for a in args]
    out = subprocess.run([sys.executable.encode(), b"-m", b"kb", *argv], input=b"import keras\n\xff\xfe abc",
                         capture_output=True, env={**os.environ, "LC_ALL": "C.UTF-8"}, cwd=PROJECT_ROOT,
                         timeout=600)
    err = out.stderr.decode()
    assert out.returncode == 2 and "Traceback" not in err and "UTF-8" in err, err
    assert err.count("\n") == 1


def test_bad_setting_is_reported() -> None:
    out = run("check", "--list", env={"COURSEBOT_TOP_K": "many"})
    assert out.returncode == 2 and "COURSEBOT_TOP_K" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.sandbox
def test_verify_json_contract() -> None:
    code = "import tensorflow as tf\nfrom tensorflow.keras.layers import LSTM\nx = tf.zeros((2, 5, 3))\ny = LSTM(4)(x)\n"
    out = run("verify", "-", "--keras", "both", "--json", stdin=code)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)  # exactly one JSON object on stdout
    assert [r["keras_version"][0] for r in data["runs"]] == ["3", "2"]
    for run_ in data["runs"]:
        assert set(run_) >= {"ok", "keras_version", "models", "tensors", "error", "rejected", "took_ms"}
        assert {"var": "y", "shape": [2, 4]} in run_["tensors"]
    single = json.loads(run("verify", "-", "--keras", "3", "--json", stdin=code).stdout)
    assert single["ok"] and single["keras_version"].startswith("3.")


@pytest.mark.sandbox
def test_verify_reports_a_refusal() -> None:
    out = run("verify", "-", "--keras", "3", "--json", stdin="import os\nos.system('id')\n")
    assert out.returncode == 1
    assert json.loads(out.stdout)["rejected"] == {
        "reason": "only tensorflow, keras, numpy and math may be imported, not 'os'", "line": 1,
        "kind": "import_other", "subject": "os"}
    shown = run("verify", "-", "--keras", "3", stdin="import os\n")   # the terminal words it in Korean
    assert shown.returncode == 1 and "tensorflow, keras, numpy, math만 import할 수 있습니다" in shown.stdout
    assert "may be imported" not in shown.stdout


@pytest.mark.sandbox
def test_check_passes_on_all_entries_and_fails_on_a_changed_number(tmp_path: Path) -> None:
    out = run("check", "--json")
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr
    assert json.loads(out.stdout)["ok"] is True

    entries = tmp_path / "entries"
    shutil.copytree(ENTRIES_DIR, entries)
    target = entries / "dense-params-after-bilstm.yaml"
    target.write_text(target.read_text(encoding="utf-8").replace("params: 8256", "params: 4160"), encoding="utf-8")
    bad = run("check", "dense-params-after-bilstm", env={"COURSEBOT_ENTRIES_DIR": str(entries)})
    assert bad.returncode == 1
    assert "dense-params-after-bilstm / imdb-bilstm (Keras 3)" in bad.stderr
    assert "expected 4,160, got 8,256" in bad.stderr


GOOD_ENTRY = """\
id: conv1d-params-demo
title: Conv1D 파라미터 예시
question: Conv1D(8, 3)이 입력 채널 4개에서 가지는 파라미터는?
answer: 3·4·8 + 8 = 104개입니다.
verify:
  - name: conv-demo
    code: |
      import tensorflow as tf
      conv = tf.keras.layers.Conv1D(8, 3)
      y = conv(tf.zeros((1, 10, 4)))
    expect:
      tensors: {y: [1, 8, 8]}
claims:
  - {text: "104", snippet: conv-demo, what: layer_params, var: conv}
"""


@pytest.mark.sandbox
def test_add_writes_a_verified_entry_and_refuses_a_wrong_number(tmp_path: Path) -> None:
    entries = tmp_path / "entries"
    entries.mkdir()
    env = {"COURSEBOT_ENTRIES_DIR": str(entries)}
    wrong = tmp_path / "conv1d-params-demo.yaml"
    wrong.write_text(GOOD_ENTRY.replace("104", "96"), encoding="utf-8")
    out = run("add", str(wrong), env=env)
    assert out.returncode == 1
    assert "expected 96, got 104" in out.stderr and "not saved" in out.stderr
    assert list(entries.iterdir()) == []

    good = tmp_path / "good.yaml"
    good.write_text(GOOD_ENTRY, encoding="utf-8")
    out = run("add", str(good), env=env)
    assert out.returncode == 0, out.stderr
    assert (entries / "conv1d-params-demo.yaml").read_text(encoding="utf-8") == GOOD_ENTRY
    again = run("add", str(good), env=env)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_ingest_with_documents_prints_stats_and_stores_no_personal_data(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "week2.txt").write_text(
        "보낸 사람: 조교 <ta.lee@example.com>\n연락처: 010-2222-3333\n\n"
        + "Embedding 레이어의 파라미터 수는 input_dim × output_dim 입니다. " * 30, encoding="utf-8")
    entries = tmp_path / "entries"
    entries.mkdir()
    shutil.copy(ENTRIES_DIR / "embedding-params.yaml", entries)
    env = {"COURSEBOT_ENTRIES_DIR": str(entries), "COURSEBOT_DATA_DIR": str(tmp_path / "var")}
    out = run("ingest", "--docs", str(docs), "--json", env=env)
    assert out.returncode == 0, out.stderr
    stats = json.loads(out.stdout)
    assert stats["entries"] == 1 and stats["doc_chunks"] >= 2 and stats["embedded"] == 1 + stats["doc_chunks"]
    index_text = "".join(p.read_text(encoding="utf-8", errors="ignore") for p in (tmp_path / "var").rglob("*.json*"))
    assert "@" not in index_text and "010-2222" not in index_text
    again = run("ingest", "--json", env=env)
    assert json.loads(again.stdout)["embedded"] == 0  # nothing changed, the documents are kept
    missing = run("ingest", "--docs", str(tmp_path / "nope.txt"), env=env)
    assert missing.returncode == 2 and "No such document" in missing.stderr and "Traceback" not in missing.stderr
