"""The database filter and the stored-facts evaluation of a rule always agree (random elders, random rules)."""

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ElderFactory, region
from yiyang.assessments.models import Assessment
from yiyang.core.errors import DomainError
from yiyang.people.models import Category, Elder, ElderCategory, ElderStatus, Gender, LivingArrangement
from yiyang.subsidies import rules
from yiyang.subsidies.operations import eligible_elders

pytestmark = pytest.mark.django_db

REGIONS = ["331102001", "331102002", "331121001", "331100"]
COND = st.one_of(
    st.builds(lambda op, v: {"fact": "care_level", "op": op, "value": v}, st.sampled_from(["gte", "lte"]), st.integers(0, 4)),
    st.builds(lambda op, v: {"fact": "age", "op": op, "value": v}, st.sampled_from(["gte", "lte"]), st.integers(55, 100)),
    st.builds(
        lambda op, v: {"fact": "living_arrangement", "op": op, "value": v},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(LivingArrangement.values), min_size=1, max_size=3, unique=True),
    ),
    st.builds(
        lambda op, v: {"fact": "category", "op": op, "value": v},
        st.sampled_from(["any", "none"]),
        st.lists(st.sampled_from(Category.values), min_size=1, max_size=3, unique=True),
    ),
    st.builds(
        lambda op, v: {"fact": "gender", "op": op, "value": v},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(Gender.values), min_size=1, unique=True),
    ),
    st.builds(
        lambda op, v, f: {"fact": f, "op": op, "value": v},
        st.sampled_from(["in", "not_in"]),
        st.lists(st.sampled_from(["331102", "331121", "331102001", "331100"]), min_size=1, max_size=2, unique=True),
        st.sampled_from(["region", "hukou_region"]),
    ),
)
ELDER = st.fixed_dictionaries(
    {
        "birth_date": st.dates(date(1920, 1, 1), date(1970, 12, 31)),
        "living_arrangement": st.sampled_from(LivingArrangement.values),
        "gender": st.sampled_from(Gender.values),
        "region": st.sampled_from(REGIONS[:3]),
        "hukou": st.sampled_from([None, *REGIONS[:3]]),
        "status": st.sampled_from([ElderStatus.ACTIVE, ElderStatus.ACTIVE, ElderStatus.DECEASED]),
        # (grade, assessed_on, valid_until) or never assessed
        "assessment": st.one_of(
            st.none(),
            st.tuples(
                st.integers(0, 4),
                st.sampled_from([date(2024, 1, 1), date(2026, 10, 1), date(2026, 11, 15)]),
                st.sampled_from([date(2026, 2, 1), date(2027, 1, 1)]),
            ),
        ),
        "categories": st.lists(
            st.tuples(st.sampled_from(Category.values), st.sampled_from([None, date(2026, 12, 1), date(2026, 11, 2), date(2025, 1, 1)])),
            max_size=2,
            unique_by=lambda t: t[0],
        ),
    }
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    people=st.lists(ELDER, min_size=1, max_size=6),
    rule=st.lists(COND, max_size=3),
    tier_rule=st.lists(COND, max_size=2),
    ref=st.sampled_from([date(2026, 11, 1), date(2024, 2, 29), date(2026, 3, 1)]),
)
def test_database_filter_and_stored_facts_agree(personas, people, rule, tier_rule, ref):
    ids = []
    for p in people:
        elder = ElderFactory(
            birth_date=p["birth_date"],
            living_arrangement=p["living_arrangement"],
            gender=p["gender"],
            residence_region=region(p["region"]),
            hukou_region=region(p["hukou"]) if p["hukou"] else None,
            status=p["status"],
        )
        if p["assessment"]:
            grade, on, until = p["assessment"]
            Assessment.objects.create(
                elder=elder,
                assessor=personas["assessor"],
                status="submitted",
                scale_version="t",
                assessed_on=on,
                total=50,
                grade=grade,
                valid_until=until,
            )
        for code, ended in p["categories"]:
            ElderCategory.objects.create(elder=elder, category=code, since=date(2020, 1, 1), ended=ended)
        ids.append(elder.pk)
    rule = rules.validate_conditions(rule, field="rule")
    tiers = [
        {"key": "a", "label": "a", "all": rules.validate_conditions(tier_rule, field="t"), "amount_fen": 1},
        {"key": "b", "label": "b", "all": [], "amount_fen": 2},
    ]
    region_path = region("331102").path
    matched = dict(
        eligible_elders(region_path=region_path, rule=rule, tiers=tiers, period=ref).filter(pk__in=ids).values_list("pk", "tier_idx")
    )
    rows = {r["pk"]: r for r in rules.fact_rows(Elder.objects.filter(pk__in=ids), ref)}
    held = rules.categories_held(ids, ref)
    for pk in ids:
        facts = rules.facts_of(rows[pk], held.get(pk, []), ref)
        tier = rules.tier_for(region_path=region_path, rule=rule, tiers=tiers, facts=facts)
        expected = None if tier is None else tiers.index(tier)
        assert matched.get(pk) == expected, (facts, rule, tiers)


def test_age_on_29_february():
    assert rules.years_before(date(2028, 2, 29), 81) == date(1947, 2, 28)
    assert rules.years_before(date(2028, 2, 29), 80) == date(1948, 2, 29)


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("age>=80", "rule"),
        ([{"fact": "age", "op": "in", "value": 80}], "rule.0.op"),
        ([{"fact": "age", "op": "gte", "value": True}], "rule.0.value"),
        ([{"fact": "category", "op": "any", "value": []}], "rule.0.value"),
        ([{"fact": "region", "op": "in", "value": ["331102", "000000"]}], "rule.0.value"),
        ([{"fact": "age", "op": "gte", "value": 80}] * 21, "rule"),
        (["age"], "rule.0"),
    ],
)
def test_validation_names_the_field(rule, field):
    with pytest.raises(DomainError) as err:
        rules.validate_conditions(rule, field="rule")
    assert err.value.field == field
