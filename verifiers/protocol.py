"""The JSON shapes exchanged with a Keras worker (stdlib only: the worker imports this too).

    worker  -> service   Hello          one line when the worker is ready
    service -> worker    Request        one line per snippet (several may be under way at once)
    worker  -> service   Reply          one line per snippet, in any order, matched by ``id``

``Reply.raw`` is what the snippet's own process wrote as its result: untrusted text that the
service validates (``verifiers/validate.py``) before believing a single number in it. Everything
else in a reply is the worker's own observation, never the snippet's word.
"""

from __future__ import annotations

from typing import Literal, TypedDict

RESULT_CAP = 64 * 1024  # bytes of a snippet's whole result, stdout included
STDOUT_CAP = 4 * 1024  # characters of a snippet's printed output kept
CODE_CAP = 256 * 1024  # bytes of a snippet's source

Outcome = Literal["done", "timeout", "cpu", "crashed", "no_result", "too_large", "fork_hang", "worker_error"]
# Anomalies are reasons to replace the worker process; only the worker reports them.
Anomaly = Literal["fork_hang", "cleanup", "template_lost"]


class Hello(TypedDict):
    ready: bool
    keras_version: str
    tf_version: str
    uid_isolation: bool


class Request(TypedDict):
    id: int
    code: str
    timeout: float
    mem_mb: int
    aside_after: float   # seconds after which a still-running snippet drops to the lowest CPU priority (0 = never)


class Reply(TypedDict):
    id: int
    outcome: Outcome
    raw: str
    signal: int | None
    took_ms: int
    anomaly: Anomaly | None


class ErrorDict(TypedDict):
    type: str
    message: str
    line: int | None


class ChildResult(TypedDict):
    """What the snippet's process sends (if it is honest): see ``verifiers/validate.py``."""

    ok: bool
    models: list[dict[str, object]]
    tensors: list[dict[str, object]]
    layers: list[dict[str, object]]
    error: ErrorDict | None
    stdout: str


class Spawn(TypedDict):
    """Worker -> template: fork one child (the result pipe's write end travels as an fd)."""

    seq: int
    jobdir: str
    uid: int | None
    timeout: float
    mem_mb: int
    aside_after: float


UID_BLOCK = 1000  # uids per Keras major: 61000-61999 for Keras 3, 62000-62999 for Keras 2
UID_BASES = {"3": 61000, "2": 62000}
# A snippet still running ``aside_after`` seconds after it started (COURSEBOT_VERIFY_ASIDE_AFTER) gets
# the lowest CPU priority (every thread of its process group): a loop that runs to its timeout then
# takes only the CPU that the snippets started after it leave idle.
LOWEST_PRIORITY = 19
SLOT_PREFIX = "slot"  # /scratch/slot0, slot1, ...: one size-limited folder per snippet running at once
