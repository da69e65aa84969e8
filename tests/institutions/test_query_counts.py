"""List pages make a fixed number of queries however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.institutions.conftest import make_institution
from yiyang.institutions.operations import bed_add

pytestmark = pytest.mark.django_db


def queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def add(n, officer):
    for i in range(n):
        home = make_institution(name=f"院{n}-{i}")
        bed_add(institution=home, code="1", bed_type="nursing", actor=officer)


def test_institution_list_does_not_grow_with_rows(client, personas):
    add(2, personas["county_officer"])
    client.force_login(personas["county_officer"])
    few = queries(client, "/institutions/")
    add(12, personas["county_officer"])
    assert queries(client, "/institutions/") == few
