"""Writes on monthly visits: generate the month's plan, assign it, add an extra visit, record a visit."""

import calendar
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.models import Elder, ElderStatus
from yiyang.regions.models import LEVEL_DEPTH, Level, Region
from yiyang.visits import rules
from yiyang.visits.models import Health, Home, ItemKind, ItemStatus, Mood, Need, Visit, VisitMode, VisitPlan, VisitPlanItem

PHOTO_EXTENSIONS = {"jpg", "jpeg", "png", "webp", "heic"}
PHOTO_MAX_BYTES = 5 * 1024 * 1024


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _township_and_county(region: Region, cache: dict[str, Region]) -> tuple[Region, Region | None]:
    """The township an elder's region lies in (or the region itself above township level), and its county."""
    codes = region.path.strip("/").split("/")
    township_depth, county_depth = LEVEL_DEPTH[Level.TOWNSHIP], LEVEL_DEPTH[Level.COUNTY]
    missing = [c for c in codes if c not in cache]
    if missing:
        cache.update({r.code: r for r in Region.objects.filter(code__in=missing)})
    township = cache[codes[township_depth]] if len(codes) > township_depth else region
    county = cache.get(codes[county_depth]) if len(codes) > county_depth else None
    return township, county


def default_assignee(township: Region) -> User | None:
    """The community worker of the township: one assigned to it, else one of a village under it (lowest id, stable)."""
    workers = User.objects.filter(role=Role.WORKER, is_active=True)
    exact = workers.filter(regions=township).order_by("pk").first()
    if exact is not None:
        return exact
    return workers.filter(regions__path__startswith=township.path).order_by("pk").first()


def _plan_for(month: date, township: Region) -> VisitPlan:
    plan, created = VisitPlan.objects.get_or_create(month=month, region=township)
    if created or plan.assignee_id is None:
        assignee = default_assignee(township)
        if assignee is not None and plan.assignee_id != assignee.pk:
            plan.assignee = assignee
            plan.save(update_fields=["assignee", "updated_at"])
    return plan


@dataclass(frozen=True)
class GenerateResult:
    month: date
    evaluated_on: date
    created: int
    cancelled: int
    plans: int


def visit_plan_generate(*, month: date, on: date | None = None, actor=None) -> GenerateResult:
    """Put every elder the rule selects into the month's plan; idempotent.

    Run at the start of the month and again every day: an elder who becomes eligible
    mid-month (turns 80, gets a category, is assessed) is added with the rest of the
    month to be visited. Once in the plan an elder stays due for that month, unless they
    stop being active (death, moving away) before any visit: then the item is cancelled.
    """
    first = month_start(month)
    last = month_end(first)
    today = timezone.localdate()
    evaluated_on = on or min(max(today, first), last)
    if not first <= evaluated_on <= last:
        raise DomainError(_("The evaluation day must lie in the month."), field="on")
    with transaction.atomic():
        eligible = Elder.objects.filter(rules.must_visit_q(evaluated_on))
        already = set(VisitPlanItem.objects.filter(month=first, kind=ItemKind.RULE).values_list("elder_id", flat=True))
        new_ids = set(eligible.values_list("pk", flat=True)) - already
        groups = rules.groups_by_elder(Elder.objects.filter(pk__in=new_ids), evaluated_on)
        cache: dict[str, Region] = {}
        plans: dict[int, VisitPlan] = {}
        items = []
        for elder in Elder.objects.filter(pk__in=new_ids).select_related("residence_region").order_by("pk"):
            township, county = _township_and_county(elder.residence_region, cache)
            plan = plans.get(township.pk) or _plan_for(first, township)
            plans[township.pk] = plan
            elder_groups = groups.get(elder.pk, [])
            items.append(
                VisitPlanItem(
                    plan=plan,
                    elder=elder,
                    month=first,
                    county=county,
                    township=township,
                    kind=ItemKind.RULE,
                    groups=elder_groups,
                    required_visits=rules.required_visits(elder_groups),
                    due_by=last,
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                )
            )
        # A concurrent run may have inserted some of these; the partial unique constraint keeps one.
        VisitPlanItem.objects.bulk_create(items, ignore_conflicts=True)
        # Plans still without a worker get one as soon as a worker is registered there.
        for plan in VisitPlan.objects.filter(month=first, assignee__isnull=True).select_related("region"):
            assignee = default_assignee(plan.region)
            if assignee is not None:
                plan.assignee = assignee
                plan.save(update_fields=["assignee", "updated_at"])
        cancelled = VisitPlanItem.objects.filter(
            month=first, status=ItemStatus.OPEN, visit_count=0, elder__in=Elder.objects.exclude(status=ElderStatus.ACTIVE)
        ).update(status=ItemStatus.CANCELLED, updated_at=timezone.now())
        audit_record(
            actor=actor,
            action="visit_plan.generate",
            object_type="visits.visitplan",
            object_id=f"{first:%Y-%m}",
            detail={"on": evaluated_on.isoformat(), "created": len(items), "cancelled": cancelled},
        )
    return GenerateResult(month=first, evaluated_on=evaluated_on, created=len(items), cancelled=cancelled, plans=len(plans))


