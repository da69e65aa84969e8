import pytest

from yiyang.accounts.models import ApiToken
from yiyang.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_token_from_password_works_and_is_stored_hashed(client, personas, password):
    worker = personas["worker"]
    response = client.post("/api/v1/auth/token", {"username": "p-worker", "password": password}, content_type="application/json")
    assert response.status_code == 200
    raw = response.json()["token"]
    stored = ApiToken.objects.get(user=worker)
    assert raw not in (stored.key_hash, stored.prefix) and raw.startswith(stored.prefix)
    me = client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200
    assert me.json()["username"] == "p-worker"
    assert me.json()["regions"] == ["331102001"]


def test_wrong_password_is_401_naming_the_field(client, personas):
    response = client.post("/api/v1/auth/token", {"username": "p-worker", "password": "nope"}, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["field"] == "password"


def test_missing_field_is_422_naming_it(client, db):
    response = client.post("/api/v1/auth/token", {"username": "x"}, content_type="application/json")
    assert response.status_code == 422
    assert response.json()["field"] == "password"


def test_validation_messages_follow_the_users_language(client, db):
    zh = client.post("/api/v1/auth/token", {"username": "x"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    en = client.post("/api/v1/auth/token", {"username": "x"}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["errors"][0]["message"] == "This field is required."
    assert zh.json()["errors"][0]["message"] != en.json()["errors"][0]["message"]


def test_revoked_token_stops_working_at_once(client, personas, api_client):
    headers = api_client(personas["worker"])
    token = ApiToken.objects.get(user=personas["worker"])
    assert client.get("/api/v1/auth/me", **headers).status_code == 200
    response = client.post(f"/api/v1/auth/tokens/{token.pk}/revoke", **headers)
    assert response.status_code == 200 and response.json()["revoked_at"]
    assert client.get("/api/v1/auth/me", **headers).status_code == 401
    assert AuditEvent.objects.filter(action="token.revoke", object_id=str(token.pk)).exists()


def test_revoking_twice_is_409(client, personas, api_client):
    headers = api_client(personas["worker"])
    second = client.post("/api/v1/auth/tokens", {"name": "script"}, content_type="application/json", **headers).json()
    assert client.post(f"/api/v1/auth/tokens/{second['id']}/revoke", **headers).status_code == 200
    assert client.post(f"/api/v1/auth/tokens/{second['id']}/revoke", **headers).status_code == 409


def test_cannot_revoke_someone_elses_token(client, personas, api_client):
    worker_headers = api_client(personas["worker"])
    api_client(personas["operator"])
    operator_token = ApiToken.objects.get(user=personas["operator"])
    response = client.post(f"/api/v1/auth/tokens/{operator_token.pk}/revoke", **worker_headers)
    assert response.status_code == 404
    operator_token.refresh_from_db()
    assert operator_token.revoked_at is None


def test_tokens_page_creates_shows_once_and_revokes(client, personas):
    client.force_login(personas["worker"])
    created = client.post("/account/tokens/", {"name": "手机"})
    assert created.status_code == 200
    raw = created.context["new_token"]
    assert raw and raw in created.content.decode()
    listing = client.get("/account/tokens/").content.decode()
    assert raw not in listing
    token = ApiToken.objects.get(user=personas["worker"], name="手机")
    client.post(f"/account/tokens/{token.pk}/revoke/")
    assert client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_tokens_page_rejects_an_empty_name_next_to_the_field(client, personas):
    client.force_login(personas["worker"])
    response = client.post("/account/tokens/", {"name": "  "})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not ApiToken.objects.filter(user=personas["worker"]).exists()


def test_expired_and_garbage_tokens_are_401(client, personas, api_client):
    from django.utils import timezone

    headers = api_client(personas["worker"])
    ApiToken.objects.filter(user=personas["worker"]).update(expires_at=timezone.now())
    assert client.get("/api/v1/auth/me", **headers).status_code == 401
    assert client.get("/api/v1/auth/me", HTTP_AUTHORIZATION="Bearer yy_not-a-token").status_code == 401
