"""Who must be visited, the monthly plan (month boundaries, mid-month eligibility), assignment, coverage."""

from datetime import date

import pytest
from django.utils import timezone

from tests.factories import ElderFactory, persona, region
from yiyang.accounts.roles import Role
from yiyang.core.errors import DomainError
from yiyang.people.models import Category, ElderCategory, LivingArrangement
from yiyang.visits.models import ItemKind, ItemStatus, VisitPlan, VisitPlanItem
from yiyang.visits.operations import visit_plan_assign, visit_plan_generate, visit_record
from yiyang.visits.queries import visit_coverage, visit_coverage_by_month, visit_coverage_by_region, visits_missed
from yiyang.visits.rules import frequencies

pytestmark = pytest.mark.django_db

FEB = date(2026, 2, 1)
MAR = date(2026, 3, 1)


def alone(**kw):
    return ElderFactory(living_arrangement=LivingArrangement.ALONE, **kw)


def category(elder, cat, since=None, ended=None):
    return ElderCategory.objects.create(elder=elder, category=cat, since=since, ended=ended)


def planned(month) -> set[str]:
    return set(VisitPlanItem.objects.filter(month=month, kind=ItemKind.RULE, status=ItemStatus.OPEN).values_list("elder__name", flat=True))


def record(elder, actor, day):
    return visit_record(elder=elder, actor=actor, visited_on=day, mode="in_person", health="good", mood="good", home="ok")


def test_default_rule_selects_the_groups_of_the_issue(personas):
    alone(name="独居八十", birth_date=date(1940, 1, 1))
    ElderFactory(name="空巢八十", birth_date=date(1940, 1, 1), living_arrangement=LivingArrangement.EMPTY_NEST)
    alone(name="独居七十", birth_date=date(1950, 1, 1))
    ElderFactory(name="同住八十", birth_date=date(1940, 1, 1))
    for cat in (Category.TEKUN, Category.DIBAO, Category.DIBIAN, Category.DISABLED, Category.DEMENTIA, Category.FAMILY_PLANNING):
        category(ElderFactory(name=f"类别{cat}", birth_date=date(1955, 1, 1)), cat)
    category(ElderFactory(name="已故特困", status="deceased"), Category.TEKUN)
    category(ElderFactory(name="机构特困", living_arrangement=LivingArrangement.INSTITUTION), Category.TEKUN)
    visit_plan_generate(month=FEB, on=FEB)
    assert planned(FEB) == {"独居八十", "空巢八十"} | {
        f"类别{c}" for c in ("tekun", "dibao", "dibian", "disabled", "dementia", "family_planning")
    }


def test_highest_risk_is_weekly_and_groups_are_recorded(personas):
    e = alone(name="独居失智", birth_date=date(1940, 1, 1))
    category(e, Category.DEMENTIA)
    visit_plan_generate(month=FEB, on=FEB)
    item = VisitPlanItem.objects.get(elder=e, month=FEB)
    assert set(item.groups) == {"oldest_old_alone", "dementia", "alone_high_risk"}
    assert item.required_visits == 4
    assert item.due_by == date(2026, 2, 28)


def test_groups_and_frequencies_are_configurable(personas, settings):
    e = alone(name="独居八十", birth_date=date(1940, 1, 1))
    settings.YIYANG_VISIT_GROUPS = {"oldest_old_alone": None}
    assert "oldest_old_alone" not in frequencies()
    visit_plan_generate(month=FEB, on=FEB)
    assert planned(FEB) == set()
    settings.YIYANG_VISIT_GROUPS = {"oldest_old_alone": "weekly"}
    visit_plan_generate(month=MAR, on=MAR)
    assert VisitPlanItem.objects.get(elder=e, month=MAR).required_visits == 4
    settings.YIYANG_VISIT_GROUPS = {"oldest_old_alone": "daily"}
    with pytest.raises(ValueError):
        frequencies()


