"""The pinned requirements files are generated from pyproject.toml and agree with it."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text(encoding="utf-8").splitlines():
        if "==" in line and not line.startswith("#"):
            pkg, version = line.split("==", 1)
            pins[canonicalize_name(pkg)] = version
    return pins


def test_default_install_does_not_pull_torch() -> None:
    runtime = _pins("requirements.txt")
    assert "torch" not in runtime and "sentence-transformers" not in runtime
    assert "torch" in _pins("requirements-minilm.txt")
    assert "-r requirements.txt" in (ROOT / "requirements-minilm.txt").read_text(encoding="utf-8")


def test_every_declared_dependency_is_pinned_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins("requirements.txt") | _pins("requirements-minilm.txt") | _pins("requirements-dev.txt")
    declared = [*project["dependencies"], *[r for extra in project["optional-dependencies"].values() for r in extra]]
    for line in declared:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is declared in pyproject.toml but missing from the lock"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {req}"


def test_lock_files_match_what_make_lock_writes() -> None:
    out = subprocess.run([sys.executable, "scripts/lock.py", "--check"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
