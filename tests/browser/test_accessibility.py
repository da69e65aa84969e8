"""Every page a role can reach passes axe-core with no serious or critical violation, in normal and
elder mode, in Chinese and English.

What is covered, and how it is kept to a few minutes:
- Discovery (plain HTTP, no rendering): anonymous, then each demo role signed in, starts from its home
  page and every parameterless page the walker (tests/walker.py) lists, and follows the links of the
  HTML pages (and HTMX fragments) it gets, so real ids fill the URL patterns' parameters; a pattern
  (route name) is expanded on at most EXPANSIONS of its URLs (see _discover).
- Audit: the union over roles of the URL patterns found, each pattern audited once, as the first role
  in ROLES that reaches it (the narrowest roles first, so a page is seen with its usual user's data),
  in all four combinations of language (zh-hans, en) × mode (normal, elder) — one browser, a fresh
  context per role × language × mode.
- State: before discovery the elder orders a meal and presses help (as in journey 2), so that an order
  just placed and an open alert have their pages whatever tests ran before.
- Not audited: HTMX fragments (no <html>: covered by the page that hosts them), downloads, the API and
  its docs, Django's admin, POST-only actions, and patterns no link reaches (printed, for the record).
"""

import json
import re
import time
from collections import Counter, defaultdict, deque
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlparse

from django.urls import Resolver404, resolve

from tests.browser.conftest import ARTIFACTS, AXE, login, resolve_alert
from tests.walker import page_routes

# Narrowest first: a page is audited as the first of these that reaches it.
ROLES = [
    "anonymous",  # the login page and the public pages
    "elder",
    "family",
    "caregiver",
    "volunteer",
    "dispatcher",
    "worker",
    "assessor",
    "inspector",
    "reporter",
    "operator",
    "county-331102",
    "city-officer",
    "admin",
]
COMBINATIONS = [("zh-hans", "0"), ("zh-hans", "1"), ("en", "0"), ("en", "1")]
SKIP_PATH = re.compile(r"^/(logout|admin/|static/|media/|api/|i18n/|healthz)|\.(xlsx|docx|csv|js|json|png|wav|webmanifest)$")
IMPACTS = ("serious", "critical")
EXPANSIONS = 3
# The combination a fresh context starts in gets these cookies (the language switch and the mode switch set them).
LANGUAGE_COOKIE, MODE_COOKIE = "django_language", "yiyang_elder_mode"


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href and not href.startswith(("#", "mailto:", "tel:", "javascript:")):
                self.hrefs.append(href)


def _route_name(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def _discover(context, base: str, seeds: list[str]) -> dict[str, str]:
    """Route name → one URL of it that this signed-in context gets as an HTML page.

    A pattern is expanded (its links followed) on up to EXPANSIONS of its URLs, and no further once
    one of them links to no pattern not known yet: pages of one pattern differ in their links with the
    data behind them (an indicator with a drill-down, an order in a state with an action).
    """
    host = urlparse(base).netloc
    found: dict[str, str] = {}
    expanded: Counter[str] = Counter()
    exhausted: set[str] = set()
    known: set[str] = set()
    queue, seen = deque(seeds), set()
    while queue:
        url = queue.popleft()
        path = urlparse(url).path
        name = _route_name(path)
        if url in seen or SKIP_PATH.search(path) or name is None or name in exhausted:
            continue
        seen.add(url)
        response = context.request.get(url, fail_on_status_code=False)
        final = urlparse(response.url)
        final_name = _route_name(final.path)
        if response.status != 200 or "text/html" not in response.headers.get("content-type", "") or final_name is None:
            continue
        body = response.text()
        if "<html" in body[:500]:
            final_url = final.path + (f"?{final.query}" if final.query else "")
            found.setdefault(final_name, final_url)  # the page shown, after any redirect
        # else an HTMX fragment: audited inside the page that hosts it; its links are still followed.
        parser = _Links()
        parser.feed(body)
        new = False
        for href in parser.hrefs:
            target = urlparse(urljoin(response.url, href))
            if target.netloc == host and not SKIP_PATH.search(target.path):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
                target_name = _route_name(target.path)
                if target_name and target_name not in known:
                    known.add(target_name)
                    new = True
        for n in {name, final_name}:
            expanded[n] += 1
            if expanded[n] >= EXPANSIONS or (expanded[n] > 1 and not new):
                exhausted.add(n)
    return found


def _make_state(page) -> tuple[list[str], str]:
    """As the elder: a meal ordered in three taps and a help alert, so that the pages of an order just
    placed and of an open alert exist whatever ran before. Returns the pages these actions led to, and
    the alert's id (the alert is resolved afterwards: journey 2 needs to raise a new one)."""
    page.goto("/care/")
    page.click("a.care-button[href*='/care/order/meal-delivery/']")
    page.click("a.care-button[href*='slot=']")
    page.click("button.care-confirm")
    page.wait_for_url("**/care/orders/**")
    done = urlparse(page.url).path
    page.goto("/care/")
    page.click("button.care-sos")
    page.wait_for_url("**/care/help/sent/**")
    alert_id = parse_qs(urlparse(page.url).query)["alert"][0]
    return [done, f"/guardian/alerts/{alert_id}/"], alert_id


def _resolve_alert(browser, base: str, state: dict, alert_id: str) -> None:
    context = browser.new_context(base_url=base, storage_state=state, service_workers="block")
    resolve_alert(context.new_page(), alert_id)
    context.close()


def _audit(page) -> list[dict]:
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    # A blank or half-loaded page passes little: make sure axe looked at a real page.
    assert len(result["passes"]) >= 15, (page.url, [p["id"] for p in result["passes"]])
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"][:4]]}
        for v in result["violations"]
    ]


