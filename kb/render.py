"""Terminal rendering (rich) of what the core returns. No logic: display only.

Text that comes from a student's snippet or question (layer and variable names, error messages,
notes) goes through :func:`plain` first: Rich would read ``[/red]`` in it as markup (a snippet could
crash the command or fake a green line), and a terminal would obey its control characters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from kb.core.schema import Entry
from verifiers.claims import Mismatch
from verifiers.report import VerifyReport, diff_items, format_shape

if TYPE_CHECKING:
    from kb.answer_types import Answer
    from kb.gaps import Gaps


# C0/C1 controls but tab and newline, and the bidirectional overrides and isolates (U+202A-E, U+2066-9).
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def plain(value: object) -> str:
    """``value`` as inert text for a Rich console: markup escaped, control characters removed."""
    return escape(CONTROLS.sub("", str(value)))


def print_reports(reports: list[VerifyReport], console: Console | None = None, lang: str = "ko") -> None:
    from kb.messages import (
        failure_name,
        say_difference,
        say_failure,
        say_note,
        say_rejection,
        say_ui,
        say_value,
    )

    console = console or Console()
    for report in reports:
        title = f"Keras {report.keras_major}" + (f" ({report.keras_version})" if report.keras_version else "")
        if report.cached:
            title += " · " + say_ui(lang, "cached")
        console.rule(title)
        if report.rejected:
            where = say_ui(lang, "at_line", line=report.rejected.line) if report.rejected.line else ""
            why = say_rejection(lang, report.rejected.kind, report.rejected.subject, report.rejected.reason)
            console.print(f"[red]{say_ui(lang, 'refused', where=where)}:[/red] {plain(why)}")
            continue
        for model in report.models:
            table = Table(title=plain(f"{model.var} ({model.cls})"), title_justify="left")
            for key in ("col_layer", "col_class", "col_shape"):
                table.add_column(say_ui(lang, key))
            table.add_column(say_ui(lang, "col_params"), justify="right")
            for layer in model.layers:
                table.add_row(plain(layer.name), plain(layer.cls), format_shape(layer.output_shape), say_value(layer.params))
            console.print(table)
            console.print(say_ui(lang, "total", total=say_value(model.total_params), trainable=say_value(model.trainable_params)))
            if model.note:
                console.print(f"[yellow]{say_ui(lang, 'note')}:[/yellow] {plain(say_note(lang, model.note, model.note_kind))}")
        for standalone in report.layers:
            weights = ", ".join(f"{w.name} {format_shape(w.shape)}" for w in standalone.weights)
            console.print(plain(say_ui(lang, "standalone", var=standalone.var, cls=standalone.cls,
                                       params=say_value(standalone.params)) + (f" · {weights}" if weights else "")))
        for tensor in report.tensors:
            console.print(plain(say_ui(lang, "tensor", var=tensor.var, shape=format_shape(tensor.shape))))
        if report.error:
            where = say_ui(lang, "at_line", line=report.error.line) if report.error.line else ""
            said = say_failure(lang, report.error.type, report.error.message)
            named = failure_name(lang, report.error.type) or report.error.type
            console.print(f"[red]{plain(named)}{where}:[/red] {plain(said)}")
        console.print(f"[dim]{report.took_ms} ms[/dim]")
    if len(reports) == 2:
        diffs = diff_items(reports[0], reports[1])
        if diffs:
            console.rule(say_ui(lang, "differences"))
            for d in diffs:
                console.print(f"• {say_difference(lang, d)}", highlight=False)


def print_check(results: list[tuple[Entry, list[Mismatch]]], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="coursebot check")
    table.add_column("entry")
    table.add_column("snippets", justify="right")
    table.add_column("claims", justify="right")
    table.add_column("result")
    for entry, found in results:
        status = "[green]ok[/green]" if not found else f"[red]{len(found)} mismatch(es)[/red]"
        table.add_row(entry.id, str(len(entry.verify)), str(len(entry.claims)), status)
    console.print(table)
    for _, found in results:
        for mismatch in found:
            console.print(f"[red]✗[/red] {mismatch}")
    console.print(check_summary(results), soft_wrap=True)


def check_summary(results: list[tuple[Entry, list[Mismatch]]]) -> str:
    """One line: entries, snippets, claims, the stated numbers and what ties them, mismatches."""
    from kb.core.numbers import stated_numbers

    numbers = [n for entry, _ in results for n in stated_numbers(entry)]
    claimed = sum(1 for n in numbers if n.status == "claimed")
    mismatches = sum(len(found) for _, found in results)
    return (f"{len(results)} entries, {sum(len(e.verify) for e, _ in results)} snippets, "
            f"{sum(len(e.claims) for e, _ in results)} claims; {len(numbers)} stated numbers in answer/answer_en: "
            f"{claimed} claimed, {len(numbers) - claimed} unchecked with a reason; {mismatches} mismatch(es)")


def print_entry_list(rows: list[dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"{len(rows)} valid entries")
    for column in ("id", "lang", "snippets", "claims", "sources"):
        table.add_column(column)
    for row in rows:
        table.add_row(row["id"], row["lang"], str(row["snippets"]), str(row["claims"]),
                      ", ".join(doc[:12] for doc in row["sources"]))
    console.print(table)


def print_eval(report: dict[str, Any]) -> None:
    m = report["metrics"]
    console = Console()
    console.print(f"[bold]{m['questions']} questions[/] ({m['in_scope']} in scope, {m['out_of_scope']} out of scope)")
    table = Table("hit@1", "hit@3", "doc hit@1", "MRR", "abstention", "false abstention", "search p50 ms")
    table.add_row(*(str(m.get(k)) for k in ("hit@1", "hit@3", "doc_hit@1", "mrr", "abstention", "false_abstention",
                                            "search_ms_p50")))
    console.print(table)
    if m.get("abstention_by_kind"):
        console.print("declined per out-of-scope kind: " + ", ".join(
            f"{kind} {share}" for kind, share in m["abstention_by_kind"].items()), highlight=False)
    misses = [r for r in report["results"] if (r["out_of_scope"] and r["answered"])
              or (not r["out_of_scope"] and (r["rank"] != 1 or not r["answered"]))]
    for r in misses:
        top = r["hits"][0]["id"] if r["hits"] else "-"
        what = "answered (should abstain)" if r["out_of_scope"] else (
            f"rank {r['rank']}" + ("" if r["answered"] else ", abstained"))
        console.print(f"  [yellow]miss[/] {plain(repr(r['q'][:70]))}: {what}; top = {plain(top)}", highlight=False)
    if "compare" in report:
        table = Table("configuration", "hit@1", "hit@3", "MRR", "abstention", "false abst.",
                      "cv abst.", "cv false abst.", "ingest s", title="Each retriever alone and fused")
        for row in report["compare"]:
            table.add_row(row["config"], *(str(row[k]) for k in (
                "hit@1", "hit@3", "mrr", "abstention", "false_abstention", "cv_abstention",
                "cv_false_abstention", "ingest_s")))
        console.print(table)


def _mark(ok: bool) -> str:
    return "[green]✓[/]" if ok else "[red]✗[/]"


def print_answer(answer: Answer, console: Console | None = None) -> None:
    from rich.markdown import Markdown
    from rich.panel import Panel

    from kb.messages import say_ui, say_value

    console = console or Console()
    lang = getattr(answer, "lang", "ko")
    if getattr(answer, "lead", ""):
        console.print(Panel(Markdown(answer.lead), title=say_ui(lang, "lead"), border_style="cyan"))
    for note in getattr(answer, "notes", []):
        console.print(f"[dim]• {plain(note)}[/]", highlight=False)
    built = getattr(answer, "built", None)
    if built is not None:
        console.print(f"[bold]{say_ui(lang, 'built')}[/]")
        console.print(Syntax(built.code, "python", theme="ansi_dark"))
        if built.runs:
            print_reports(built.runs, console, lang)
        elif built.message:
            console.print(plain(built.message))
    if answer.pasted is not None:
        v = answer.pasted
        console.print(f"[bold]{say_ui(lang, 'pasted')}[/]")
        if v.runs:
            print_reports(v.runs, console, lang)
        if v.explanation:
            console.print(Panel(Markdown(v.explanation), title=say_ui(lang, "error"), border_style="yellow"))
        if v.message:
            console.print(plain(v.message))
    if not answer.answered:
        console.print(Panel(Markdown(answer.answer), title=say_ui(lang, "unanswered"), border_style="yellow"))
    elif answer.answer:
        console.print(Panel(Markdown(answer.answer), title=f"{answer.title}  ({say_ui(lang, 'confidence', value=answer.confidence)})",
                            border_style="green"))
        if answer.citations:
            console.print(say_ui(lang, "sources").rstrip(), highlight=False)
            for c in answer.citations:
                console.print(f"  · {c.label}" + (f" — {c.note}" if c.note else ""), highlight=False)
        elif answer.sources:
            console.print(say_ui(lang, "sources") + ", ".join(answer.sources), highlight=False)
        for v in answer.verifications:
            if not v.runs:
                console.print(f"[dim]{plain(v.snippet)}: {plain(v.message)}[/]")
                continue
            console.print(f"[bold]{say_ui(lang, 'check')}[/] {v.snippet} ({say_ui(lang, 'status_' + v.status)})")
            print_reports(v.runs, console, lang)
            for text, holds, checks in v.claims_by_text():
                real = " · ".join(f"Keras {c.keras}: {say_value(c.actual)}" for c in checks)
                console.print("  " + _mark(holds) + " " + say_ui(lang, "claim", text=text, real=real), highlight=False)
    # after a decline only the entries close enough to suggest (kb.decline), as in the chat
    related = answer.related if answer.answered else answer.suggestions
    if related:
        console.print(say_ui(lang, "related") + "; ".join(f"{h.title} [{h.id}]" for h in related), highlight=False)
    console.print(f"[dim]{answer.took_ms} ms[/]")


def print_gaps(gaps: Gaps) -> None:
    console = Console()
    if not gaps.groups:
        console.print("No unanswered or thumbs-down student questions yet.")
        return
    for n, group in enumerate(gaps.groups, 1):
        console.rule(f"{n}. {group.label} · asked {group.count}x")
        if group.topic is not None:
            console.print(f"  looks like an uncovered topic: {group.topic.title_en} ({group.topic.id} in "
                          "kb/not_covered.yaml); the draft takes its id, so saving it covers the topic",
                          markup=False, highlight=False)
        for q in group.questions:
            why = "unanswered" if q.reason == "unanswered" else "thumbs down"
            console.print(f"  {q.times}x  {q.question.splitlines()[0][:100]}  [dim]({why})[/]", highlight=False)
        console.print("[dim]draft entry:[/]")
        console.print(group.draft, markup=False, highlight=False)
