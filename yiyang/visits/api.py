from datetime import date, datetime

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from yiyang.accounts.models import User
from yiyang.core.api_auth import require
from yiyang.core.pagination import Pages
from yiyang.people.queries import elder_for
from yiyang.visits.models import Health, Home, ItemKind, Mood, Need, VisitMode
from yiyang.visits.operations import visit_open_order, visit_plan_add_extra, visit_plan_assign, visit_plan_generate, visit_record
from yiyang.visits.queries import (
    coverage_visible_to,
    due_for,
    items_visible_to,
    parse_month,
    plans_visible_to,
    region_in_scope,
    visit_coverage_by_region,
    visits_missed,
    visits_visible_to,
)

router = Router(tags=["visits"])


class ItemOut(Schema):
    id: int
    elder_id: int
    elder_name: str
    month: date
    township: str
    township_name: str
    kind: ItemKind
    status: str
    groups: list[str]
    required_visits: int
    visit_count: int
    last_visited_on: date | None
    due_by: date
    reason: str
    assignee: str | None

    @staticmethod
    def resolve_elder_name(i) -> str:
        return i.elder.name

    @staticmethod
    def resolve_township(i) -> str:
        return i.township.code

    @staticmethod
    def resolve_township_name(i) -> str:
        return i.township.name

    @staticmethod
    def resolve_assignee(i) -> str | None:
        return i.plan.assignee.username if i.plan.assignee_id else None


class VisitIn(Schema):
    elder_id: int
    visited_on: date
    mode: VisitMode
    health: Health
    mood: Mood
    home: Home
    safety_concern: bool = False
    needs: list[Need] = Field(default_factory=list)
    notes: str = Field("", max_length=4000)


class VisitOut(Schema):
    id: int
    elder_id: int
    visitor: str
    visited_on: date
    mode: str
    health: str
    mood: str
    home: str
    safety_concern: bool
    needs: list[str]
    notes: str
    item_id: int | None

    @staticmethod
    def resolve_visitor(v) -> str:
        return v.visitor.username


class OrderIn(Schema):
    item_code: str = Field(min_length=1, max_length=48, description="code of a service on the menu")
    window_start: datetime
    window_end: datetime


class OrderOut(Schema):
    visit_id: int
    order_id: int
    status: str


class ExtraIn(Schema):
    elder_id: int
    reason: str = Field(min_length=1, max_length=255)
    source: str = Field("", max_length=64)


class GenerateIn(Schema):
    month: str = Field(description="YYYY-MM")


class GenerateOut(Schema):
    month: date
    evaluated_on: date
    created: int
    cancelled: int
    plans: int


class AssignIn(Schema):
    assignee_id: int


class PlanOut(Schema):
    id: int
    month: date
    region: str
    region_name: str
    assignee: str | None

    @staticmethod
    def resolve_region(p) -> str:
        return p.region.code

    @staticmethod
    def resolve_region_name(p) -> str:
        return p.region.name

    @staticmethod
    def resolve_assignee(p) -> str | None:
        return p.assignee.username if p.assignee_id else None


class CoverageRowOut(Schema):
    region_code: str
    region_name: str
    due: int
    visited: int
    complete: int
    missed: int
    share: float | None


class CoverageOut(Schema):
    month: date
    region: str | None
    rows: list[CoverageRowOut]
    missed: list[ItemOut]


def _today() -> date:
    return timezone.localdate()


@router.get("/due", response=list[ItemOut], summary="Who is due for a visit this month (mine first)")
@paginate(Pages, page_size=100)
def visits_due(request: HttpRequest, month: str | None = None):
    require(request, "visit.view")
    return due_for(request.auth, month=parse_month(month, default=_today()))


@router.get("/items", response=list[ItemOut], summary="Plan items of a month in my scope")
@paginate(Pages, page_size=100)
def visit_items(request: HttpRequest, month: str | None = None, elder_id: int | None = None):
    require(request, "visit.view")
    items = items_visible_to(request.auth).filter(month=parse_month(month, default=_today()))
    if elder_id is not None:
        items = items.filter(elder_id=elder_id)
    return items.select_related("elder", "township", "plan__assignee")


