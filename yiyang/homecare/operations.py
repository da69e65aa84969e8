"""Every write of the home-care domain. Pages, API, tasks and the demo call these and nothing else.

Each operation: transaction.atomic() -> lock the rows it changes -> re-check state -> save -> audit row.
Lock order, where several rows are locked: caregiver, then order (so concurrent assignments cannot deadlock).
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.core.prepared import new_row, row_insert, row_update, row_upsert
from yiyang.core.text import free_text
from yiyang.core.write_batch import batched_transaction, key_of, writes_batched
from yiyang.homecare import calendar_cn
from yiyang.homecare.models import (
    Caregiver,
    Channel,
    Order,
    OrderStatus,
    OrderTransition,
    Provider,
    ProviderOffering,
    Rating,
    Recurrence,
    ServiceItem,
    TaskOutcome,
)
from yiyang.homecare.payment import order_payment_refund, order_payment_split
from yiyang.homecare.queries import (
    CAREGIVER_CLASH,
    CAREGIVER_LOCKED,
    ORDER_BY_IDEMPOTENCY_KEY,
    ORDER_ROW,
    TASK_OUTCOMES,
    VISITS_OVERLAPPING,
    cheapest_offering_covering,
    distance_m,
    elder_home,
    offering_covers,
    order_locked,
    qualification_problem,
)
from yiyang.homecare.states import OPEN_FOR_DISPATCH, Action, actions_from, allowed, target

# A device clock may run a little fast; beyond this its time is refused as "in the future".
DEVICE_CLOCK_SKEW = timedelta(minutes=5)
# A window that started this long ago may still be ordered (an urgent call "now").
WINDOW_GRACE = timedelta(minutes=10)


# State machine -------------------------------------------------------------------------


def _refuse_transition(order: Order, action: str) -> StateConflict:
    status_label = OrderStatus(order.status).label
    return StateConflict(
        _("Cannot %(action)s: order #%(id)s is “%(status)s”.") % {"action": Action(action).label, "id": order.pk, "status": status_label},
        code="illegal_transition",
        field="status",
        extra={"status": order.status, "action": str(action), "allowed_actions": [str(a) for a in actions_from(order.status)]},
    )


def _check(order: Order, action: str) -> None:
    if not allowed(action, order.status):
        raise _refuse_transition(order, action)


def _move(order: Order, action: str, *, actor, reason: str = "", device_time: datetime | None = None, at=None) -> OrderTransition | None:
    """Apply `action` to a locked order; write the transition row when the state changes."""
    _check(order, action)
    old, new = order.status, target(action, order.status)
    if old == new:
        return None
    order.status = new
    return row_insert(
        new_row(
            OrderTransition,
            order_id=order.pk,
            action=str(action),
            from_status=old,
            to_status=new,
            actor_id=actor.pk if getattr(actor, "is_authenticated", False) else None,
            at=at or timezone.now(),
            device_time=device_time,
            reason=reason[:500],
        ),
        batchable=True,
    )


# An order, or its id: every operation re-reads it under its lock anyway, so the API passes the id
# (building an unsaved Order just to carry its key costs more than the id's whole trip).
OrderRef = Order | int


@dataclass(frozen=True)
class ReadAhead:
    """An order read, with its scope check, before its operation's transaction began (`read_ahead`)."""

    order: Order


def read_ahead(order: OrderRef, viewer=None) -> OrderRef | ReadAhead:
    """On SQLite, the order's joined read made before the operation takes the database's write turn.

    SQLite lets one transaction write at a time, and every writer of every worker waits while one holds
    the turn: under load the lifecycle's requests spent longer waiting for it than working
    (bench/README-homecare.md). The joined read, its scope check and the instances it builds are half of
    what a step does under the turn; made before it, `_locked` then re-reads only the order's own row
    (and its rating) under the turn, and keeps the related rows from here. They are an elder, an item,
    a provider and a caregiver, which an operation does not change and a few milliseconds do not age;
    a caregiver who changed in between is loaded again. On PostgreSQL, whose row locks let
    transactions overlap, and inside an open transaction, the order is read under its lock as before.
    """
    from django.db import connection

    if connection.vendor != "sqlite" or connection.in_atomic_block:
        return order
    return ReadAhead(_locked(order, viewer))


def _locked(order: OrderRef | ReadAhead, viewer=None, visit_end: datetime | None = None, clash_caregiver_id: int | None = None) -> Order:
    """The order, re-read under its row lock with what the operations and the API answer need.

    `viewer`: the user in whose scope the order must lie (`queries.orders_visible_to`). The scope
    check and the lock are then one query, and an order outside it is a 404, as if it did not exist.
    `visit_end`, `clash_caregiver_id`: a check-out's time, a caregiver being assigned, whose reads then
    come with the order (`queries.order_locked`), except on SQLite's read-ahead path, where the
    operation reads them itself.
    """
    if isinstance(order, ReadAhead):
        return _refreshed(order.order, viewer)
    locked = order_locked(
        order if isinstance(order, int) else order.pk, viewer=viewer, visit_end=visit_end, clash_caregiver_id=clash_caregiver_id
    )
    if locked is None:
        if viewer is None:
            raise Order.DoesNotExist
        raise Http404
    return locked


