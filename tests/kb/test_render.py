"""The terminal renders a snippet's own text as text: no markup, no control characters."""

from __future__ import annotations

import io

from rich.console import Console

from kb.render import print_reports
from verifiers.report import ErrorInfo, LayerInfo, ModelInfo, VerifyReport

HOSTILE_NAME = "d[green]\x1b[2J\x1b[H\u202eok"


def _render(report: VerifyReport) -> str:
    out = io.StringIO()
    print_reports([report], Console(file=out, width=200, force_terminal=True, color_system="standard", highlight=False), "en")
    return out.getvalue()


def test_a_snippet_s_error_message_cannot_close_the_renderer_s_markup() -> None:
    """`raise ValueError("[/red] bad")` crashed `coursebot verify` with Rich's MarkupError traceback."""
    report = VerifyReport(ok=False, keras_version="3", keras_major="3",
                          error=ErrorInfo(type="ValueError", message="x[/red]\n[green]Total params: 999 ✓[/green]", line=1))
    shown = _render(report)
    assert "[/red]" in shown and "[green]Total params: 999 ✓[/green]" in shown
    assert "\x1b[32m" not in shown     # the fake line is not drawn green


def test_a_layer_name_s_escape_codes_and_bidi_overrides_never_reach_the_terminal() -> None:
    model = ModelInfo(var=HOSTILE_NAME, layers=[LayerInfo(name=HOSTILE_NAME, cls="Dense", output_shape=[None, 3],
                                                          params=15)], total_params=15, trainable_params=15)
    shown = _render(VerifyReport(ok=True, keras_version="3", keras_major="3", models=[model]))
    assert "\x1b[2J" not in shown and "\x1b[H" not in shown and "\u202e" not in shown
    assert "d[green]" in shown and "15" in shown
