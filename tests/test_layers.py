"""Imports point down only: kb.core -> ingest/verifiers -> kb (the answer) -> interfaces.

Walks every project module's AST (imports inside functions too) and fails on any import of a
higher layer, so the layering in the README's "Architecture" section cannot silently erode.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kb.core.settings import PROJECT_ROOT

FOUNDATION, SERVICES, ANSWER, INTERFACES = 0, 1, 2, 3
INTERFACE_MODULES = {"kb.cli", "kb.cli_maintain", "kb.chat", "kb.render", "kb.__main__", "app"}
PROJECT_PACKAGES = ("kb", "ingest", "verifiers", "ui", "app")


def layer_of(module: str) -> int:
    if module == "kb.core" or module.startswith("kb.core."):
        return FOUNDATION
    if module.split(".")[0] in ("ingest", "verifiers"):
        return SERVICES
    if module in INTERFACE_MODULES or module.split(".")[0] in ("ui", "app"):
        return INTERFACES
    return ANSWER


def module_name(path: Path) -> str:
    rel = path.relative_to(PROJECT_ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> list[Path]:
    files = [PROJECT_ROOT / "app.py"]
    for pkg in ("kb", "ingest", "verifiers", "ui"):
        files += sorted((PROJECT_ROOT / pkg).rglob("*.py"))
    return files


def imported(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.module, node.lineno))
            # ``from kb import core`` names a submodule
            names += [(f"{node.module}.{a.name}", node.lineno) for a in node.names
                      if (PROJECT_ROOT / node.module.replace(".", "/") / a.name).exists()
                      or (PROJECT_ROOT / node.module.replace(".", "/") / f"{a.name}.py").exists()]
    return [(n, line) for n, line in names if n.split(".")[0] in PROJECT_PACKAGES]


@pytest.mark.parametrize("path", project_modules(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_imports_point_down(path: Path) -> None:
    me = module_name(path)
    mine = layer_of(me)
    wrong = []
    for target, line in imported(path):
        theirs = layer_of(target)
        if theirs > mine:
            wrong.append(f"line {line}: {me} (layer {mine}) imports {target} (layer {theirs})")
        # the two services stay independent of each other
        if mine == SERVICES and theirs == SERVICES and target.split(".")[0] != me.split(".")[0]:
            wrong.append(f"line {line}: service {me} imports the other service {target}")
    assert not wrong, "\n".join(wrong)


def test_the_layer_map_sees_every_layer() -> None:
    layers = {layer_of(module_name(p)) for p in project_modules()}
    assert layers == {FOUNDATION, SERVICES, ANSWER, INTERFACES}


def test_the_walker_catches_an_upward_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from kb.answer import Answerer\n")
    assert ("kb.answer", 2) in imported(bad)
    assert layer_of("kb.answer") > layer_of("verifiers.sandbox")