def _refreshed(earlier: Order, viewer) -> Order:
    """The order's row as it is now, with the related rows of `earlier` (read ahead, in scope)."""
    order = ORDER_ROW.first(order_id=earlier.pk)
    if order is None:  # deleted in between: as if it had never been there
        if viewer is None:
            raise Order.DoesNotExist
        raise Http404
    for name in ("elder", "item", "provider", "caregiver"):
        field = Order._meta.get_field(name)
        if getattr(order, field.attname) == getattr(earlier, field.attname) and field.is_cached(earlier):
            field.set_cached_value(order, field.get_cached_value(earlier))
    return order


def _rating_of(order: Order) -> Rating | None:
    # The locked read brings the rating along; an order read otherwise loads it here.
    try:
        return order.rating
    except Rating.DoesNotExist:
        return None


def _region_of(order: Order):
    return order.elder.residence_region


# Create ---------------------------------------------------------------------------------


def _window_checks(window_start: datetime, window_end: datetime, now: datetime) -> None:
    if timezone.is_naive(window_start) or timezone.is_naive(window_end):
        raise DomainError(_("Give the window with its time zone."), field="window_start", code="naive_time")
    if window_end <= window_start:
        raise DomainError(_("The window must end after it starts."), field="window_end", code="window_order")
    if window_start < now - WINDOW_GRACE:
        raise DomainError(
            _("The window starts in the past (%(start)s).") % {"start": timezone.localtime(window_start).strftime("%Y-%m-%d %H:%M")},
            field="window_start",
            code="window_past",
        )
    if window_end - window_start > timedelta(hours=12):
        raise DomainError(_("A window may last at most 12 hours."), field="window_end", code="window_too_long")


def _offering_for(*, elder, item: ServiceItem, provider: Provider | None) -> ProviderOffering:
    if provider is None:
        offering = cheapest_offering_covering(elder, item)
        if offering is None:
            raise DomainError(
                _("No provider offers “%(item)s” where %(elder)s lives.") % {"item": item.name, "elder": elder.name},
                field="item",
                code="item_not_offered_here",
            )
        return offering
    if not provider.is_active:
        raise DomainError(_("%(provider)s is not active.") % {"provider": provider.name}, field="provider", code="provider_inactive")
    offering = ProviderOffering.objects.filter(provider=provider, item=item, is_active=True).first()
    if offering is None:
        raise DomainError(
            _("%(provider)s does not offer “%(item)s”.") % {"provider": provider.name, "item": item.name},
            field="item",
            code="item_not_offered",
        )
    if not offering_covers(offering, elder.residence_region.path):
        raise DomainError(
            _("%(elder)s lives in %(region)s, outside the area where %(provider)s offers “%(item)s”.")
            % {"elder": elder.name, "region": elder.residence_region.name, "provider": provider.name, "item": item.name},
            field="elder",
            code="outside_provider_area",
        )
    return offering


def order_create(
    *,
    elder,
    item: ServiceItem,
    window_start: datetime,
    window_end: datetime,
    actor,
    provider: Provider | None = None,
    note: str = "",
    channel: str = Channel.HOTLINE,
    idempotency_key: str = "",
    recurrence: Recurrence | None = None,
) -> tuple[Order, bool]:
    """Place an order. Returns (order, created); a repeated Idempotency-Key returns the first order."""
    from yiyang.people.models import ElderStatus

    idempotency_key = (idempotency_key or "").strip()
    if len(idempotency_key) > 128:
        raise DomainError(_("The Idempotency-Key may be at most 128 characters."), field="Idempotency-Key", code="idempotency_key")
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    if idempotency_key:
        existing = ORDER_BY_IDEMPOTENCY_KEY.first(requested_by_id=actor_id, key=idempotency_key)
        if existing is not None:
            return _same_request(existing, elder=elder, item=item), False
    if elder.status != ElderStatus.ACTIVE:
        raise DomainError(
            _("%(elder)s's file is archived (%(status)s); no order can be placed.")
            % {"elder": elder.name, "status": elder.get_status_display()},
            field="elder",
            code="elder_archived",
        )
    if not item.is_active:
        raise DomainError(_("“%(item)s” is no longer on the menu.") % {"item": item.name}, field="item", code="item_inactive")
    now = timezone.now()
    _window_checks(window_start, window_end, now)
    note = free_text(note, field="note", max_length=500)
    offering = _offering_for(elder=elder, item=item, provider=provider)
    try:
        # Nothing read in this transaction: on PostgreSQL its three rows leave as one statement, without
        # BEGIN or COMMIT (core.write_batch).
        with batched_transaction():
            order = row_insert(
                Order(
                    provider=offering.provider,
                    elder=elder,
                    item=item,
                    window_start=window_start,
                    window_end=window_end,
                    service_date=timezone.localtime(window_start).date(),
                    note=note,
                    channel=channel,
                    requested_by_id=actor_id,
                    idempotency_key=idempotency_key,
                    recurrence=recurrence,
                    price_fen=offering.price_fen,
                ),
                batchable=True,
            )
            row_insert(
                new_row(
                    OrderTransition,
                    order_id=key_of(order),
                    action="create",
                    from_status="",
                    to_status=order.status,
                    actor_id=actor_id,
                    at=now,
                    reason=note[:500],
                ),
                batchable=True,
            )
            audit_record(
                actor=actor,
                action="order.create",
                obj=order,
                region=elder.residence_region,
                detail={"item": item.code, "provider": offering.provider_id, "channel": channel},
            )
    except IntegrityError:
        # The unique constraint is the backstop for two retries racing past the check above.
        if idempotency_key:
            existing = ORDER_BY_IDEMPOTENCY_KEY.first(requested_by_id=actor_id, key=idempotency_key)
            if existing is not None:
                return _same_request(existing, elder=elder, item=item), False
        raise
    if offering.provider.auto_dispatch:
        transaction.on_commit(lambda: order_auto_dispatch(order_id=order.pk))
    return order, True


