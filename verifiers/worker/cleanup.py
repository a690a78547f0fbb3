"""Delete a job folder without recursion and with a budget (a snippet may leave any tree)."""

from __future__ import annotations

import contextlib
import os
import stat

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
DEFAULT_BUDGET = 200_000


def remove_tree(path: str, budget: int = DEFAULT_BUDGET) -> bool:
    """Remove ``path`` and everything under it; False if it could not within ``budget`` entries.

    Works on directory fds (openat/unlinkat), so neither depth nor path length matters, never
    follows a symlink, and keeps only the names still to visit in memory. Never raises.
    """
    try:
        return _remove(path, budget)
    except (OSError, ValueError):
        return False


def _remove(path: str, budget: int) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(path)
        return True
    fd = os.open(path, _DIR)
    # stack[i] = (name of the folder at depth i+1 inside its parent, subfolders still to visit)
    stack: list[tuple[str, list[str]]] = []
    pending: list[str] = []
    seen = 0
    try:
        pending, seen = _clear_files(fd, budget)
        while True:
            if seen > budget:
                return False
            if pending:
                name = pending.pop()
                child = os.open(name, _DIR, dir_fd=fd)
                stack.append((name, pending))
                os.close(fd)
                fd = child
                pending, count = _clear_files(fd, budget - seen)
                seen += count + 1
                continue
            if not stack:
                break
            name, pending = stack.pop()
            parent = os.open("..", _DIR, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(name, dir_fd=fd)
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
    os.rmdir(path)
    return True


def _clear_files(fd: int, budget: int) -> tuple[list[str], int]:
    """Unlink every non-folder in ``fd``; return the subfolders' names and the entries seen."""
    folders: list[str] = []
    count = 0
    with os.scandir(fd) as entries:
        for entry in entries:
            count += 1
            if count > budget:
                raise ValueError("budget exceeded")
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            else:
                os.unlink(entry.name, dir_fd=fd)
    return folders, count
