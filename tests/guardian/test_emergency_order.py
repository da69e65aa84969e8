"""One click on an alert creates an emergency (助急) visit order through the home-care app's own operation."""

import pytest

from yiyang.guardian.models import Alert, TimelineKind
from yiyang.guardian.operations import events_ingest
from yiyang.homecare.catalogue import catalogue_seed
from yiyang.homecare.models import Order, ProviderOffering, ServiceItem


@pytest.fixture
def alert(make_device, elders):
    dev = make_device(elders["liandu"], "fall")
    events_ingest(messages=[dev.incoming("fall")])
    return Alert.objects.get()


def test_one_click_creates_one_emergency_order(client, personas, provider, alert):
    catalogue_seed()
    item = ServiceItem.objects.get(code="emergency-visit")
    ProviderOffering.objects.create(provider=provider, item=item, price_fen=item.guide_price_fen)
    client.force_login(personas["operator"])
    assert "emergency-order" in client.get(f"/guardian/alerts/{alert.pk}/").content.decode()
    assert client.post(f"/guardian/alerts/{alert.pk}/emergency-order/").status_code == 302
    assert client.post(f"/guardian/alerts/{alert.pk}/emergency-order/").status_code == 302, "a double click"
    order = Order.objects.get()
    assert (order.elder, order.provider, order.item) == (alert.elder, provider, item)
    assert alert.timeline.filter(kind=TimelineKind.ORDER).count() == 1


def test_no_provider_offers_it_there_changes_nothing(client, personas, alert):
    catalogue_seed()
    client.force_login(personas["operator"])
    response = client.post(f"/guardian/alerts/{alert.pk}/emergency-order/")
    assert response.status_code == 400
    assert not Order.objects.exists() and not alert.timeline.filter(kind=TimelineKind.ORDER).exists()


def test_only_alert_handlers_in_scope(client, personas, alert):
    client.force_login(personas["caregiver"])
    assert client.post(f"/guardian/alerts/{alert.pk}/emergency-order/").status_code == 404
    assert not Order.objects.exists()
