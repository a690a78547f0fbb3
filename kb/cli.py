"""``coursebot`` command line: parses arguments, calls the core, renders the result.

Errors from the core (:mod:`kb.core.errors`) become one sentence on stderr and a non-zero exit.
Heavy modules are imported inside the command that needs them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from kb import cli_maintain
from kb.core.errors import CoursebotError, UsageError
from kb.core.settings import Settings

DESCRIPTION = (
    "coursebot: answers questions about the Keras deep-learning/NLP course from a curated, "
    "verified knowledge base."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="coursebot", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("ask", help="answer a question from the knowledge base, with verified Keras results")
    p.add_argument("question", help="the question (may contain Keras code or an error message); - reads stdin")
    p.add_argument("--k", type=int, default=None, metavar="K", help="how many hits to show (default: COURSEBOT_TOP_K)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--no-verify", action="store_true",
                   help="do not run Keras: show cached verifications only")
    p.add_argument("--session", default=None, metavar="ID",
                   help="conversation id: earlier turns with the same id (in the question log) are the context")

    p = sub.add_parser("chat", help="interactive conversation (history, readline editing, /new starts over)")
    p.add_argument("--no-verify", action="store_true", help="do not run Keras: show cached verifications only")

    p = sub.add_parser("verify", help="build a Keras snippet in the sandbox and show layers, shapes, params or the error")
    p.add_argument("file", nargs="?", default="-", help="Python file with the snippet, or - for stdin (default)")
    p.add_argument("--keras", choices=["3", "2", "both"], default="both", help="Keras major version(s) to use")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--no-cache", action="store_true", help="ignore cached results")

    p = sub.add_parser("check", help="run every entry's verify snippets and claims; non-zero exit on any mismatch")
    p.add_argument("ids", nargs="*", help="only these entry ids")
    p.add_argument("--list", action="store_true", help="only validate and list the entries (no Keras)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--no-cache", action="store_true", help="ignore cached results")

    p = sub.add_parser("add", help="validate, verify, atomically add an entry to the knowledge base and index it")
    p.add_argument("entry", help="the entry's YAML file")
    p.add_argument("--replace", action="store_true", help="replace an existing entry with the same id")

    p = sub.add_parser("ingest", help="(re)build the search index from the entries and optional raw documents")
    p.add_argument("--docs", nargs="+", metavar="PATH", default=[],
                   help="raw course documents (text files or folders of them) to chunk, redact and index too")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything instead of only what changed")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")

    p = sub.add_parser("eval", help="retrieval quality on a JSONL question set: hit@1, hit@3, MRR, abstention")
    p.add_argument("questions", nargs="+", help="JSONL file(s) of questions (see README)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--compare", action="store_true",
                   help="also measure every embedder alone, BM25 alone and the fusions, each on its own index")
    p.add_argument("--refit", action="store_true",
                   help="fit the abstention model on these (development, never held-out) questions and store it "
                        "with the index before measuring")

    p = sub.add_parser("gaps", help="students' unanswered and thumbs-down questions grouped by topic, with draft entries")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    try:
        settings = Settings.from_env()
        if argv is None and args.command in ("ask", "add"):
            # a one-shot process: Kiwi and the sentence encoder load in children while the rest imports
            from ingest.sentence_view import start_early as start_sentence_early
            from ingest.tokens import start_kiwi_early

            if settings.tokenizer == "kiwi":
                start_kiwi_early()
            start_sentence_early()
        handler = {"ask": _cmd_ask, "chat": _cmd_chat, "verify": _cmd_verify, "check": cli_maintain.cmd_check,
                   "add": cli_maintain.cmd_add, "ingest": cli_maintain.cmd_ingest, "eval": cli_maintain.cmd_eval,
                   "gaps": cli_maintain.cmd_gaps}[args.command]
        return handler(args, settings)
    except CoursebotError as exc:
        print(f"coursebot: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("coursebot: interrupted.", file=sys.stderr)
        return 130
    finally:
        if argv is None:
            from ingest.forked import stop_all

            stop_all()


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")


# -- ask ---------------------------------------------------------------------------------------
def _cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from kb.answer import Answerer

    question = _utf8(_stdin() if args.question == "-" else args.question, "question")
    if not question.strip():
        raise UsageError("The question is empty; pass it in quotes or pipe it on stdin with `-`.")
    if args.k is not None and args.k <= 0:
        raise UsageError("--k must be a positive number of hits.")
    from kb.question import check_length

    check_length(question)
    if args.session is not None and not args.session.strip():
        raise UsageError("--session needs a non-empty conversation id.")
    answerer = Answerer(settings)
    try:
        result = answerer.answer(question, k=args.k, verify=not args.no_verify, session=args.session)
    finally:
        answerer.close()
    if args.json:
        _emit_json(result.model_dump(mode="json"))
    else:
        from kb.render import print_answer

        print_answer(result)
    return 0


# -- chat ----------------------------------------------------------------------------------------
def _cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    from kb.chat import run_chat

    return run_chat(settings, verify=not args.no_verify)


def _stdin() -> str:
    try:
        return sys.stdin.read()
    except UnicodeDecodeError:
        raise UsageError("The input on stdin is not UTF-8 text; save it as UTF-8 and try again.") from None


def _utf8(text: str, what: str) -> str:
    """``text`` if it is valid Unicode (undecodable bytes arrive as lone surrogates), else one sentence."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"The {what} is not UTF-8 text; save it as UTF-8 and try again.") from None
    return text


# -- verify ------------------------------------------------------------------------------------
def _read_code(path: str) -> str:
    if path == "-":
        code = _utf8(_stdin(), "snippet")
    else:
        try:
            code = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"Cannot read {path}: {exc.strerror if isinstance(exc, OSError) else exc}.") from None
    if not code.strip():
        raise UsageError("The snippet is empty; pass a Python file or pipe code on stdin.")
    return code


def _cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from verifiers import Verifier, differences

    code = _read_code(args.file)
    majors = settings.keras_versions if args.keras == "both" else (args.keras,)
    verifier = Verifier(settings)
    try:
        reports = verifier.verify(code, majors, use_cache=not args.no_cache)
    finally:
        verifier.close()
    ok = all(r.ok for r in reports)
    if args.json:
        if len(reports) == 1:
            _emit_json(reports[0].model_dump(mode="json"))
        else:
            diffs = differences(reports[0], reports[1]) if len(reports) == 2 else []
            _emit_json({"ok": ok, "runs": [r.model_dump(mode="json") for r in reports], "differences": diffs})
    else:
        from kb.render import print_reports

        print_reports(reports)
    return 0 if ok else 1


# -- check -------------------------------------------------------------------------------------
