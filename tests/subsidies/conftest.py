from datetime import date

import pytest

from tests.factories import ElderFactory, ProviderFactory, region

# The home-care fixtures, for the end-to-end tests through real orders.
from tests.homecare.conftest import caregiver, elder, menu, offerings  # noqa: F401
from yiyang.subsidies.operations import programme_create, programme_set_status

PERIOD = date(2026, 11, 1)


def make_programme(
    actor, *, region_code="331102", tiers=None, rule=None, categories=("meal", "clean"), carry_over=False, active=True, **kwargs
):
    programme = programme_create(
        actor=actor,
        name=kwargs.pop("name", "居家养老服务补贴"),
        funding_source=kwargs.pop("funding_source", "福彩公益金"),
        region_code=region_code,
        starts_on=kwargs.pop("starts_on", "2026-01"),
        ends_on=kwargs.pop("ends_on", None),
        rule=rule if rule is not None else [{"fact": "age", "op": "gte", "value": 80}],
        tiers=tiers if tiers is not None else [{"key": "base", "label": "高龄", "all": [], "amount_fen": 10000}],
        categories=list(categories),
        carry_over=carry_over,
    )
    if active:
        programme = programme_set_status(programme=programme, status="active", actor=actor)
    return programme


@pytest.fixture
def officer(personas):
    return personas["county_officer"]


@pytest.fixture
def programme(officer):
    return make_programme(officer)


@pytest.fixture
def old_elder(db):
    return ElderFactory(name="高龄长辈", birth_date=date(1940, 3, 1))


@pytest.fixture
def young_elder(db):
    return ElderFactory(name="年轻长辈", birth_date=date(1960, 3, 1))


@pytest.fixture
def supplier(db):
    return ProviderFactory()


__all__ = ["PERIOD", "make_programme", "region"]
