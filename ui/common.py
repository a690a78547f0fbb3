"""Shared Streamlit rendering for coursebot's pages: draws what the core returns, decides nothing."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import streamlit as st

from kb.core.settings import Settings
from ui import messages

if TYPE_CHECKING:
    from kb.answer import Answerer


class Loader:
    """Builds the Answerer (index, embedder, warm Keras workers) in a background thread, once per
    server process, so the page shows at once and the first question finds everything loaded."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.step = messages.LOADING_INDEX
        self.started = time.perf_counter()
        self.seconds: float | None = None
        self._answerer: Answerer | None = None
        self._error: BaseException | None = None
        self._done = threading.Event()
        self.keras_ready: threading.Event | None = None   # set once the Keras workers answered
        threading.Thread(target=self._load, name="coursebot-loader", daemon=True).start()

    def _load(self) -> None:
        try:
            from kb.answer import Answerer

            answerer = Answerer(self.settings)
            self.step = messages.LOADING_EMBEDDER
            answerer.searcher.search("LSTM", k=1)   # loads the embedder and the BM25 tokenizer
            self._answerer = answerer
            self.keras_ready = answerer.warm_up()   # then the Keras workers, in their own thread
        except BaseException as exc:
            self._error = exc
        finally:
            self.seconds = time.perf_counter() - self.started
            self._done.set()

    def wait(self) -> BaseException | None:
        """Block until loaded; the failure, if loading failed."""
        self._done.wait()
        return self._error

    @property
    def ready(self) -> bool:
        return self._done.is_set()

    def answerer(self) -> Answerer:
        self._done.wait()
        if self._error is not None:
            raise self._error
        assert self._answerer is not None   # set before _done
        return self._answerer


_LOADERS: dict[Settings, Loader] = {}
_LOCK = threading.Lock()


def loader_for(settings: Settings) -> Loader:
    """The process's loader for these settings, started on first use (``ui.serve`` starts it before
    the server listens; otherwise the first page view does)."""
    with _LOCK:
        if settings not in _LOADERS:
            _LOADERS[settings] = Loader(settings)
        return _LOADERS[settings]


@st.cache_resource(show_spinner=False)
def _loader() -> Loader:
    return loader_for(Settings.from_env())


def start_loading() -> None:
    """Begin loading in the background (app.py calls this on every run; only the first one starts it)."""
    _loader()


def loading_notice() -> bool:
    """While the index and the embedder load: a progress message that updates itself every second
    (False). Once they are ready: nothing, and no timer left running (True)."""
    if _loader().ready:
        return True
    _progress()
    return False


@st.fragment(run_every=1.0)
def _progress() -> None:
    loader = _loader()
    if loader.ready:
        st.rerun()   # the whole page again: the notice goes, its timer stops, the chat input opens
    seconds = time.perf_counter() - loader.started
    st.info(f"{loader.step} ({seconds:.0f}초)", icon=":material/hourglass_top:")


def answerer() -> Answerer:
    """One Answerer per server process: the index, the embedder and the warm Keras workers."""
    loader = _loader()
    if not loader.ready:
        with st.spinner(loader.step):
            return loader.answerer()
    return loader.answerer()


def settings() -> Settings:
    current: Settings = _loader().settings
    return current