def visit_plan_assign(*, plan: VisitPlan, assignee: User, actor) -> VisitPlan:
    if assignee.role not in (Role.WORKER, Role.VOLUNTEER) or not assignee.is_active:
        raise DomainError(_("Assign a community worker or a volunteer."), field="assignee_id")
    if assignee.role == Role.WORKER:
        ancestors = [c + "/" for c in _prefixes(plan.region.path)]
        if not assignee.regions.filter(Q(path__startswith=plan.region.path) | Q(path__in=ancestors)).exists():
            raise DomainError(_("This worker does not work in %(region)s.") % {"region": plan.region.name}, field="assignee_id")
    with transaction.atomic():
        plan = VisitPlan.objects.select_for_update().get(pk=plan.pk)
        old = plan.assignee_id
        plan.assignee = assignee
        plan.save(update_fields=["assignee", "updated_at"])
        audit_record(actor=actor, action="visit_plan.assign", obj=plan, region=plan.region, detail={"from": old, "to": assignee.pk})
    return plan


def _prefixes(path: str) -> list[str]:
    codes = path.strip("/").split("/")
    return ["/".join(codes[: i + 1]) for i in range(len(codes))]


def visit_plan_add_extra(*, elder: Elder, reason: str, actor, source: str = "", on: date | None = None) -> VisitPlanItem:
    """An extra visit this month, asked for by an event (Silver Guardian inactivity, a low rating, a worker).

    Repeated requests while one extra visit is still open return that one, so an alert
    that fires again does not pile up visits.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why an extra visit is needed."), field="reason")
    day = on or timezone.localdate()
    first = month_start(day)
    with transaction.atomic():
        elder = Elder.objects.select_for_update().select_related("residence_region").get(pk=elder.pk)
        if elder.status != ElderStatus.ACTIVE:
            raise DomainError(_("Only an active elder can be visited."), field="elder_id", code="elder_inactive")
        existing = VisitPlanItem.objects.filter(
            elder=elder, month=first, kind=ItemKind.EXTRA, status=ItemStatus.OPEN, visit_count=0
        ).first()
        if existing is not None:
            return existing
        township, county = _township_and_county(elder.residence_region, {})
        plan = _plan_for(first, township)
        item = VisitPlanItem.objects.create(
            plan=plan,
            elder=elder,
            month=first,
            county=county,
            township=township,
            kind=ItemKind.EXTRA,
            required_visits=1,
            due_by=_soon(day),
            reason=reason[:255],
            source=source[:64],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        audit_record(
            actor=actor, action="visit.add_extra", obj=item, region=elder.residence_region, detail={"reason": reason, "source": source}
        )
    return item


def _soon(day: date) -> date:
    from datetime import timedelta

    # An extra visit is due within three days (not beyond the month it belongs to).
    return min(day + timedelta(days=3), month_end(day))


def _choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}, field=field)
    return value


def visit_record(
    *,
    elder: Elder,
    actor,
    visited_on: date,
    mode: str,
    health: str,
    mood: str,
    home: str,
    safety_concern: bool = False,
    needs: list[str] | None = None,
    notes: str = "",
    photo=None,
) -> Visit:
    """Record a visit. It counts for the elder's plan item of that month and settles an open extra visit."""
    if visited_on > timezone.localdate():
        raise DomainError(_("The visit date cannot be in the future."), field="visited_on")
    _choice(mode, VisitMode, "mode")
    _choice(health, Health, "health")
    _choice(mood, Mood, "mood")
    _choice(home, Home, "home")
    needs = list(dict.fromkeys(needs or []))
    for need in needs:
        _choice(need, Need, "needs")
    if photo is not None:
        ext = photo.name.rsplit(".", 1)[-1].lower() if "." in photo.name else ""
        if ext not in PHOTO_EXTENSIONS:
            raise DomainError(_("The photo must be a JPEG, PNG, WebP or HEIC image."), field="photo")
        if photo.size > PHOTO_MAX_BYTES:
            raise DomainError(_("The photo must be at most 5 MB."), field="photo")
    first = month_start(visited_on)
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        if elder.status != ElderStatus.ACTIVE:
            raise StateConflict(_("This elder is no longer active."), field="elder_id")
        items = list(
            VisitPlanItem.objects.select_for_update()
            .filter(elder=elder, month=first, status=ItemStatus.OPEN)
            .filter(Q(kind=ItemKind.RULE) | Q(kind=ItemKind.EXTRA, visit_count=0, created_at__date__lte=visited_on))
            .order_by("kind", "created_at")
        )
        rule_item = next((i for i in items if i.kind == ItemKind.RULE), None)
        extra_item = next((i for i in items if i.kind == ItemKind.EXTRA), None)
        visit = Visit(
            elder=elder,
            visitor=actor,
            visited_on=visited_on,
            mode=mode,
            health=health,
            mood=mood,
            home=home,
            safety_concern=bool(safety_concern),
            needs=needs,
            notes=(notes or "")[:4000],
            item=rule_item or extra_item,
        )
        if photo is not None:
            visit.photo = photo
        visit.save()
        touched = [i.pk for i in (rule_item, extra_item) if i is not None]
        if touched:
            VisitPlanItem.objects.filter(pk__in=touched).update(visit_count=F("visit_count") + 1, updated_at=timezone.now())
            VisitPlanItem.objects.filter(pk__in=touched).filter(Q(last_visited_on__isnull=True) | Q(last_visited_on__lt=visited_on)).update(
                last_visited_on=visited_on
            )
        audit_record(
            actor=actor,
            action="visit.record",
            obj=visit,
            region=elder.residence_region,
            detail={"items": touched, "needs": needs, "mode": mode},
        )
    return visit