def _same_request(existing: Order, *, elder, item) -> Order:
    if existing.elder_id != elder.pk or existing.item_id != item.pk:
        raise StateConflict(
            _("This Idempotency-Key was already used for order #%(id)s, a different request.") % {"id": existing.pk},
            field="Idempotency-Key",
            code="idempotency_key_reused",
            extra={"order_id": existing.pk},
        )
    return existing


# Dispatch ---------------------------------------------------------------------------------


def order_accept(*, order: OrderRef, actor, viewer=None) -> Order:
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer)
        _move(order, Action.ACCEPT, actor=actor)
        row_update(order, batchable=True, fields=("status", "updated_at"))
        audit_record(actor=actor, action="order.accept", obj=order, region=_region_of(order))
    return order


def order_assign(*, order: OrderRef, caregiver: Caregiver | int, actor, reason: str = "", viewer=None) -> Order:
    """Give the order to a caregiver. Two assignments of one caregiver to overlapping windows: one wins.

    `caregiver` as an id (the API's): one that does not exist or works for another provider is refused on
    `caregiver_id` alike, after the order's own scope check (a 404 outside it).
    """
    named_by_id = isinstance(caregiver, int)
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        # The caregiver's row is the lock that serialises their assignments; the overlap check below
        # then sees every assignment committed before ours.
        caregiver_id = caregiver if named_by_id else caregiver.pk
        locked = CAREGIVER_LOCKED.first(caregiver_id=caregiver_id)
        if locked is None and not named_by_id:
            raise Caregiver.DoesNotExist
        # The overlap check comes with the order only for a caregiver who exists: the order's read must
        # not come back empty for an id no caregiver has (a refusal on caregiver_id below).
        order = _locked(order, viewer, clash_caregiver_id=caregiver_id if locked is not None else None)
        if named_by_id and (locked is None or locked.provider_id != order.provider_id):
            raise DomainError(_("This caregiver does not work for the order's provider."), field="caregiver_id", code="unknown_caregiver")
        caregiver = locked
        _check(order, Action.ASSIGN)
        if caregiver.provider_id != order.provider_id:
            raise DomainError(
                _("%(name)s does not work for %(provider)s.") % {"name": caregiver.name, "provider": order.provider.name},
                field="caregiver",
                code="caregiver_other_provider",
            )
        if not caregiver.is_active:
            raise DomainError(_("%(name)s is not active.") % {"name": caregiver.name}, field="caregiver", code="caregiver_inactive")
        problem = qualification_problem(caregiver, order.item, timezone.localtime(order.window_start).date())
        if problem:
            raise DomainError(problem, field="caregiver", code="caregiver_unqualified")
        clash = _caregiver_clash(order, caregiver)
        if clash is not None:
            raise StateConflict(
                _("%(name)s already has order #%(id)s from %(start)s to %(end)s.")
                % {
                    "name": caregiver.name,
                    "id": clash.pk,
                    "start": timezone.localtime(clash.window_start).strftime("%H:%M"),
                    "end": timezone.localtime(clash.window_end).strftime("%H:%M"),
                },
                field="caregiver",
                code="caregiver_busy",
                extra={"status": order.status, "clashing_order": clash.pk},
            )
        previous = order.caregiver_id
        order.caregiver = caregiver
        if previous is not None and order.status == OrderStatus.ASSIGNED:
            row_insert(
                OrderTransition(
                    order=order,
                    action=Action.ASSIGN,
                    from_status=order.status,
                    to_status=order.status,
                    actor=actor,
                    at=timezone.now(),
                    reason=(reason or _("re-assigned to %(name)s") % {"name": caregiver.name})[:500],
                )
            )
        else:
            _move(order, Action.ASSIGN, actor=actor, reason=reason or caregiver.name)
        order.overdue_at = None
        row_update(order, batchable=True, fields=("caregiver", "status", "overdue_at", "updated_at"))
        audit_record(
            actor=actor,
            action="order.assign",
            obj=order,
            region=_region_of(order),
            detail={"caregiver": caregiver.pk, "previous": previous},
        )
    return order


def _caregiver_clash(order: Order, caregiver: Caregiver) -> Order | None:
    """An order of the caregiver's, other than this one, planned or under way in its window: as read with
    the order (`queries.order_locked`), or now."""
    if not hasattr(order, "caregiver_clash"):
        return CAREGIVER_CLASH.first(caregiver_id=caregiver.pk, order_id=order.pk, start=order.window_start, end=order.window_end)
    if order.caregiver_clash is None:
        return None
    return Order.objects.only("pk", "window_start", "window_end").get(pk=order.caregiver_clash)


def order_auto_dispatch(*, order_id: int) -> Order | None:
    """Assign the best suggestion, if any; used when a provider turned auto-dispatch on."""
    from yiyang.homecare.queries import dispatch_suggestions

    order = Order.objects.select_related("elder__residence_region", "item__category", "provider").filter(pk=order_id).first()
    if order is None or order.status not in OPEN_FOR_DISPATCH:
        return None
    for suggestion in dispatch_suggestions(order, limit=3).ranked:
        try:
            return order_assign(order=order, caregiver=Caregiver(pk=suggestion.caregiver_id), actor=None, reason=_("auto-dispatch"))
        except DomainError:
            continue
    return None


