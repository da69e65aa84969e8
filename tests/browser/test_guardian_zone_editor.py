"""Silver Guardian: a worker draws a bracelet's safe zone on the sketch map (static JS, no map tiles) and saves it."""

import re

from tests.browser.conftest import login, shot


def test_worker_draws_a_village_polygon_on_the_sketch_map(new_page):
    page = new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login(page, "worker")
    page.goto("/guardian/devices/?type=bracelet")
    page.locator("a", has_text="DEMO-BR-0001").click()
    page.wait_for_load_state()
    page.locator("a[href$='/zones/new/']").first.click()
    page.wait_for_load_state()
    svg = page.locator("svg.guardian-map-svg")
    assert svg.is_visible(), "the script replaced the hidden placeholder with the map"
    assert page.locator("svg.guardian-map-svg polygon").count() >= 1, "the home marker is drawn"
    page.fill("#id_name", "菜市场一带")
    page.check("input[name=shape][value=polygon]")
    assert page.locator("#circle-fields").is_hidden()
    box = svg.bounding_box()
    for fx, fy in [(0.35, 0.35), (0.65, 0.35), (0.65, 0.65), (0.35, 0.65)]:
        svg.click(position={"x": box["width"] * fx, "y": box["height"] * fy})  # scrolls it into view first
    lines = page.input_value("#id_points").splitlines()
    assert len(lines) == 4 and all(re.fullmatch(r"-?\d+\.\d{6},-?\d+\.\d{6}", line) for line in lines), lines
    # Clicks west to east raise the longitude; north to south lower the latitude.
    (lat1, lon1), (lat2, lon2), (lat3, _lon3) = ([float(x) for x in line.split(",")] for line in lines[:3])
    assert lon2 > lon1 and lat1 == lat2 and lat3 < lat2
    page.get_by_role("button", name=re.compile("Remove the last point|删除最后一个点")).click()
    assert len(page.input_value("#id_points").splitlines()) == 3
    shot(page, "guardian-zone-editor")
    page.locator("#zone-form button[type=submit].primary").click()
    page.wait_for_load_state()
    assert re.search(r"/guardian/elders/\d+/zones/$", page.url), page.url
    assert "菜市场一带" in page.content()
    assert not errors, errors