def visit_open_order(*, visit: Visit, item_code: str, window_start, window_end, actor):
    """A need found on a visit becomes a home-care service order in one step (homecare.order_create).

    The order is placed by the visitor through the community-worker channel, its note names
    the visit, and the visit remembers the order as its follow-up. One order per visit.
    """
    from yiyang.homecare.models import Channel, ServiceItem
    from yiyang.homecare.operations import order_create

    item = ServiceItem.objects.filter(code=(item_code or "").strip(), is_active=True).first()
    if item is None:
        raise DomainError(_("Choose a service from the menu."), field="item_code")
    with transaction.atomic():
        visit = Visit.objects.select_for_update().select_related("elder").get(pk=visit.pk)
        if visit.follow_up:
            raise StateConflict(_("This visit already has a follow-up (%(f)s).") % {"f": visit.follow_up}, field="visit_id")
        needs = ", ".join(str(Need(n).label) for n in visit.needs if n in Need.values)
        order, _created = order_create(
            elder=visit.elder,
            item=item,
            window_start=window_start,
            window_end=window_end,
            actor=actor,
            channel=Channel.WORKER,
            note=(_("Need found on visit #%(id)s on %(day)s: %(needs)s") % {"id": visit.pk, "day": visit.visited_on, "needs": needs})[:500],
        )
        visit.follow_up = f"order:{order.pk}"
        visit.save(update_fields=["follow_up", "updated_at"])
        audit_record(actor=actor, action="visit.open_order", obj=visit, region=visit.elder.residence_region, detail={"order": order.pk})
    return order
