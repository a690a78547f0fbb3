"""Relational storage for the question log and the verification cache (SQLAlchemy Core).

One code path runs on SQLite (the default: a file in the data folder) and on PostgreSQL
(``COURSEBOT_DATABASE_URL=postgresql://...``, through psycopg 3), so several app processes on
several machines can share one question log.

Each *component* (``questions``, ``cache``) owns some tables and an ordered list of migrations;
``schema_version`` records how far each component's schema in this database has been migrated.
A migration runs once, in one transaction, under a lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: an advisory lock), so processes starting together migrate exactly once. To change
a table: change its definition below and append a migration that brings older databases there.

Connections are never left open: SQLite opens one per transaction (no pool); PostgreSQL keeps a
small pool per URL, closed by :func:`dispose` (called at interpreter exit).
"""

from __future__ import annotations

import atexit
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    insert,
    select,
    text,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from kb.core.errors import SettingInvalid, StorageUnavailable

__all__ = [
    "CACHE",
    "QUESTIONS",
    "Component",
    "connect",
    "dispose",
    "engine_for",
    "feedback",
    "metadata",
    "questions",
    "reports",
    "sqlite_url",
    "transaction",
]

metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("component", String(40), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("migrated_at", Float, nullable=False),
)

# -- the question log (the current shape; migrations below bring older databases here) ---------
questions = Table(
    "questions", metadata,
    Column("id", Integer, primary_key=True),
    Column("asked_at", Float, nullable=False),
    Column("question", Text, nullable=False),
    Column("answered", Boolean, nullable=False),
    Column("entry_id", Text),
    Column("confidence", Float, nullable=False),
    Column("has_code", Boolean, nullable=False, server_default=text("false")),
    Column("took_ms", Integer, nullable=False, server_default=text("0")),
    # added by migration 2
    Column("session", String(200)),
    Column("refused", String(40)),
    Column("audience", String(20), nullable=False, server_default=text("'student'")),
    Column("context", JSON),
    Column("answer", JSON),
    sqlite_autoincrement=True,
)
feedback = Table(
    "feedback", metadata,
    Column("id", Integer, primary_key=True),
    Column("question_id", Integer, nullable=False),
    Column("given_at", Float, nullable=False),
    Column("score", Integer, nullable=False),
    Column("entry_id", Text),
    Column("comment", Text, nullable=False, server_default=text("''")),
    sqlite_autoincrement=True,
)

# -- the verification cache -----------------------------------------------------------------------
reports = Table(
    "reports", metadata,
    Column("key", String(64), primary_key=True),
    Column("report", Text, nullable=False),
    Column("created", Float, nullable=False),
)

Migration = Callable[[Connection], None]


def _questions_v1(conn: Connection) -> None:
    # The shape the log had before versioning: databases written then are adopted as they are.
    old = MetaData()
    Table("questions", old,
          Column("id", Integer, primary_key=True), Column("asked_at", Float, nullable=False),
          Column("question", Text, nullable=False), Column("answered", Boolean, nullable=False),
          Column("entry_id", Text), Column("confidence", Float, nullable=False),
          Column("has_code", Boolean, nullable=False, server_default=text("false")),
          Column("took_ms", Integer, nullable=False, server_default=text("0")),
          Index("questions_answered", "answered"), sqlite_autoincrement=True)
    Table("feedback", old,
          Column("id", Integer, primary_key=True), Column("question_id", Integer, nullable=False),
          Column("given_at", Float, nullable=False), Column("score", Integer, nullable=False),
          Column("entry_id", Text), Column("comment", Text, nullable=False, server_default=text("''")),
          sqlite_autoincrement=True)
    old.create_all(conn, checkfirst=True)


def _questions_v2(conn: Connection) -> None:
    """Conversations (session, context, answer), refusals, audience; one rating per question."""
    dialect = conn.dialect
    for name in ("session", "refused", "audience", "context", "answer"):
        column = questions.c[name]
        ddl = f"ALTER TABLE questions ADD COLUMN {name} {column.type.compile(dialect)}"
        if name == "audience":
            ddl += " NOT NULL DEFAULT 'student'"
        conn.exec_driver_sql(ddl)
    conn.exec_driver_sql("CREATE INDEX questions_session ON questions (session, id)")
    # Keep only the newest rating of each question, then let the database enforce it.
    conn.exec_driver_sql(
        "DELETE FROM feedback WHERE id NOT IN (SELECT MAX(id) FROM feedback GROUP BY question_id)")
    conn.exec_driver_sql("CREATE UNIQUE INDEX feedback_question ON feedback (question_id)")


