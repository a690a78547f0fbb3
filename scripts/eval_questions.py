"""Does coursebot answer the student's own numbers? Prose questions and two-turn dialogues.

    python scripts/eval_questions.py truth       # compute true values of every reference snippet in real Keras
    python scripts/eval_questions.py prose       # share whose expected number is in a source:"question" verification
    python scripts/eval_questions.py dialogues   # share of follow-ups answered right
    python scripts/eval_questions.py anywhere    # share whose expected number appears anywhere in `ask --json`
    python scripts/eval_questions.py plain       # hit@1 / abstention of answer() on the plain question sets

EVAL_CODE_ROOT=/path/to/another/checkout runs the same measures with that checkout's code (e.g. main) on these data.

Each data line has "split": "dev" or "holdout"; results are printed per split. The true values come
from running each line's reference Keras code (written by hand, independently of the parser) through
the project's verifier, both Keras versions; nothing here reads the parser's output to set them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("EVAL_CODE_ROOT") or str(ROOT))
PROSE = ROOT / "tests" / "data" / "prose_questions.jsonl"
DIALOGUES = ROOT / "tests" / "data" / "prose_dialogues.jsonl"


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def values_of(runs: list[Any], expect: list[list[Any]]) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for run in runs:
        if not run.ok or not run.models:
            raise SystemExit(f"reference failed in Keras {run.keras_major}: {run.error}")
        model = run.models[0]
        row: list[Any] = []
        for item in expect:
            if item[0] == "total":
                row.append(model.total_params)
            elif item[0] == "params":
                row.append(model.layers[item[1]].params)
            else:
                row.append(model.layers[item[1]].output_shape)
        out[run.keras_major] = row
    return out


def truth() -> None:
    from kb.core.settings import Settings
    from verifiers import Verifier

    verifier = Verifier(Settings.from_env())
    try:
        for path in (PROSE, DIALOGUES):
            rows = load(path)
            for row in rows:
                for key in ("", "2"):
                    ref, expect = row.get(f"ref{key}"), row.get(f"expect{key}")
                    if ref and expect:
                        row[f"values{key}"] = values_of(verifier.verify(ref), expect)
            path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
            print(f"{path.name}: {len(rows)} lines, true values from Keras " + "/".join(sorted(
                {m for r in rows for m in r.get("values", r.get("values2", {}))})))
    finally:
        verifier.close()


def found_in(verification: dict[str, Any] | None, values: dict[str, list[Any]]) -> bool:
    """Every expected value is shown by the question-built verification, in every Keras version."""
    if verification is None:
        return False
    runs = {r["keras_version"].split(".")[0] if r.get("keras_version") else "": r for r in verification["runs"]}
    for major, expected in values.items():
        run = runs.get(major)
        if run is None:
            return False
        shown: list[Any] = []
        for model in run["models"]:
            shown.append(model["total_params"])
            for layer in model["layers"]:
                shown += [layer["params"], layer["output_shape"]]
        if not all(value in shown for value in expected):
            return False
    return True


def anywhere(data: dict[str, Any], values: dict[str, list[Any]]) -> bool:
    text = json.dumps(data, ensure_ascii=False)
    def shown(value: Any) -> bool:
        if isinstance(value, int):
            return f"{value:,}" in text or f"\"params\": {value}" in text or f": {value}," in text
        return json.dumps(value) in text
    return all(shown(v) for expected in values.values() for v in expected)


def question_verification(data: dict[str, Any]) -> dict[str, Any] | None:
    return next((v for v in data.get("verifications", []) if v.get("source") == "question"), None)


def answerer() -> Any:
    from kb.answer import Answerer
    from kb.core.settings import Settings

    return Answerer(Settings.from_env(), log=False)


def report(name: str, results: dict[str, list[bool]]) -> None:
    for split in ("dev", "holdout"):
        got = results.get(split, [])
        if got:
            print(f"{name} {split}: {sum(got)}/{len(got)} = {sum(got) / len(got):.0%}")


def prose(mode: str) -> None:
    a = answerer()
    results: dict[str, list[bool]] = {}
    try:
        for row in load(PROSE):
            data = a.answer(row["q"]).model_dump(mode="json")
            ok = anywhere(data, row["values"]) if mode == "anywhere" else found_in(question_verification(data), row["values"])
            results.setdefault(row["split"], []).append(ok)
            if not ok:
                print(f"  miss [{row['split']}] {row['q'][:70]!r} lead={data.get('lead', '')[:80]!r}")
    finally:
        a.close()
    report(mode, results)


def dialogues() -> None:
    a = answerer()
    results: dict[str, list[bool]] = {}
    try:
        for row in load(DIALOGUES):
            first = a.answer(row["turns"][0])
            try:
                second = a.answer(row["turns"][1], history=[first])
            except TypeError:     # code from before conversations: each message stands alone
                second = a.answer(row["turns"][1])
            data = second.model_dump(mode="json")
            ok = True
            if "values2" in row:
                ok = found_in(question_verification(data), row["values2"])
            if "expect_ids" in row:
                ok = ok and data.get("entry") in row["expect_ids"]
            if row.get("standalone"):
                carried = any("이전 질문" in n or "previous question" in n for n in data.get("notes", []))
                ok = ok and not carried
            results.setdefault(row["split"], []).append(ok)
            if not ok:
                print(f"  miss [{row['split']}] {row['turns']!r} entry={data.get('entry')} notes={data.get('notes')}")
    finally:
        a.close()
    report("dialogues", results)


def plain() -> None:
    """hit@1 and abstention of `answer()` itself on the plain question sets (no numbers to build)."""
    a = answerer()
    try:
        for name in ("dev_questions.jsonl", "holdout_questions.jsonl"):
            rows = load(ROOT / "tests" / "data" / name)
            hits = abstained = in_scope = out_scope = 0
            for row in rows:
                data = a.answer(row["q"], verify=False).model_dump(mode="json")
                if row.get("out_of_scope"):
                    out_scope += 1
                    abstained += not data["answered"]
                else:
                    in_scope += 1
                    hits += data["answered"] and data.get("entry") in row.get("expect_ids", [])
            print(f"answer() on {name}: hit@1 {hits}/{in_scope} = {hits / in_scope:.3f}, "
                  f"abstention {abstained}/{out_scope} = {abstained / max(out_scope, 1):.3f}")
    finally:
        a.close()


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "prose"
    {"truth": truth, "prose": lambda: prose("question"), "anywhere": lambda: prose("anywhere"),
     "dialogues": dialogues, "plain": plain}[command]()
