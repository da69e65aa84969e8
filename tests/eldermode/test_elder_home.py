"""Elder mode: the home screen and ordering a common service in three taps, with a read-back."""

import re

import pytest

from yiyang.homecare.models import Order

pytestmark = pytest.mark.django_db


def test_elder_and_family_land_on_the_elder_home_in_elder_mode(client, personas, elders, offerings):
    for who in ("elder", "family"):
        client.force_login(personas[who])
        response = client.get("/", follow=True)
        assert response.redirect_chain[-1][0] == "/care/"
        page = response.content.decode()
        assert "elder-mode" in page and elders["liandu"].name in page
        client.logout()


def test_staff_roles_cannot_open_the_elder_home(client, personas):
    client.force_login(personas["operator"])
    assert client.get("/care/").status_code == 404


def test_three_taps_order_a_meal_with_a_read_back_of_what_when_and_cost(client, personas, elders, offerings):
    elder = elders["liandu"]
    client.force_login(personas["elder"])
    home = client.get("/care/").content.decode()
    # Tap 1: the meal button.
    meal = re.search(r'href="(/care/order/meal-delivery/\?elder=\d+)"', home).group(1)
    when = client.get(meal).content.decode()
    # Tap 2: tomorrow morning.
    confirm_url = re.search(r'href="(/care/order/meal-delivery/confirm/\?[^"]*slot=tomorrow-am)"', when).group(1).replace("&amp;", "&")
    confirm = client.get(confirm_url)
    page = confirm.content.decode()
    assert "送餐上门" in page and elder.name in page and "15" in page
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    # Tap 3: yes, book it.
    done = client.post(confirm_url, {"elder": elder.pk, "slot": "tomorrow-am", "idempotency_key": key}, follow=True)
    assert done.status_code == 200
    order = Order.objects.get(elder=elder)
    assert order.item.code == "meal-delivery" and order.channel == "elder"
    # A double tap on "book" (same key) makes no second order.
    client.post(confirm_url, {"elder": elder.pk, "slot": "tomorrow-am", "idempotency_key": key})
    assert Order.objects.filter(elder=elder).count() == 1
    assert "送餐上门" in client.get("/care/").content.decode()


def test_family_cannot_order_for_an_elder_not_linked_to_them(client, personas, elders, offerings):
    client.force_login(personas["family"])
    other = elders["qingtian"]
    assert client.get(f"/care/order/meal-delivery/?elder={other.pk}").status_code == 404
    response = client.post(
        f"/care/order/meal-delivery/confirm/?elder={other.pk}&slot=tomorrow-am", {"elder": other.pk, "slot": "tomorrow-am"}
    )
    assert response.status_code == 404
    assert not Order.objects.filter(elder=other).exists()


def test_an_unknown_slot_goes_back_to_the_time_choice(client, personas, elders, offerings):
    client.force_login(personas["elder"])
    response = client.get(f"/care/order/meal-delivery/confirm/?elder={elders['liandu'].pk}&slot=yesterday")
    assert response.status_code == 302 and "/care/order/meal-delivery/" in response["Location"]


def test_where_no_provider_serves_the_elder_is_told_to_call(client, personas, elders, menu):
    client.force_login(personas["elder"])
    response = client.get(f"/care/order/meal-delivery/confirm/?elder={elders['liandu'].pk}&slot=tomorrow-am")
    assert "96345" in response.content.decode()
    assert 'name="idempotency_key"' not in response.content.decode()


def test_admin_keeps_the_staff_home(client, personas):
    client.force_login(personas["admin"])
    assert client.get("/").status_code == 200
    assert client.get("/care/").status_code == 404


def test_help_button_opens_a_critical_sos_alert_for_the_console_once(client, personas, elders):
    from yiyang.guardian.models import Alert

    client.force_login(personas["elder"])
    home = client.get("/care/").content.decode()
    assert 'action="/care/help/"' in home
    response = client.post("/care/help/", {"elder": elders["liandu"].pk}, follow=True)
    assert response.status_code == 200
    alert = Alert.objects.get(elder=elders["liandu"])
    assert alert.kind == "sos" and alert.severity == "critical"
    client.post("/care/help/", {"elder": elders["liandu"].pk})
    assert Alert.objects.filter(elder=elders["liandu"]).count() == 1
    client.force_login(personas["operator"])
    assert elders["liandu"].name in client.get("/guardian/console/alerts/").content.decode()


