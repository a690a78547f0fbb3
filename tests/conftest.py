from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.core.settings import PROJECT_ROOT, Settings

ENTRIES_DIR = PROJECT_ROOT / "kb" / "entries"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches the real var/: every COURSEBOT_DATA_DIR points at a temp folder."""
    for key in list(__import__("os").environ):
        if key.startswith("COURSEBOT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("COURSEBOT_DATA_DIR", str(tmp_path / "var"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", entries_dir=tmp_path / "entries")


@pytest.fixture(scope="session")
def verifier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One pair of warm Keras workers for the whole session (real TensorFlow, in bubblewrap)."""
    from verifiers import Verifier

    data = tmp_path_factory.mktemp("verifier-var")
    v = Verifier(Settings(data_dir=data, verify_timeout=6.0, verify_memory_mb=1024))
    yield v
    v.close()


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings whose data folder holds a real index (e5 + Kiwi BM25) of the real entries."""
    from ingest.index import build

    settings = Settings(data_dir=tmp_path_factory.mktemp("index-var"), entries_dir=ENTRIES_DIR)
    build(settings)
    return settings


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """A real PostgreSQL server for the session (throw-away cluster in a temp folder)."""
    from tests.pg import cluster

    with cluster() as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each backend: a SQLite file, or a new PostgreSQL database."""
    from kb.core import storage

    if request.param == "sqlite":
        url = storage.sqlite_url(tmp_path / "db" / "log.sqlite")
    else:
        url = request.getfixturevalue("postgres").new_database()
    yield url
    storage.dispose(url)
