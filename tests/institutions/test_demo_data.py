"""The demo data of the assessments, visits and institutions apps loads, is idempotent and fills the pages."""

from datetime import date

import pytest

from tests.factories import ElderFactory, region
from yiyang.assessments.demo import demo_assessments
from yiyang.assessments.models import Assessment
from yiyang.institutions.demo import demo_inspectors, demo_institutions
from yiyang.institutions.models import Inspection, Institution, Residency
from yiyang.people.models import LivingArrangement
from yiyang.visits.demo import demo_visits
from yiyang.visits.models import Visit, VisitPlanItem

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_demo_data(personas, client):
    for i in range(30):
        ElderFactory(living_arrangement=LivingArrangement.ALONE if i % 2 else LivingArrangement.EMPTY_NEST, birth_date=date(1938, 1, 1))
    ElderFactory(residence_region=region("331121001"))
    assert demo_institutions(officer=personas["city_officer"], inspectors=demo_inspectors()) > 0
    demo_assessments(assessor=personas["assessor"], count=10)
    demo_visits(worker=personas["worker"], officer=personas["city_officer"])
    assert Institution.objects.count() >= 9 and Residency.objects.exists()
    assert Inspection.objects.filter(published_at__isnull=False).count() == 1
    assert Assessment.objects.filter(status="submitted").count() == 10
    assert VisitPlanItem.objects.exists() and Visit.objects.exists()
    counts = (Institution.objects.count(), Assessment.objects.count(), Visit.objects.count())
    demo_institutions(officer=personas["city_officer"], inspectors=demo_inspectors())
    demo_assessments(assessor=personas["assessor"], count=10)
    demo_visits(worker=personas["worker"], officer=personas["city_officer"])
    assert (Institution.objects.count(), Assessment.objects.count(), Visit.objects.count()) == counts
    client.force_login(personas["city_officer"])
    for url in ("/institutions/", "/visits/coverage/", "/assessments/", "/institutions/inspections/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/public/inspections/").status_code == 200
