"""Managing providers: details, townships served, auto-dispatch and offerings, through operations, pages and the API."""

import pytest

from tests.factories import region
from tests.homecare.helpers import heading_levels, place
from yiyang.audit.models import AuditEvent
from yiyang.core.errors import DomainError
from yiyang.homecare import provider_operations as pops
from yiyang.homecare.models import Order, Provider, ProviderOffering

LIANDU_TOWNSHIP = "331102001"  # 紫金街道
QINGTIAN_TOWNSHIP = "331121001"


def _codes(provider: Provider) -> set[str]:
    return set(provider.service_regions.values_list("code", flat=True))


# Operations -----------------------------------------------------------------------------------------


def test_officer_edits_licence_and_townships_within_their_county(personas, provider):
    officer = personas["county_officer"]
    pops.provider_update(
        provider=provider,
        actor=officer,
        name="新名字",
        licence_no="331102-YL-9",
        phone="0578-2123456",
        service_regions=[region(LIANDU_TOWNSHIP)],
    )
    provider.refresh_from_db()
    assert (provider.name, provider.licence_no, provider.phone) == ("新名字", "331102-YL-9", "0578-2123456")
    assert _codes(provider) == {LIANDU_TOWNSHIP}
    event = AuditEvent.objects.get(action="provider.update")
    assert event.detail["changes"]["licence_no"] == "331102-YL-9" and event.detail["changes"]["service_regions"] == [LIANDU_TOWNSHIP]


def test_a_township_outside_the_officers_area_is_refused_and_nothing_changes(personas, provider):
    before = _codes(provider)
    with pytest.raises(DomainError) as exc:
        pops.provider_update(
            provider=provider,
            actor=personas["county_officer"],
            name="改名",
            service_regions=[region(LIANDU_TOWNSHIP), region(QINGTIAN_TOWNSHIP)],
        )
    assert exc.value.field == "service_regions" and exc.value.code == "outside_area"
    provider.refresh_from_db()
    assert provider.name != "改名" and _codes(provider) == before


def test_a_county_is_not_a_township(personas, provider):
    with pytest.raises(DomainError) as exc:
        pops.provider_update(provider=provider, actor=personas["city_officer"], name=provider.name, service_regions=[region("331102")])
    assert exc.value.field == "service_regions" and exc.value.code == "not_township"


def test_dispatcher_edits_own_provider_within_its_county_only(personas, provider):
    dispatcher = personas["dispatcher"]
    pops.provider_update(
        provider=provider, actor=dispatcher, name=provider.name, licence_no="L-1", service_regions=[region(LIANDU_TOWNSHIP)]
    )
    assert _codes(provider) == {LIANDU_TOWNSHIP}
    with pytest.raises(DomainError) as exc:
        pops.provider_update(provider=provider, actor=dispatcher, name=provider.name, service_regions=[region(QINGTIAN_TOWNSHIP)])
    assert exc.value.code == "outside_area"


def test_townships_outside_the_editors_area_are_kept(personas, provider):
    provider.service_regions.add(region(QINGTIAN_TOWNSHIP))
    pops.provider_update(provider=provider, actor=personas["county_officer"], name=provider.name, service_regions=[region(LIANDU_TOWNSHIP)])
    assert _codes(provider) == {LIANDU_TOWNSHIP, QINGTIAN_TOWNSHIP}


def test_a_township_an_offering_is_limited_to_cannot_be_dropped(personas, provider, menu):
    offering, _ = pops.offering_save(
        provider=provider, item=menu["meal-delivery"], actor=personas["dispatcher"], price_fen=1200, regions=[region("331102002")]
    )
    with pytest.raises(DomainError) as exc:
        pops.provider_update(provider=provider, actor=personas["dispatcher"], name=provider.name, service_regions=[region(LIANDU_TOWNSHIP)])
    assert exc.value.code == "township_in_use" and "331102002" in _codes(provider)
    assert region("331102002").name in exc.value.message and offering.item.name in exc.value.message


def test_bad_name_and_phone_name_the_field(personas, provider):
    for kwargs, field in (({"name": " "}, "name"), ({"name": "x", "phone": "call me"}, "phone"), ({"name": "x" * 129}, "name")):
        with pytest.raises(DomainError) as exc:
            pops.provider_update(provider=provider, actor=personas["county_officer"], **kwargs)
        assert exc.value.field == field


