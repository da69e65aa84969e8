"""Browser tests: Debian's Chromium driven by Playwright against the real demo server on a fresh database.

They run once in CI (the SQLite pass); locally they skip when Chromium is not installed.
"""

import io
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from pathlib import Path

import pytest

from tests.core.test_demo import DEMO_PASSWORD, demo_env, free_port, wait_for_health
from tests.services import require_binary

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory):
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        pytest.skip("browser tests run once, in the SQLite pass")
    require_binary("chromium", CHROMIUM)
    home = tmp_path_factory.mktemp("browser-demo")
    port = free_port()
    process = subprocess.Popen(
        # No simulated device traffic: its random alarms would land on the console the journeys read.
        [sys.executable, "-m", "yiyang.cli", "demo", "--port", str(port), "--guardian-rate", "0"],
        cwd=home,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # The server's output (gunicorn's access log among it) is drained as it comes: an unread pipe
    # fills after ~64 KB (about 600 requests), then every server thread blocks on its next log line.
    # That, not the pages, stalled random page loads for minutes in full runs.
    tail: deque[str] = deque(maxlen=500)
    threading.Thread(target=tail.extend, args=(process.stdout,), daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_health(base, _NoOutput(process), seconds=240)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{''.join(tail)}") from None
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "demo-server.log").write_text("".join(tail))


class _NoOutput:
    """The demo process as wait_for_health sees it, its output being read by the drain thread."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self.returncode = None
        self.stdout = io.StringIO()

    def poll(self):
        self.returncode = self.process.poll()
        return self.returncode


@pytest.fixture(scope="session")
def browser():
    require_binary("chromium", CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, demo_server):
    contexts = []

    def make(*, width: int = 1280, height: int = 800, locale: str = "zh-CN", service_workers: str = "block", **options):
        # axe is injected into pages, so the test context bypasses the page's CSP for that.
        # Service workers only where a test is about them: a worker left controlling a scope is state
        # that later navigations would go through.
        context = browser.new_context(
            viewport={"width": width, "height": height},
            locale=locale,
            bypass_csp=True,
            base_url=demo_server,
            service_workers=service_workers,
            **options,
        )
        # Generous: on a 2-core CI machine the server shares the CPU with the browser.
        context.set_default_timeout(60_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def login(page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit].primary")
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"{username} could not log in"


def resolve_alert(page, alert_id: str) -> None:
    """As an operator: resolve an alert a test raised, so that the next help request raises a new one."""
    page.goto(f"/guardian/alerts/{alert_id}/")
    page.select_option("#id_outcome", index=1)
    page.click("form[action$='/resolve/'] button[type=submit]")
    page.wait_for_load_state()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]
