"""JSON API of home care: one endpoint per operation. Parse, call the operation, render."""

from datetime import date, datetime, time

from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Header, Router, Schema, Status
from ninja.pagination import paginate

from yiyang.accounts.roles import Role, can
from yiyang.core.api_auth import require
from yiyang.core.errors import DomainError
from yiyang.core.pagination import Pages
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Channel, Order, OrderStatus, Provider, ServiceItem
from yiyang.homecare.queries import (
    ITEM_BY_CODE,
    caregivers_visible_to,
    catalogue,
    dispatch_suggestions,
    order_for,
    orders_visible_to,
    provider_receivables,
    provider_scores,
    providers_visible_to,
)
from yiyang.homecare.states import actions_from
from yiyang.people.queries import elder_for, elder_with_residence

router = Router(tags=["orders"])
homecare_router = Router(tags=["home care"])


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


# Schemas ----------------------------------------------------------------------------------


class FlagOut(Schema):
    code: str
    message: str


class OrderOut(Schema):
    id: int
    status: str
    status_label: str
    allowed_actions: list[str]
    elder_id: int
    elder_name: str
    item_code: str
    item_name: str
    category: str
    provider_id: int
    provider_name: str
    caregiver_id: int | None
    caregiver_name: str | None
    window_start: datetime
    window_end: datetime
    service_date: date
    note: str
    channel: str
    price_fen: int
    subsidy_fen: int
    copay_fen: int
    paid_at: datetime | None
    overdue_at: datetime | None
    cancel_reason: str
    checkin_at: datetime | None
    checkin_received_at: datetime | None
    checkin_lat: float | None
    checkin_lng: float | None
    checkin_distance_m: int | None
    checkout_at: datetime | None
    checkout_received_at: datetime | None
    checkout_lat: float | None
    checkout_lng: float | None
    checkout_distance_m: int | None
    duration_minutes: int | None
    elder_confirmed: bool
    audit_flags: list[FlagOut]
    audit_notes: list[FlagOut]
    audit_comment: str
    created_at: datetime

    @staticmethod
    def resolve_status_label(o: Order) -> str:
        # Not get_status_display(): that rebuilds a dict of every choice on each call.
        return str(OrderStatus(o.status).label)

    @staticmethod
    def resolve_allowed_actions(o: Order) -> list[str]:
        return [str(a) for a in actions_from(o.status)]

    @staticmethod
    def resolve_elder_name(o: Order) -> str:
        return o.elder.name

    @staticmethod
    def resolve_item_code(o: Order) -> str:
        return o.item.code

    @staticmethod
    def resolve_item_name(o: Order) -> str:
        return o.item.name

    @staticmethod
    def resolve_category(o: Order) -> str:
        return o.item.category.code

    @staticmethod
    def resolve_provider_name(o: Order) -> str:
        return o.provider.name

    @staticmethod
    def resolve_caregiver_name(o: Order) -> str | None:
        return o.caregiver.name if o.caregiver_id else None


# The API renderer's own text for a date or time (DjangoJSONEncoder's), given here so that the renderer
# does not call back into Python, through ninja's encoder and its type checks, for each of them.
_json_text = DjangoJSONEncoder().default


def _time_text(value):
    return None if value is None else _json_text(value)


