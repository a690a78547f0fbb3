"""AST pre-check: early, friendly refusals of snippets (line + reason).

This is *not* the security boundary (see ``verifiers/sandbox.py``); it turns the obvious
attempts into a sentence a student understands before any process is started.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Literal

ALLOWED_IMPORTS = frozenset({"tensorflow", "keras", "tf_keras", "numpy", "math"})
FORBIDDEN_CALLS = frozenset({
    "eval", "exec", "open", "compile", "getattr", "setattr", "delattr", "globals", "locals",
    "vars", "__import__", "input", "breakpoint", "memoryview", "exit", "quit", "help",
})
# Attribute chains (after resolving import aliases) that reach files, the network or C memory.
FORBIDDEN_PATHS = (
    "tensorflow.io", "tensorflow.raw_ops", "tensorflow.py_function", "tensorflow.numpy_function",
    "tensorflow.data", "tensorflow.saved_model", "tensorflow.summary", "tensorflow.compat.v1.gfile",
    "tensorflow.gfile", "tensorflow.load_library", "tensorflow.load_op_library",
    "tensorflow.keras.utils.get_file", "keras.utils.get_file", "tf_keras.utils.get_file",
    "numpy.ctypeslib", "numpy.load", "numpy.save", "numpy.fromfile", "numpy.memmap",
    "numpy.lib", "keras.src", "tf_keras.src", "tensorflow.python",
)


RefusalKind = Literal["syntax", "reaches", "import_other", "import_forbidden", "dunder_name", "forbidden_name",
                      "dunder_attribute", "scope", "dunder_string"]


@dataclass(frozen=True)
class Refusal:
    reason: str                 # in English (the verify --json contract); interfaces word ``kind``
    line: int | None
    kind: RefusalKind
    subject: str = ""           # the name, module or path refused, or the syntax error's message


def check_policy(code: str) -> Refusal | None:
    """Return why ``code`` is refused, or None if it may be sent to the sandbox."""
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        return Refusal(f"it is not valid Python ({exc.msg})", exc.lineno, "syntax", str(exc.msg))
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        refusal = _check_node(node, aliases)
        if refusal:
            return refusal
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            path = _dotted(node, aliases)
            if path and path.startswith(FORBIDDEN_PATHS):
                return Refusal(f"'{path}' reaches files, the network or memory and is not allowed",
                               node.lineno, "reaches", path)
    return None


def _check_node(node: ast.AST, aliases: dict[str, str]) -> Refusal | None:
    line = getattr(node, "lineno", None)
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name.split(".")[0] not in ALLOWED_IMPORTS:
                return Refusal(f"only tensorflow, keras, numpy and math may be imported, not '{alias.name}'", line,
                               "import_other", alias.name)
            if alias.name.startswith(FORBIDDEN_PATHS):
                return Refusal(f"importing '{alias.name}' is not allowed", line, "import_forbidden", alias.name)
            aliases[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
    elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level or module.split(".")[0] not in ALLOWED_IMPORTS:
            return Refusal(f"only tensorflow, keras, numpy and math may be imported, not '{module}'", line,
                           "import_other", module)
        for alias in node.names:
            full = f"{module}.{alias.name}"
            if module.startswith(FORBIDDEN_PATHS) or full.startswith(FORBIDDEN_PATHS):
                return Refusal(f"importing '{full}' is not allowed", line, "import_forbidden", full)
            if alias.name != "*":
                aliases[alias.asname or alias.name] = full
    elif isinstance(node, ast.Name):
        if node.id.startswith("__"):
            return Refusal(f"names with double underscores ('{node.id}') are not allowed", line, "dunder_name", node.id)
        if node.id in FORBIDDEN_CALLS:
            return Refusal(f"'{node.id}' is not allowed in snippets", line, "forbidden_name", node.id)
    elif isinstance(node, ast.Attribute):
        if node.attr.startswith("__"):
            return Refusal(f"attributes with double underscores ('{node.attr}') are not allowed", line,
                           "dunder_attribute", node.attr)
    elif isinstance(node, (ast.Global, ast.Nonlocal)):
        return Refusal("'global'/'nonlocal' are not needed to build a model", line, "scope")
    elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "__" in node.value:
        return Refusal("strings with double underscores are not allowed", line, "dunder_string")
    return None


def _dotted(node: ast.Attribute, aliases: dict[str, str]) -> str | None:
    parts: list[str] = []
    current: ast.AST = node
    while isinstance(current, ast.Attribute):
        parts.append(current.attr)
        current = current.value
    if not isinstance(current, ast.Name):
        return None
    root = aliases.get(current.id, current.id)
    return ".".join([root, *reversed(parts)])