def _cache_v1(conn: Connection) -> None:
    old = MetaData()
    Table("reports", old, Column("key", String(64), primary_key=True),
          Column("report", Text, nullable=False), Column("created", Float, nullable=False))
    old.create_all(conn, checkfirst=True)


class Component:
    """Tables that belong together and the migrations that build them, oldest first."""

    def __init__(self, name: str, migrations: list[Migration]) -> None:
        self.name = name
        self.migrations = migrations

    @property
    def version(self) -> int:
        return len(self.migrations)


QUESTIONS = Component("questions", [_questions_v1, _questions_v2])
CACHE = Component("cache", [_cache_v1])

# -- engines --------------------------------------------------------------------------------------
_engines: dict[str, Engine] = {}
_migrated: set[tuple[str, str]] = set()
_lock = threading.Lock()


def sqlite_url(path: Path) -> str:
    return URL.create("sqlite", database=str(path)).render_as_string()


def _normalise(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise SettingInvalid("COURSEBOT_DATABASE_URL is not a database URL.") from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.database:
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return parsed
    raise SettingInvalid("COURSEBOT_DATABASE_URL must be sqlite:///PATH or postgresql://USER@HOST/DB.")


def engine_for(url: str) -> Engine:
    """One engine per URL per process (PostgreSQL connections are pooled, SQLite's are not)."""
    with _lock:
        if url in _engines:
            return _engines[url]
        parsed = _normalise(url)
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, poolclass=NullPool, connect_args={"timeout": 60})
            event.listen(engine, "connect", _sqlite_connect)
            event.listen(engine, "begin", _sqlite_begin)
        else:
            engine = create_engine(parsed, pool_size=4, max_overflow=8, pool_pre_ping=True,
                                   pool_recycle=1800)
        _engines[url] = engine
        return engine


def _sqlite_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer takes the write lock up front: a deferred transaction that reads and then writes
    # fails at once ("database is locked") when another process committed meanwhile.
    write = conn.get_execution_options().get("coursebot_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def dispose(url: str | None = None) -> None:
    """Close the pooled connections of one URL (or of all): before a database server stops."""
    with _lock:
        for key in [url] if url is not None else list(_engines):
            engine = _engines.pop(key, None)
            if engine is not None:
                engine.dispose()
            _migrated.difference_update({m for m in _migrated if m[0] == key})


atexit.register(dispose)


@contextmanager
def transaction(url: str, *, write: bool = False) -> Iterator[Connection]:
    """A connection inside one transaction, committed on success and always closed."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            if write:
                conn = conn.execution_options(coursebot_write=True)
            with conn.begin():
                yield conn
    except SQLAlchemyError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        raise StorageUnavailable(shown, detail) from exc


def connect(url: str, component: Component) -> str:
    """Bring ``component``'s schema in the database at ``url`` up to date; returns the URL."""
    key = (url, component.name)
    if key in _migrated:
        return url
    with transaction(url, write=True) as conn:
        if conn.dialect.name == "postgresql":
            # Serialise concurrent first starts (transactional DDL keeps the rest atomic).
            conn.execute(text("SELECT pg_advisory_xact_lock(7320301)"))
        schema_version.create(conn, checkfirst=True)
        row = conn.execute(select(schema_version.c.version)
                           .where(schema_version.c.component == component.name)).first()
        current = int(row[0]) if row else 0
        if current > component.version:
            raise StorageUnavailable(
                conn.engine.url.render_as_string(hide_password=True),
                f"its {component.name} schema is version {current}, newer than this coursebot "
                f"({component.version}); upgrade coursebot")
        for step in component.migrations[current:]:
            step(conn)
        if current < component.version:
            values = {"version": component.version, "migrated_at": time.time()}
            if row:
                conn.execute(schema_version.update()
                             .where(schema_version.c.component == component.name).values(**values))
            else:
                conn.execute(insert(schema_version).values(component=component.name, **values))
    with _lock:
        _migrated.add(key)
    return url