def order_data(o: Order) -> dict:
    """The answer of every lifecycle endpoint as plain data: what OrderOut validates and dumps to.

    Letting ninja validate the Order against OrderOut goes through a Python getter and a resolver per
    field, 40 of them, and then dumps the result again: a tenth of a lifecycle request's CPU. The values
    here already have the schema's types (the model's fields; dates and times as the renderer writes them)
    and its order; tests/homecare/test_order_out.py holds the rendered bytes equal to those of the
    validated answer for orders in every state.
    """
    caregiver = o.caregiver if o.caregiver_id else None
    item = o.item
    return {
        "id": o.pk,
        "status": o.status,
        "status_label": str(OrderStatus(o.status).label),
        "allowed_actions": [str(a) for a in actions_from(o.status)],
        "elder_id": o.elder_id,
        "elder_name": o.elder.name,
        "item_code": item.code,
        "item_name": item.name,
        "category": item.category.code,
        "provider_id": o.provider_id,
        "provider_name": o.provider.name,
        "caregiver_id": o.caregiver_id,
        "caregiver_name": caregiver.name if caregiver else None,
        "window_start": _time_text(o.window_start),
        "window_end": _time_text(o.window_end),
        "service_date": _time_text(o.service_date),
        "note": o.note,
        "channel": o.channel,
        "price_fen": o.price_fen,
        "subsidy_fen": o.subsidy_fen,
        "copay_fen": o.copay_fen,
        "paid_at": _time_text(o.paid_at),
        "overdue_at": _time_text(o.overdue_at),
        "cancel_reason": o.cancel_reason,
        "checkin_at": _time_text(o.checkin_at),
        "checkin_received_at": _time_text(o.checkin_received_at),
        "checkin_lat": o.checkin_lat,
        "checkin_lng": o.checkin_lng,
        "checkin_distance_m": o.checkin_distance_m,
        "checkout_at": _time_text(o.checkout_at),
        "checkout_received_at": _time_text(o.checkout_received_at),
        "checkout_lat": o.checkout_lat,
        "checkout_lng": o.checkout_lng,
        "checkout_distance_m": o.checkout_distance_m,
        "duration_minutes": o.duration_minutes,
        "elder_confirmed": o.elder_confirmed,
        "audit_flags": [{"code": f["code"], "message": f["message"]} for f in o.audit_flags],
        "audit_notes": [{"code": f["code"], "message": f["message"]} for f in o.audit_notes],
        "audit_comment": o.audit_comment,
        "created_at": _time_text(o.created_at),
    }


def order_out(request: HttpRequest, o: Order, status: int = 200) -> HttpResponse:
    """The lifecycle endpoints' response: `order_data` rendered by the API's own renderer.

    An HttpResponse goes out as it is; OrderOut still documents it in the OpenAPI.
    """
    from yiyang.api import api  # the API imports this module's router

    return api.create_response(request, order_data(o), status=status)


class TransitionOut(Schema):
    action: str
    from_status: str
    to_status: str
    actor: str | None
    at: datetime
    device_time: datetime | None
    reason: str

    @staticmethod
    def resolve_actor(t) -> str | None:
        return str(t.actor) if t.actor_id else None


class TaskOut(Schema):
    code: str
    label: str
    required: bool
    outcome: str | None
    note: str
    device_time: datetime | None
    received_at: datetime | None


class RatingOut(Schema):
    score: int
    comment: str
    follow_up_open: bool
    follow_up_note: str
    created_at: datetime


class OrderDetailOut(OrderOut):
    timeline: list[TransitionOut]
    tasks: list[TaskOut]
    rating: RatingOut | None

    @staticmethod
    def resolve_timeline(o: Order) -> list:
        return list(o.transitions.select_related("actor"))

    @staticmethod
    def resolve_tasks(o: Order) -> list[dict]:
        return task_rows(o)

    @staticmethod
    def resolve_rating(o: Order):
        return getattr(o, "rating", None)


def task_rows(order: Order) -> list[dict]:
    outcomes = {t.task_code: t for t in order.task_outcomes.all()}
    rows = []
    for task in order.item.tasks:
        done = outcomes.get(task["code"])
        rows.append(
            {
                "code": task["code"],
                "label": task["label"],
                "required": bool(task.get("required")),
                "outcome": done.outcome if done else None,
                "note": done.note if done else "",
                "device_time": done.device_time if done else None,
                "received_at": done.received_at if done else None,
            }
        )
    return rows


class OrderIn(Schema):
    elder_id: int
    item_code: str = Field(min_length=1, max_length=48)
    provider_id: int | None = Field(None, description="Omit to let the platform pick the cheapest provider covering the elder's home")
    window_start: datetime
    window_end: datetime
    note: str = Field("", max_length=500)


class AssignIn(Schema):
    caregiver_id: int
    reason: str = Field("", max_length=500)


class DeviceIn(Schema):
    device_time: datetime | None = Field(None, description="The phone's own time of the action (offline sync); default: now")


class LocationIn(DeviceIn):
    lat: float = Field(description="WGS-84 latitude")
    lng: float = Field(description="WGS-84 longitude")


class CheckOutIn(LocationIn):
    elder_confirmed: bool = False


class NotHomeIn(LocationIn):
    note: str = Field("", max_length=500)