@router.get("", response=list[VisitOut], summary="Visits recorded, in my scope")
@paginate(Pages, page_size=100)
def visits_list(request: HttpRequest, elder_id: int | None = None):
    require(request, "visit.view")
    visits = visits_visible_to(request.auth).select_related("visitor")
    if elder_id is not None:
        visits = visits.filter(elder_id=elder_id)
    return visits


@router.post("", response={201: VisitOut}, summary="Record a visit")
def visits_record(request: HttpRequest, payload: VisitIn):
    require(request, "visit.record")
    elder = elder_for(request.auth, payload.elder_id)
    if elder is None:
        raise Http404
    data = payload.dict()
    data.pop("elder_id")
    visit = visit_record(elder=elder, actor=request.auth, **data)
    return Status(201, visit)


@router.post("/{int:visit_id}/order", response={201: OrderOut}, summary="Open a service order for a need found on a visit")
def visits_open_order(request: HttpRequest, visit_id: int, payload: OrderIn):
    require(request, "visit.record")
    require(request, "order.create")
    visit = visits_visible_to(request.auth).filter(pk=visit_id).first()
    if visit is None:
        raise Http404
    order = visit_open_order(visit=visit, actor=request.auth, **payload.dict())
    return Status(201, {"visit_id": visit.pk, "order_id": order.pk, "status": order.status})


@router.post("/extra", response={201: ItemOut}, summary="Ask for an extra visit this month (alerts, low ratings, concerns)")
def visits_add_extra(request: HttpRequest, payload: ExtraIn):
    require(request, "visit.add_extra")
    elder = elder_for(request.auth, payload.elder_id)
    if elder is None:
        raise Http404
    item = visit_plan_add_extra(elder=elder, reason=payload.reason, source=payload.source, actor=request.auth)
    return Status(201, items_visible_to(request.auth).select_related("elder", "township", "plan__assignee").get(pk=item.pk))


@router.post("/plans/generate", response=GenerateOut, summary="Generate (or top up) a month's visit plan; idempotent")
def plans_generate(request: HttpRequest, payload: GenerateIn):
    require(request, "visit.plan")
    result = visit_plan_generate(month=parse_month(payload.month, default=_today()), actor=request.auth)
    return result.__dict__


@router.get("/plans", response=list[PlanOut], summary="Visit plans in my scope")
@paginate(Pages, page_size=100)
def plans_list(request: HttpRequest, month: str | None = None):
    require(request, "visit.view")
    return plans_visible_to(request.auth).filter(month=parse_month(month, default=_today())).select_related("region", "assignee")


@router.put("/plans/{int:plan_id}/assignee", response=PlanOut, summary="Give a plan to another worker or volunteer")
def plans_assign(request: HttpRequest, plan_id: int, payload: AssignIn):
    require(request, "visit.plan")
    plan = plans_visible_to(request.auth).select_related("region").filter(pk=plan_id).first()
    if plan is None:
        raise Http404
    assignee = User.objects.filter(pk=payload.assignee_id).first()
    if assignee is None:
        from django.utils.translation import gettext as _

        from yiyang.core.errors import DomainError

        raise DomainError(_("No such user."), field="assignee_id")
    return visit_plan_assign(plan=plan, assignee=assignee, actor=request.auth)


@router.get("/coverage", response=CoverageOut, summary="Visited / due by region for a month, and who was missed")
def coverage(request: HttpRequest, month: str | None = None, region: str | None = None):
    require(request, "visit.coverage")
    first = parse_month(month, default=_today())
    if region:
        where = region_in_scope(request.auth, region)
        if where is None:
            raise Http404
        rows = visit_coverage_by_region(region=where, month=first)
        missed = list(visits_missed(region_path=where.path, month=first)[:500])
    else:
        rows = coverage_visible_to(request.auth, month=first)
        missed = []
    return {
        "month": first,
        "region": region,
        "rows": [{**r.__dict__, "missed": r.missed, "share": r.share} for r in rows],
        "missed": missed,
    }
