from datetime import date

import pytest
from django.apps import apps

from tests.factories import ElderFactory, region
from yiyang.people.models import Category, ElderCategory, ElderStatus, LivingArrangement
from yiyang.plan.models import Indicator

INSTITUTION = LivingArrangement.INSTITUTION
HOME = LivingArrangement.WITH_FAMILY


def care_home(township: str):
    from yiyang.institutions.models import Institution, InstitutionKind, Operation

    home, _ = Institution.objects.get_or_create(
        name=f"养老院 {township}", defaults={"kind": InstitutionKind.CARE_HOME, "operation": Operation.PUBLIC, "region": region(township)}
    )
    return home


def admit(e, township: str, *, admitted=date(2020, 6, 1), discharged=None):
    """An open (or closed) stay in a care home of the township: what "lives in an institution" means once institutions exist."""
    from yiyang.institutions.models import Bed, Residency

    home = care_home(township)
    bed = Bed.objects.create(institution=home, code=f"B{e.pk}")
    return Residency.objects.create(elder=e, bed=bed, institution=home, admitted_on=admitted, discharged_on=discharged)


def elder(township: str, *, categories=(Category.TEKUN, Category.DISABLED), living=HOME, born=date(1945, 5, 17), ended=None, **kw):
    e = ElderFactory(residence_region=region(township), living_arrangement=living, birth_date=born, **kw)
    for c in categories:
        ElderCategory.objects.create(elder=e, category=c, since=date(2020, 1, 1), ended=ended if c == Category.DISABLED else None)
    if living == INSTITUTION and apps.is_installed("yiyang.institutions"):
        admit(e, township)
    return e


@pytest.fixture
def tekun_population(db):
    """Hand-built population for indicator 5 (share of 特困 elders unable to care for themselves living in institutions).

    紫金街道 331102001: 4 counted, 3 of them in institutions; 岩泉街道 331102002: 1 counted, at home;
    鹤城街道 331121001 (青田县): 2 counted, 1 in an institution. Not counted anywhere: a 特困 elder who can
    care for themselves (in an institution), one whose 失能 ended, one under 60, one deceased.
    Expected: 紫金 3/4 = 75%, 岩泉 0/1 = 0%, 莲都 3/5 = 60%, 青田 1/2 = 50%, city 4/7 = 57.1429%;
    any township without such elders (e.g. 331102003): no data.
    """
    for living in (INSTITUTION, INSTITUTION, INSTITUTION, HOME):
        elder("331102001", living=living)
    elder("331102002", living=HOME)
    elder("331121001", living=INSTITUTION)
    elder("331121001", living=HOME)
    elder("331102001", categories=(Category.TEKUN,), living=INSTITUTION)
    elder("331102001", living=INSTITUTION, ended=date(2021, 6, 30))
    elder("331102001", living=INSTITUTION, born=date(1990, 1, 1))
    elder("331102001", living=INSTITUTION, status=ElderStatus.DECEASED, status_date=date(2021, 1, 5))


@pytest.fixture
def plan_indicator():
    def get(no: int, plan: str = "2021-2025") -> Indicator:
        return Indicator.objects.select_related("plan").get(plan__code=plan, no=no)

    return get