def orders_flag_overdue(*, now: datetime | None = None) -> int:
    """Flag orders nobody has taken in time; they then show on the officers' and the hotline's pages."""
    now = now or timezone.now()
    limit = timedelta(minutes=settings.YIYANG_ORDER_OVERDUE_MINUTES)
    flagged = 0
    candidates = Order.objects.filter(status__in=OPEN_FOR_DISPATCH, overdue_at__isnull=True).filter(_overdue_q(now, limit))
    for order_id in candidates.values_list("pk", flat=True)[:1000]:
        with transaction.atomic(), writes_batched():
            order = _locked(Order(pk=order_id))
            if order.status not in OPEN_FOR_DISPATCH or order.overdue_at is not None:
                continue
            order.overdue_at = now
            row_update(order, batchable=True, fields=("overdue_at", "updated_at"))
            audit_record(actor=None, action="order.overdue", obj=order, region=_region_of(order))
            flagged += 1
    return flagged


def _overdue_q(now: datetime, limit: timedelta):
    from django.db.models import Q

    # Not taken within the limit after it was placed, or about to start with nobody assigned.
    return Q(created_at__lt=now - limit) | Q(window_start__lt=now + timedelta(minutes=30))


# Service visit ----------------------------------------------------------------------------------


def _device_time(value: datetime | None, now: datetime, field: str = "device_time") -> datetime:
    if value is None:
        return now
    if timezone.is_naive(value):
        raise DomainError(_("Give the device time with its time zone."), field=field, code="naive_time")
    if value > now + DEVICE_CLOCK_SKEW:
        raise DomainError(_("The device time lies in the future; check the phone's clock."), field=field, code="device_time_future")
    return value


def _coordinates(lat, lng) -> tuple[float, float]:
    if lat is None:
        raise DomainError(_("The location is required (latitude missing)."), field="lat", code="location_required")
    if lng is None:
        raise DomainError(_("The location is required (longitude missing)."), field="lng", code="location_required")
    if not -90 <= float(lat) <= 90:
        raise DomainError(_("Latitude must lie between -90 and 90."), field="lat", code="lat_range")
    if not -180 <= float(lng) <= 180:
        raise DomainError(_("Longitude must lie between -180 and 180."), field="lng", code="lng_range")
    return float(lat), float(lng)


def _require_assigned(order: Order, actor) -> None:
    if order.caregiver is None or order.caregiver.user_id is None or order.caregiver.user_id != getattr(actor, "pk", None):
        raise DomainError(
            _("Only the caregiver assigned to order #%(id)s may do this.") % {"id": order.pk}, code="not_assigned", status=403
        )


def _distance_from_home(order: Order, point: tuple[float, float]) -> int | None:
    home = elder_home(order.elder)
    return None if home is None else int(round(distance_m(home, point)))


def _hard_limit(order: Order, distance: int | None) -> None:
    limit = settings.YIYANG_CHECKIN_MAX_METERS
    if distance is not None and distance > limit:
        raise DomainError(
            _("You are %(distance).1f km from %(elder)s's home; checking in is allowed within %(limit).1f km.")
            % {"distance": distance / 1000, "elder": order.elder.name, "limit": limit / 1000},
            field="location",
            code="too_far",
            extra={"distance_m": distance, "limit_m": limit},
        )


def _arrive(order: Order, action: str, *, actor, lat, lng, device_time: datetime | None, now: datetime, reason: str = "") -> None:
    """Arrival at the home of a locked order (check-in, or "not at home"): time and place, within the hard limit.

    Refused beyond the hard limit with the distance; a smaller deviation is recorded and left to the audit.
    """
    _require_assigned(order, actor)
    _check(order, action)
    point = _coordinates(lat, lng)
    device_time = _device_time(device_time, now)
    distance = _distance_from_home(order, point)
    _hard_limit(order, distance)
    order.checkin_at, order.checkin_received_at = device_time, now
    order.checkin_lat, order.checkin_lng, order.checkin_distance_m = point[0], point[1], distance
    _move(order, action, actor=actor, device_time=device_time, at=now, reason=reason)
    row_update(
        order,
        batchable=True,
        fields=("status", "checkin_at", "checkin_received_at", "checkin_lat", "checkin_lng", "checkin_distance_m", "updated_at"),
    )
    audit_record(actor=actor, action=f"order.{action}", obj=order, region=_region_of(order), detail={"distance_m": distance})


def order_start_travel(*, order: OrderRef, actor, device_time: datetime | None = None, viewer=None) -> Order:
    now = timezone.now()
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer)
        _require_assigned(order, actor)
        device_time = _device_time(device_time, now)
        _move(order, Action.START_TRAVEL, actor=actor, device_time=device_time, at=now)
        row_update(order, batchable=True, fields=("status", "updated_at"))
        audit_record(actor=actor, action="order.start_travel", obj=order, region=_region_of(order))
    return order


def order_check_in(*, order: OrderRef, actor, lat, lng, device_time: datetime | None = None, viewer=None) -> Order:
    """Arrival at the elder's home. Beyond the hard limit it is refused with the distance; nearer it is recorded."""
    now = timezone.now()
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer)
        _arrive(order, Action.CHECK_IN, actor=actor, lat=lat, lng=lng, device_time=device_time, now=now)
    return order


