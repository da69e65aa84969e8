"""The assessments page makes a fixed number of queries however many rows it shows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.assessments.test_scoring import answers
from tests.factories import ElderFactory
from yiyang.assessments.operations import add_months, assessment_start, assessment_submit, assessment_update

pytestmark = pytest.mark.django_db


def add(n, actor):
    for _ in range(n):
        a = assessment_start(elder=ElderFactory(), actor=actor, assessed_on=add_months(timezone.localdate(), -12))
        assessment_update(assessment=a, actor=actor, answers=answers())
        assessment_submit(assessment=a, actor=actor)


def test_assessment_home_does_not_grow_with_rows(client, personas):
    add(2, personas["assessor"])
    client.force_login(personas["assessor"])
    with CaptureQueriesContext(connection) as few:
        assert client.get("/assessments/").status_code == 200
    add(10, personas["assessor"])
    with CaptureQueriesContext(connection) as many:
        response = client.get("/assessments/")
    assert response.content.decode().count("/assessments/elder/") >= 12
    assert len(many.captured_queries) == len(few.captured_queries)
