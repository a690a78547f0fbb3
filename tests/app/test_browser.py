"""End to end in a real headless Chromium (Debian's chromium + chromedriver, driven by Selenium)
against the app started the way `make run` starts it (``python -m ui.serve``) on an empty data folder.
Times the first answer after start (printed, not asserted) and writes the README's screenshots to
docs/."""

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
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from kb.core.settings import PROJECT_ROOT
from tests.conftest import ENTRIES_DIR

pytestmark = [pytest.mark.browser, pytest.mark.sandbox]
SCREENSHOTS = PROJECT_ROOT / "var" / "screenshots"   # git-ignored: a test run never changes a tracked file
PASSWORD = "browser-test-passphrase"
CHAT_BOX = (By.CSS_SELECTOR, "textarea[data-testid='stChatInputTextArea']")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`python -m ui.serve` (what `make run` runs) on an empty data folder and a private copy of the
    entries: the first start builds the index itself."""
    data, entries = tmp_path / "var", tmp_path / "entries"
    shutil.copytree(ENTRIES_DIR, entries)
    port = free_port()
    env = {**os.environ, "COURSEBOT_DATA_DIR": str(data), "COURSEBOT_ENTRIES_DIR": str(entries),
           "COURSEBOT_INSTRUCTOR_PASSWORD": PASSWORD}
    log = open(tmp_path / "streamlit.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "ui.serve", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
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
                "--window-size=1400,2400", "--lang=ko-KR"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def body(driver: webdriver.Chrome) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def messages(driver: webdriver.Chrome) -> list[WebElement]:
    return list(driver.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage']"))


def tab(driver: webdriver.Chrome, label: str) -> WebElement:
    found = driver.find_elements(By.XPATH, f"//*[@role='tab'][contains(., '{label}')]")
    assert found, driver.page_source[-3000:]
    return found[0]


def waiter(driver: webdriver.Chrome, poll: float = 0.5) -> WebDriverWait[webdriver.Chrome]:
    """A wait that looks again when Streamlit re-renders an element between finding and reading it."""
    return WebDriverWait(driver, 300, poll_frequency=poll, ignored_exceptions=(StaleElementReferenceException,))


def ask(driver: webdriver.Chrome, question: str, turn: int, expect: str = "") -> float:
    """Type a question; the seconds until its answer (turn n: message 2n) is on screen."""
    wait = waiter(driver, poll=0.1)
    started = time.perf_counter()
    for attempt in range(3):          # the page reruns once when loading ends: the box may be replaced
        box = wait.until(ec.element_to_be_clickable(CHAT_BOX))
        try:
            box.send_keys(question + Keys.ENTER)
            break
        except StaleElementReferenceException:
            if attempt == 2:
                raise
    wait.until(lambda d: len(messages(d)) >= 2 * turn and expect in messages(d)[2 * turn - 1].text
               and not d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']")
               and not d.find_elements(By.CSS_SELECTOR, "[data-testid='stChatMessage'] [data-testid='stExpanderIconSpinner']"))
    return time.perf_counter() - started


def test_a_student_gets_a_readable_verified_answer_and_follows_a_related_entry(
        server: str, browser: webdriver.Chrome) -> None:
    opened = time.perf_counter()
    browser.get(server)
    wait = waiter(browser)
    wait.until(ec.element_to_be_clickable(CHAT_BOX))       # disabled, with a progress notice, until loaded
    print(f"\nchat input open {time.perf_counter() - opened:.1f} s after the page was requested")
    assert "강사 페이지" not in body(browser)               # not in the students' navigation
    assert "이런 질문을 해 보세요" in body(browser)            # example questions on an empty chat
    first = ask(browser, "LSTM(64) 뒤 Dense(64) 파라미터 수", 1, "8,256")
    print(f"first answer after the chat input opened: {first:.1f} s")
    answer = messages(browser)[1]
    assert "강의 Q&A 게시판 · IMDB 감성 분석 실습 모델 질문" in answer.text and ".txt" not in answer.text
    assert "확신도" not in answer.text and " ms" not in answer.text
    expander = answer.find_element(By.XPATH, ".//details[.//*[contains(text(), '검증: imdb-bilstm')]]/summary")
    expander.click()
    table = wait.until(ec.visibility_of_element_located((By.XPATH, "//details[@open]//*[@data-testid='stTable']")))
    wait.until(lambda d: "Bidirectional" in table.text and "8,256" in table.text)
    text = body(browser)
    assert "Keras 3" in text and "Keras 2" in text and "✓ 답변의 8,256" in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", messages(browser)[0])
    time.sleep(0.5)
    browser.save_screenshot(str(SCREENSHOTS / "chat-answer.png"))   # docs/ holds the README's copy
    related = answer.find_elements(By.XPATH, ".//button[starts-with(@data-testid, 'stBaseButton')]"
                                             "[ancestor::*[contains(@class, 'st-key-related-')]]")
    assert related, "no related-entry button"
    label = related[0].text.strip().splitlines()[-1]   # the text without the icon's name
    related[0].click()
    wait.until(lambda d: len(messages(d)) >= 4 and label in messages(d)[2].text
               and not d.find_elements(By.CSS_SELECTOR, "[data-testid='stStatusWidget']"))
    assert messages(browser)[3].text.strip()


def test_the_instructor_unlocks_the_page_and_turns_a_gap_into_an_entry_that_answers(
        server: str, browser: webdriver.Chrome) -> None:
    browser.get(server)
    for n, q in enumerate(("파이토치로 LSTM 만드는 법", "PyTorch에서 LSTM 구현 방법", "파이토치 LSTM 예제",
                           "김치찌개 끓이는 법"), 1):
        ask(browser, q, n, "찾지 못했습니다")
    browser.get(f"{server}/instructor")
    wait = waiter(browser)
    secret = wait.until(ec.element_to_be_clickable((By.CSS_SELECTOR, "input[type='password']")))
    assert "항목 추가" not in body(browser)                   # locked: only the passphrase box
    secret.send_keys(PASSWORD + Keys.ENTER)
    wait.until(lambda d: "커버리지 공백" in body(d))
    tab(browser, "커버리지 공백").click()
    wait.until(lambda d: "3번 물음" in body(d) and "김치찌개" in body(d))
    browser.set_window_size(1400, 1000)
    time.sleep(0.5)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / "instructor-gaps.png"))
    browser.set_window_size(1400, 2400)
    browser.find_element(By.XPATH, "//*[contains(@class, 'st-key-draft-0')]//button").click()
    wait.until(lambda d: "초안을" in body(d))
    tab(browser, "항목 추가").click()
    editor = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, ".st-key-entry_yaml textarea")))
    todo = "TODO: 강사가 답을 씁니다. 숫자를 적으면 claims로 스니펫과 묶으세요."
    value = editor.get_attribute("value") or ""
    assert todo in value and "파이토치로 LSTM 만드는 법" in value
    start = value.index(todo)
    browser.execute_script("arguments[0].focus(); arguments[0].setSelectionRange(arguments[1], arguments[2]);",
                           editor, start, start + len(todo))
    editor.send_keys("이 강의는 Keras를 씁니다. PyTorch의 nn.LSTM은 다루지 않으니 Keras의 LSTM 레이어로 실습하세요.")
    editor.send_keys(Keys.CONTROL + Keys.ENTER)
    time.sleep(1)
    browser.find_element(By.XPATH, "//*[contains(@class, 'st-key-save')]//button").click()
    wait.until(lambda d: "저장했고" in body(d) or "저장하지 않았습니다" in body(d))
    assert "저장했고" in body(browser), body(browser)[-1500:]
    probe = browser.find_element(By.CSS_SELECTOR, ".st-key-probe input")
    probe.send_keys("PyTorch로 LSTM 구현하려면?" + Keys.ENTER)
    wait.until(lambda d: "답한 항목" in body(d) or "답하지 않았습니다" in body(d))
    assert "답한 항목" in body(browser) and "gap-" in body(browser)