def test_offering_prices_are_whole_non_negative_fen_in_the_providers_townships(personas, provider, menu):
    item = menu["clean-home"]
    for price, code in ((-1, "price_negative"), (12.5, "price"), ("1200", "price"), (10**7, "price_too_high")):
        with pytest.raises(DomainError) as exc:
            pops.offering_save(provider=provider, item=item, actor=personas["dispatcher"], price_fen=price)
        assert (exc.value.field, exc.value.code) == ("price_fen", code)
    with pytest.raises(DomainError) as exc:
        pops.offering_save(provider=provider, item=item, actor=personas["dispatcher"], price_fen=5000, regions=[region(QINGTIAN_TOWNSHIP)])
    assert (exc.value.field, exc.value.code) == ("regions", "outside_provider_area")
    assert not ProviderOffering.objects.exists()
    offering, created = pops.offering_save(provider=provider, item=item, actor=personas["dispatcher"], price_fen=0)
    assert created and offering.price_fen == 0  # free is a price (a charity's offer)


def test_the_offering_price_is_what_a_new_order_costs(personas, provider, menu, elder):
    pops.offering_save(provider=provider, item=menu["clean-home"], actor=personas["dispatcher"], price_fen=3333)
    order = place(elder, menu["clean-home"], personas["operator"])
    assert order.provider == provider and order.price_fen == 3333
    pops.offering_save(provider=provider, item=menu["clean-home"], actor=personas["dispatcher"], price_fen=4444)
    assert place(elder, menu["clean-home"], personas["operator"], days=2).price_fen == 4444
    order.refresh_from_db()
    assert order.price_fen == 3333  # a placed order keeps its price


# Pages ----------------------------------------------------------------------------------------------------


