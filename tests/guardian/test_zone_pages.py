"""Safe-zone editor: circle or polygon, optional hours, the SVG sketch map (static JS) and its textarea fallback."""

import re
from datetime import time

import pytest

from yiyang.guardian.models import SafeZone
from yiyang.guardian.operations import events_ingest

pytestmark = pytest.mark.django_db
NO_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")
HOME = (28.4517, 119.9219)


@pytest.fixture
def elder(elders):
    e = elders["liandu"]
    e.lat, e.lng = HOME
    e.save(update_fields=["lat", "lng"])
    return e


def url_new(elder) -> str:
    return f"/guardian/elders/{elder.pk}/zones/new/"


def polygon_form(points: str, **extra) -> dict:
    return {"name": "村里", "shape": "polygon", "points": points, "active_from": "", "active_until": "", **extra}


SQUARE = "28.4500,119.9200\n28.4500,119.9240\n28.4535,119.9240\n28.4535,119.9200"


def test_the_editor_carries_the_map_data_and_no_inline_script(client, personas, elder, make_device):
    bracelet = make_device(elder, "bracelet")
    events_ingest(messages=[bracelet.incoming("position", lat=28.4520, lon=119.9225)])
    client.force_login(personas["worker"])
    page = client.get(url_new(elder))
    html = page.content.decode()
    assert page.status_code == 200
    assert not NO_INLINE_SCRIPT.search(html) and "guardian/zone-map.js" in html
    assert 'data-home="28.451700,119.921900"' in html
    assert "28.452000,119.922500" in html, "recent positions are drawn"
    assert re.search(r'data-township="[\d.]+,[\d.]+"', html), "the township point"
    # Circle around home is the default, prefilled.
    assert 'value="28.451700"' in html and 'name="radius_m" value="300"' in html


def test_a_circle_around_home_only_at_night(client, personas, elder):
    client.force_login(personas["worker"])
    response = client.post(
        url_new(elder),
        {
            "name": "家附近",
            "shape": "circle",
            "center_lat": "28.4517",
            "center_lon": "119.9219",
            "radius_m": "250",
            "active_from": "20:00",
            "active_until": "07:00",
        },
    )
    assert response.status_code == 302
    zone = SafeZone.objects.get()
    assert (zone.shape, zone.radius_m, zone.active_from, zone.active_until) == ("circle", 250, time(20), time(7))
    listed = client.get(f"/guardian/elders/{elder.pk}/zones/").content.decode()
    assert "家附近" in listed and "20:00–07:00" in listed


def test_a_polygon_from_the_textarea_fallback(client, personas, elder):
    client.force_login(personas["worker"])
    assert client.post(url_new(elder), polygon_form(SQUARE + "\n28.4500,119.9200\n")).status_code == 302
    zone = SafeZone.objects.get()
    # Stored in GeoJSON order [lon, lat]; the repeated first point closing the ring is dropped.
    assert zone.polygon == [[119.92, 28.45], [119.924, 28.45], [119.924, 28.4535], [119.92, 28.4535]]
    edit = client.get(f"/guardian/zones/{zone.pk}/").content.decode()
    assert "28.450000,119.920000\n28.450000,119.924000" in edit


@pytest.mark.parametrize(
    ("form", "field", "words"),
    [
        (polygon_form("28.45,119.92\n28.46,119.93"), "points", "At least 3"),
        (polygon_form("28.45,119.92\nnorth of the bridge\n28.46,119.93"), "points", "Line 2"),
        (polygon_form("119.92,28.45\n119.93,28.45\n119.93,28.46"), "points", "latitude comes first"),
        (polygon_form("28.450,119.920\n28.455,119.925\n28.450,119.925\n28.455,119.920"), "points", "crosses itself"),
        (polygon_form("30.25,120.15\n30.26,120.15\n30.26,120.16"), "polygon", "km from the elder"),
        (polygon_form(SQUARE, active_from="20:00"), "active_until", ""),
        (polygon_form(SQUARE, active_from="8 pm", active_until="07:00"), "active_from", "HH:MM"),
        (polygon_form(SQUARE, name=""), "name", ""),
        (
            {"name": "x", "shape": "circle", "center_lat": "28.4517", "center_lon": "119.9219", "radius_m": "5"},
            "radius_m",
            "20",
        ),  # "20 至 50000 米" in Chinese
        ({"name": "x", "shape": "circle", "center_lat": "north", "center_lon": "119.9219", "radius_m": "300"}, "center_lat", ""),
        ({"name": "x", "shape": "circle", "center_lat": "31.2", "center_lon": "121.4", "radius_m": "300"}, "center_lat", "km"),
    ],
)
def test_bad_zones_are_refused_naming_the_field(client, personas, elder, form, field, words, settings):
    client.force_login(personas["worker"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the expected words are the English messages
    response = client.post(url_new(elder), form)
    html = response.content.decode()
    assert response.status_code == 400
    shown = "points" if field == "polygon" else field
    assert 'aria-invalid="true"' in html and f'id="{shown}-err"' in html
    assert words in html
    assert not SafeZone.objects.exists()


def test_edit_and_remove_a_zone_and_the_scope(client, personas, elder, elders):
    client.force_login(personas["worker"])
    client.post(url_new(elder), polygon_form(SQUARE))
    zone = SafeZone.objects.get()
    moved = SQUARE.replace("119.9240", "119.9250")
    assert client.post(f"/guardian/zones/{zone.pk}/", polygon_form(moved, name="村里(扩大)")).status_code == 302
    zone.refresh_from_db()
    assert zone.name == "村里(扩大)" and [119.925, 28.45] in zone.polygon
    assert client.post(f"/guardian/zones/{zone.pk}/remove/").status_code == 302
    zone.refresh_from_db()
    assert zone.is_active is False
    assert client.get(f"/guardian/zones/{zone.pk}/").status_code == 404, "a removed zone is gone from the pages"
    # Out of area, and roles that may only look.
    assert client.get(url_new(elders["qingtian"])).status_code == 404
    client.force_login(personas["operator"])
    assert client.get(f"/guardian/elders/{elder.pk}/zones/").status_code == 200
    assert client.get(url_new(elder)).status_code == 404
    client.force_login(personas["family"])
    assert client.get(f"/guardian/elders/{elder.pk}/zones/").status_code == 404


def test_zone_api_list_update_remove(client, api_client, personas, elder, elders):
    headers = api_client(personas["worker"])
    body = {"elder_id": elder.pk, "name": "家", "shape": "circle", "center_lat": HOME[0], "center_lon": HOME[1], "radius_m": 200}
    created = client.post("/api/v1/guardian/zones", body, content_type="application/json", **headers)
    assert created.status_code == 201
    zone_id = created.json()["id"]
    assert [z["id"] for z in client.get(f"/api/v1/guardian/zones?elder_id={elder.pk}", **headers).json()] == [zone_id]
    far = client.put(
        f"/api/v1/guardian/zones/{zone_id}", {**body, "center_lat": 31.2, "center_lon": 121.4}, content_type="application/json", **headers
    )
    assert far.status_code == 400 and far.json()["field"] == "center_lat"
    ok = client.put(f"/api/v1/guardian/zones/{zone_id}", {**body, "radius_m": 400}, content_type="application/json", **headers)
    assert ok.status_code == 200 and ok.json()["radius_m"] == 400
    assert client.delete(f"/api/v1/guardian/zones/{zone_id}", **headers).status_code == 204
    assert client.delete(f"/api/v1/guardian/zones/{zone_id}", **headers).status_code == 404
    assert client.get("/api/v1/guardian/zones", **api_client(personas["other_county_officer"])).json() == []
