"""The first answer after the server starts, as a student sees it in headless Chromium.

Starts the app on an empty data folder (the index is built on this start, as on a fresh clone),
opens the page as soon as the server answers, asks one question the moment the chat box shows,
and prints the seconds until its answer is on screen -- then a second question (warm) for
comparison. ``--project DIR`` measures another checkout (e.g. an older commit); ``--launch
streamlit`` starts it with plain ``streamlit run app.py`` (what `make run` did before ui.serve).

    python bench/first_answer.py [--project DIR] [--launch serve|streamlit]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[1]
# The first question builds a configuration in Keras; the second builds another one, warm (the fair
# comparison for the first); the third needs no Keras at all.
QUESTIONS = (("LSTM(64) 뒤 Dense(64) 파라미터 수", "8,256"), ("GRU(32) 뒤 Dense(10) 파라미터 수", "330"),
             ("return_sequences True False 차이", "return_sequences"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ask(driver: webdriver.Chrome, question: str, expect: str, turn: int) -> float:
    box = WebDriverWait(driver, 300, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda d: next((b for b in d.find_elements(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")
                        if b.is_enabled()), None))   # disabled (with a progress notice) until loaded
    started = time.perf_counter()
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    WebDriverWait(driver, 300, poll_frequency=0.1).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")) >= 2 * turn
        and expect in d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']")[2 * turn - 1].text
        and not d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']"))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--launch", choices=["serve", "streamlit"], default="serve")
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds a student reads the page before asking (default: asks at once)")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "COURSEBOT_DATA_DIR": str(Path(tmp) / "var")}
        server = ([sys.executable, "-m", "ui.serve"] if args.launch == "serve"
                  else [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"])
        server += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
        t0 = time.perf_counter()
        log = open(Path(tmp) / "server.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(server, cwd=args.project, env=env, stdout=log, stderr=subprocess.STDOUT)
        options = webdriver.ChromeOptions()
        options.binary_location = shutil.which("chromium") or "chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"), options=options)
        try:
            url = f"http://127.0.0.1:{port}"
            while True:
                try:
                    if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.2)
            up = time.perf_counter() - t0
            driver.get(url)
            WebDriverWait(driver, 300).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']"))
            page = time.perf_counter() - t0
            WebDriverWait(driver, 300, ignored_exceptions=(StaleElementReferenceException,)).until(
                lambda d: any(b.is_enabled() for b in
                              d.find_elements(By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")))
            ready = time.perf_counter() - t0
            time.sleep(args.delay)
            first = ask(driver, *QUESTIONS[0], turn=1)
            warm_built = ask(driver, *QUESTIONS[1], turn=2)
            warm = ask(driver, *QUESTIONS[2], turn=3)
            print(f"server up {up:.1f} s · chat box shown {page:.1f} s · enabled {ready:.1f} s · first answer {first:.1f} s · "
                  f"warm answers: built {warm_built:.1f} s, no Keras {warm:.1f} s  ({args.project}, {args.launch}, asked {args.delay:g} s after the page showed)")
        finally:
            driver.quit()
            proc.terminate()
            proc.wait(timeout=30)
            log.close()
            for line in (Path(tmp) / "server.log").read_text().splitlines():
                if line.startswith("coursebot:"):
                    print("  server:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
