"""Print line counts per source module and how many function signatures use ``Any``.

Usage: python scripts/code_stats.py [ROOT]   (the project's own packages under ROOT)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGES = ("kb", "ingest", "verifiers", "ui")


def modules(root: Path) -> list[Path]:
    files = [root / "app.py"] if (root / "app.py").exists() else []
    for pkg in PACKAGES:
        files += sorted((root / pkg).rglob("*.py"))
    return files


def any_in_signatures(tree: ast.AST) -> int:
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            annotations = [a.annotation for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                                  args.vararg, args.kwarg) if a is not None]
            annotations.append(node.returns)
            for ann in annotations:
                if ann is not None:
                    count += sum(isinstance(n, ast.Name) and n.id == "Any" for n in ast.walk(ann))
    return count


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    rows = []
    total_any = 0
    for path in modules(root):
        text = path.read_text(encoding="utf-8")
        n_any = any_in_signatures(ast.parse(text))
        total_any += n_any
        rows.append((text.count("\n"), n_any, path.relative_to(root).as_posix()))
    for lines, n_any, name in sorted(rows, reverse=True):
        print(f"{lines:5d} lines  {n_any:2d} Any  {name}")
    print(f"{len(rows)} modules, largest {max(r[0] for r in rows)} lines, "
          f"{sum(r[0] > 300 for r in rows)} over 300; Any in signatures: {total_any}")


if __name__ == "__main__":
    main()