def order_task_record(
    *,
    order: OrderRef,
    actor,
    task_code: str,
    outcome: str,
    note: str = "",
    device_time: datetime | None = None,
    viewer=None,
) -> TaskOutcome:
    now = timezone.now()
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer)
        _require_assigned(order, actor)
        _check(order, Action.COMPLETE_TASK)
        codes = {t["code"]: t for t in order.item.tasks}
        if task_code not in codes:
            raise DomainError(
                _("“%(code)s” is not a task of %(item)s.") % {"code": task_code, "item": order.item.name},
                field="task_code",
                code="unknown_task",
            )
        if outcome not in TaskOutcome.Outcome.values:
            raise DomainError(
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(TaskOutcome.Outcome.values)}, field="outcome", code="outcome"
            )
        device_time = _device_time(device_time, now)
        # The order's row lock serialises the tasks of one order: one upsert on (order, task), which
        # travels with the audit row (core.write_batch); update_or_create would add savepoints and a read.
        values = {"outcome": outcome, "note": (note or "")[:255], "device_time": device_time, "received_at": now}
        record = row_upsert(
            TaskOutcome(order=order, task_code=task_code, **values),
            unique=("order", "task_code"),
            update=(*values, "updated_at"),
            batchable=True,
        )
        audit_record(actor=actor, action="order.task", obj=order, region=_region_of(order), detail={"task": task_code, "outcome": outcome})
    return record


def order_check_out(
    *, order: OrderRef, actor, lat, lng, device_time: datetime | None = None, elder_confirmed: bool = False, viewer=None
) -> Order:
    """End of the visit; refused while a required task has no outcome. The automatic audit follows at once."""
    now = timezone.now()
    order = read_ahead(order, viewer)
    try:
        visit_end = _device_time(device_time, now)
    except DomainError:
        visit_end = None  # refused below, after the order's own checks, as before
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer, visit_end=visit_end)
        _require_assigned(order, actor)
        _check(order, Action.CHECK_OUT)
        point = _coordinates(lat, lng)
        device_time = _device_time(device_time, now)
        done = _tasks_done(order, [t["code"] for t in order.item.tasks if t.get("required")])
        missing = [t["label"] for t in order.item.tasks if t.get("required") and t["code"] not in done]
        if missing:
            raise DomainError(
                _("Record the outcome of every required task before checking out: %(tasks)s.") % {"tasks": "、".join(missing)},
                field="tasks",
                code="tasks_missing",
                extra={"missing": missing},
            )
        if order.checkin_at and device_time < order.checkin_at:
            raise DomainError(_("The check-out time is before the check-in time."), field="device_time", code="checkout_before_checkin")
        order.checkout_at, order.checkout_received_at = device_time, now
        order.checkout_lat, order.checkout_lng = point
        order.checkout_distance_m = _distance_from_home(order, point)
        order.elder_confirmed = bool(elder_confirmed)
        # The audit's reads first: then the check-out's writes and the audit's leave together (core.write_batch).
        findings = audit_findings(order, overlapping=_visits_overlapping_read(order))
        _move(order, Action.CHECK_OUT, actor=actor, device_time=device_time, at=now)
        audit_record(
            actor=actor, action="order.check_out", obj=order, region=_region_of(order), detail={"distance_m": order.checkout_distance_m}
        )
        # The audit follows in the same transaction and writes the order once, with the check-out's fields.
        _audit_automatically(order, now=now, also_fields=CHECKOUT_FIELDS, findings=findings)
    return order


CHECKOUT_FIELDS = ("checkout_at", "checkout_received_at", "checkout_lat", "checkout_lng", "checkout_distance_m", "elder_confirmed")


def _tasks_done(order: Order, required: list[str]) -> set[str]:
    """The codes of the tasks with an outcome: as read with the order (`queries.order_locked`), or now.

    Read with the order, they are as they were when that statement began, which may be before it got
    the order's lock: a task recorded by a request that held the lock meanwhile would be missing. Outcomes
    are only ever added, so the read can only miss some; when a required one seems missing, read again.
    """
    if hasattr(order, "tasks_done"):
        done = set(order.tasks_done.split("\n")) if order.tasks_done else set()
        if done.issuperset(required):
            return done
    return {outcome.task_code for outcome in TASK_OUTCOMES.fetch(order_id=order.pk)}


def _visits_overlapping_read(order: Order) -> list[int] | None:
    """The overlapping visits read with the order for this check-out's time, or None if they were not.

    As they were when the order's read began (see `_tasks_done`): a visit of the caregiver's that another
    request finished while this one waited for the order's lock is not among them. Visits of different
    orders were never serialised (two overlapping check-outs at once never saw each other), so this only
    widens a window the audit already had by the time of a lock wait.
    """
    if not hasattr(order, "visits_overlapping"):
        return None
    return sorted(int(pk) for pk in order.visits_overlapping.split(",")) if order.visits_overlapping else []


def order_not_home(*, order: OrderRef, actor, lat, lng, device_time: datetime | None = None, note: str = "", viewer=None) -> Order:
    """The caregiver came and nobody opened: a distinct ending, with where and when they were."""
    now = timezone.now()
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer)
        _arrive(order, Action.NOT_HOME, actor=actor, lat=lat, lng=lng, device_time=device_time, now=now, reason=note)
    return order


# Audit and payment ------------------------------------------------------------------------------


