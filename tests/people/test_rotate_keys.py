import base64

import pytest
from django.core.management import call_command

from tests.people.helpers import register
from yiyang.audit.models import AuditEvent
from yiyang.people.models import Elder, ElderContact
from yiyang.people.operations import contact_add
from yiyang.people.queries import elder_search

pytestmark = pytest.mark.django_db

KEY1 = base64.b64encode(b"1" * 32).decode()
KEY2 = base64.b64encode(b"2" * 32).decode()


def test_rotate_keys_reencrypts_everything_and_search_still_works(settings, personas):
    settings.FIELD_KEYS = f"1:{KEY1}"
    settings.FIELD_KEY_VERSION = 1
    worker = personas["worker"]
    elders = [register(worker, name=f"轮换{i}", phone=f"1390578000{i}") for i in range(3)]
    only_id = register(worker, name="无电话")
    contact_add(elder=elders[0], actor=worker, name="儿子", relation="child", phone="13800001111")
    numbers = {e.pk: e.reveal_id_number() for e in [*elders, only_id]}

    settings.FIELD_KEYS = f"1:{KEY1},2:{KEY2}"
    settings.FIELD_KEY_VERSION = 2
    settings.FIELD_CIPHER = "sm4-gcm"
    call_command("rotate_keys", batch_size=2)

    for elder in Elder.objects.all():
        assert elder.id_number_enc.startswith("v2:s:")
        assert elder.phone_enc == "" or elder.phone_enc.startswith("v2:s:")
        assert elder.reveal_id_number() == numbers[elder.pk]
    assert ElderContact.objects.get().phone_enc.startswith("v2:s:")
    assert AuditEvent.objects.filter(action="people.keys_rotate").exists()

    # The old key can go: every row reads under the new one, and the blind index did not change.
    settings.FIELD_KEYS = f"2:{KEY2}"
    assert list(elder_search(worker, numbers[only_id.pk])) == [only_id]
    assert list(elder_search(worker, "13800001111")) == [elders[0]]
    assert Elder.objects.get(pk=elders[1].pk).reveal_phone() == "13905780001"
    # Running again finds nothing stale.
    call_command("rotate_keys")
    assert AuditEvent.objects.filter(action="people.keys_rotate").latest("pk").detail["elders"] == 0
