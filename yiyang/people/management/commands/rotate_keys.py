from django.core.management.base import BaseCommand

from yiyang.homecare.provider_operations import caregiver_phones_rotate
from yiyang.people import crypto
from yiyang.people.operations import keys_rotate


class Command(BaseCommand):
    help = "Re-encrypt ID numbers and phones under the current key version (YIYANG_FIELD_KEY_VERSION) and cipher."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, batch_size: int, **options):
        crypto.field_keys()  # fail fast on a bad key list before touching any row
        counts = keys_rotate(batch_size=batch_size)
        caregivers = caregiver_phones_rotate(batch_size=batch_size)
        self.stdout.write(
            f"Re-encrypted {counts['elders']} elders, {counts['contacts']} contacts and {caregivers} caregivers' phones under key "
            f"v{crypto.current_version()} ({crypto.current_cipher()})."
        )