def test_provider_pages_for_the_county_officer(client, personas, provider, offerings):
    client.force_login(personas["county_officer"])
    listing = client.get("/homecare/providers/")
    assert listing.status_code == 200 and provider.name in listing.content.decode()
    page = client.get(f"/homecare/providers/{provider.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'name="licence_no"' in html and f'value="{LIANDU_TOWNSHIP}" checked' in html
    r = client.post(
        f"/homecare/providers/{provider.pk}/",
        {"name": provider.name, "licence_no": "331102-YL-0042", "phone": "", "is_active": "on", "regions": [LIANDU_TOWNSHIP, "331102002"]},
    )
    assert r.status_code == 302
    provider.refresh_from_db()
    assert provider.licence_no == "331102-YL-0042" and _codes(provider) == {LIANDU_TOWNSHIP, "331102002"}


def test_provider_form_errors_are_named_and_change_nothing(client, personas, provider):
    client.force_login(personas["county_officer"])
    before = _codes(provider)
    r = client.post(f"/homecare/providers/{provider.pk}/", {"name": "", "is_active": "on", "regions": [LIANDU_TOWNSHIP]})
    assert r.status_code == 400 and 'id="id_name" name="name"' in r.content.decode() and 'aria-describedby="name-err"' in r.content.decode()
    assert "请输入服务组织名称。" in r.content.decode()  # one whole translated sentence, not a pasted-in fragment
    r = client.post(f"/homecare/providers/{provider.pk}/", {"name": "x", "is_active": "on", "regions": [QINGTIAN_TOWNSHIP]})
    assert r.status_code == 400 and "service_regions-err" in r.content.decode()
    provider.refresh_from_db()
    assert provider.name != "x" and _codes(provider) == before


def test_provider_pages_scope_and_roles(client, personas, provider, other_provider):
    client.force_login(personas["dispatcher"])
    assert client.get(f"/homecare/providers/{other_provider.pk}/").status_code == 404
    assert client.post(f"/homecare/providers/{other_provider.pk}/auto-dispatch/", {"auto_dispatch": "on"}).status_code == 404
    client.force_login(personas["other_county_officer"])
    assert client.get(f"/homecare/providers/{provider.pk}/").status_code == 404
    assert client.get(f"/homecare/providers/{provider.pk}/offerings/").status_code == 404
    # The operator may look (provider.view) but not change (provider.manage).
    client.force_login(personas["operator"])
    assert client.get(f"/homecare/providers/{provider.pk}/").status_code == 200
    assert client.post(f"/homecare/providers/{provider.pk}/", {"name": "x"}).status_code == 403
    assert client.post(f"/homecare/providers/{provider.pk}/auto-dispatch/", {"auto_dispatch": "on"}).status_code == 403
    client.force_login(personas["caregiver"])
    assert client.get("/homecare/providers/").status_code == 403
    provider.refresh_from_db()
    assert provider.name != "x" and not provider.auto_dispatch


def test_auto_dispatch_toggle_assigns_the_next_order(
    client, personas, provider, offerings, caregiver, elder, django_capture_on_commit_callbacks
):
    client.force_login(personas["dispatcher"])
    page = client.get(f"/homecare/providers/{provider.pk}/").content.decode()
    assert 'name="auto_dispatch" value="on"' in page
    assert client.post(f"/homecare/providers/{provider.pk}/auto-dispatch/", {"auto_dispatch": "on"}).status_code == 302
    provider.refresh_from_db()
    assert provider.auto_dispatch
    with django_capture_on_commit_callbacks(execute=True):
        order = place(elder, offerings["clean-home"].item, personas["operator"])
    order.refresh_from_db()
    assert order.status == "assigned" and order.caregiver == caregiver
    client.post(f"/homecare/providers/{provider.pk}/auto-dispatch/", {"auto_dispatch": "off"})
    provider.refresh_from_db()
    assert not provider.auto_dispatch
    assert AuditEvent.objects.filter(action="provider.auto_dispatch").count() == 2


def test_offerings_page_adds_and_edits_with_the_guide_price_shown(client, personas, provider, menu):
    client.force_login(personas["dispatcher"])
    page = client.get(f"/homecare/providers/{provider.pk}/offerings/", {"item": "bath-home"})
    html = page.content.decode()
    assert page.status_code == 200 and "¥100.00" in html and 'value="100.00"' in html  # guide 10000 fen pre-filled
    r = client.post(f"/homecare/providers/{provider.pk}/offerings/", {"item": "bath-home", "price": "95.5", "is_active": "on"})
    assert r.status_code == 302
    offering = ProviderOffering.objects.get(provider=provider, item__code="bath-home")
    assert offering.price_fen == 9550 and not offering.regions.exists()
    r = client.post(
        f"/homecare/providers/{provider.pk}/offerings/",
        {"item": "bath-home", "price": "120", "is_active": "on", "regions": [LIANDU_TOWNSHIP]},
    )
    assert r.status_code == 302
    offering.refresh_from_db()
    assert offering.price_fen == 12000 and list(offering.regions.values_list("code", flat=True)) == [LIANDU_TOWNSHIP]
    assert "高于指导价" in client.get(f"/homecare/providers/{provider.pk}/offerings/").content.decode()  # "above guide"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"item": "bath-home", "price": "abc"}, "price"),
        ({"item": "bath-home", "price": "-5"}, "price"),
        ({"item": "bath-home", "price": "1.234"}, "price"),
        ({"item": "bath-home", "price": ""}, "price"),
        ({"item": "no-such-item", "price": "10"}, "item"),
        ({"item": "bath-home", "price": "10", "regions": [QINGTIAN_TOWNSHIP]}, "regions"),
        ({"item": "bath-home", "price": "10", "regions": ["999999999"]}, "regions"),
    ],
)
def test_offering_form_bad_input_names_the_field_and_changes_nothing(client, personas, provider, menu, data, field):
    client.force_login(personas["dispatcher"])
    r = client.post(f"/homecare/providers/{provider.pk}/offerings/", {**data, "is_active": "on"})
    assert r.status_code == 400
    assert f'aria-describedby="{field}-err"' in r.content.decode()
    assert not ProviderOffering.objects.exists()


def test_offerings_page_is_read_only_without_provider_manage(client, personas, provider, offerings):
    client.force_login(personas["worker"])
    page = client.get(f"/homecare/providers/{provider.pk}/offerings/")
    assert page.status_code == 200 and 'id="offering-form"' not in page.content.decode()
    assert client.post(f"/homecare/providers/{provider.pk}/offerings/", {"item": "bath-home", "price": "1"}).status_code == 403
    assert ProviderOffering.objects.get(provider=provider, item__code="bath-home").price_fen == 10000


