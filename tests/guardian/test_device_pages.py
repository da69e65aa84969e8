"""Device registry pages: list within the user's area, register (secret shown once), edit, rotate the credential."""

import re

import pytest

from yiyang.audit.models import AuditEvent
from yiyang.guardian import crypto
from yiyang.guardian.models import Device
from yiyang.guardian.operations import events_ingest

pytestmark = pytest.mark.django_db
NO_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>")


def test_device_list_shows_the_area_only_with_its_running_state(client, personas, elders, make_device, django_assert_max_num_queries):
    mine = make_device(elders["liandu"], "smoke", interval=3600)
    other = make_device(elders["qingtian"], "sos")
    events_ingest(messages=[mine.incoming("heartbeat", battery=12)])
    client.force_login(personas["worker"])
    with django_assert_max_num_queries(12):
        page = client.get("/guardian/devices/")
    html = page.content.decode()
    assert page.status_code == 200
    assert mine.serial in html and other.serial not in html
    assert elders["liandu"].name in html and "卧室" in html and "12%" in html
    assert 'class="guardian-warn">12%' in html, "low battery stands out"
    # Filters: by status and by type.
    assert mine.serial not in client.get("/guardian/devices/?status=offline").content.decode()
    assert mine.serial in client.get("/guardian/devices/?status=low_battery").content.decode()
    assert mine.serial not in client.get("/guardian/devices/?type=bracelet").content.decode()
    client.force_login(personas["operator"])  # city-wide: both
    html = client.get("/guardian/devices/").content.decode()
    assert mine.serial in html and other.serial in html and "Register a device" not in html


def test_device_pages_are_refused_to_other_roles_and_out_of_area(client, personas, elders, make_device):
    other = make_device(elders["qingtian"], "sos")
    for role in ("family", "caregiver", "elder"):
        client.force_login(personas[role])
        assert client.get("/guardian/devices/").status_code == 404
    client.force_login(personas["worker"])
    assert client.get(f"/guardian/devices/{other.device.pk}/").status_code == 404
    assert client.post(f"/guardian/devices/{other.device.pk}/rotate-secret/").status_code == 404
    assert client.get(f"/guardian/devices/new/?elder={elders['qingtian'].pk}").status_code == 404
    client.force_login(personas["operator"])  # may see, may not manage
    assert client.get("/guardian/devices/new/").status_code == 404
    assert client.post(f"/guardian/devices/{other.device.pk}/", {"report_interval_seconds": "60"}).status_code == 404


def test_register_through_the_scoped_elder_search_and_see_the_secret_once(client, personas, elders):
    client.force_login(personas["worker"])
    found = client.get("/guardian/devices/new/", {"q": "长辈"}).content.decode()
    assert elders["liandu"].name in found and elders["qingtian"].name not in found, "the search is scoped"
    form = client.get(f"/guardian/devices/new/?elder={elders['liandu'].pk}")
    assert form.status_code == 200 and 'name="serial"' in form.content.decode()
    done = client.post(
        "/guardian/devices/new/",
        {
            "elder": elders["liandu"].pk,
            "device_type": "bracelet",
            "serial": "BR-P-0001",
            "install_location": "左手腕",
            "report_interval_seconds": "60",
        },
    )
    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]
    device = Device.objects.get(serial="BR-P-0001")
    secret = re.search(r'id="id_secret" value="([^"]+)"', done.content.decode()).group(1)
    assert crypto.decrypt_secret(device.secret_encrypted) == secret
    assert "yiyang/v1/devices/BR-P-0001/alarms" in done.content.decode()
    assert f"/guardian/elders/{elders['liandu'].pk}/zones/new/" in done.content.decode(), "a bracelet's next step: its zone"
    # Never again: the device page does not show it.
    assert secret not in client.get(f"/guardian/devices/{device.pk}/").content.decode()


