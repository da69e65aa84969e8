"""Demo data for subsidies and the time bank: a city programme granted this month, the demo volunteer registered.

Idempotent, like the rest of the demo: an existing programme is kept and a month is granted once."""

from datetime import date

from yiyang.subsidies.models import Programme, ProgrammeStatus
from yiyang.subsidies.operations import current_period, grants_run_month, programme_create, programme_set_status

DEMO_PROGRAMME = "居家养老服务补贴（演示）"


def demo_subsidies(*, officer, volunteer_user=None) -> Programme:
    programme = Programme.objects.filter(name=DEMO_PROGRAMME).first()
    if programme is None:
        programme = programme_create(
            actor=officer,
            name=DEMO_PROGRAMME,
            funding_source="福彩公益金",
            region_code="331100",
            starts_on=current_period().replace(month=1),
            rule=[{"fact": "age", "op": "gte", "value": 60}],
            tiers=[
                {
                    "key": "hardship",
                    "label": "特困/低保/低边/失能",
                    "all": [{"fact": "category", "op": "any", "value": ["tekun", "dibao", "dibian", "disabled", "partially_disabled"]}],
                    "amount_fen": 30000,
                },
                {
                    "key": "alone",
                    "label": "独居",
                    "all": [{"fact": "living_arrangement", "op": "in", "value": ["alone"]}],
                    "amount_fen": 20000,
                },
                {"key": "oldest", "label": "高龄", "all": [{"fact": "age", "op": "gte", "value": 80}], "amount_fen": 10000},
            ],
            categories=["meal", "bath", "clean", "medical", "mobility"],
        )
    if programme.status == ProgrammeStatus.DRAFT:
        programme = programme_set_status(programme=programme, status=ProgrammeStatus.ACTIVE, actor=officer)
    grants_run_month(programme=programme, period=current_period(), actor=officer)
    if volunteer_user is not None:
        from yiyang.timebank.models import Volunteer
        from yiyang.timebank.operations import volunteer_register

        if not Volunteer.objects.filter(user=volunteer_user).exists():
            volunteer_register(
                user=volunteer_user, name=str(volunteer_user), birth_date=date(1962, 5, 1), region_code="331102001", actor=volunteer_user
            )
    return programme