def _audit_can_fail(browser) -> None:
    context = browser.new_context(bypass_csp=True)
    context.add_init_script(path=str(AXE))
    page = context.new_page()
    page.set_content('<html lang="en"><title>t</title><main><h1>t</h1><input><a href="/x"></a></main></html>')
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    found = {v["id"] for v in result["violations"] if v["impact"] in IMPACTS}
    context.close()
    assert {"label", "link-name"} <= found, found


def _audit_all(browser, demo_server: str, host: str, states: dict, audit_as: dict):
    """Each pattern's URL, as its role, in every language × mode: one context per role × language × mode."""
    by_role: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name, (role, url) in sorted(audit_as.items()):
        by_role[role].append((name, url))
    failures: dict[tuple[str, str, str], dict] = {}
    minor: dict[tuple[str, str], dict] = {}  # moderate and minor: reported, not failed
    loads: list[tuple[float, str]] = []
    axe_seconds = 0.0
    for language, elder_mode in COMBINATIONS:
        for role, targets in by_role.items():
            context = browser.new_context(
                base_url=demo_server, storage_state=states[role], bypass_csp=True, service_workers="block"
            )
            context.set_default_timeout(60_000)
            context.add_cookies(
                [
                    {"name": LANGUAGE_COOKIE, "value": language, "domain": host, "path": "/"},
                    {"name": MODE_COOKIE, "value": elder_mode, "domain": host, "path": "/"},
                ]
            )
            context.add_init_script(path=str(AXE))
            page = context.new_page()
            for name, url in targets:
                t = time.monotonic()
                page.goto(url)
                loads.append((time.monotonic() - t, url))
                assert page.evaluate("document.documentElement.lang").lower().startswith(language[:2]), (url, language)
                t = time.monotonic()
                violations = _audit(page)
                axe_seconds += time.monotonic() - t
                for v in violations:
                    bucket = failures if v["impact"] in IMPACTS else minor
                    entry = bucket.setdefault((v["id"], name, url), {**v, "role": role, "url": url, "in": []})
                    entry["in"].append(f"{language}/{'elder' if elder_mode == '1' else 'normal'}")
            context.close()
    return failures, minor, loads, axe_seconds


def test_every_reachable_page_passes_axe(browser, demo_server):
    _audit_can_fail(browser)
    started = time.monotonic()
    host = urlparse(demo_server).hostname
    seeds = ["/"] + ["/" + r.template for r in page_routes() if not r.params]

    # 1. Discovery, per role.
    states: dict[str, dict] = {}
    audit_as: dict[str, tuple[str, str]] = {}  # route name → (role, url)
    alert_id = None
    try:
        for role in ROLES:
            context = browser.new_context(base_url=demo_server, service_workers="block")
            context.set_default_timeout(60_000)
            extra = []
            if role != "anonymous":
                page = context.new_page()
                login(page, role)
                if role == "elder":
                    extra, alert_id = _make_state(page)
            states[role] = context.storage_state()
            for name, url in _discover(context, demo_server, extra + seeds).items():
                audit_as.setdefault(name, (role, url))
            context.close()
        discovered = time.monotonic()
        failures, minor, loads, axe_seconds = _audit_all(browser, demo_server, host, states, audit_as)
    finally:
        if alert_id and "operator" in states:
            _resolve_alert(browser, demo_server, states["operator"], alert_id)
    finished = time.monotonic()


    routes = {r.name for r in page_routes()}
    not_reached = sorted(routes - set(audit_as))
    report = {
        "audited": {name: {"role": role, "url": url} for name, (role, url) in sorted(audit_as.items())},
        "not_reached_by_links": not_reached,
        "combinations": COMBINATIONS,
        "seconds": {
            "discovery": round(discovered - started, 1),
            "audit": round(finished - discovered, 1),
            "page_loads": round(sum(t for t, _ in loads), 1),
            "axe": round(axe_seconds, 1),
        },
        "slowest_loads": sorted(loads, reverse=True)[:5],
        "violations": list(failures.values()),
        "moderate_or_minor": list(minor.values()),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-report.json").write_text(json.dumps(report, ensure_ascii=False, indent=1))
    print(
        f"axe: {len(audit_as)} URL patterns × {len(COMBINATIONS)} = {len(loads)} pages audited "
        f"(discovery {discovered - started:.0f}s, audit {finished - discovered:.0f}s, slowest load {max(loads)[0]:.1f}s); "
        f"not reached by links: {', '.join(not_reached)}"
    )
    assert {"home", "login", "eldermode:home", "homecare:hotline", "guardian:console"} <= set(audit_as)
    lines = [
        f"{v['impact']} {v['id']} at {v['url']} (as {v['role']}, in {', '.join(v['in'])}): {v['help']} {v['nodes']}"
        for v in failures.values()
    ]
    assert not lines, f"{len(lines)} axe violations:\n" + "\n".join(lines)
