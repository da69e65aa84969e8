"""Caregiver phones become personal data handled like the registry's: encrypted, blind-indexed, masked.

Three steps so that no number is lost either way: add the encrypted and index columns, copy every
plaintext phone into them (the reverse decrypts them back), and only then drop the plaintext
column (the reverse re-adds it empty, and the copy step's reverse then refills it).
"""

from django.db import migrations, models

# Fixed here rather than imported from models.py: a migration must keep meaning what it meant.
CAREGIVER_PHONE_FIELD = "homecare.caregiver.phone"
BATCH = 500


def _normalised(raw: str) -> str:
    """The registry's canonical form when the old free-form value parses; otherwise as typed, never dropped."""
    from yiyang.core.errors import DomainError
    from yiyang.people.idnumber import normalise_phone

    try:
        return normalise_phone(raw)
    except DomainError:
        return raw


def encrypt_phones(apps, schema_editor):
    from yiyang.people import crypto

    Caregiver = apps.get_model("homecare", "Caregiver")
    changed = []
    for caregiver in Caregiver.objects.exclude(phone="").only("pk", "phone").iterator(chunk_size=BATCH):
        phone = _normalised(caregiver.phone.strip())
        if not phone:
            continue
        caregiver.phone_enc = crypto.encrypt(phone, field=CAREGIVER_PHONE_FIELD)
        caregiver.phone_bidx = crypto.blind_index(phone, field=CAREGIVER_PHONE_FIELD)
        changed.append(caregiver)
        if len(changed) >= BATCH:
            Caregiver.objects.bulk_update(changed, ["phone_enc", "phone_bidx"])
            changed = []
    Caregiver.objects.bulk_update(changed, ["phone_enc", "phone_bidx"])


def decrypt_phones(apps, schema_editor):
    from yiyang.people import crypto

    Caregiver = apps.get_model("homecare", "Caregiver")
    changed = []
    for caregiver in Caregiver.objects.exclude(phone_enc="").only("pk", "phone_enc").iterator(chunk_size=BATCH):
        caregiver.phone = crypto.decrypt(caregiver.phone_enc, field=CAREGIVER_PHONE_FIELD)
        changed.append(caregiver)
        if len(changed) >= BATCH:
            Caregiver.objects.bulk_update(changed, ["phone"])
            changed = []
    Caregiver.objects.bulk_update(changed, ["phone"])


class Migration(migrations.Migration):
    dependencies = [
        ("homecare", "0002_catalogue_caregivers_orders"),
    ]

    operations = [
        migrations.AddField(
            model_name="caregiver",
            name="phone_enc",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="phone (encrypted)"),
        ),
        migrations.AddField(
            model_name="caregiver",
            name="phone_bidx",
            field=models.CharField(blank=True, db_index=True, default="", editable=False, max_length=64),
        ),
        migrations.RunPython(encrypt_phones, decrypt_phones, elidable=False),
        migrations.RemoveField(
            model_name="caregiver",
            name="phone",
        ),
    ]
