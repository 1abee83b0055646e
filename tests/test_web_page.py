"""The web chat page at ``/``, driven in real headless Chromium (Debian's chromium and
chromium-driver, never a browser that downloads itself) against a real uvicorn on
127.0.0.1 over a small real index: the seed article and one hostile article."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_http_support import READ_KEY, CountingService, LiveServer, principal, with_http

from bot.http import create_app
from bot.http.auth import required_role
from bot.http.page import CSP, page_weight, read_assets
from retrieval.config import load_settings
from retrieval.embeddings import Embedder
from retrieval.service import NewsService

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "docs_store" / "2021-10-19-russia-nato-mission.txt"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
INSTALL = "apt-get install -y chromium chromium-driver (and pip install selenium)"
WAIT = 60  # seconds: generous, for a slow shared machine; a hang still fails

# Every payload sets a marker if it ever runs, besides the alert.
HOSTILE = (
    "title: Harbour bridge <img src=x onerror=\"window.pwned=1;alert('img')\"> reopens\n"
    "date: 2022-03-04\n"
    "source: <script>window.pwned=2</script>Gazette\n"
    "url: javascript:alert(1)\n\n"
    "The harbour bridge reopened on 3 March 2022 after repairs "
    "<script>window.pwned=3;alert('script')</script> "
    "<img src=x onerror=\"window.pwned=4;alert('onerror')\"> said the port authority.\n"
)

BUDGET = (
    "title: Council approves the budget\ndate: 2020-05-01\nsource: Example News\n"
    "url: https://example.org/2020/05/01/budget\n\n"
    "The city council approved the annual budget on Thursday by nine votes to four.\n"
)

os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never download anything


# --- the server ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> NewsService:
    root = tmp_path_factory.mktemp("web")
    docs = root / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    (docs / "2022-03-04-hostile.txt").write_text(HOSTILE, encoding="utf-8")
    (docs / "2020-05-01-budget.txt").write_text(BUDGET, encoding="utf-8")
    cfg = root / "config.yaml"
    cfg.write_text("paths:\n  docs: [docs]\n  index_dir: index\n", encoding="utf-8")
    service = NewsService(load_settings(cfg), embedder)
    service.ingest(progress=False)
    return service


@pytest.fixture(scope="module")
def counting(web_service: NewsService) -> CountingService:
    return CountingService(web_service)


def _app(counting: CountingService, **http: Any) -> Any:
    settings = with_http(counting.settings, rate_limit_per_minute=100_000, **http)
    return create_app(counting, settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def live(counting: CountingService) -> Iterator[LiveServer]:
    with LiveServer(_app(counting)) as server:
        yield server


class PortServer(LiveServer):
    """A LiveServer on a given port (to bring a stopped server back where the page expects)."""

    def __init__(self, app: Any, port: int) -> None:
        super().__init__(app)
        self.sock.close()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.fail(f"selenium is not installed: {INSTALL}")
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: {INSTALL}")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_script_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def _viewport(driver: Any, width: int, height: int, mobile: bool = False) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def _by(css: str) -> tuple[str, str]:
    from selenium.webdriver.common.by import By

    return (By.CSS_SELECTOR, css)


def _wait(driver: Any, condition: Callable[[Any], Any], what: str) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT, poll_frequency=0.05).until(condition, message=what)


def _visible(driver: Any, css: str) -> Any:
    from selenium.webdriver.support import expected_conditions as ec

    return _wait(driver, ec.visibility_of_element_located(_by(css)), f"{css} visible")


def _text_in(driver: Any, css: str, text: str) -> None:
    from selenium.webdriver.support import expected_conditions as ec

    _wait(driver, ec.text_to_be_present_in_element(_by(css), text), f"{text!r} in {css}")


def _open(driver: Any, url: str, key: str | None = READ_KEY) -> None:
    """A fresh page (empty storage), the key entered when one is given."""
    _viewport(driver, 1280, 800)
    driver.get(url + "/")
    driver.execute_script("localStorage.clear(); sessionStorage.clear();")
    driver.get(url + "/")
    if key is not None:
        field = _visible(driver, "#key-input")
        field.send_keys(key)
        field.submit()
        _wait(driver, lambda d: not d.find_element(*_by("#key-form")).is_displayed(), "key ok")


def _ask(driver: Any, question: str, turns: int) -> Any:
    """Type the question, press Enter, wait for turn number ``turns`` to settle."""
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(*_by("#question"))
    box.send_keys(question, Keys.ENTER)
    css = f"#transcript > li:nth-child({turns}) .bot"
    _wait(
        driver,
        lambda d: (
            len(d.find_elements(*_by(css))) == 1
            and d.find_element(*_by(css)).get_attribute("aria-busy") is None
        ),
        f"turn {turns} settled",
    )
    return driver.find_element(*_by(css))


def _no_alert(driver: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - reading it is the check


def _shot(driver: Any, path: Path) -> None:
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 1000


# --- no browser needed ---------------------------------------------------------------------


def test_page_and_assets_are_public_with_strict_headers(live: LiveServer) -> None:
    for path in ("/", "/web/app.js", "/web/app.css"):
        assert required_role("GET", path) is None
        r = httpx.get(live.url + path)
        assert r.status_code == 200, path
        assert r.headers["content-security-policy"] == CSP
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
    assert "unsafe-inline" not in CSP and "frame-ancestors 'none'" in CSP
    assert httpx.get(live.url + "/").headers["content-type"].startswith("text/html")
    assert httpx.get(live.url + "/web/app.js").headers["content-type"].startswith("text/javascript")
    # Only the shipped names are served; everything else under /web/ is a 404, not a file.
    for path in ("/web/index.html", "/web/%2e%2e%2fauth.py", "/web/page.py", "/web/x.js"):
        assert httpx.get(live.url + path).status_code == 404, path
    # The API stays behind the key.
    assert httpx.get(live.url + "/v1/articles").status_code == 401
    assert "/" not in httpx.get(live.url + "/openapi.json").json()["paths"]


def test_page_weight_and_no_other_origin() -> None:
    assets = read_assets()
    assert page_weight() <= 100_000
    html = assets["index.html"].decode()
    assert "<script>" not in html and "<style" not in html  # the CSP allows neither inline
    assert re.search(r"\son[a-z]+\s*=", html) is None and "style=" not in html
    for name, body in assets.items():
        text = body.decode()
        assert "http://" not in text and "https://" not in text, name  # no other origin
        assert re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|DOMParser", text) is None
        assert "document.write" not in text and "eval(" not in text, name


# --- in the browser ------------------------------------------------------------------------

_A11Y = (Path(__file__).parent / "web_checks.js").read_text(encoding="utf-8")


def _accessibility(driver: Any) -> None:
    result = driver.execute_script(_A11Y)
    assert result["checked"] > 5
    assert result["problems"] == []


@pytest.mark.slow
def test_seed_question_streams_a_cited_answer_with_its_source_card(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    _open(browser, live.url)
    _accessibility(browser)
    bot = _ask(browser, "When is the accreditation withdrawn?", 1)
    assert "November 1, 2021" in bot.find_element(*_by(".text")).text
    assert bot.find_elements(*_by(".sources .source-card"))
    # The first streamed content was timed by the page (what the benchmark reads).
    assert browser.execute_script("return performance.getEntriesByName('newsbot-first').length")
    bot.find_element(*_by("button.cite")).click()
    card = _visible(browser, "#source")
    assert card.find_element(*_by("#source-date")).text == "2021-10-19"
    assert "November 1, 2021" in card.find_element(*_by("mark#source-quote")).text
    assert card.find_element(*_by("#source-link-row")).is_displayed() is False  # no URL known
    _accessibility(browser)
    _shot(browser, tmp_path / "source-card.png")
    from selenium.webdriver.common.keys import Keys

    browser.find_element(*_by("#source-close")).send_keys(Keys.ESCAPE)
    _wait(browser, lambda d: not d.find_element(*_by("#source")).is_displayed(), "card closed")
    _accessibility(browser)
    _shot(browser, tmp_path / "desktop.png")
    _viewport(browser, 390, 844, mobile=True)
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390  # nothing sideways at phone width
    _shot(browser, tmp_path / "phone.png")
    _accessibility(browser)
    # Nothing was requested from another origin.
    names = browser.execute_script(
        "return performance.getEntriesByType('resource').map((e) => e.name)"
    )
    assert names and all(n.startswith(live.url + "/") for n in names)


@pytest.mark.slow
def test_follow_up_reload_and_new_chat(
    browser: Any, live: LiveServer, counting: CountingService
) -> None:
    from bot.http.auth import session_key

    _open(browser, live.url)
    _ask(browser, "Who is Jens Stoltenberg?", 1)
    bot = _ask(browser, "What did he decide on 6 October?", 2)
    assert "Read as: What did Jens Stoltenberg decide on 6 October?" in bot.text
    sid = browser.execute_script("return JSON.parse(localStorage.getItem('newsbot.session'))")
    owner = principal(live.app, READ_KEY)
    assert len(counting.sessions.history(session_key(owner, sid))) == 2

    browser.refresh()
    _text_in(browser, "#transcript > li:nth-child(2)", "Read as: What did Jens Stoltenberg")
    assert "Who is Jens Stoltenberg?" in browser.find_element(*_by("#transcript")).text
    assert "What did he decide" in browser.find_element(*_by("#recent-list")).text
    bot = _ask(browser, "What did he decide on 6 October?", 3)  # still in context
    assert "Read as: What did Jens Stoltenberg decide on 6 October?" in bot.text

    browser.find_element(*_by("#new-chat")).click()
    _text_in(browser, "#status-text", "New chat started.")
    assert browser.find_elements(*_by("#transcript > li")) == []
    assert counting.sessions.history(session_key(owner, sid)) == []  # the server forgot
    assert browser.execute_script(
        "return JSON.parse(localStorage.getItem('newsbot.session'))"
    ) not in (sid, None)
    bot = _ask(browser, "What did he decide on 6 October?", 1)
    assert "Read as" not in bot.text  # no context any more
    browser.refresh()
    assert len(browser.find_elements(*_by("#transcript > li"))) == 1


@pytest.mark.slow
def test_keyboard_shift_enter_and_escape(
    browser: Any, live: LiveServer, counting: CountingService
) -> None:
    from selenium.webdriver.common.keys import Keys

    _open(browser, live.url)
    box = browser.find_element(*_by("#question"))
    box.send_keys("first line", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "second line")
    assert box.get_attribute("value") == "first line\nsecond line"
    assert browser.find_elements(*_by("#transcript > li")) == []
    box.clear()
    counting.delay = 5.0  # a slow answer, to cancel
    try:
        box.send_keys("When is the accreditation withdrawn?", Keys.ENTER)
        _visible(browser, "#stop")
        box.send_keys(Keys.ESCAPE)
        _text_in(browser, "#transcript > li:nth-child(1) .bot", "Stopped")
    finally:
        counting.delay = 0.0
    assert browser.find_element(*_by("#send")).is_enabled()
    assert "November 1, 2021" not in browser.find_element(*_by("#transcript")).text


@pytest.mark.slow
def test_hostile_article_renders_inertly(browser: Any, live: LiveServer, tmp_path: Path) -> None:
    _open(browser, live.url)
    bot = _ask(browser, "When did the harbour bridge reopen?", 1)
    card = bot.find_element(*_by(".sources .source-card"))
    assert "<img src=x onerror=" in card.text  # shown literally
    card.click()
    dialog = _visible(browser, "#source")
    assert "<script>window.pwned=3" in dialog.find_element(*_by("#source-quote")).text
    assert "<script>window.pwned=2</script>Gazette" in dialog.text
    assert not dialog.find_element(*_by("#source-link-row")).is_displayed()  # javascript: URL
    _shot(browser, tmp_path / "hostile.png")
    browser.find_element(*_by("#source-close")).click()
    browser.find_element(*_by("#show-articles")).click()
    _text_in(browser, "#article-list", "Harbour bridge <img src=x")
    _no_alert(browser)
    injected = browser.execute_script(
        "return document.querySelectorAll('body img, body script:not([src]), [onerror]').length"
    )
    assert injected == 0
    assert browser.execute_script("return window.pwned === undefined")


@pytest.mark.slow
def test_articles_view_lists_searches_newest_first(browser: Any, live: LiveServer) -> None:
    _open(browser, live.url)
    browser.find_element(*_by("#show-articles")).click()
    _text_in(browser, "#article-count", "3 of 3 articles")
    items = [li.text for li in browser.find_elements(*_by("#article-list li"))]
    assert [d for li in items for d in re.findall(r"\d{4}-\d\d-\d\d", li)] == [
        "2022-03-04",
        "2021-10-19",
        "2020-05-01",
    ]  # newest first
    assert "Example News" in items[2]
    search = browser.find_element(*_by("#article-search"))
    search.send_keys("nato")
    _text_in(browser, "#article-count", "1 of 3 articles")
    assert "Russia has suspended" in browser.find_element(*_by("#article-list")).text
    _accessibility(browser)
    # The checks do catch what they look for.
    browser.execute_script(
        "const p = document.createElement('p'); p.textContent = 'faint'; p.style.color = '#aaa';"
        "const i = document.createElement('input'); i.id = 'bare';"
        "document.body.append(p, i); document.documentElement.lang = '';"
    )
    problems = browser.execute_script(_A11Y)["problems"]
    assert "html has no lang" in problems and "unlabelled bare" in problems
    assert "outside landmarks: faint" in problems
    assert any(p.startswith("contrast 2.") and p.endswith("faint") for p in problems)


@pytest.mark.slow
def test_wrong_key_is_a_clear_message_and_no_answer(
    browser: Any, live: LiveServer, counting: CountingService, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys

    asked = counting.asked
    _open(browser, live.url, key=None)
    field = _visible(browser, "#key-input")
    field.send_keys("not-the-right-key-000")
    field.submit()
    _text_in(browser, "#status-text", "The server refused the API key (wrong API key)")
    assert browser.find_element(*_by("#key-form")).is_displayed()
    _accessibility(browser)
    browser.find_element(*_by("#question")).send_keys("When is the accreditation withdrawn?")
    browser.find_element(*_by("#question")).send_keys(Keys.ENTER)
    assert "November" not in browser.find_element(*_by("#transcript")).text
    assert counting.asked == asked  # nothing reached the service

    # A key that was accepted once and is later refused: the turn says so, no answer.
    browser.execute_script("sessionStorage.setItem('newsbot.key', 'another-wrong-key-00')")
    bot = _ask(browser, "When is the accreditation withdrawn?", 1)
    assert "The server refused the API key" in bot.text and "No answer" in bot.text
    assert "November" not in bot.text and counting.asked == asked
    assert browser.find_element(*_by("#key-form")).is_displayed()
    _viewport(browser, 390, 844, mobile=True)
    _shot(browser, tmp_path / "wrong-key-phone.png")


@pytest.mark.slow
def test_page_without_keys_when_auth_is_disabled(browser: Any, counting: CountingService) -> None:
    with LiveServer(_app(counting, api_keys=[], admin_keys=[], auth_disabled=True)) as server:
        _open(browser, server.url, key=None)
        bot = _ask(browser, "When is the accreditation withdrawn?", 1)
        assert "November 1, 2021" in bot.text
        assert not browser.find_element(*_by("#key-form")).is_displayed()


@pytest.mark.slow
def test_server_down_is_a_clear_message_and_retry_works(
    browser: Any, counting: CountingService, tmp_path: Path
) -> None:
    first = LiveServer(_app(counting))
    port = first.port
    with first:
        _open(browser, first.url)
    # The server is gone; the page is still open.
    bot = _ask(browser, "When is the accreditation withdrawn?", 1)
    assert "Cannot reach the newsbot server" in bot.text
    retry = bot.find_element(*_by("button.retry"))
    _shot(browser, tmp_path / "server-down.png")
    with PortServer(_app(counting), port):
        retry.click()
        _text_in(browser, "#transcript > li:nth-child(1) .bot .text", "November 1, 2021")
    assert len(browser.find_elements(*_by("#transcript > li"))) == 1
    stored = browser.execute_script("return localStorage.getItem('newsbot.transcript')")
    assert json.loads(stored)[0]["answer"]["text"].startswith("On November 1, 2021")


@pytest.mark.slow
def test_source_card_links_only_http_urls(browser: Any, live: LiveServer) -> None:
    _open(browser, live.url)
    bot = _ask(browser, "When did the council approve the budget?", 1)
    bot.find_element(*_by("button.cite")).click()
    link = _visible(browser, "#source-link")
    assert link.get_attribute("href") == "https://example.org/2020/05/01/budget"
    assert link.get_attribute("rel") == "noopener noreferrer"
    assert "Example News" in browser.find_element(*_by("#source-outlet")).text


# An Answer with the time, conflict and copies fields (the page renders them when present);
# every value is hostile, and a citation carries a javascript: URL.
_EXTENDED = {
    "question": "How many died?",
    "standalone_question": "How many died?",
    "text": "Reports differ [1] [2] [9].",
    "citations": [
        {
            "n": 1,
            "article_id": "a",
            "title": "<b>A</b>",
            "date": "2024-05-01",
            "source": "A",
            "url": "javascript:window.pwned=5",
            "quote": "<img src=x onerror=window.pwned=6> 12",
            "chunk_id": "a#0",
            "score": 0.9,
        },
        {
            "n": 2,
            "article_id": "b",
            "title": "B",
            "date": "2024-05-02",
            "source": "B",
            "url": None,
            "quote": "14 died",
            "chunk_id": "b#0",
            "score": 0.8,
            "also": [
                {"source": "<b>AP</b>", "date": "2024-05-03", "url": None, "article_id": "c"},
                {"source": "Yahoo News", "date": None, "url": None, "article_id": "d"},
            ],
        },
    ],
    "abstained": False,
    "as_of": "2024-05-02",
    "asked_on": "2024-05-10",
    "window": {"since": "2024-05-01", "until": "2024-05-07", "reading": "publication"},
    "conflict": {
        "kind": "disagreement",
        "values": [
            {
                "value": "<img src=x onerror=window.pwned=7>12",
                "role": "disputed",
                "citations": [1],
                "dates": ["2024-05-01"],
                "sources": ["<i>A</i>"],
            },
            {
                "value": "14",
                "role": "disputed",
                "citations": [2],
                "dates": ["2024-05-02"],
                "sources": ["B"],
            },
        ],
    },
    "timeline": [
        {"date": "2024-05-01", "text": "Storm hits [1]"},
        {"date": "2024-05-02", "text": "Toll rises", "citations": [2]},
    ],
}


@pytest.mark.slow
def test_time_window_conflict_and_timeline_render_when_present(
    browser: Any, live: LiveServer, tmp_path: Path
) -> None:
    _open(browser, live.url)
    browser.execute_script(
        "const li = document.createElement('li'); li.id = 'probe';"
        "const box = document.createElement('div'); li.append(box);"
        "document.getElementById('transcript').append(li); renderAnswer(box, arguments[0]);",
        _EXTENDED,
    )
    probe = _visible(browser, "#probe")
    text = probe.text
    assert "As of 2024-05-02 · asked on 2024-05-10" in text
    assert "window 2024-05-01 – 2024-05-07 (publication dates)" in text
    assert "Reports differ" in text
    values = probe.find_elements(*_by(".conflict .values li"))
    assert [v.text for v in values] == [
        "<img src=x onerror=window.pwned=7>12 [1] — <i>A</i>, 2024-05-01 (disputed)",
        "14 [2] — B, 2024-05-02 (disputed)",
    ]
    assert "also: <b>AP</b> (2024-05-03), Yahoo News" in text
    assert "[9]" in text  # a marker naming no citation stays text, not a button
    dates = [t.text for t in probe.find_elements(*_by(".timeline time"))]
    assert dates == ["2024-05-01", "2024-05-02"]
    probe.find_elements(*_by(".conflict button.cite"))[0].click()
    _visible(browser, "#source")
    assert not browser.find_element(*_by("#source-link-row")).is_displayed()  # javascript:
    assert not browser.find_element(*_by("#source-also")).is_displayed()
    browser.find_element(*_by("#source-close")).click()
    probe.find_elements(*_by(".conflict button.cite"))[1].click()
    _visible(browser, "#source")
    also = browser.find_element(*_by("#source-also"))
    assert also.text == "also: <b>AP</b> (2024-05-03), Yahoo News"
    _shot(browser, tmp_path / "extended.png")
    _no_alert(browser)
    assert browser.execute_script("return window.pwned === undefined")
    assert not browser.find_elements(*_by("#probe img, #probe b, #probe i"))


@pytest.mark.slow
def test_focus_order_follows_the_page(browser: Any, live: LiveServer) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    _open(browser, live.url)
    first = browser.execute_script(
        "return document.querySelector('a[href], button:not([hidden]), textarea, input').className"
    )
    assert first == "skip"  # the first stop: skip to the question
    browser.execute_script("document.querySelector('.skip').focus()")
    seen = ["skip"]
    for _ in range(5):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        seen.append(
            browser.execute_script("const e = document.activeElement; return e.id || e.className")
        )
    assert seen == ["skip", "show-chat", "show-articles", "new-chat", "question", "send"]
    ActionChains(browser).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(Keys.SHIFT).perform()
    assert browser.execute_script("return document.activeElement.id") == "question"
