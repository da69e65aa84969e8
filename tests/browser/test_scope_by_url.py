"""Journey 3: a county officer cannot reach another county's elder by typing its URL."""

import json

from tests.browser.conftest import login, shot


def elder_ids_in(page, county: str) -> list[int]:
    response = page.request.get(f"/api/v1/elders?region={county}")
    assert response.ok, response.text()
    return [e["id"] for e in json.loads(response.text())["items"]]


def test_county_officer_gets_404_for_another_countys_elder(new_page):
    admin = new_page()
    login(admin, "admin")
    liandu_elder = elder_ids_in(admin, "331102")[0]

    own = new_page()
    login(own, "county-331102")
    own.goto(f"/elders/{liandu_elder}/")
    assert own.title() and "404" not in own.title()
    shot(own, "scope-own-county-elder")

    other = new_page()
    login(other, "county-331121")
    response = other.goto(f"/elders/{liandu_elder}/")
    assert response.status == 404
    shot(other, "scope-other-county-404")
    api = other.request.get(f"/api/v1/elders/{liandu_elder}")
    assert api.status == 404
    assert liandu_elder not in elder_ids_in(other, "331102")
