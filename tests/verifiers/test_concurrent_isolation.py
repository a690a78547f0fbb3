"""Two students' snippets at once in one worker: whatever the first does, the second gets its own result.

The attacker runs past the AST policy and with the audit hook off (only the OS layer is left), at the
same time as a classmate's snippet that sleeps and then builds a Dense layer with known numbers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kb.core.settings import Settings
from tests.verifiers.helpers import MAJORS, UNHOOK

pytestmark = pytest.mark.sandbox

# The classmate: runs ~1.5 s, then builds Dense(7) on 3 features (28 parameters).
VICTIM = ("import time\ntime.sleep(1.5)\nimport tensorflow as tf\nd = tf.keras.layers.Dense(7)\n"
          "y = d(tf.zeros((2, 3)))\n")

ATTACKS = [
    # Every process it can signal, at once (kill(-1) skips only itself and init).
    ("kill-everyone", "import os, signal\ntry:\n    os.kill(-1, signal.SIGKILL)\nexcept OSError as e:\n    print(e)\n"),
    # Every pid it can see, one by one, and what it could read of each.
    ("kill-and-read-each", "import os, signal\nme = os.getpid()\nseen = []\n"
     "for p in os.listdir('/proc'):\n    if p.isdigit() and int(p) != me:\n        seen.append(p)\n"
     "        try:\n            print(open(f'/proc/{p}/cmdline', 'rb').read()[:200])\n        except OSError:\n            pass\n"
     "        for part in ('environ', 'mem', 'cwd/snippet.py', 'root/scratch'):\n            try:\n"
     "                data = open(f'/proc/{p}/{part}', 'rb').read(64)\n                print('LEAK', p, part, data)\n"
     "            except OSError:\n                pass\n"
     "        try:\n            os.kill(int(p), signal.SIGKILL)\n        except OSError:\n            pass\n"
     "print('seen', seen)\n"),
    # Every scratch folder it can name: list, read and overwrite the classmate's files.
    ("other-scratch", "import os\nfor root in ('/scratch', '/tmp', '/'):\n    try:\n        print(root, os.listdir(root))\n"
     "    except OSError as e:\n        print(root, e)\nfor n in range(8):\n    d = f'/scratch/slot{n}'\n"
     "    try:\n        for f in os.listdir(d):\n            open(os.path.join(d, f), 'w').write('import sys\\nsys.exit(3)\\n')\n"
     "    except OSError as e:\n        print(d, e)\n"),
    # A forged report on every descriptor it can write to, hoping one is the classmate's channel.
    ("forge-reports", "import os, json\nfake = json.dumps({'ok': True, 'models': [], 'tensors': [], 'layers': [{'var': 'd', "
     "'class': 'Dense', 'params': 999999, 'weights': []}], 'error': None, 'stdout': ''})\n"
     "for fd in range(3, 64):\n    try:\n        os.write(fd, (fake + '\\n').encode())\n    except OSError:\n        pass\n"),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from verifiers import Verifier

    v = Verifier(Settings(data_dir=tmp_path_factory.mktemp("isolation-var"), verify_timeout=20.0,
                          verify_memory_mb=1024, verify_concurrency=2))
    yield v
    v.close()


@pytest.mark.parametrize("major", MAJORS)
@pytest.mark.parametrize(("name", "attack"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_a_hostile_snippet_cannot_touch_a_concurrent_classmates_result(pair: Any, major: str, name: str,
                                                                       attack: str) -> None:
    worker = pair.worker(major)
    results: dict[str, Any] = {}

    def victim() -> None:
        results["victim"] = worker.run(VICTIM)

    thread = threading.Thread(target=victim)
    thread.start()
    deadline = time.monotonic() + 60
    while worker._inflight < 1:          # the classmate's snippet is running
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.3)
    results["attacker"] = worker.run(UNHOOK + attack)
    thread.join(timeout=120)
    got = results["victim"]
    assert got.get("error") is None, (name, got.get("error"), results["attacker"])
    assert [(la["class"], la["params"]) for la in got["layers"]] == [("Dense", 28)], got
    assert worker.alive
    assert "LEAK" not in (results["attacker"].get("stdout") or ""), results["attacker"]
    # and the next snippet runs normally
    after = pair.verify("import tensorflow as tf\nd = tf.keras.layers.Dense(2)\ny = d(tf.zeros((1, 3)))\n",
                        (major,), use_cache=False)[0]
    assert after.ok and after.layers[0].params == 8, after
