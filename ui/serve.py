"""`make run`: start loading the index, the embedder and the Keras workers, then start the server.

Streamlit runs ``app.py`` only when a browser connects; started from here, the loading runs in this
same process while the server comes up, so the first question after the page shows is answered
about as fast as a warm one. Extra arguments go to ``streamlit run``.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def _report(loader: object) -> None:
    from ui.common import Loader

    assert isinstance(loader, Loader)
    error = loader.wait()
    state = "ready" if error is None else f"failed ({error})"
    print(f"coursebot: index and embedder {state} after {loader.seconds or 0:.1f} s", file=sys.stderr, flush=True)
    if error is None and loader.keras_ready is not None and loader.keras_ready.wait(300):
        answerer = loader.answerer()
        print(f"coursebot: Keras workers ready after {answerer.warm_seconds or 0:.1f} s more", file=sys.stderr,
              flush=True)


def main() -> int:
    from kb.core.settings import Settings

    started = time.perf_counter()
    sys.path.insert(0, str(APP.parent))
    from ui.common import loader_for

    loader = loader_for(Settings.from_env())
    print(f"coursebot: loading the index and the embedder in the background ({time.perf_counter() - started:.1f} s)…",
          file=sys.stderr, flush=True)
    threading.Thread(target=_report, args=(loader,), daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), "--server.headless", "true", *sys.argv[1:]]
    result: int = cli.main()
    return result


if __name__ == "__main__":
    sys.exit(main())
