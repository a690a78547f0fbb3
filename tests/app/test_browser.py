"""End to end in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium)
against `streamlit run app.py` on localhost. Saves a screenshot under var/screenshots/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from kb.core.settings import PROJECT_ROOT
from tests.conftest import ENTRIES_DIR

pytestmark = [pytest.mark.browser, pytest.mark.sandbox]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on an empty data folder: the first start builds the index itself."""
    data = tmp_path / "var"
    port = free_port()
    env = {**os.environ, "COURSEBOT_DATA_DIR": str(data), "COURSEBOT_ENTRIES_DIR": str(ENTRIES_DIR)}
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--browser.gatherUsageStats", "false"],
                            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("streamlit did not come up: " + (tmp_path / "streamlit.log").read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "install chromium and chromium-driver (make sysdeps)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,2200", "--lang=ko-KR"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_student_asks_and_sees_the_answer_and_the_verification_table(server: str,
                                                                         browser: webdriver.Chrome) -> None:
    browser.get(server)
    wait = WebDriverWait(browser, 180)
    box = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")))
    box.send_keys("LSTM(64) 뒤 Dense(64) 파라미터 수")
    box.send_keys(Keys.ENTER)
    wait.until(lambda d: "8,256" in d.find_element(By.TAG_NAME, "body").text and
               "출처" in d.find_element(By.TAG_NAME, "body").text)
    expander = wait.until(ec.element_to_be_clickable(
        (By.XPATH, "//details[.//*[contains(text(), '검증: imdb-bilstm')]]/summary")))
    expander.click()
    table = wait.until(ec.visibility_of_element_located(
        (By.XPATH, "//details[@open]//*[@data-testid='stTable']")))
    wait.until(lambda d: "Bidirectional" in table.text and "8,256" in table.text)
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "출처: 001_" in body and "Keras 3" in body and "Keras 2" in body and "✓" in body
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "chat-answer.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000
