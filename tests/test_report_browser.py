"""report.html in a real browser: Debian's headless Chromium driven by Selenium.

Checks that every section renders, the images decode, the attention hover works, no
request leaves the page (performance entries and the DevTools network log hold only data:
URIs and the page itself), the console shows no error; a screenshot goes to tmp_path.
"""

import json
import shutil

import pytest

from attnlib.report import SECTIONS, write_report
from attnlib.report_project import build_report
from tests.report_project import make_project

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="no browser: Debian's chromium and chromium-driver are not installed "
    "(apt-get install chromium chromium-driver, as .ci/run does)",
)
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1200,900",
]  # fmt: skip


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(executable_path=DRIVER))
    drv.set_page_load_timeout(60)
    drv.get("about:blank")
    drv.get_log("performance")  # drop the browser's own start-up (new tab page) requests
    drv.get_log("browser")
    yield drv
    drv.quit()


def page_problems(drv, url: str) -> list[str]:
    """Requests that left the page and console errors, as readable lines."""
    problems = []
    entries = drv.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    problems += [f"resource loaded: {u}" for u in entries if not u.startswith("data:")]
    for entry in drv.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            u = msg["params"]["request"]["url"]
            if not (u.startswith("data:") or u == url):
                problems.append(f"request sent: {u}")
    problems += [
        f"console: {e['message']}" for e in drv.get_log("browser") if e["level"] == "SEVERE"
    ]
    return problems


def test_report_renders_offline_without_errors(tmp_path, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    project = make_project(tmp_path / "project")
    page = write_report(project / "report.html", build_report(project))
    url = page.resolve().as_uri()
    browser.get(url)
    for sid in set(SECTIONS) - {"experiments"}:
        el = browser.find_element(By.ID, sid)
        assert el.is_displayed() and el.size["height"] > 40, sid
        assert el.get_attribute("data-available") == "yes", sid
    decoded = "return Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
    assert browser.execute_script(decoded) == [True] * 5
    tok = browser.find_elements(By.CSS_SELECTOR, "#attention .tok")[3]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", tok)
    ActionChains(browser).move_to_element(tok).perform()
    tip = browser.find_element(By.ID, "tip")
    assert tip.is_displayed() and tip.text == "capital: 0.5000"
    assert page_problems(browser, url) == []
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def test_the_checks_catch_an_outside_request(tmp_path, browser):
    """The same checks on a page tampered with an image from elsewhere (loopback's discard
    port): the page's security policy blocks it and the console says so."""
    project = make_project(tmp_path / "project", with_trust=False)
    html = build_report(project).replace("</main>", '<img src="http://127.0.0.1:9/x.png"></main>')
    page = write_report(tmp_path / "tampered.html", html)
    browser.get(page.resolve().as_uri())
    problems = page_problems(browser, page.resolve().as_uri())
    assert any("127.0.0.1:9" in p for p in problems), problems
    assert not any("missed" in p for p in problems), problems
