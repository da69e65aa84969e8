"""Two admissions at the same moment: an elder never ends up in two beds, a bed never holds two elders.

Real concurrent transactions on PostgreSQL (one connection per thread); skipped on SQLite, where
IMMEDIATE transactions serialise writers by construction.
"""

import os
import threading
from urllib.parse import urlparse

import pytest
from django.db import connection, connections
from django.utils import timezone

from tests.factories import ElderFactory
from tests.institutions.conftest import make_institution
from tests.services import require_service
from yiyang.core.errors import DomainError
from yiyang.institutions.models import Bed, BedStatus, Residency
from yiyang.institutions.operations import bed_add, resident_admit


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        url = urlparse(os.environ.get("YIYANG_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/"))
        require_service("PostgreSQL", url.hostname or "127.0.0.1", url.port or 5432)
        pytest.skip("runs when the suite runs on PostgreSQL (DATABASE_URL=postgres://…)")


def race(calls) -> list[str]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[str] = []

    def run(call) -> None:
        try:
            barrier.wait(timeout=10)
            call()
            outcomes.append("admitted")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return sorted(outcomes)


@pytest.mark.django_db(transaction=True)
def test_concurrent_admissions(postgres, personas):
    officer = personas["county_officer"]
    home = make_institution()
    today = timezone.localdate()
    for round_ in range(5):
        a = bed_add(institution=home, code=f"a{round_}", bed_type="general", actor=officer)
        b = bed_add(institution=home, code=f"b{round_}", bed_type="general", actor=officer)
        elder, other = ElderFactory(), ElderFactory()
        # one elder, two beds
        outcomes = race(
            [lambda bed=bed, elder=elder: resident_admit(elder=elder, bed=bed, admitted_on=today, actor=officer) for bed in (a, b)]
        )
        assert outcomes[0] == "admitted" and outcomes[1] in {"already_resident", "conflict"}, outcomes
        assert Residency.objects.filter(elder=elder, discharged_on__isnull=True).count() == 1
        # two elders, one bed
        free = Bed.objects.filter(pk__in=[a.pk, b.pk], status=BedStatus.AVAILABLE).get()
        third = ElderFactory()
        outcomes = race(
            [lambda e=e, free=free: resident_admit(elder=e, bed=free, admitted_on=today, actor=officer) for e in (other, third)]
        )
        assert outcomes.count("admitted") == 1, outcomes
        assert Residency.objects.filter(bed=free, discharged_on__isnull=True).count() == 1
    occupied = Bed.objects.filter(institution=home, status=BedStatus.OCCUPIED).count()
    assert occupied == Residency.objects.filter(institution=home, discharged_on__isnull=True).count() == 10