def test_turning_80_mid_month_joins_that_month_on_the_day(personas):
    alone(name="二月十五满八十", birth_date=date(1946, 2, 15))
    alone(name="三月一日满八十", birth_date=date(1946, 3, 1))
    alone(name="二月一日满八十", birth_date=date(1946, 2, 1))
    assert visit_plan_generate(month=FEB, on=FEB).created == 1
    assert planned(FEB) == {"二月一日满八十"}
    visit_plan_generate(month=FEB, on=date(2026, 2, 14))
    assert planned(FEB) == {"二月一日满八十"}
    result = visit_plan_generate(month=FEB, on=date(2026, 2, 15))
    assert result.created == 1 and planned(FEB) == {"二月一日满八十", "二月十五满八十"}
    visit_plan_generate(month=FEB, on=date(2026, 2, 28))  # the last day of February: March's birthday is not yet
    assert "三月一日满八十" not in planned(FEB)
    visit_plan_generate(month=MAR, on=MAR)
    assert planned(MAR) == {"二月一日满八十", "二月十五满八十", "三月一日满八十"}


def test_born_29_february_turns_80_on_28_february_in_a_common_year(personas):
    alone(name="闰日", birth_date=date(1944, 2, 29))  # 80 in 2024 (a leap year), so use 2024
    visit_plan_generate(month=date(2024, 2, 1), on=date(2024, 2, 28))
    assert planned(date(2024, 2, 1)) == set()
    visit_plan_generate(month=date(2024, 2, 1), on=date(2024, 2, 29))
    assert planned(date(2024, 2, 1)) == {"闰日"}


def test_category_granted_mid_month_and_category_ended_mid_month(personas):
    granted = ElderFactory(name="中途低保")
    category(granted, Category.DIBAO, since=date(2026, 2, 10))
    ended = ElderFactory(name="低保到五号")
    category(ended, Category.DIBAO, since=date(2025, 1, 1), ended=date(2026, 2, 5))
    visit_plan_generate(month=FEB, on=FEB)
    assert planned(FEB) == {"低保到五号"}
    visit_plan_generate(month=FEB, on=date(2026, 2, 10))
    # once in the month's plan, an elder stays due for that month
    assert planned(FEB) == {"低保到五号", "中途低保"}
    visit_plan_generate(month=MAR, on=MAR)
    assert planned(MAR) == {"中途低保"}


def test_generation_is_idempotent_and_cancels_elders_who_died_before_a_visit(personas):
    a = alone(name="甲", birth_date=date(1940, 1, 1))
    b = alone(name="乙", birth_date=date(1940, 1, 1))
    visit_plan_generate(month=FEB, on=FEB)
    assert visit_plan_generate(month=FEB, on=date(2026, 2, 3)).created == 0
    assert VisitPlanItem.objects.filter(month=FEB).count() == 2
    record(b, personas["worker"], date(2026, 2, 4))
    type(a).objects.filter(pk__in=[a.pk, b.pk]).update(status="deceased")
    result = visit_plan_generate(month=FEB, on=date(2026, 2, 20))
    assert result.cancelled == 1
    assert VisitPlanItem.objects.get(elder=a).status == ItemStatus.CANCELLED
    assert VisitPlanItem.objects.get(elder=b).status == ItemStatus.OPEN  # visited: stays counted


def test_evaluation_day_must_lie_in_the_month(personas):
    with pytest.raises(DomainError) as err:
        visit_plan_generate(month=FEB, on=MAR)
    assert err.value.field == "on"


def test_plan_per_township_assigned_to_its_worker(personas):
    village = region("331102001").children.first()
    alone(name="紫金", birth_date=date(1940, 1, 1))
    if village is not None:
        alone(name="紫金某村", birth_date=date(1940, 1, 1), residence_region=village)
    alone(name="岩泉", birth_date=date(1940, 1, 1), residence_region=region("331102002"))
    alone(name="青田", birth_date=date(1940, 1, 1), residence_region=region("331121001"))
    visit_plan_generate(month=FEB, on=FEB)
    plans = {p.region.code: p for p in VisitPlan.objects.filter(month=FEB).select_related("region", "assignee")}
    assert set(plans) == {"331102001", "331102002", "331121001"}
    assert plans["331102001"].assignee == personas["worker"]
    assert plans["331102002"].assignee is None
    assert VisitPlanItem.objects.filter(plan=plans["331102001"]).count() == (2 if village else 1)
    item = VisitPlanItem.objects.get(elder__name="青田")
    assert (item.township.code, item.county.code) == ("331121001", "331121")
    # a worker of 岩泉街道 registered later is picked up when the plan is generated again
    later = persona(Role.WORKER, regions=("331102002",))
    visit_plan_generate(month=FEB, on=date(2026, 2, 2))
    plans["331102002"].refresh_from_db()
    assert plans["331102002"].assignee == later


