from datetime import date

import pytest

from tests.factories import persona, region
from yiyang.accounts.roles import Role
from yiyang.institutions.models import Institution


def make_institution(name="莲都颐养院", code="331102001", **kw) -> Institution:
    defaults = {"kind": "care_home", "operation": "public", "licence_expires": date(2028, 1, 1)}
    return Institution.objects.create(name=name, region=region(code), **{**defaults, **kw})


@pytest.fixture
def home(db):
    return make_institution()


@pytest.fixture
def inspectors(db, personas):
    """Four inspectors of the city besides the persona."""
    return [personas["inspector"], *[persona(Role.INSPECTOR, regions=("331100",)) for _ in range(3)]]
