"""django-axes locks out repeated failures through the login page and the token endpoint alike."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limit(settings):
    settings.AXES_FAILURE_LIMIT = 3


def test_login_page_locks_out_after_repeated_failures(client, personas, password):
    for _ in range(3):
        response = client.post("/login/", {"username": "p-worker", "password": "wrong"})
    assert response.status_code == 429
    locked = client.post("/login/", {"username": "p-worker", "password": password})
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_token_endpoint_locks_out_after_repeated_failures(client, personas, password):
    url = "/api/v1/auth/token"
    for _ in range(3):
        client.post(url, {"username": "p-worker", "password": "wrong"}, content_type="application/json")
    locked = client.post(url, {"username": "p-worker", "password": password}, content_type="application/json")
    assert locked.status_code == 429
    assert locked.json()["code"] == "locked_out"
    assert "token" not in locked.json()


def test_failures_on_one_path_count_on_the_other(client, personas, password):
    client.post("/login/", {"username": "p-worker", "password": "wrong"})
    client.post("/login/", {"username": "p-worker", "password": "wrong"})
    client.post("/api/v1/auth/token", {"username": "p-worker", "password": "wrong"}, content_type="application/json")
    assert (
        client.post("/api/v1/auth/token", {"username": "p-worker", "password": password}, content_type="application/json").status_code
        == 429
    )


def test_other_users_are_not_locked_out(client, personas, password):
    for _ in range(3):
        client.post("/login/", {"username": "p-worker", "password": "wrong"})
    response = client.post("/login/", {"username": "p-operator", "password": password})
    assert response.status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, personas, password):
    url = "/api/v1/auth/token"
    for _ in range(2):
        client.post(url, {"username": "p-worker", "password": "wrong"}, content_type="application/json")
    assert client.post(url, {"username": "p-worker", "password": password}, content_type="application/json").status_code == 200
    for _ in range(2):
        client.post(url, {"username": "p-worker", "password": "wrong"}, content_type="application/json")
    assert client.post(url, {"username": "p-worker", "password": password}, content_type="application/json").status_code == 200
