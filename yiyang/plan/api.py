"""The plan cockpit's JSON API: indicators by region, reported values and their approval, tasks and projects."""

from datetime import date, datetime

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from yiyang.core.api_auth import require
from yiyang.core.errors import DomainError
from yiyang.plan import operations, queries
from yiyang.plan.charts import chart_for
from yiyang.plan.models import Indicator, IndicatorValue, KeyProject, MajorTask, Plan

router = Router(tags=["plan"])


class IndicatorOut(Schema):
    plan: str
    no: int
    category: str
    name: str
    unit: str
    baseline_as_printed: str
    target_as_written: str
    target_read_as: str
    target_applies_here: bool
    flagged: bool
    flag: str
    source: str
    formula: str | None
    latest: float | None
    latest_period: str
    projected: float | None
    status: str
    status_label: str
    status_reason: str
    pending_approval: int


class PointOut(Schema):
    period: str
    value: float | None


class IndicatorDetailOut(IndicatorOut):
    region: str
    series: list[PointOut]
    chart: dict


def _out(row, *, plan: Plan) -> dict:
    ind, a = row.indicator, row.assessment
    definition = ind.definition
    return {
        "plan": plan.code,
        "no": ind.no,
        "category": ind.category,
        "name": ind.name,
        "unit": ind.unit,
        "baseline_as_printed": ind.baseline_text,
        "target_as_written": ind.target_text,
        "target_read_as": row.target.describe(),
        "target_applies_here": row.applies,
        "flagged": ind.flagged,
        "flag": ind.flag_message if ind.flagged else "",
        "source": row.source,
        "formula": str(definition.formula) if definition else None,
        "latest": None if a.latest is None else float(a.latest),
        "latest_period": a.latest_period,
        "projected": a.projected,
        "status": a.status,
        "status_label": a.label,
        "status_reason": a.reason,
        "pending_approval": row.pending,
    }


def _region(request: HttpRequest, code: str | None):
    region = queries.region_for(request.auth, code)
    if region is None:
        raise Http404
    return region


@router.get("/indicators", response=list[IndicatorOut], summary="Every indicator of a plan at one region, with its status")
def indicator_list(request: HttpRequest, region: str | None = None, plan: str | None = None):
    require(request, "plan.view")
    the_plan = Plan.objects.filter(code=plan).first() if plan else queries.current_plan()
    if the_plan is None:
        raise Http404
    where = _region(request, region)
    return [_out(r, plan=the_plan) for r in queries.indicator_rows(plan=the_plan, region=where)]


@router.get("/indicators/{plan_code}/{no}", response=IndicatorDetailOut, summary="One indicator at one region: series and chart")
def indicator_detail(request: HttpRequest, plan_code: str, no: int, region: str | None = None, by: str | None = None):
    require(request, "plan.view")
    indicator = queries.indicator_for(request.auth, plan_code, no)
    if indicator is None:
        raise Http404
    where = _region(request, region)
    row = queries.indicator_rows(plan=indicator.plan, region=where, by=by if by in ("month", "year") else None, indicators=[indicator])[0]
    spec = chart_for(row, target_year=indicator.plan.target_year)
    return {
        **_out(row, plan=indicator.plan),
        "region": where.code,
        "series": [{"period": str(p), "value": None if v is None else float(v)} for p, v in row.series],
        "chart": spec.as_dict(),
    }


class ValueIn(Schema):
    indicator_no: int
    region: str = Field(..., max_length=12)
    period: str = Field(..., max_length=7, description="A year, e.g. 2024")
    value: str = Field(..., max_length=24, description="A decimal number, e.g. 81.3")
    note: str = Field("", max_length=255)


