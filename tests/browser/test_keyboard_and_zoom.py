"""Keyboard, 200% zoom and form errors on the key pages, as a keyboard user and a low-vision user meet them.

- Keyboard: Tab from the top of the page reaches every interactive element once, in DOM order (no
  positive tabindex), each with a visible focus indicator and on screen when focused, and comes back
  round to the first one (no keyboard trap).
- 200% zoom: a 1280×800 window zoomed to 200% is a 640×400 CSS-pixel viewport at device scale 2; the
  page does not scroll sideways and its heading and form controls are within the viewport's width
  (tables may scroll inside their own box), in normal and elder mode.
- Errors: a failed form marks the field aria-invalid, describes it (aria-describedby) with the error
  placed right after the field, and sums the errors up in a role=alert box.
"""

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.conftest import axe_violations, login, resolve_alert

ELDER_PHONE = "13905781234"
# (role, path, what must be on it): the login page, the hotline console and its order form, the elder's
# home, the caregiver's visits, the 96345 alarm console.
KEY_PAGES = [
    ("anonymous", "/login/", "#id_username"),
    ("operator", "/homecare/hotline/", "#id_q"),
    ("operator", f"/homecare/hotline/?q={ELDER_PHONE}", "#id_item"),
    ("elder", "/care/", ".care-button"),
    ("caregiver", "/homecare/visits/", "#visits"),
    ("operator", "/guardian/console/", "#guardian-live"),
]
IDS = [f"{role}{urlparse(path).path}{'+order' if '?' in path else ''}" for role, path, _ in KEY_PAGES]

# Every element the keyboard should stop at, in DOM order; of a radio group only the checked (or first) one.
FOCUSABLES_JS = """
() => {
  const candidates = document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex], [contenteditable=""], [contenteditable=true]');
  const groups = new Set();
  const out = [];
  for (const el of candidates) {
    if (el.disabled || el.tabIndex < 0 || (el.tagName === 'INPUT' && el.type === 'hidden')) continue;
    if (el.closest('[inert], [hidden]') || el.getClientRects().length === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none') continue;
    if (el.type === 'radio' && el.name) {
      const key = (el.form ? el.form.id || [...document.forms].indexOf(el.form) : '') + '|' + el.name;
      if (groups.has(key)) continue;
      const group = [...document.querySelectorAll(`input[type=radio][name="${CSS.escape(el.name)}"]`)].filter(r => r.form === el.form);
      const checked = group.find(r => r.checked);
      if (checked && checked !== el) { groups.add(key); out.push(checked); continue; }
      groups.add(key);
    }
    out.push(el);
  }
  return out;
}
"""

FOCUS_STEP_JS = """
() => {
  const list = (FOCUSABLES)();
  const el = document.activeElement;
  const index = list.indexOf(el);
  if (!el || el === document.body || el === document.documentElement) return {index: -1, total: list.length, what: 'body'};
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2;
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  const r = el.getBoundingClientRect();
  const onScreen = r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '') + ' "' + (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 30) + '"';
  return {index, total: list.length, indicator: outline || shadow, onScreen, what};
}
""".replace("FOCUSABLES", FOCUSABLES_JS)


def _open(new_page, role: str, path: str, **options):
    page = new_page(**options)
    if role != "anonymous":
        login(page, role)
    page.goto(path)
    return page


@pytest.mark.parametrize(("role", "path", "landmark"), KEY_PAGES, ids=IDS)
def test_tab_reaches_everything_in_order_with_a_visible_focus_and_no_trap(new_page, role, path, landmark):
    page = _open(new_page, role, path)
    page.wait_for_selector(landmark)
    assert page.eval_on_selector_all("[tabindex]", "els => els.filter(e => e.tabIndex > 0).length") == 0, "positive tabindex"
    total = page.evaluate(f"() => ({FOCUSABLES_JS})().length")
    assert total > 3
    # Start at the top, as after loading the page: nothing focused (the hotline's search field has autofocus).
    # Focusing the body moves the sequential-focus starting point to the top of the document.
    page.evaluate(
        "() => { const b = document.body; b.tabIndex = -1; b.focus(); b.removeAttribute('tabindex'); window.scrollTo(0, 0); }"
    )
    reached, problems = [], []
    for _ in range(total * 2 + 6):
        page.keyboard.press("Tab")
        step = page.evaluate(FOCUS_STEP_JS)
        if step["index"] < 0:
            if step["what"] != "body":
                problems.append(f"focus went to something that is not an interactive element: {step['what']}")
            if reached:
                break  # past the last element: focus leaves the page, the cycle is complete
            continue
        if reached and step["index"] == reached[0]:
            break
        if reached and step["index"] == reached[-1]:
            continue  # a date or time field: the browser stops at its day, month and year parts in turn
        if not step["indicator"]:
            problems.append(f"no visible focus indicator on {step['what']}")
        if not step["onScreen"]:
            problems.append(f"focused but off screen: {step['what']}")
        reached.append(step["index"])
    else:
        problems.append(f"Tab never came back round after {total * 2 + 6} presses: a keyboard trap or a focus loop")
    assert reached == list(range(total)), f"Tab order {reached}, expected 0..{total - 1} in DOM order"
    assert not problems, "\n".join(dict.fromkeys(problems))


