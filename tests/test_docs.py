"""README, settings and `coursebot --help` stay in sync."""

from __future__ import annotations

import re

from kb.cli import build_parser
from kb.core.settings import PROJECT_ROOT, documented_settings

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_with_its_default() -> None:
    for name, default, help_text in documented_settings():
        row = next((line for line in README.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} missing from README"
        assert f"`{default}`" in row and help_text in row


def test_readme_lists_no_unknown_setting() -> None:
    known = {name for name, _, _ in documented_settings()}
    assert set(re.findall(r"`(COURSEBOT_[A-Z_]+)[`=]", README)) <= known


def test_every_cli_command_and_option_is_in_the_readme() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    for name, sub in subparsers.choices.items():
        assert f"`coursebot {name}" in README, name
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert option in README, f"{name} {option}"


def test_readme_shows_the_two_commands() -> None:
    assert "make run" in README and "make test" in README