def test_reassigning_checks_the_workers_area(personas):
    alone(name="紫金", birth_date=date(1940, 1, 1))
    visit_plan_generate(month=FEB, on=FEB)
    plan = VisitPlan.objects.get(month=FEB)
    outsider = persona(Role.WORKER, regions=("331121001",))
    with pytest.raises(DomainError) as err:
        visit_plan_assign(plan=plan, assignee=outsider, actor=personas["county_officer"])
    assert err.value.field == "assignee_id"
    county_worker = persona(Role.WORKER, regions=("331102",))
    volunteer = persona(Role.VOLUNTEER)
    assert visit_plan_assign(plan=plan, assignee=county_worker, actor=personas["county_officer"]).assignee == county_worker
    assert visit_plan_assign(plan=plan, assignee=volunteer, actor=personas["county_officer"]).assignee == volunteer
    with pytest.raises(DomainError):
        visit_plan_assign(plan=plan, assignee=personas["operator"], actor=personas["county_officer"])


def test_visits_count_in_the_month_of_their_date(personas):
    e = alone(name="甲", birth_date=date(1940, 1, 1))
    visit_plan_generate(month=date(2026, 1, 1), on=date(2026, 1, 1))
    visit_plan_generate(month=FEB, on=FEB)
    record(e, personas["worker"], date(2026, 1, 31))
    jan = VisitPlanItem.objects.get(elder=e, month=date(2026, 1, 1))
    feb = VisitPlanItem.objects.get(elder=e, month=FEB)
    assert (jan.visit_count, feb.visit_count) == (1, 0)
    record(e, personas["worker"], date(2026, 2, 28))
    feb.refresh_from_db()
    assert (feb.visit_count, feb.last_visited_on) == (1, date(2026, 2, 28))


def test_coverage_by_region_and_month_and_missed_list(personas):
    lianduA = alone(name="莲A", birth_date=date(1940, 1, 1))
    alone(name="莲B", birth_date=date(1940, 1, 1))
    yanquan = alone(name="岩泉C", birth_date=date(1940, 1, 1), residence_region=region("331102002"))
    qt = alone(name="青田D", birth_date=date(1940, 1, 1), residence_region=region("331121001"))
    weekly = alone(name="周访E", birth_date=date(1940, 1, 1))
    category(weekly, Category.DEMENTIA)
    visit_plan_generate(month=FEB, on=FEB)
    for elder in (lianduA, yanquan, qt, weekly):
        record(elder, personas["admin"], date(2026, 2, 10))
    city, liandu = region("331100"), region("331102")
    whole = visit_coverage(region_path=city.path, month=date(2026, 2, 17))
    assert (whole.due, whole.visited, whole.complete, whole.missed) == (5, 4, 3, 1)
    assert whole.share == pytest.approx(0.8)
    ld = visit_coverage(region_path=liandu.path, month=FEB)
    assert (ld.due, ld.visited) == (4, 3)
    assert visit_coverage(region_path=region("331102001").path, month=FEB).due == 3
    rows = {r.region_code: (r.due, r.visited) for r in visit_coverage_by_region(region=city, month=FEB)}
    assert rows == {"331102": (4, 3), "331121": (1, 1)}
    rows = {r.region_code: (r.due, r.visited) for r in visit_coverage_by_region(region=liandu, month=FEB)}
    assert rows == {"331102001": (3, 2), "331102002": (1, 1)}
    assert [i.elder.name for i in visits_missed(region_path=city.path, month=FEB)] == ["莲B"]
    by_month = visit_coverage_by_month(region_path=city.path, months=[date(2026, 1, 5), FEB])
    assert by_month[date(2026, 1, 1)].due == 0 and by_month[FEB].visited == 4
    assert visit_coverage(region_path=city.path, month=MAR).share is None


def test_the_periodic_task_generates_the_current_month(personas):
    from django.tasks import Task

    from yiyang.visits.tasks import generate_visit_plans

    assert isinstance(generate_visit_plans, Task)  # what db_worker runs; crontask schedules it daily
    alone(name="甲", birth_date=date(1940, 1, 1))
    assert generate_visit_plans.call()["created"] == 1
    assert planned(timezone.localdate().replace(day=1)) == {"甲"}
    assert generate_visit_plans.call()["created"] == 0
