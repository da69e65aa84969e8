import pytest

from tests.factories import region
from yiyang.plan.models import IndicatorValue, ValueStatus

pytestmark = pytest.mark.django_db


def test_indicators_by_region_through_the_api(client, api_client, personas, tekun_population):
    headers = api_client(personas["county_officer"])
    response = client.get("/api/v1/plan/indicators?region=331102", **headers)
    assert response.status_code == 200
    rows = {r["no"]: r for r in response.json()}
    assert len(rows) == 26 and rows[5]["source"] == "computed" and rows[1]["source"] == "reported"
    assert rows[26]["flagged"] is True and rows[26]["target_as_written"] == "10"
    assert client.get("/api/v1/plan/indicators?region=331100", **headers).status_code == 404
    detail = client.get("/api/v1/plan/indicators/2021-2025/5?region=331102&by=month", **headers).json()
    assert detail["region"] == "331102" and detail["chart"]["kind"] == "line"


def test_enter_and_approve_through_the_api(client, api_client, personas):
    county = api_client(personas["county_officer"])
    bad = client.post(
        "/api/v1/plan/values",
        {"indicator_no": 4, "region": "331102", "period": "2022", "value": "x"},
        content_type="application/json",
        **county,
    )
    assert bad.status_code == 400 and bad.json()["field"] == "value"
    other = client.post(
        "/api/v1/plan/values",
        {"indicator_no": 4, "region": "331121", "period": "2022", "value": "3"},
        content_type="application/json",
        **county,
    )
    assert other.status_code == 404
    ok = client.post(
        "/api/v1/plan/values",
        {"indicator_no": 4, "region": "331102", "period": "2022", "value": "33.3"},
        content_type="application/json",
        **county,
    )
    assert ok.status_code == 201 and ok.json()["status"] == "submitted" and ok.json()["entered_by"] == "p-county"
    value_id = ok.json()["id"]
    assert client.post(f"/api/v1/plan/values/{value_id}/approve", **county).status_code == 403  # same level: not theirs to approve
    city = api_client(personas["city_officer"])
    assert [v["id"] for v in client.get("/api/v1/plan/values/pending", **city).json()] == [value_id]
    approved = client.post(f"/api/v1/plan/values/{value_id}/approve", **city)
    assert approved.status_code == 200 and approved.json()["approved_by"] == "p-city"
    again = client.post(f"/api/v1/plan/values/{value_id}/approve", **city)
    assert again.status_code == 404  # no longer pending
    assert IndicatorValue.objects.get(pk=value_id, region=region("331102")).status == ValueStatus.APPROVED


def test_wrong_roles_are_refused(client, api_client, personas):
    worker = api_client(personas["worker"])
    assert client.get("/api/v1/plan/indicators", **worker).status_code == 403
    assert client.get("/api/v1/plan/tasks", **api_client(personas["reporter"])).status_code == 200
    projects = client.get("/api/v1/plan/projects", **api_client(personas["city_officer"])).json()
    assert len(projects) == 47 and projects[0]["planned_investment_fen"] == 23_000_000_000