class TaskIn(DeviceIn):
    task_code: str = Field(min_length=1, max_length=48)
    outcome: str = Field(description="done, not_done or refused")
    note: str = Field("", max_length=255)


class AuditIn(Schema):
    decision: str = Field(description="approve or reject")
    comment: str = Field("", max_length=500)


class CommentIn(Schema):
    comment: str = Field(max_length=500)


class RateIn(Schema):
    score: int = Field(description="1 (bad) to 5 (very good)")
    comment: str = Field("", max_length=500)


class CancelIn(Schema):
    reason: str = Field(max_length=255)


class NoteIn(Schema):
    note: str = Field(max_length=500)


class SuggestionOut(Schema):
    rank: int
    caregiver_id: int
    name: str
    is_volunteer: bool
    distance_m: int | None
    starts_from: str
    load: int


class ExcludedOut(Schema):
    caregiver_id: int
    name: str
    reason: str


class SuggestionsOut(Schema):
    order_id: int
    ranked: list[SuggestionOut]
    excluded: list[ExcludedOut]


# Orders ---------------------------------------------------------------------------------------

CHANNEL_BY_ROLE = {Role.OPERATOR: Channel.HOTLINE, Role.WORKER: Channel.WORKER, Role.FAMILY: Channel.FAMILY, Role.ELDER: Channel.ELDER}


def _order(request: HttpRequest, order_id: int) -> Order:
    order = order_for(request.auth, order_id)
    if order is None:
        raise Http404
    return order


def _target(request: HttpRequest, order_id: int) -> dict:
    """For a write: the operation reads the order once, under its lock and through the caller's scope (404 outside)."""
    return {"order": order_id, "viewer": request.auth}


@router.get("", response=list[OrderOut], summary="Orders in my scope")
@paginate(Pages, page_size=50)
def orders_list(request: HttpRequest, status: str | None = None, service_date: date | None = None, elder_id: int | None = None):
    require(request, "order.view")
    orders = (
        orders_visible_to(request.auth).select_related("elder", "item__category", "provider", "caregiver").order_by("-window_start", "-pk")
    )
    if status:
        orders = orders.filter(status=status)
    if service_date:
        orders = orders.filter(service_date=service_date)
    if elder_id:
        orders = orders.filter(elder_id=elder_id)
    return orders


