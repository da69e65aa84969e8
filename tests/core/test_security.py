import importlib

import pytest
from django.core.exceptions import ImproperlyConfigured

pytestmark = pytest.mark.django_db


def test_production_refuses_demo_secrets(monkeypatch):
    import yiyang.settings

    monkeypatch.setenv("YIYANG_ENV", "production")
    monkeypatch.delenv("YIYANG_SECRET_KEY", raising=False)
    with pytest.raises(ImproperlyConfigured, match="YIYANG_SECRET_KEY"):
        importlib.reload(yiyang.settings)
    monkeypatch.setenv("YIYANG_SECRET_KEY", "demo-insecure-copied")
    with pytest.raises(ImproperlyConfigured):
        importlib.reload(yiyang.settings)
    monkeypatch.delenv("YIYANG_ENV")
    importlib.reload(yiyang.settings)


def test_passwords_are_hashed_with_argon2():
    import yiyang.settings

    assert yiyang.settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_pages_carry_csp_and_security_headers(client):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    script_src = csp.split("script-src")[1].split(";")[0]
    assert "'self'" in script_src and "unsafe" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_api_docs_are_served_locally(client, personas):
    client.force_login(personas["worker"])
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    assert client.get("/api/v1/openapi.json").json()["info"]["title"] == "Yiyang API"


def test_session_api_calls_need_csrf(personas, elders):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["worker"])
    assert client.get("/api/v1/auth/me").status_code == 200
    assert client.post("/api/v1/auth/tokens", {"name": "x"}, content_type="application/json").status_code in (401, 403)


def test_chinese_by_default_english_on_request(client, personas):
    assert 'lang="zh-hans"' in client.get("/login/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert 'lang="en"' in client.get("/login/").content.decode()


def test_healthz_reports_a_database_failure_as_503(client, monkeypatch):
    from django.db import connection

    def broken_cursor(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(connection, "cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "error"


def test_pages_stay_chinese_for_an_english_browser_until_the_switch_is_used(client):
    assert 'lang="zh-hans"' in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert 'lang="en"' in client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