# What must stay usable at 200%: the page's heading and its form controls and buttons.
ZOOM_CHECK_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const scroller = el => { for (let p = el.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
  const bad = [];
  for (const el of document.querySelectorAll('main h1, main input:not([type=hidden]), main select, main textarea, main button, main .button, main .care-button')) {
    if (el.getClientRects().length === 0 || scroller(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.left < -1 || r.right > width + 1 || r.width < 1) bad.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, bad};
}
"""


@pytest.mark.parametrize("elder_mode", ["0", "1"], ids=["normal", "elder"])
def test_key_pages_reflow_at_200_percent_zoom(new_page, demo_server, elder_mode):
    problems = []
    pages: dict[str, object] = {}
    for role, path, landmark in KEY_PAGES:
        page = pages.get(role)
        if page is None:
            page = pages[role] = new_page(width=640, height=400, device_scale_factor=2)
            page.context.add_cookies([{"name": "yiyang_elder_mode", "value": elder_mode, "url": demo_server}])
            if role != "anonymous":
                login(page, role)
        page.goto(path)
        page.wait_for_selector(landmark, state="attached")
        assert "elder-mode" in (page.get_attribute("body", "class") or "") if elder_mode == "1" else True
        result = page.evaluate(ZOOM_CHECK_JS)
        if result["scrollWidth"] > result["width"]:
            problems.append(f"{path}: the page scrolls sideways ({result['scrollWidth']} > {result['width']} px)")
        problems += [f"{path}: not within the width: {b}" for b in result["bad"]]
    assert not problems, "\n".join(problems)


def _field_errors_are_announced(page) -> list[str]:
    return page.evaluate(
        """
() => {
  const problems = [];
  const invalid = [...document.querySelectorAll('main [aria-invalid=true]')];
  if (!invalid.length) problems.push('no field is marked aria-invalid');
  for (const field of invalid) {
    const ids = (field.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);
    const errors = ids.map(id => document.getElementById(id)).filter(Boolean);
    if (!errors.length) { problems.push(`${field.id}: aria-describedby names no element`); continue; }
    for (const error of errors) {
      if (!error.innerText.trim() || error.getClientRects().length === 0) problems.push(`${field.id}: its error is empty or hidden`);
      if (error.parentElement !== field.parentElement) problems.push(`${field.id}: its error is not next to it`);
    }
  }
  if (!document.querySelector('main [role=alert]')) problems.push('nothing announces the errors (no role=alert)');
  return problems;
}
"""
    )


def test_failed_login_announces_the_errors_next_to_the_fields(new_page):
    page = new_page()
    page.goto("/login/")
    page.fill("#id_password", "not-the-password")
    page.click("form button[type=submit].primary")
    page.wait_for_selector("#id_username[aria-invalid=true]")
    assert _field_errors_are_announced(page) == []
    assert page.is_visible("#username-err")
    assert axe_violations(page) == []  # the error state too: its colours, its names


def test_failed_hotline_order_announces_the_errors_next_to_the_fields(new_page):
    page = new_page()
    login(page, "operator")
    page.goto(f"/homecare/hotline/?q={ELDER_PHONE}")
    page.select_option("#id_item", "comfort-chat")
    page.fill("#id_date", "")
    page.click("form.panel button[type=submit].primary")
    page.wait_for_selector("[aria-invalid=true]")
    assert "/homecare/hotline/" in page.url  # nothing was placed
    assert _field_errors_are_announced(page) == []
    assert page.get_attribute("#id_date", "aria-invalid") == "true"
    assert axe_violations(page) == []


def test_alarm_console_keeps_keyboard_focus_across_its_refresh(new_page):
    elder = new_page(width=360, height=740)
    login(elder, "elder")
    elder.click("button.care-sos")
    elder.wait_for_url("**/care/help/sent/**")
    alert_id = parse_qs(urlparse(elder.url).query)["alert"][0]
    console = new_page()
    login(console, "operator")
    try:
        console.goto("/guardian/console/")
        console.wait_for_selector(".guardian-alert-link")
        for _ in range(200):
            console.keyboard.press("Tab")
            if console.evaluate("document.activeElement.classList.contains('guardian-alert-link')"):
                break
        focused = console.evaluate("document.activeElement.id")
        assert focused, "Tab did not reach an alert, or the alert link has no id to keep focus by"
        # The list is replaced every 3 seconds; the operator's place in it must survive the replacement.
        for _ in range(2):
            console.evaluate(
                "() => new Promise(done => document.body.addEventListener('htmx:afterSwap', done, {once: true}))"
            )
        assert console.evaluate("document.activeElement.id") == focused
        # Screen readers are told of the new critical alarm once, not the whole list on every refresh.
        assert console.get_attribute("#guardian-live", "aria-live") is None
        assert console.get_attribute("#guardian-announce", "role") == "status"
    finally:
        resolve_alert(console, alert_id)  # journey 2 raises its own