def test_help_for_an_unlinked_elder_is_404_and_opens_nothing(client, personas, elders):
    from yiyang.guardian.models import Alert

    client.force_login(personas["family"])
    assert client.post("/care/help/", {"elder": elders["qingtian"].pk}).status_code == 404
    assert not Alert.objects.exists()


def test_call_me_back_reaches_the_hotline_once_and_is_closed_there(client, personas, elders):
    from yiyang.eldermode.models import CallbackRequest

    client.force_login(personas["elder"])
    assert client.post("/care/callback/", {"elder": elders["liandu"].pk}).status_code == 200
    client.post("/care/callback/", {"elder": elders["liandu"].pk})
    waiting = CallbackRequest.objects.get(elder=elders["liandu"])
    client.force_login(personas["other_county_officer"])
    assert elders["liandu"].name not in client.get("/care/callbacks/").content.decode()
    assert client.post("/care/callbacks/", {"request": waiting.pk, "note": "x"}).status_code == 404
    client.force_login(personas["operator"])
    assert elders["liandu"].name in client.get("/care/callbacks/").content.decode()
    assert client.post("/care/callbacks/", {"request": waiting.pk, "note": "已回电，明天送餐"}).status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == "done" and waiting.handled_by == personas["operator"]
    assert client.post("/care/callbacks/", {"request": waiting.pk, "note": "again"}).status_code == 409


def _contact_with_phone(elder, phone="13857812345"):
    from yiyang.people.models import ElderContact

    contact = ElderContact(elder=elder, name="张晓梅", relation=ElderContact.Relation.values[0])
    contact.set_phone(phone)
    contact.save()
    return contact


def test_home_masks_the_family_number_and_dialling_it_is_logged(client, personas, elders):
    from yiyang.audit.models import AuditEvent

    elder = elders["liandu"]
    contact = _contact_with_phone(elder)
    client.force_login(personas["elder"])
    home = client.get("/care/").content.decode()
    assert "13857812345" not in home and "138****2345" in home
    call_url = f"/care/call/{contact.pk}/?elder={elder.pk}"
    assert call_url in home.replace("&amp;", "&")
    assert not AuditEvent.objects.filter(action="elder.contact_dial").exists()
    page = client.get(call_url).content.decode()
    assert 'href="tel:13857812345"' in page
    event = AuditEvent.objects.get(action="elder.contact_dial")
    assert event.actor == personas["elder"] and event.object_id == str(elder.pk)
    assert event.detail == {"field": "contact_phone", "contact": contact.pk}


def test_dialling_another_elders_contact_is_404_and_logs_nothing(client, personas, elders):
    from yiyang.audit.models import AuditEvent

    stranger_contact = _contact_with_phone(elders["qingtian"])
    client.force_login(personas["family"])
    assert client.get(f"/care/call/{stranger_contact.pk}/").status_code == 404
    assert client.get(f"/care/call/{stranger_contact.pk}/?elder={elders['qingtian'].pk}").status_code == 404
    client.force_login(personas["operator"])
    assert client.get(f"/care/call/{stranger_contact.pk}/").status_code == 404
    assert not AuditEvent.objects.filter(action="elder.contact_dial").exists()


def test_help_sent_shows_numbers_at_once_and_logs_each(client, personas, elders):
    from yiyang.audit.models import AuditEvent

    elder = elders["liandu"]
    _contact_with_phone(elder)
    client.force_login(personas["elder"])
    page = client.get(f"/care/help/sent/?elder={elder.pk}").content.decode()
    assert 'href="tel:13857812345"' in page
    assert AuditEvent.objects.filter(action="elder.contact_dial", actor=personas["elder"]).count() == 1
