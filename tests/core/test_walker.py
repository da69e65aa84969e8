"""Every persona requests every page and every API operation: no 5xx, nothing out of scope answers 200.

Parameters named here are filled with an in-scope and an out-of-scope object; any other
parameter gets a plain value and is checked for "no server error" only.
"""

import json

import pytest

from tests.walker import PARAM, openapi_fill, page_routes

pytestmark = pytest.mark.django_db

# Who may see the elder in 紫金街道 (莲都区) and the one in 青田县.
SEES_LIANDU = {"admin", "city_officer", "county_officer", "worker", "operator", "assessor", "family", "elder"}
SEES_QINGTIAN = {"admin", "city_officer", "other_county_officer", "operator"}
ELDER_PARAMS = {"elder_id", "id"}


def _values(elder) -> dict:
    return {"elder_id": elder.pk, "id": elder.pk, "code": "331102", "token_id": 999999, "pk": 999999}


def _generic(name: str):
    return "331102" if name.endswith("code") else 999999


def _pages_for(elder):
    values = _values(elder)
    for route in page_routes():
        filled = PARAM.sub(lambda m: str(values.get(m.group("name"), _generic(m.group("name")))), route.template)
        yield route, "/" + filled


def test_walker_finds_the_main_pages():
    names = {r.name for r in page_routes()}
    assert {"home", "healthz", "login", "people:elder_list", "people:elder_detail", "accounts:tokens"} <= names


def test_every_persona_gets_every_page_without_server_error_or_leak(client, personas, elders):
    failures = []
    for persona_name, user in personas.items():
        client.force_login(user)
        for target_name, elder in elders.items():
            allowed = persona_name in (SEES_LIANDU if target_name == "liandu" else SEES_QINGTIAN)
            for route, url in _pages_for(elder):
                response = client.get(url)
                if response.status_code >= 500:
                    failures.append(f"{persona_name} GET {url}: {response.status_code}")
                elif route.name == "people:elder_detail" and (response.status_code == 200) != allowed:
                    failures.append(f"{persona_name} GET {url}: {response.status_code}, allowed={allowed}")
                elif route.name == "people:elder_detail" and not allowed and response.status_code != 404:
                    failures.append(f"{persona_name} GET {url}: out of scope must be 404, got {response.status_code}")
                elif (
                    route.name == "people:elder_list"
                    and response.status_code == 200
                    and not allowed
                    and elder.name in response.content.decode()
                ):
                    failures.append(f"{persona_name} sees {elder.name} in the list")
        client.logout()
    assert not failures, "\n".join(failures)


def test_anonymous_is_sent_to_login_or_refused(client, elders):
    for route, url in _pages_for(elders["liandu"]):
        response = client.get(url)
        assert response.status_code < 500, url
        public = route.name in {"login", "healthz", "logout"} or "public" in route.name or url.endswith((".js", ".webmanifest", ".json"))
        if not public:
            assert response.status_code in (302, 401, 403, 404, 405), (url, response.status_code)
            if response.status_code == 200:
                raise AssertionError(f"anonymous got 200 at {url}")


def _operations(client):
    schema = client.get("/api/v1/openapi.json").json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_every_persona_calls_every_api_operation_without_server_error_or_leak(client, api_client, personas, elders):
    failures = []
    operations = list(_operations(client))
    assert operations, "the OpenAPI lists no operation"
    for persona_name, user in personas.items():
        headers = api_client(user)
        for target_name, elder in elders.items():
            allowed = persona_name in (SEES_LIANDU if target_name == "liandu" else SEES_QINGTIAN)
            values = {**_values(elder)}
            for path, method, operation in operations:
                if path.endswith("/auth/token"):
                    continue
                params = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
                url = openapi_fill(path, {p: values.get(p, _generic(p)) for p in params})
                kwargs = {"content_type": "application/json", "data": json.dumps({})} if method != "get" else {}
                response = getattr(client, method)(url, **headers, **kwargs)
                if response.status_code >= 500:
                    failures.append(f"{persona_name} {method.upper()} {url}: {response.status_code}")
                    continue
                is_elder_detail = path.rstrip("/") == "/api/v1/elders/{elder_id}" and method == "get"
                if is_elder_detail and allowed and response.status_code != 200:
                    failures.append(f"{persona_name} GET {url}: in scope but {response.status_code}")
                if not allowed and params & ELDER_PARAMS and "/elders/" in path and response.status_code in (200, 201):
                    failures.append(f"{persona_name} {method.upper()} {url}: out of scope but {response.status_code}")
                listed = method == "get" and path.rstrip("/").endswith("/elders") and response.status_code == 200
                if listed and not allowed and elder.name in response.content.decode():
                    failures.append(f"{persona_name} sees {elder.name} in {url}")
                if response.status_code >= 400:
                    body = response.json()
                    if "message" not in body and "detail" not in body:
                        failures.append(f"{persona_name} {method.upper()} {url}: error body without a message: {body}")
    assert not failures, "\n".join(failures[:50])


def test_api_without_credentials_is_401(client, elders):
    for path, method, operation in _operations(client):
        # No "security" in the OpenAPI: the endpoint authenticates otherwise (a device signature, a password).
        if not operation.get("security"):
            continue
        params = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
        url = openapi_fill(path, {p: _generic(p) for p in params})
        kwargs = {"content_type": "application/json", "data": "{}"} if method != "get" else {}
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code in (401, 404, 422), (method, url, response.status_code)
