from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from tests.factories import ElderFactory, region
from yiyang.homecare.catalogue import catalogue_seed
from yiyang.homecare.models import Caregiver, Certificate, ProviderOffering, Qualification, ServiceCategory, ServiceItem

# 紫金街道's centre (WGS-84): the homes of the test elders.
HOME = (28.4465, 119.9305)


def offset(point: tuple[float, float], metres_north: float) -> tuple[float, float]:
    """A point `metres_north` of `point` (1 degree of latitude is about 111.2 km)."""
    return (point[0] + metres_north / 111_195.0, point[1])


@pytest.fixture
def menu(db) -> dict[str, ServiceItem]:
    catalogue_seed()
    return {i.code: i for i in ServiceItem.objects.select_related("category")}


@pytest.fixture
def offerings(provider, menu) -> dict[str, ProviderOffering]:
    """The test provider offers the whole menu at guide price in its area (莲都区's townships)."""
    return {
        code: ProviderOffering.objects.create(provider=provider, item=item, price_fen=item.guide_price_fen) for code, item in menu.items()
    }


def make_caregiver(provider, *, user=None, name="护理员", at=HOME, qualified=True, volunteer=False, **kwargs) -> Caregiver:
    cg = Caregiver.objects.create(
        provider=provider,
        user=user,
        name=name,
        home_lat=at[0],
        home_lng=at[1],
        is_volunteer=volunteer,
        work_start=kwargs.pop("work_start", "00:00"),
        work_end=kwargs.pop("work_end", "23:59"),
        work_days=kwargs.pop("work_days", [0, 1, 2, 3, 4, 5, 6]),
        **kwargs,
    )
    cg.skills.set(ServiceCategory.objects.all())
    if qualified:
        for kind in Qualification.values:
            if kind != Qualification.NONE:
                Certificate.objects.create(caregiver=cg, kind=kind, level="中级", expires_on=date.today() + timedelta(days=365))
    return cg


@pytest.fixture
def caregiver(personas, provider, menu) -> Caregiver:
    return make_caregiver(provider, user=personas["caregiver"], name="周丽")


@pytest.fixture
def elder(elders):
    e = elders["liandu"]
    e.lat, e.lng = HOME
    e.save(update_fields=["lat", "lng"])
    return e


def window(days: int = 1, hour: int = 9, minute: int = 0, minutes: int = 90):
    """A window `days` from today at local hour:minute (Asia/Shanghai)."""
    day = timezone.localdate() + timedelta(days=days)
    start = timezone.make_aware(datetime.combine(day, time(hour, minute)))
    return start, start + timedelta(minutes=minutes)


@pytest.fixture
def archived_elder(db):
    return ElderFactory(name="已故长辈", status="deceased", residence_region=region("331102001"))


@pytest.fixture
def restore_regions(django_db_blocker):
    """A transactional test ends with a flush that also empties the preloaded regions: have them before, put them back after.

    Request it before `transactional_db` so that its teardown runs after the flush.
    """
    from yiyang.regions.models import Region
    from yiyang.regions.operations import regions_load_lishui

    with django_db_blocker.unblock():
        if not Region.objects.exists():
            regions_load_lishui()
    yield
    with django_db_blocker.unblock():
        regions_load_lishui()
