"""The visit page's one-click "open a follow-up alert" for a need found (Silver Guardian)."""

import pytest
from django.utils import timezone

from yiyang.guardian.models import Alert
from yiyang.visits.operations import visit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(personas, elders):
    return visit_record(
        elder=elders["liandu"], actor=personas["worker"], visited_on=timezone.localdate(),
        mode="phone", health="fair", mood="low", home="ok", needs=["company"],
    )  # fmt: skip


def test_the_button_opens_the_alert_and_then_links_it(client, personas, elders, visit):
    client.force_login(personas["worker"])
    page = client.get(f"/visits/elder/{elders['liandu'].pk}/").content.decode()
    action = f"/guardian/visits/{visit.pk}/follow-up-alert/"
    assert f'action="{action}"' in page and 'value="company"' in page
    response = client.post(action, {"need": "company", "severity": "medium"})
    assert response.status_code == 302 and response["Location"] == f"/visits/elder/{elders['liandu'].pk}/"
    alert = Alert.objects.get()
    assert alert.kind == "visit_followup" and alert.detail["visit_id"] == visit.pk
    page = client.get(f"/visits/elder/{elders['liandu'].pk}/").content.decode()
    assert f"/guardian/alerts/{alert.pk}/" in page and f'action="{action}"' not in page
    # A second click changes nothing (the page says why).
    client.post(action, {"need": "company"})
    assert Alert.objects.count() == 1


def test_bad_need_and_wrong_people(client, personas, elders, visit):
    action = f"/guardian/visits/{visit.pk}/follow-up-alert/"
    client.force_login(personas["worker"])
    response = client.post(action, {"need": "meal"}, follow=True)
    assert response.status_code == 200 and not Alert.objects.exists()
    for role in ("operator", "family", "other_county_officer"):
        client.force_login(personas[role])
        assert client.post(action, {"need": "company"}).status_code == 404
    assert client.get(action).status_code in (404, 405)
    assert not Alert.objects.exists()
