"""List pages make a fixed number of queries however many rows they show."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import ElderFactory
from yiyang.people.models import LivingArrangement
from yiyang.visits.operations import visit_plan_generate

pytestmark = pytest.mark.django_db


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def add(n):
    for _ in range(n):
        ElderFactory(living_arrangement=LivingArrangement.ALONE, birth_date=date(1940, 1, 1))
    visit_plan_generate(month=timezone.localdate())


def test_visit_pages_do_not_grow_with_rows(client, personas):
    add(2)
    client.force_login(personas["worker"])
    few = queries(client, "/visits/")
    client.force_login(personas["city_officer"])
    few_cov = queries(client, "/visits/coverage/?region=331102001")
    add(15)
    client.force_login(personas["worker"])
    assert queries(client, "/visits/") == few
    client.force_login(personas["city_officer"])
    assert queries(client, "/visits/coverage/?region=331102001") == few_cov
