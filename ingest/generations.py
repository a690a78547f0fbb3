"""Generations of the index folder: the writer lock, the ``CURRENT`` pointer, atomic publishing.

A build writes a new ``gNNNNNN`` folder under a temporary name, fsyncs every file, renames it into
place and then replaces ``CURRENT`` atomically, so a reader never sees a half-written index and a
build killed mid-way leaves the previous one live. Old generations are removed, except the
previous one (a reader may still be loading it) and temporaries of writers still alive.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from filelock import FileLock

from kb.core.settings import Settings

CURRENT = "CURRENT"


def index_lock(settings: Settings) -> FileLock:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(str(settings.data_dir / "index.lock"), timeout=600)


def current_generation(root: Path) -> Path | None:
    pointer = root / CURRENT
    try:
        name = pointer.read_text().strip()
    except FileNotFoundError:
        return None
    return root / name if name else None


def entry_stamp(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def entry_stamps(entries_dir: Path) -> dict[str, str]:
    """File name -> size and mtime of every entry file: detects edits without parsing anything."""
    stamps = {p.name: entry_stamp(p) for p in sorted(entries_dir.glob("*.yaml"))}
    return {name: stamp for name, stamp in stamps.items() if stamp is not None}


def new_generation(root: Path) -> tuple[Path, Path, Path | None]:
    """(final folder, temporary folder to write, previous generation) for the next build."""
    root.mkdir(parents=True, exist_ok=True)
    prev = current_generation(root)
    number = int(prev.name[1:]) + 1 if prev is not None and prev.name[1:].isdigit() else 1
    gen = root / f"g{number:06d}"
    while gen.exists():
        number += 1
        gen = root / f"g{number:06d}"
    tmp = root / f".{gen.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "lexical").mkdir(parents=True)
    return gen, tmp, prev


def publish(root: Path, tmp: Path, gen: Path, prev: Path | None) -> None:
    """fsync the written folder, move it into place, point ``CURRENT`` at it, remove old ones."""
    for p in tmp.rglob("*"):
        if p.is_file():
            with open(p, "rb") as fh:
                os.fsync(fh.fileno())
    os.rename(tmp, gen)
    pointer_tmp = root / f".{CURRENT}.tmp-{os.getpid()}"
    pointer_tmp.write_text(gen.name + "\n")
    with open(pointer_tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, root / CURRENT)
    _cleanup(root, keep={gen.name, prev.name if prev else ""})


def _cleanup(root: Path, keep: set[str]) -> None:
    """Remove old generations (the previous one stays for readers still loading it) and dead temps."""
    for p in root.iterdir():
        if p.is_dir() and p.name not in keep and (p.name.startswith("g") or ".tmp-" in p.name):
            if ".tmp-" in p.name:
                pid = p.name.rsplit("-", 1)[-1]
                if pid.isdigit() and _alive(int(pid)):
                    continue
            shutil.rmtree(p, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