def audit_findings(order: Order, *, overlapping: list[int] | None = None) -> tuple[list[dict], list[dict]]:
    """(flags, notes) of the automatic audit. Flags send the visit to an officer; notes only inform.

    A late sync is a note, never a flag on its own: in the mountains a phone may be offline for
    hours, so device times are judged like any others and the delay is shown to the officer.
    `overlapping`: the ids of the caregiver's visits overlapping this one, when the caller read them.
    """
    flags: list[dict] = []
    notes: list[dict] = []
    limit = settings.YIYANG_AUDIT_MAX_METERS
    for which, distance in (("check_in", order.checkin_distance_m), ("check_out", order.checkout_distance_m)):
        if distance is None:
            flags.append({"code": "no_home_location", "message": _("The elder's home has no location; distances cannot be checked.")})
            break
        if distance > limit:
            flags.append(
                {
                    "code": f"{which}_far",
                    "message": _("%(which)s was %(distance)s m from the home (allowed %(limit)s m).")
                    % {"which": _("Check-in") if which == "check_in" else _("Check-out"), "distance": distance, "limit": limit},
                }
            )
    minutes = order.duration_minutes or 0
    needed = order.item.standard_minutes * settings.YIYANG_AUDIT_MIN_DURATION_PERCENT / 100
    if minutes < needed:
        flags.append(
            {
                "code": "too_short",
                "message": _("The visit lasted %(minutes)s min, less than %(percent)s%% of the standard %(standard)s min.")
                % {"minutes": minutes, "percent": settings.YIYANG_AUDIT_MIN_DURATION_PERCENT, "standard": order.item.standard_minutes},
            }
        )
    if order.caregiver_id and order.checkin_at and order.checkout_at:
        if overlapping is None:
            overlapping = sorted(
                visit.pk
                for visit in VISITS_OVERLAPPING.fetch(
                    caregiver_id=order.caregiver_id, order_id=order.pk, checkin_at=order.checkin_at, checkout_at=order.checkout_at
                )
            )
        if overlapping:
            flags.append(
                {
                    "code": "overlap",
                    "message": _("The caregiver's visits overlap: orders %(ids)s.") % {"ids": ", ".join(f"#{i}" for i in overlapping)},
                }
            )
    if not order.elder_confirmed and _rating_of(order) is None:
        flags.append({"code": "unconfirmed", "message": _("Neither a confirmation by the elder nor a rating.")})
    late = timedelta(minutes=settings.YIYANG_AUDIT_LATE_SYNC_MINUTES)
    for which, device, received in (
        (_("Check-in"), order.checkin_at, order.checkin_received_at),
        (_("Check-out"), order.checkout_at, order.checkout_received_at),
    ):
        if device and received and received - device > late:
            notes.append(
                {
                    "code": "late_sync",
                    "message": _("%(which)s was recorded on the phone at %(device)s and reached the server at %(received)s (offline).")
                    % {
                        "which": which,
                        "device": timezone.localtime(device).strftime("%Y-%m-%d %H:%M"),
                        "received": timezone.localtime(received).strftime("%Y-%m-%d %H:%M"),
                    },
                }
            )
    return flags, notes


def _audit_automatically(order: Order, *, now: datetime, also_fields: tuple[str, ...] = (), findings=None) -> None:
    """Audit a finished visit; `also_fields`: the order's fields changed before, written with the audit's;
    `findings`: audit_findings(order), when the caller has them already."""
    flags, notes = findings if findings is not None else audit_findings(order)
    order.audit_flags, order.audit_notes = flags, notes
    if flags:
        _move(order, Action.AUDIT_FLAG, actor=None, at=now, reason="; ".join(f["code"] for f in flags))
        row_update(order, batchable=True, fields=(*also_fields, "status", "audit_flags", "audit_notes", "updated_at"))
    else:
        _move(order, Action.AUDIT_PASS, actor=None, at=now)
        _pay(order, actor=None, now=now, also_fields=also_fields)
    audit_record(actor=None, action="order.audit_auto", obj=order, region=_region_of(order), detail={"flags": [f["code"] for f in flags]})


def _pay(order: Order, *, actor, now: datetime, also_fields: tuple[str, ...] = ()) -> None:
    order_payment_split(order=order, actor=actor)
    order.paid_at = now
    row_update(
        order,
        batchable=True,
        fields=(
            *also_fields,
            "status",
            "audit_flags",
            "audit_notes",
            "subsidy_fen",
            "copay_fen",
            "paid_at",
            "audited_by",
            "audited_at",
            "audit_comment",
            "updated_at",
        ),
    )
    _credit_volunteer_hours(order, actor=actor)


def _credit_volunteer_hours(order: Order, *, actor) -> None:
    caregiver = order.caregiver
    if caregiver is None or not caregiver.is_volunteer or caregiver.user_id is None or not order.duration_minutes:
        return
    if not apps.is_installed("yiyang.timebank"):
        return
    from yiyang.timebank.operations import hours_credit_for_service

    hours_credit_for_service(
        volunteer=caregiver.user, elder=order.elder, order_ref=f"order:{order.pk}", minutes=order.duration_minutes or 0, actor=actor
    )


def order_audit_decide(*, order: OrderRef, actor, approve: bool, comment: str = "", viewer=None) -> Order:
    """An officer's decision on a flagged visit: approve (then payment) or reject (with a comment)."""
    comment = free_text(comment, field="comment", max_length=2000)
    if not approve and not comment:
        raise DomainError(_("Say why the visit is rejected."), field="comment", code="comment_required")
    if len(comment) > 500:
        raise DomainError(_("The comment may be at most 500 characters."), field="comment", code="comment_too_long")
    now = timezone.now()
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer)
        action = Action.APPROVE if approve else Action.REJECT
        _move(order, action, actor=actor, at=now, reason=comment)
        order.audited_by, order.audited_at, order.audit_comment = actor, now, comment
        if approve:
            _pay(order, actor=actor, now=now)
        else:
            row_update(order, batchable=True, fields=("status", "audited_by", "audited_at", "audit_comment", "updated_at"))
        audit_record(actor=actor, action=f"order.{action}", obj=order, region=_region_of(order), detail={"comment": comment})
    return order