def test_register_errors_name_the_field_and_change_nothing(client, personas, elders, make_device):
    existing = make_device(elders["liandu"], "smoke")
    client.force_login(personas["worker"])
    base = {
        "elder": elders["liandu"].pk,
        "device_type": "smoke",
        "serial": "SM-NEW",
        "install_location": "",
        "report_interval_seconds": "300",
    }
    cases = [
        ({"device_type": "toaster"}, "device_type"),
        ({"serial": "has space"}, "serial"),
        ({"serial": existing.serial}, "serial"),
        ({"report_interval_seconds": "5"}, "report_interval_seconds"),
        ({"report_interval_seconds": "soon"}, "report_interval_seconds"),
    ]
    for change, field in cases:
        response = client.post("/guardian/devices/new/", {**base, **change})
        assert response.status_code == 400, change
        assert f'aria-invalid="true" aria-describedby="{field}-err"' in response.content.decode(), change
    assert client.post("/guardian/devices/new/", {**base, "elder": ""}).status_code == 400
    assert client.post("/guardian/devices/new/", {**base, "elder": elders["qingtian"].pk}).status_code == 404
    assert Device.objects.count() == 1


def test_edit_and_rotate_the_credential(client, personas, elders, make_device):
    dev = make_device(elders["liandu"], "door", interval=300)
    client.force_login(personas["worker"])
    page = client.get(f"/guardian/devices/{dev.device.pk}/")
    assert page.status_code == 200 and not NO_INLINE_SCRIPT.search(page.content.decode())
    bad = client.post(
        f"/guardian/devices/{dev.device.pk}/", {"install_location": "门口", "report_interval_seconds": "1", "is_active": "on"}
    )
    assert bad.status_code == 400 and 'aria-describedby="report_interval_seconds-err"' in bad.content.decode()
    ok = client.post(
        f"/guardian/devices/{dev.device.pk}/", {"install_location": "门口", "report_interval_seconds": "600", "is_active": "on"}
    )
    assert ok.status_code == 302
    dev.device.refresh_from_db()
    assert (dev.device.install_location, dev.device.report_interval_seconds, dev.device.is_active) == ("门口", 600, True)
    rotated = client.post(f"/guardian/devices/{dev.device.pk}/rotate-secret/")
    new_secret = re.search(r'id="id_secret" value="([^"]+)"', rotated.content.decode()).group(1)
    assert new_secret != dev.secret and "no-store" in rotated["Cache-Control"]
    # The old secret stops working at once; the new one works.
    assert events_ingest(messages=[dev.incoming("heartbeat")]).status == ["rejected"]
    dev.secret = new_secret
    assert events_ingest(messages=[dev.incoming("heartbeat")]).status == ["accepted"]
    assert AuditEvent.objects.filter(action="guardian.device.rotate_secret").count() == 1
    # Out of service: unticked.
    client.post(f"/guardian/devices/{dev.device.pk}/", {"install_location": "门口", "report_interval_seconds": "600"})
    dev.device.refresh_from_db()
    assert dev.device.is_active is False


def test_device_api_update_and_rotate(client, api_client, personas, elders, make_device):
    dev = make_device(elders["liandu"], "motion")
    other = make_device(elders["qingtian"], "motion")
    headers = api_client(personas["worker"])
    url = f"/api/v1/guardian/devices/{dev.device.pk}"
    ok = client.patch(url, {"install_location": "客厅", "report_interval_seconds": 120}, content_type="application/json", **headers)
    assert ok.status_code == 200 and ok.json()["report_interval_seconds"] == 120
    bad = client.patch(url, {"report_interval_seconds": 3}, content_type="application/json", **headers)
    assert bad.status_code in (400, 422) and "report_interval_seconds" in bad.content.decode()
    rotated = client.post(f"{url}/rotate-secret", **headers)
    assert rotated.status_code == 200 and rotated.json()["secret"] != dev.secret
    assert client.post(f"/api/v1/guardian/devices/{other.device.pk}/rotate-secret", **headers).status_code == 404
    assert client.post(f"{url}/rotate-secret", **api_client(personas["operator"])).status_code == 403
