"""``coursebot`` commands that maintain the knowledge base: check, add, ingest, eval, gaps.

Called by :mod:`kb.cli` (which owns the parser and turns errors into one sentence and an exit code).
Heavy modules are imported inside the command that needs them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.core.errors import UsageError
from kb.core.settings import Settings

if TYPE_CHECKING:
    from kb.core.schema import Entry


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from kb.core.store import load_entries

    entries = load_entries(settings.entries_dir)
    if args.ids:
        unknown = sorted(set(args.ids) - {e.id for e in entries})
        if unknown:
            raise UsageError(f"No entry with id {', '.join(unknown)}.")
        entries = [e for e in entries if e.id in args.ids]
    if args.list:
        return _list_entries(entries, args.json)

    from kb.core.numbers import stated_numbers
    from verifiers import Verifier
    from verifiers.claims import verify_and_check

    verifier = Verifier(settings)
    results = []
    try:
        for entry in entries:
            results.append((entry, verify_and_check(entry, verifier, use_cache=not args.no_cache)[0]))
    finally:
        verifier.close()
    mismatches = [m for _, found in results for m in found]
    if args.json:
        _emit_json({
            "ok": not mismatches,
            "entries": [{"id": e.id, "snippets": len(e.verify), "claims": len(e.claims),
                         "numbers": [n.model_dump(mode="json") for n in stated_numbers(e)],
                         "mismatches": [str(m) for m in found]} for e, found in results],
        })
    else:
        from kb.render import print_check

        print_check(results)
    if mismatches:
        if not args.json:
            print(f"coursebot: {len(mismatches)} mismatch(es); first: {mismatches[0]}.", file=sys.stderr)
        return 1
    return 0


def _list_entries(entries: list[Entry], as_json: bool) -> int:
    rows = [{"id": e.id, "lang": e.lang, "title": e.title, "sources": e.source_docs(),
             "snippets": len(e.verify), "claims": len(e.claims)} for e in entries]
    if as_json:
        _emit_json({"count": len(rows), "entries": rows})
        return 0
    from kb.render import print_entry_list

    print_entry_list(rows)
    return 0


# -- add ---------------------------------------------------------------------------------------
def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    from kb.authoring import add_entry_file

    result = add_entry_file(Path(args.entry), settings, replace=args.replace)
    print(f"Added '{result.entry.id}' to {result.path} "
          f"({result.snippets} snippet(s), {result.claims} claim(s) verified) and to the search index.")
    return 0


# -- ingest ------------------------------------------------------------------------------------
def _doc_paths(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            out.extend(sorted(q for q in p.rglob("*") if q.is_file() and q.suffix in (".txt", ".md")))
        elif p.is_file():
            out.append(p)
        else:
            raise UsageError(f"No such document or folder: {raw}.")
    return out


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.index import build

    docs = _doc_paths(args.docs)
    if args.json or not sys.stderr.isatty():
        stats = build(settings, docs=docs, rebuild=args.rebuild)
    else:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        with Progress("embedding", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      transient=True) as bar:
            task = bar.add_task("embed", total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            stats = build(settings, docs=docs, rebuild=args.rebuild, progress=update)
    if args.json:
        _emit_json(stats.model_dump(mode="json"))
    else:
        print(f"Indexed {stats.entries} entries and {stats.doc_chunks} document chunks into {stats.path} "
              f"({stats.embedded} embedded, {stats.reused} unchanged, {stats.seconds:.1f} s).")
    return 0


# -- eval --------------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.index import open_index
    from kb.evaluate import evaluate, load_questions
    from kb.search import Searcher

    paths = [Path(p) for p in args.questions]
    questions = [q for path in paths for q in load_questions(path)]
    searcher = Searcher(open_index(settings))
    if args.refit:
        from kb.calibrate import fit, fit_reranker
        from kb.calibration import FILE_NAME, save_calibration

        held_out = [p.name for p in paths if "holdout" in p.name]
        if held_out:
            raise UsageError(f"Refusing to fit on held-out questions ({', '.join(held_out)}); "
                             "fit on the development sets only.")
        names = [p.name for p in paths]
        try:
            reranker = fit_reranker(searcher, questions, fitted_on=names)
            searcher.reranker = reranker   # the abstention model sees the reranked top hit
            model = fit(searcher, questions, threshold=settings.abstain_threshold, fitted_on=names)
            fallback = fit(searcher, questions, threshold=settings.abstain_threshold, fitted_on=names,
                           first_stage_only=True)
        except ValueError as exc:
            raise UsageError(f"Cannot fit the abstention model: {exc}.") from None
        for fitted in (reranker, fallback, model):
            save_calibration(settings.index_dir / FILE_NAME, fitted)
        searcher.calibration = model
    report = evaluate(searcher, questions, threshold=settings.abstain_threshold)
    if args.refit and searcher.calibration is not None:
        # cross-validated: an estimate on unseen questions
        report["metrics"].update({**searcher.calibration.cv, **(searcher.reranker.cv if searcher.reranker else {})})
    if args.compare:
        from kb.calibrate import compare

        report["compare"] = compare(settings, questions)
    if args.json:
        _emit_json(report)
    else:
        from kb.render import print_eval

        print_eval(report)
    return 0


# -- gaps --------------------------------------------------------------------------------------
def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from kb.gaps import find_gaps

    gaps = find_gaps(settings)
    if args.json:
        _emit_json(gaps.model_dump(mode="json"))
    else:
        from kb.render import print_gaps

        print_gaps(gaps)
    return 0
