"""A student's pasted code waits its turn in the verifier's fair queue, and the chat is told its place."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from kb.core.settings import Settings

pytestmark = pytest.mark.sandbox

LOOP = "while True:\n    pass\n"
PASTED = ("이 코드에서 Dense 파라미터는 몇 개인가요?\n```python\n"
          "from tensorflow.keras.layers import Input, Dense\nfrom tensorflow.keras.models import Model\n"
          "x = Input(shape=(3,))\nmodel = Model(x, Dense(7)(x))\n```")


@pytest.fixture
def one_slot(built_index: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from verifiers import Verifier

    settings = Settings(data_dir=built_index.data_dir, entries_dir=built_index.entries_dir,
                        verify_timeout=4.0, verify_memory_mb=1024, verify_concurrency=1,
                        keras_versions=("3",))
    v = Verifier(replace(settings, data_dir=tmp_path_factory.mktemp("queue-var")))
    yield settings, v
    v.close()


def _until(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_pasted_code_reports_its_queue_position_and_still_runs(one_slot: Any) -> None:
    from kb.answer import Answerer

    settings, verifier = one_slot
    assert verifier.verify("a = 1\n", ("3",), use_cache=False)[0].ok   # warm worker
    answerer = Answerer(settings, verifier=verifier, log=False)
    loop = threading.Thread(target=lambda: verifier.verify(LOOP, ("3",), use_cache=False, session="other"))
    loop.start()
    _until(lambda: verifier.queue("3").running == 1)
    positions: list[int] = []
    out = answerer.answer(PASTED, session="me", on_wait=positions.append)
    loop.join()
    assert positions and positions[0] == 1          # "앞에 1개의 코드가 실행 중입니다"
    pasted = next(v for v in out.model_dump(mode="json")["verifications"] if v["source"] == "pasted")
    run = pasted["runs"][0]
    assert run["ok"] and run["models"][0]["total_params"] == 28
