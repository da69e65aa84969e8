import math
from collections import Counter

import pytest
from django.core.management import call_command
from django.utils import timezone

from yiyang.people.idnumber import parse_id_number
from yiyang.people.models import Category, Elder, ElderCategory, ElderContact, age_on
from yiyang.people.seed import CITY_60_PLUS, county_weights
from yiyang.regions.models import Level, Region

pytestmark = pytest.mark.django_db


def test_county_weights_cover_all_nine_counties_and_the_city_total():
    weights = county_weights()
    assert set(weights) == set(Region.objects.filter(level=Level.COUNTY).values_list("code", flat=True))
    assert math.isclose(sum(weights.values()), CITY_60_PLUS, rel_tol=1e-6)
    assert weights["331102"] == 98361  # 莲都区, a published count


def test_seed_generates_a_valid_realistic_population():
    call_command("seed", scale=0.0008, verbosity=0)  # 440 elders
    elders = list(Elder.objects.select_related("residence_region"))
    assert len(elders) == 440
    today = timezone.localdate()
    numbers = set()
    for elder in elders:
        info = parse_id_number(elder.reveal_id_number())
        assert (info.birth_date, info.gender) == (elder.birth_date, elder.gender)
        assert 60 <= age_on(elder.birth_date, today) <= 105
        assert elder.residence_region.level == Level.TOWNSHIP
        if elder.lat is not None:
            town = elder.residence_region if elder.residence_region.lat is not None else elder.residence_region.parent
            assert abs(elder.lat - town.lat) < 0.15 and abs(elder.lng - town.lng) < 0.15
        numbers.add(info.number)
    assert len(numbers) == len(elders)
    counties = Counter(e.residence_region.path.split("/")[2] for e in elders)
    assert len(counties) == 9
    assert counties["331102"] > counties["331127"]  # 莲都 has far more older people than 景宁
    areas = Counter(e.reveal_id_number()[:4] for e in elders)
    assert areas["3325"] > 0  # the former 丽水地区's codes occur
    ages = Counter(min(age_on(e.birth_date, today) // 10 * 10, 90) for e in elders)
    assert ages[60] > ages[70] > ages[80] > ages[90] > 0
    # Every elder with dementia has a guardian among the contacts.
    for row in ElderCategory.objects.filter(category=Category.DEMENTIA):
        assert ElderContact.objects.filter(elder_id=row.elder_id, is_guardian=True).exists()
    assert ElderContact.objects.exclude(phone_enc="").count() > 300


def test_seeding_again_adds_without_colliding():
    call_command("seed", scale=0.0002, verbosity=0)
    call_command("seed", scale=0.0002, verbosity=0)  # same random seed: same candidates, none may collide
    assert Elder.objects.count() == 220
    assert Elder.objects.values("id_number_bidx").distinct().count() == 220
