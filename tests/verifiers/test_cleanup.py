"""Job folders are removed without recursion, within a budget, and never by following a link."""

from __future__ import annotations

import os
from pathlib import Path

from verifiers.worker.cleanup import remove_tree


def _deep(root: Path, depth: int) -> None:
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):  # deeper than PATH_MAX allows as one path
        os.mkdir("dddddddddd", dir_fd=fd)
        child = os.open("dddddddddd", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)


def test_deep_tree_is_removed(tmp_path: Path) -> None:
    (tmp_path / "job").mkdir()
    _deep(tmp_path / "job", 3000)
    assert remove_tree(str(tmp_path / "job"))
    assert not (tmp_path / "job").exists()


def test_budget_stops_and_links_are_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    job = tmp_path / "job"
    job.mkdir()
    (job / "link").symlink_to(outside)
    for i in range(50):
        (job / f"f{i}").write_text("x")
    assert remove_tree(str(job), budget=10) is False  # gave up, did not raise
    assert remove_tree(str(job))
    assert not job.exists() and (outside / "keep").exists()
    assert remove_tree(str(job))  # already gone
