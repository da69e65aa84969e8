from datetime import date

import pytest

from tests.factories import ElderFactory
from yiyang.subsidies.demo import demo_subsidies
from yiyang.subsidies.models import Grant, GrantRun
from yiyang.timebank.models import Volunteer

pytestmark = pytest.mark.django_db


def test_demo_subsidies_is_idempotent(personas):
    ElderFactory(birth_date=date(1940, 1, 1), living_arrangement="alone")
    demo_subsidies(officer=personas["city_officer"], volunteer_user=personas["volunteer"])
    demo_subsidies(officer=personas["city_officer"], volunteer_user=personas["volunteer"])
    assert GrantRun.objects.count() == 1 and Grant.objects.get().amount_fen == 20000
    assert Volunteer.objects.get().is_elder_volunteer is True
