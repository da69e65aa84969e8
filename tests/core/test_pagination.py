import pytest

pytestmark = pytest.mark.django_db


def test_a_page_past_any_list_is_a_422_naming_the_field(client, personas, api_client):
    headers = api_client(personas["city_officer"])
    for page in (10**20, 0, -1):
        response = client.get(f"/api/v1/elders?page={page}", **headers)
        assert response.status_code == 422, page
        assert response.json()["field"] == "page"
    assert client.get("/api/v1/elders?page_size=100000", **headers).status_code == 422
    assert client.get("/api/v1/elders?page=99999", **headers).status_code == 200