# API ----------------------------------------------------------------------------------------------------


def test_api_edits_provider_and_toggles_auto_dispatch(client, api_client, personas, provider, other_provider):
    headers = api_client(personas["county_officer"])
    r = client.patch(
        f"/api/v1/homecare/providers/{provider.pk}",
        {"licence_no": "API-1", "service_regions": [LIANDU_TOWNSHIP]},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 200, r.content
    assert r.json()["licence_no"] == "API-1" and r.json()["service_regions"] == [LIANDU_TOWNSHIP]
    r = client.patch(
        f"/api/v1/homecare/providers/{provider.pk}", {"service_regions": [QINGTIAN_TOWNSHIP]}, content_type="application/json", **headers
    )
    assert r.status_code == 400 and r.json()["field"] == "service_regions"
    r = client.put(f"/api/v1/homecare/providers/{provider.pk}/auto-dispatch", {"on": True}, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["auto_dispatch"] is True
    # Wrong region: 404; wrong role: 403.
    assert client.get(f"/api/v1/homecare/providers/{other_provider.pk}", **headers).status_code == 404
    operator = api_client(personas["operator"])
    assert client.get(f"/api/v1/homecare/providers/{provider.pk}", **operator).status_code == 200
    r = client.patch(f"/api/v1/homecare/providers/{provider.pk}", {"licence_no": "x"}, content_type="application/json", **operator)
    assert r.status_code == 403
    dispatcher = api_client(personas["dispatcher"])
    r = client.put(
        f"/api/v1/homecare/providers/{other_provider.pk}/auto-dispatch", {"on": True}, content_type="application/json", **dispatcher
    )
    assert r.status_code == 404
    other_provider.refresh_from_db()
    assert not other_provider.auto_dispatch


def test_api_puts_offerings(client, api_client, personas, provider, other_provider, menu):
    headers = api_client(personas["dispatcher"])
    url = f"/api/v1/homecare/providers/{provider.pk}/offerings/meal-delivery"
    r = client.put(url, {"price_fen": 1300}, content_type="application/json", **headers)
    assert r.status_code == 201 and r.json()["guide_price_fen"] == 1500 and r.json()["price_fen"] == 1300
    r = client.put(url, {"price_fen": 1400, "regions": [LIANDU_TOWNSHIP]}, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["regions"] == [LIANDU_TOWNSHIP]
    for body, field in (
        ({"price_fen": -1}, "price_fen"),
        ({"price_fen": "abc"}, "price_fen"),
        ({"price_fen": 1, "regions": [QINGTIAN_TOWNSHIP]}, "regions"),
    ):
        r = client.put(url, body, content_type="application/json", **headers)
        assert r.status_code in (400, 422) and r.json()["field"] == field, (body, r.content)
    assert ProviderOffering.objects.get(provider=provider, item__code="meal-delivery").price_fen == 1400
    r = client.put(
        f"/api/v1/homecare/providers/{provider.pk}/offerings/nothing", {"price_fen": 1}, content_type="application/json", **headers
    )
    assert r.status_code == 404
    r = client.put(
        f"/api/v1/homecare/providers/{other_provider.pk}/offerings/meal-delivery",
        {"price_fen": 1},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 404
    r = client.put(url, {"price_fen": 1}, content_type="application/json", **api_client(personas["worker"]))
    assert r.status_code == 403
    assert not Order.objects.exists()


# Registering a provider ----------------------------------------------------------------------------------


def test_officer_registers_a_provider_in_their_county(client, personas):
    client.force_login(personas["county_officer"])
    page = client.get("/homecare/providers/")
    assert "/homecare/providers/new/" in page.content.decode()
    form = client.get("/homecare/providers/new/").content.decode()
    assert 'value="331102" selected' in form and QINGTIAN_TOWNSHIP not in form
    assert 3 in heading_levels(form)  # the county groups' h3 sit under an h2
    r = client.post(
        "/homecare/providers/new/",
        {"name": "紫金颐养站", "licence_no": "331102-YL-0100", "region": "331102", "regions": [LIANDU_TOWNSHIP]},
    )
    provider = Provider.objects.get(name="紫金颐养站")
    assert r.status_code == 302 and r.url == f"/homecare/providers/{provider.pk}/offerings/"
    assert provider.region.code == "331102" and _codes(provider) == {LIANDU_TOWNSHIP} and not provider.auto_dispatch
    assert AuditEvent.objects.filter(action="provider.create", object_id=str(provider.pk)).exists()
    # The same again (a double click): refused by name.
    r = client.post("/homecare/providers/new/", {"name": "紫金颐养站", "region": "331102", "regions": [LIANDU_TOWNSHIP]})
    assert r.status_code == 400 and 'aria-describedby="name-err"' in r.content.decode()
    assert Provider.objects.filter(name="紫金颐养站").count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "region": "331102", "regions": [LIANDU_TOWNSHIP]}, "name"),
        ({"name": "x", "region": "331121", "regions": [LIANDU_TOWNSHIP]}, "region"),  # another county
        ({"name": "x", "region": "331102", "regions": []}, "service_regions"),
        ({"name": "x", "region": "331102", "regions": [QINGTIAN_TOWNSHIP]}, "service_regions"),
        ({"name": "x", "region": "331102", "regions": [LIANDU_TOWNSHIP], "phone": "phone"}, "phone"),
    ],
)
def test_registering_bad_input_names_the_field(client, personas, data, field):
    client.force_login(personas["county_officer"])
    count = Provider.objects.count()
    r = client.post("/homecare/providers/new/", data)
    assert r.status_code == 400 and f'aria-describedby="{field}-err"' in r.content.decode()
    assert Provider.objects.count() == count


