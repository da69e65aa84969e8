from decimal import Decimal

import pytest

from yiyang.plan.models import Indicator, KeyProject, MajorTask, Plan
from yiyang.plan.targets import TargetKind

pytestmark = pytest.mark.django_db


def test_the_plan_tables_are_reference_data_in_every_database():
    current = Plan.objects.get(is_current=True)
    assert current.code == "2021-2025"
    assert Indicator.objects.filter(plan=current).count() == 26
    assert Indicator.objects.filter(plan__code="2016-2020").count() == 16
    assert MajorTask.objects.count() == 25
    assert KeyProject.objects.count() == 47


def test_values_are_kept_as_printed():
    ind9 = Indicator.objects.get(plan__code="2021-2025", no=9)
    assert ind9.baseline is None and ind9.baseline_text == ""  # "/" is no value
    ind1 = Indicator.objects.get(plan__code="2021-2025", no=1)
    assert ind1.baseline == Decimal("81.04") and ind1.target_text == "81.5"
    old7 = Indicator.objects.get(plan__code="2016-2020", no=7)
    assert old7.final_text == "50以上"


def test_every_target_wording_is_understood_and_only_26_is_flagged():
    kinds = {i.no: i.target.kind for i in Indicator.objects.filter(plan__code="2021-2025")}
    assert kinds[11] == TargetKind.PROVINCIAL_AVERAGE
    assert kinds[18] == TargetKind.RAISE_BY
    assert kinds[19] == TargetKind.INCREASE
    assert kinds[21] == TargetKind.QUALITATIVE
    assert kinds[14] == TargetKind.AT_MOST
    flagged = list(Indicator.objects.filter(flagged=True).values_list("plan__code", "no"))
    assert flagged == [("2021-2025", 26)]
    ind26 = Indicator.objects.get(plan__code="2021-2025", no=26)
    assert ind26.target_text == "10" and ind26.baseline == Decimal(39)  # shown as printed, not fixed
    assert "39" in ind26.flag_message


def test_projects_keep_the_printed_number_and_investment_in_fen():
    p1 = KeyProject.objects.get(seq=1)
    assert p1.planned_investment_fen == 230_000_000 * 100  # 2.3 亿元
    printed = list(KeyProject.objects.order_by("seq").values_list("no_as_printed", flat=True))
    assert printed.count(17) == 2 and 16 not in printed
    assert KeyProject.objects.get(seq=2).lead_unit_inferred is True
    assert MajorTask.objects.filter(lead_unit_inferred=True).count() == 12
    assert KeyProject.objects.filter(lead_unit_inferred=True).count() == 36