def order_payment_reverse(*, order: OrderRef, actor, comment: str, viewer=None) -> Order:
    """An officer reverses a paid visit found wrong afterwards; vouchers go back to the elder."""
    comment = free_text(comment, field="comment", max_length=2000)
    if not comment:
        raise DomainError(_("Say why the payment is reversed."), field="comment", code="comment_required")
    now = timezone.now()
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer)
        _move(order, Action.REVERSE, actor=actor, at=now, reason=comment)
        order_payment_refund(order=order, actor=actor)
        order.audited_by, order.audited_at, order.audit_comment = actor, now, comment[:500]
        row_update(
            order, batchable=True, fields=("status", "subsidy_fen", "copay_fen", "audited_by", "audited_at", "audit_comment", "updated_at")
        )
        audit_record(actor=actor, action="order.reverse", obj=order, region=_region_of(order), detail={"comment": comment})
    return order


# Cancel, rate -----------------------------------------------------------------------------------


def order_cancel(*, order: OrderRef, actor, reason: str, viewer=None) -> Order:
    reason = free_text(reason, field="reason", max_length=2000)
    if not reason:
        raise DomainError(_("Give a reason for the cancellation."), field="reason", code="reason_required")
    if len(reason) > 255:
        raise DomainError(_("The reason may be at most 255 characters."), field="reason", code="reason_too_long")
    order = read_ahead(order, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(order, viewer)
        _move(order, Action.CANCEL, actor=actor, reason=reason)
        order.cancel_reason = reason
        row_update(order, batchable=True, fields=("status", "cancel_reason", "updated_at"))
        audit_record(actor=actor, action="order.cancel", obj=order, region=_region_of(order), detail={"reason": reason})
    return order


def order_rate(*, order: OrderRef, actor, score: int, comment: str = "", viewer=None) -> Rating:
    """1-5 and a comment. A low score opens a follow-up; a rating also counts as the elder's confirmation."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise DomainError(_("The score must be a whole number from 1 to 5."), field="score", code="score_range")
    comment = free_text(comment, field="comment", max_length=2000)
    if len(comment) > 500:
        raise DomainError(_("The comment may be at most 500 characters."), field="comment", code="comment_too_long")
    now = timezone.now()
    order_id = order if isinstance(order, int) else order.pk
    try:
        return _rate(order_id, actor=actor, score=score, comment=comment, viewer=viewer, now=now)
    except IntegrityError:
        # Two ratings at once: the locked read sees the order as it is once the lock is ours, but the
        # rating it joins as it was when the read began, so the unique key refuses the second one here.
        if not Rating.objects.filter(order_id=order_id).exists():
            raise
        raise _already_rated(order_id, status=Order.objects.filter(pk=order_id).values_list("status", flat=True).first()) from None


def _already_rated(order_id: int, *, status) -> StateConflict:
    return StateConflict(
        _("Order #%(id)s has already been rated.") % {"id": order_id}, field="score", code="already_rated", extra={"status": status}
    )


def _rate(order_id: int, *, actor, score: int, comment: str, viewer, now) -> Rating:
    ahead = read_ahead(order_id, viewer)
    with transaction.atomic(), writes_batched():
        order = _locked(ahead, viewer)
        _check(order, Action.RATE)
        if _rating_of(order) is not None:
            raise _already_rated(order.pk, status=order.status)
        low = score <= settings.YIYANG_LOW_RATING
        rating = row_insert(Rating(order=order, score=score, comment=comment, rated_by=actor, follow_up_open=low), batchable=True)
        audit_record(actor=actor, action="order.rate", obj=order, region=_region_of(order), detail={"score": score, "follow_up": low})
        # A visit held only for lack of confirmation passes once the elder has rated it.
        if order.status == OrderStatus.FLAGGED and [f["code"] for f in order.audit_flags] == ["unconfirmed"]:
            order.audit_flags = []
            _move(order, Action.APPROVE, actor=None, at=now, reason=_("confirmed by the rating"))
            order.audited_at, order.audit_comment = now, _("confirmed by the rating")
            _pay(order, actor=None, now=now)
    return rating


def follow_up_close(*, rating: Rating, actor, note: str) -> Rating:
    note = free_text(note, field="note", max_length=2000)
    if not note:
        raise DomainError(_("Say what was done about the low rating."), field="note", code="note_required")
    with transaction.atomic(), writes_batched():
        rating = Rating.objects.select_for_update().select_related("order__elder__residence_region").get(pk=rating.pk)
        if not rating.follow_up_open:
            raise StateConflict(_("This follow-up is already closed."), code="follow_up_closed")
        rating.follow_up_open = False
        rating.follow_up_note = note[:500]
        rating.follow_up_closed_at = timezone.now()
        rating.follow_up_closed_by = actor
        row_update(
            rating, batchable=True, fields=("follow_up_open", "follow_up_note", "follow_up_closed_at", "follow_up_closed_by", "updated_at")
        )
        audit_record(actor=actor, action="order.follow_up_close", obj=rating.order, region=rating.order.elder.residence_region)
    return rating


# Recurring orders -------------------------------------------------------------------------------


def recurrence_create(
    *,
    elder,
    item: ServiceItem,
    weekdays: list[int],
    start_time: time,
    end_time: time,
    starts_on: date,
    actor,
    provider: Provider | None = None,
    ends_on: date | None = None,
    skip_holidays: bool = True,
    working_days_only: bool = False,
    note: str = "",
) -> Recurrence:
    from yiyang.people.models import ElderStatus

    if elder.status != ElderStatus.ACTIVE:
        raise DomainError(
            _("%(elder)s's file is archived; no order can be placed.") % {"elder": elder.name}, field="elder", code="elder_archived"
        )
    weekdays = sorted(set(weekdays or []))
    if not working_days_only and (not weekdays or any(not isinstance(d, int) or not 0 <= d <= 6 for d in weekdays)):
        raise DomainError(_("Choose at least one weekday (0 = Monday … 6 = Sunday)."), field="weekdays", code="weekdays")
    if end_time <= start_time:
        raise DomainError(_("The window must end after it starts."), field="end_time", code="window_order")
    if starts_on < timezone.localdate():
        raise DomainError(_("The first day lies in the past."), field="starts_on", code="starts_past")
    if ends_on is not None and ends_on < starts_on:
        raise DomainError(_("The last day is before the first day."), field="ends_on", code="ends_before_starts")
    note = free_text(note, field="note", max_length=255)
    offering = _offering_for(elder=elder, item=item, provider=provider)
    with transaction.atomic():
        recurrence = Recurrence.objects.create(
            elder=elder,
            provider=offering.provider,
            item=item,
            weekdays=weekdays,
            start_time=start_time,
            end_time=end_time,
            starts_on=starts_on,
            ends_on=ends_on,
            skip_holidays=skip_holidays,
            working_days_only=working_days_only,
            note=note,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(actor=actor, action="recurrence.create", obj=recurrence, region=elder.residence_region)
    return recurrence


def recurrence_days(recurrence: Recurrence, first: date, last: date) -> list[date]:
    """The service days from `first` to `last`, following the official calendar.

    working_days_only: exactly the official working days (调休 weekend days included, holidays excluded).
    Otherwise the chosen weekdays, without public holidays when skip_holidays is set.
    """
    days = []
    day = max(first, recurrence.starts_on)
    end = min(last, recurrence.ends_on) if recurrence.ends_on else last
    while day <= end:
        if recurrence.working_days_only:
            wanted = calendar_cn.is_working_day(day)
        else:
            wanted = day.weekday() in recurrence.weekdays and not (recurrence.skip_holidays and calendar_cn.is_public_holiday(day))
        if wanted:
            days.append(day)
        day += timedelta(days=1)
    return days


def recurrence_generate(*, recurrence: Recurrence, until: date, actor=None) -> list[Order]:
    """Create the orders of a recurrence up to `until` (idempotent: a day already generated is skipped)."""
    today = timezone.localdate()
    if (recurrence.skip_holidays or recurrence.working_days_only) and until.year not in calendar_cn.covered_years():
        raise DomainError(
            _("The official holiday calendar covers only %(years)s; orders after it cannot follow holidays.")
            % {"years": ", ".join(str(y) for y in sorted(calendar_cn.covered_years()))},
            field="until",
            code="calendar_not_covered",
        )
    if not recurrence.is_active:
        return []
    existing = set(Order.objects.filter(recurrence=recurrence).values_list("service_date", flat=True))
    created = []
    for day in recurrence_days(recurrence, today, until):
        if day in existing:
            continue
        start = timezone.make_aware(datetime.combine(day, recurrence.start_time))
        if start < timezone.now():
            continue
        end = timezone.make_aware(datetime.combine(day, recurrence.end_time))
        try:
            order, _created = order_create(
                elder=recurrence.elder,
                item=recurrence.item,
                window_start=start,
                window_end=end,
                actor=actor,
                provider=recurrence.provider,
                note=recurrence.note,
                channel=Channel.RECURRING,
                recurrence=recurrence,
            )
        except IntegrityError:
            continue  # generated concurrently by another worker: one_order_per_recurrence_day
        created.append(order)
    return created


# Catalogue --------------------------------------------------------------------------------------


def item_update(*, item: ServiceItem, actor, **changes) -> ServiceItem:
    """An officer edits a menu item: guide price, standard duration, name, active flag."""
    allowed_fields = {"guide_price_fen", "standard_minutes", "is_active", "name"}
    unknown = set(changes) - allowed_fields
    if unknown:
        raise DomainError(
            _("These fields cannot be changed: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}, field=sorted(unknown)[0]
        )
    if "guide_price_fen" in changes and (not isinstance(changes["guide_price_fen"], int) or changes["guide_price_fen"] < 0):
        raise DomainError(_("The guide price must be a whole number of fen, 0 or more."), field="guide_price_fen", code="price")
    if "standard_minutes" in changes and (not isinstance(changes["standard_minutes"], int) or changes["standard_minutes"] < 1):
        raise DomainError(_("The standard duration must be at least 1 minute."), field="standard_minutes", code="duration")
    with transaction.atomic():
        item = ServiceItem.objects.select_for_update(of=("self",)).select_related("category").get(pk=item.pk)
        before = {k: getattr(item, k) for k in changes}
        for key, value in changes.items():
            setattr(item, key, value)
        item.save(update_fields=[*changes, "updated_at"])
        audit_record(actor=actor, action="catalogue.update", obj=item, detail={"before": before, "after": changes})
    return item
