"""Browser tests: Debian's Chromium driven by Playwright against the real demo server on a fresh database.

They run once in CI (the SQLite pass); locally they skip when Chromium is not installed.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.test_demo import DEMO_PASSWORD, demo_env, free_port, stop, wait_for_health
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
        [sys.executable, "-m", "yiyang.cli", "demo", "--port", str(port)],
        cwd=home,
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process, seconds=240)
        yield base
    finally:
        stop(process)


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

    def make(*, width: int = 1280, height: int = 800, locale: str = "zh-CN", **options):
        # axe is injected into pages, so the test context bypasses the page's CSP for that.
        context = browser.new_context(
            viewport={"width": width, "height": height}, locale=locale, bypass_csp=True, base_url=demo_server, **options
        )
        # Generous: on a 2-core CI machine the server shares the CPU with the browser.
        context.set_default_timeout(90_000)
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


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    page.add_script_tag(content=AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]