def test_only_officers_register_providers(client, api_client, personas):
    body = {"name": "x", "region": "331102", "service_regions": [LIANDU_TOWNSHIP]}
    for role in ("dispatcher", "operator", "worker"):
        client.force_login(personas[role])
        assert client.get("/homecare/providers/new/").status_code == 403
        r = client.post("/api/v1/homecare/providers", body, content_type="application/json", **api_client(personas[role]))
        assert r.status_code == 403
    headers = api_client(personas["other_county_officer"])
    r = client.post("/api/v1/homecare/providers", body, content_type="application/json", **headers)
    assert r.status_code == 400 and r.json()["field"] == "region"
    r = client.post(
        "/api/v1/homecare/providers",
        {**body, "region": "331121", "service_regions": [QINGTIAN_TOWNSHIP]},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 201 and r.json()["service_regions"] == [QINGTIAN_TOWNSHIP]
    assert Provider.objects.filter(name="x").count() == 1


def test_the_dispatch_board_links_to_the_providers_settings(client, personas, provider):
    client.force_login(personas["dispatcher"])
    html = client.get("/homecare/dispatch/").content.decode()
    assert f"/homecare/providers/{provider.pk}/" in html and "/homecare/caregivers/" in html


def test_only_officers_activate_or_deactivate_a_provider(client, api_client, personas, provider):
    with pytest.raises(DomainError) as exc:
        pops.provider_update(provider=provider, actor=personas["dispatcher"], name=provider.name, is_active=False)
    assert exc.value.field == "is_active"
    # The dispatcher's form has no such box, and saving it leaves the provider active.
    client.force_login(personas["dispatcher"])
    assert 'name="is_active"' not in client.get(f"/homecare/providers/{provider.pk}/").content.decode()
    assert client.post(f"/homecare/providers/{provider.pk}/", {"name": provider.name, "regions": [LIANDU_TOWNSHIP]}).status_code == 302
    provider.refresh_from_db()
    assert provider.is_active
    r = client.patch(
        f"/api/v1/homecare/providers/{provider.pk}",
        {"is_active": False},
        content_type="application/json",
        **api_client(personas["dispatcher"]),
    )
    assert r.status_code == 400 and r.json()["field"] == "is_active"
    r = client.patch(
        f"/api/v1/homecare/providers/{provider.pk}",
        {"is_active": False},
        content_type="application/json",
        **api_client(personas["county_officer"]),
    )
    assert r.status_code == 200 and r.json()["is_active"] is False
