import math

import pytest

from yiyang.regions.models import Level, Region
from yiyang.regions.operations import gcj02_to_wgs84, regions_import, wgs84_to_gcj02
from yiyang.regions.queries import region_subtree

pytestmark = pytest.mark.django_db


def test_lishui_has_its_city_nine_counties_and_173_townships():
    assert Region.objects.get(code="331100").name == "丽水市"
    assert Region.objects.filter(level=Level.COUNTY, parent__code="331100").count() == 9
    assert Region.objects.filter(level=Level.TOWNSHIP, path__startswith="330000/331100/").count() == 173


def test_subtree_is_a_prefix_query():
    liandu = Region.objects.get(code="331102")
    codes = set(region_subtree(liandu).values_list("code", flat=True))
    assert "331102001" in codes and "331121001" not in codes and "331102" in codes


def test_statistical_name_is_kept_with_the_map_alias():
    tashi = Region.objects.get(code="331181004")
    assert tashi.name == "石达石街道"
    assert tashi.alias == "塔石街道"


def test_township_points_are_converted_to_wgs84():
    zijin = Region.objects.get(code="331102001")
    assert 119.8 < zijin.lng < 120.0 and 28.3 < zijin.lat < 28.6
    gcj = (119.922796, 28.46763)
    wgs = gcj02_to_wgs84(*gcj)
    back = wgs84_to_gcj02(*wgs)
    assert abs(back[0] - gcj[0]) < 1e-7 and abs(back[1] - gcj[1]) < 1e-7
    # The offset in Zhejiang is a few hundred metres.
    metres = math.hypot((gcj[0] - wgs[0]) * 111_320 * math.cos(math.radians(28.47)), (gcj[1] - wgs[1]) * 110_540)
    assert 100 < metres < 1000


def test_another_city_loads_its_own_file():
    created = regions_import(
        rows=[
            {"code": "330700", "name": "金华市", "level": "city", "parent_code": "330000"},
            {"code": "330702", "name": "婺城区", "level": "county", "parent_code": "330700"},
        ]
    )
    assert created == 2
    assert Region.objects.get(code="330702").path == "330000/330700/330702/"


def test_a_row_with_an_unknown_parent_is_refused_and_nothing_changes():
    from yiyang.core.errors import DomainError

    before = Region.objects.count()
    with pytest.raises(DomainError):
        regions_import(rows=[{"code": "330799", "name": "X", "level": "county", "parent_code": "339999"}])
    assert Region.objects.count() == before


def test_regions_api_lists_children(client, personas, api_client):
    headers = api_client(personas["worker"])
    response = client.get("/api/v1/regions?parent=331100", **headers)
    assert response.status_code == 200
    assert len(response.json()) == 9
    assert client.get("/api/v1/regions/331102", **headers).json()["name"] == "莲都区"
    assert client.get("/api/v1/regions/999999", **headers).status_code == 404