class ValueOut(Schema):
    id: int
    indicator_no: int
    region: str
    period: str
    value: float | None
    source: str
    status: str
    reporting_unit: str
    entered_by: str | None
    entered_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None

    @staticmethod
    def resolve_indicator_no(v) -> int:
        return v.indicator.no

    @staticmethod
    def resolve_region(v) -> str:
        return v.region.code

    @staticmethod
    def resolve_value(v) -> float | None:
        return None if v.value is None else float(v.value)

    @staticmethod
    def resolve_entered_by(v) -> str | None:
        return v.entered_by.username if v.entered_by_id else None

    @staticmethod
    def resolve_approved_by(v) -> str | None:
        return v.approved_by.username if v.approved_by_id else None


class RejectIn(Schema):
    reason: str = Field(..., max_length=255)


@router.post("/values", response={201: ValueOut}, summary="Enter (or correct) a reported value; it awaits approval")
def value_submit(request: HttpRequest, payload: ValueIn):
    require(request, "plan.enter")
    plan = queries.current_plan()
    indicator = Indicator.objects.select_related("plan").filter(plan=plan, no=payload.indicator_no).first()
    if indicator is None:
        raise DomainError(_("No such indicator in the current plan."), field="indicator_no", code="not_found")
    where = queries.regions_visible_to(request.auth).filter(code=payload.region).first()
    if where is None:
        raise Http404
    try:
        row = operations.value_submit(
            indicator=indicator, region=where, period=payload.period, value=payload.value, note=payload.note, actor=request.auth
        )
    except DomainError as exc:
        if exc.field == "indicator":
            exc.field = "indicator_no"  # the API names the indicator by its number
        raise
    return Status(201, row)


@router.get("/values/pending", response=list[ValueOut], summary="Submitted values in the caller's regions")
def values_pending(request: HttpRequest):
    require(request, "plan.approve")
    return [v for v in queries.values_to_approve(request.auth) if operations.may_approve(request.auth, v)]


def _pending(request: HttpRequest, value_id: int) -> IndicatorValue:
    value = queries.values_to_approve(request.auth).filter(pk=value_id).first()
    if value is None:
        raise Http404
    return value


@router.post("/values/{value_id}/approve", response=ValueOut, summary="Approve a submitted value (the level above)")
def value_approve(request: HttpRequest, value_id: int):
    require(request, "plan.approve")
    return operations.value_approve(value=_pending(request, value_id), actor=request.auth)


@router.post("/values/{value_id}/reject", response=ValueOut, summary="Return a submitted value for correction, with a reason")
def value_reject(request: HttpRequest, value_id: int, payload: RejectIn):
    require(request, "plan.approve")
    return operations.value_reject(value=_pending(request, value_id), reason=payload.reason, actor=request.auth)


class WorkItemOut(Schema):
    id: int
    number: int
    title: str
    due_year: int
    lead_unit: str
    lead_unit_inferred: bool
    lead_unit_confirmed: bool
    status: str
    overdue: bool
    planned_investment_fen: int | None = None
    invested_fen: int | None = None


def _work(items, *, today: date) -> list[dict]:
    return [
        {
            "id": i.pk,
            "number": getattr(i, "no", None) or i.seq,
            "title": i.title,
            "due_year": i.due_year,
            "lead_unit": i.lead_unit,
            "lead_unit_inferred": i.lead_unit_inferred,
            "lead_unit_confirmed": i.lead_unit_confirmed_at is not None,
            "status": i.status,
            "overdue": i.is_overdue(today),
            "planned_investment_fen": getattr(i, "planned_investment_fen", None),
            "invested_fen": getattr(i, "invested_fen", None),
        }
        for i in items
    ]


@router.get("/tasks", response=list[WorkItemOut], summary="The plan's major tasks (Annex 1)")
def task_list(request: HttpRequest):
    require(request, "plan.view")
    return _work(MajorTask.objects.filter(plan=queries.current_plan()), today=timezone.localdate())


@router.get("/projects", response=list[WorkItemOut], summary="The plan's key projects (Annex 2), investment in fen")
def project_list(request: HttpRequest):
    require(request, "plan.view")
    return _work(KeyProject.objects.filter(plan=queries.current_plan()), today=timezone.localdate())