@router.post("", response={201: OrderOut, 200: OrderOut, **ERRORS}, summary="Place an order (Idempotency-Key accepted)")
def orders_create(request: HttpRequest, data: OrderIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")):
    require(request, "order.create")
    # elder_for's scope, with the residence region the order needs (its area, the audit row) in the same read.
    elder = elder_with_residence(request.auth, data.elder_id)
    if elder is None:
        raise DomainError(_("No such elder in your area."), field="elder_id", code="not_found", status=404)
    item = ITEM_BY_CODE.first(code=data.item_code)
    if item is None:
        raise DomainError(_("“%(code)s” is not on the menu.") % {"code": data.item_code}, field="item_code", code="unknown_item")
    provider = None
    if data.provider_id is not None:
        provider = Provider.objects.filter(pk=data.provider_id).first()
        if provider is None:
            raise DomainError(_("No such provider."), field="provider_id", code="unknown_provider")
    order, created = ops.order_create(
        elder=elder,
        item=item,
        provider=provider,
        window_start=data.window_start,
        window_end=data.window_end,
        note=data.note,
        channel=CHANNEL_BY_ROLE.get(request.auth.role, Channel.API),
        idempotency_key=idempotency_key or "",
        actor=request.auth,
    )
    return order_out(request, order, status=201 if created else 200)


@router.get("/{order_id}", response={200: OrderDetailOut, 404: ErrorOut}, summary="One order with its timeline")
def orders_get(request: HttpRequest, order_id: int):
    require(request, "order.view")
    return _order(request, order_id)


@router.post("/{order_id}/accept", response={200: OrderOut, **ERRORS}, summary="Provider accepts the order")
def orders_accept(request: HttpRequest, order_id: int):
    require(request, "order.dispatch")
    return order_out(request, ops.order_accept(**_target(request, order_id), actor=request.auth))


@router.get("/{order_id}/suggestions", response={200: SuggestionsOut, **ERRORS}, summary="Ranked caregivers for the order")
def orders_suggestions(request: HttpRequest, order_id: int, limit: int = 10):
    require(request, "order.dispatch")
    order = _order(request, order_id)
    found = dispatch_suggestions(order, limit=max(1, min(limit, 50)))
    return {"order_id": order.pk, "ranked": found.ranked, "excluded": found.excluded}


@router.post("/{order_id}/assign", response={200: OrderOut, **ERRORS}, summary="Assign a caregiver")
def orders_assign(request: HttpRequest, order_id: int, data: AssignIn):
    require(request, "order.dispatch")
    # The caregiver's id: the operation reads them under their lock and refuses one of another provider.
    return order_out(
        request, ops.order_assign(**_target(request, order_id), caregiver=data.caregiver_id, actor=request.auth, reason=data.reason)
    )


@router.post("/{order_id}/start-travel", response={200: OrderOut, **ERRORS}, summary="Caregiver sets off")
def orders_start_travel(request: HttpRequest, order_id: int, data: DeviceIn):
    require(request, "order.serve")
    return order_out(request, ops.order_start_travel(**_target(request, order_id), actor=request.auth, device_time=data.device_time))


@router.post("/{order_id}/check-in", response={200: OrderOut, **ERRORS}, summary="Caregiver checks in at the home")
def orders_check_in(request: HttpRequest, order_id: int, data: LocationIn):
    require(request, "order.serve")
    order = ops.order_check_in(**_target(request, order_id), actor=request.auth, lat=data.lat, lng=data.lng, device_time=data.device_time)
    return order_out(request, order)


@router.post("/{order_id}/tasks", response={200: OrderOut, **ERRORS}, summary="Record the outcome of one task")
def orders_task(request: HttpRequest, order_id: int, data: TaskIn):
    require(request, "order.serve")
    record = ops.order_task_record(
        **_target(request, order_id),
        actor=request.auth,
        task_code=data.task_code,
        outcome=data.outcome,
        note=data.note,
        device_time=data.device_time,
    )
    return order_out(request, record.order)


@router.post("/{order_id}/check-out", response={200: OrderOut, **ERRORS}, summary="Caregiver checks out; the automatic audit runs")
def orders_check_out(request: HttpRequest, order_id: int, data: CheckOutIn):
    require(request, "order.serve")
    order = ops.order_check_out(
        **_target(request, order_id),
        actor=request.auth,
        lat=data.lat,
        lng=data.lng,
        device_time=data.device_time,
        elder_confirmed=data.elder_confirmed,
    )
    return order_out(request, order)


@router.post("/{order_id}/not-home", response={200: OrderOut, **ERRORS}, summary="Caregiver reports the elder not at home")
def orders_not_home(request: HttpRequest, order_id: int, data: NotHomeIn):
    require(request, "order.serve")
    order = ops.order_not_home(
        **_target(request, order_id), actor=request.auth, lat=data.lat, lng=data.lng, device_time=data.device_time, note=data.note
    )
    return order_out(request, order)


@router.post("/{order_id}/audit", response={200: OrderOut, **ERRORS}, summary="Officer approves or rejects a flagged visit")
def orders_audit(request: HttpRequest, order_id: int, data: AuditIn):
    require(request, "order.audit")
    if data.decision not in ("approve", "reject"):
        raise DomainError(_("The decision must be approve or reject."), field="decision", code="decision")
    order = ops.order_audit_decide(
        **_target(request, order_id), actor=request.auth, approve=data.decision == "approve", comment=data.comment
    )
    return order_out(request, order)


@router.post("/{order_id}/reverse", response={200: OrderOut, **ERRORS}, summary="Officer reverses a paid visit (vouchers refunded)")
def orders_reverse(request: HttpRequest, order_id: int, data: CommentIn):
    require(request, "order.audit")
    return order_out(request, ops.order_payment_reverse(**_target(request, order_id), actor=request.auth, comment=data.comment))


@router.post("/{order_id}/rate", response={200: OrderOut, **ERRORS}, summary="Rate the visit 1-5")
def orders_rate(request: HttpRequest, order_id: int, data: RateIn):
    require(request, "order.rate")
    rating = ops.order_rate(**_target(request, order_id), actor=request.auth, score=data.score, comment=data.comment)
    return order_out(request, rating.order)


@router.post("/{order_id}/follow-up/close", response={200: OrderOut, **ERRORS}, summary="Close the follow-up of a low rating")
def orders_follow_up_close(request: HttpRequest, order_id: int, data: NoteIn):
    require(request, "order.follow_up")
    order = _order(request, order_id)
    rating = getattr(order, "rating", None)
    if rating is None:
        raise Http404
    ops.follow_up_close(rating=rating, actor=request.auth, note=data.note)
    return order_out(request, order)


@router.post("/{order_id}/cancel", response={200: OrderOut, **ERRORS}, summary="Cancel before the visit starts, with a reason")
def orders_cancel(request: HttpRequest, order_id: int, data: CancelIn):
    require(request, "order.cancel")
    return order_out(request, ops.order_cancel(**_target(request, order_id), actor=request.auth, reason=data.reason))


# Catalogue, providers, caregivers, recurrences -----------------------------------------------------


class ItemOut(Schema):
    code: str
    name: str
    category: str
    category_name: str
    unit: str
    guide_price_fen: int
    standard_minutes: int
    qualification: str
    tasks: list[dict]
    is_active: bool

    @staticmethod
    def resolve_category(i) -> str:
        return i.category.code

    @staticmethod
    def resolve_category_name(i) -> str:
        return i.category.name


class ItemPatch(Schema):
    guide_price_fen: int | None = Field(None, ge=0)
    standard_minutes: int | None = Field(None, ge=1, le=24 * 60)
    is_active: bool | None = None
    name: str | None = Field(None, min_length=1, max_length=64)


class ProviderOut(Schema):
    id: int
    name: str
    licence_no: str
    region: str
    is_active: bool
    auto_dispatch: bool
    rating_avg: float | None
    rating_count: int
    low_ratings: int

    @staticmethod
    def resolve_region(p) -> str:
        return p.region.code


class OfferingOut(Schema):
    item_code: str
    item_name: str
    price_fen: int
    area: list[str]

    @staticmethod
    def resolve_item_code(o) -> str:
        return o.item.code

    @staticmethod
    def resolve_item_name(o) -> str:
        return o.item.name

    @staticmethod
    def resolve_area(o) -> list[str]:
        return [r.code for r in (o.regions.all() or o.provider.service_regions.all())]


class ReceivableOut(Schema):
    month: str
    orders: int
    subsidy_fen: int
    copay_fen: int
    total_fen: int


class CertificateOut(Schema):
    kind: str
    level: str
    expires_on: date


class CaregiverOut(Schema):
    id: int
    name: str
    provider_id: int
    is_volunteer: bool
    is_active: bool
    skills: list[str]
    certificates: list[CertificateOut]
    home_lat: float | None = Field(None, description="Only for those who manage caregivers (the officer, the provider's dispatcher)")
    home_lng: float | None = Field(None, description="Only for those who manage caregivers")
    work_start: time
    work_end: time
    work_days: list[int]

    # A caregiver's home is their personal data: the hotline and township workers see who and when, not where they live.
    @staticmethod
    def resolve_home_lat(c, context) -> float | None:
        return c.home_lat if can(context["request"].auth, "caregiver.manage") else None

    @staticmethod
    def resolve_home_lng(c, context) -> float | None:
        return c.home_lng if can(context["request"].auth, "caregiver.manage") else None

    @staticmethod
    def resolve_skills(c) -> list[str]:
        return [s.code for s in c.skills.all()]

    @staticmethod
    def resolve_certificates(c) -> list:
        return list(c.certificates.all())


class RecurrenceIn(Schema):
    elder_id: int
    item_code: str
    provider_id: int | None = None
    weekdays: list[int] = Field(default_factory=list, description="0 = Monday … 6 = Sunday")
    working_days_only: bool = Field(False, description="Exactly the official working days (调休 included, holidays excluded)")
    skip_holidays: bool = True
    start_time: time
    end_time: time
    starts_on: date
    ends_on: date | None = None
    note: str = Field("", max_length=255)


class RecurrenceOut(Schema):
    id: int
    elder_id: int
    item_code: str
    provider_id: int
    weekdays: list[int]
    working_days_only: bool
    skip_holidays: bool
    start_time: time
    end_time: time
    starts_on: date
    ends_on: date | None

    @staticmethod
    def resolve_item_code(r) -> str:
        return r.item.code


class GenerateIn(Schema):
    until: date


class GeneratedOut(Schema):
    created: int
    order_ids: list[int]


@homecare_router.get("/catalogue", response=list[ItemOut], summary="The service menu")
def catalogue_list(request: HttpRequest):
    require(request, "catalogue.view")
    return catalogue()


@homecare_router.patch("/catalogue/{code}", response={200: ItemOut, **ERRORS}, summary="Officer edits a menu item")
def catalogue_update(request: HttpRequest, code: str, data: ItemPatch):
    require(request, "catalogue.manage")
    item = get_object_or_404(ServiceItem.objects.select_related("category"), code=code)
    return ops.item_update(item=item, actor=request.auth, **data.dict(exclude_none=True))


@homecare_router.get("/providers", response=list[ProviderOut], summary="Providers in my scope, with their rating scores")
def providers_list(request: HttpRequest):
    require(request, "provider.view")
    return provider_scores(providers_visible_to(request.auth).select_related("region")).order_by("name")


@homecare_router.get(
    "/providers/{provider_id}/offerings", response=list[OfferingOut], summary="What a provider offers, where, at what price"
)
def provider_offerings(request: HttpRequest, provider_id: int):
    require(request, "provider.view")
    provider = get_object_or_404(providers_visible_to(request.auth), pk=provider_id)
    return (
        provider.offerings.filter(is_active=True)
        .select_related("item", "provider")
        .prefetch_related("regions", "provider__service_regions")
    )


@homecare_router.get("/providers/{provider_id}/receivables", response=list[ReceivableOut], summary="Monthly receivables of a provider")
def provider_receivables_get(request: HttpRequest, provider_id: int):
    require(request, "provider.receivables")
    provider = get_object_or_404(providers_visible_to(request.auth), pk=provider_id)
    return provider_receivables(provider)


@homecare_router.get("/caregivers", response=list[CaregiverOut], summary="Caregivers of the providers in my scope")
@paginate(Pages, page_size=100)
def caregivers_list(request: HttpRequest):
    require(request, "provider.view")
    return caregivers_visible_to(request.auth).prefetch_related("skills", "certificates").order_by("pk")


@homecare_router.post("/recurrences", response={201: RecurrenceOut, **ERRORS}, summary="Create a recurring order")
def recurrences_create(request: HttpRequest, data: RecurrenceIn):
    require(request, "order.create")
    elder = elder_for(request.auth, data.elder_id)
    if elder is None:
        raise DomainError(_("No such elder in your area."), field="elder_id", code="not_found", status=404)
    item = ServiceItem.objects.filter(code=data.item_code).first()
    if item is None:
        raise DomainError(_("“%(code)s” is not on the menu.") % {"code": data.item_code}, field="item_code", code="unknown_item")
    provider = Provider.objects.filter(pk=data.provider_id).first() if data.provider_id else None
    recurrence = ops.recurrence_create(
        elder=elder,
        item=item,
        provider=provider,
        weekdays=data.weekdays,
        working_days_only=data.working_days_only,
        skip_holidays=data.skip_holidays,
        start_time=data.start_time,
        end_time=data.end_time,
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        note=data.note,
        actor=request.auth,
    )
    return Status(201, recurrence)


@homecare_router.post(
    "/recurrences/{recurrence_id}/generate", response={200: GeneratedOut, **ERRORS}, summary="Create the orders of a recurrence"
)
def recurrences_generate(request: HttpRequest, recurrence_id: int, data: GenerateIn):
    require(request, "order.create")
    from yiyang.homecare.models import Recurrence

    recurrence = Recurrence.objects.select_related("elder", "item", "provider").filter(pk=recurrence_id).first()
    if recurrence is None or elder_for(request.auth, recurrence.elder_id) is None:
        raise Http404
    orders = ops.recurrence_generate(recurrence=recurrence, until=data.until, actor=request.auth)
    return {"created": len(orders), "order_ids": [o.pk for o in orders]}


# Managing providers, offerings, caregivers, certificates, the catalogue, recurrences and receivables:
# their endpoints hang on homecare_router from their own module.
from yiyang.homecare import api_providers  # noqa: E402,F401
