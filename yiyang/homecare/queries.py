"""Reads of the home-care domain, always scoped by the user."""

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import (
    Avg,
    BooleanField,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    Min,
    OuterRef,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core.prepared import PreparedQuery
from yiyang.regions.queries import under_paths_q


def providers_visible_to(user) -> QuerySet:
    from yiyang.accounts.scope import scope_of
    from yiyang.homecare.models import Provider

    scope = scope_of(user)
    if scope.everything:
        return Provider.objects.all()
    if scope.provider_id:
        return Provider.objects.filter(pk=scope.provider_id)
    if scope.region_paths:
        return Provider.objects.filter(under_paths_q("service_regions", list(scope.region_paths))).distinct()
    return Provider.objects.none()


def elder_ids_served_by(user) -> QuerySet:
    from yiyang.accounts.scope import scope_of

    return elder_ids_served(getattr(user, "role", None), scope_of(user))


def elder_ids_served(role, scope) -> QuerySet:
    """Elders a dispatcher's provider, or a caregiver or volunteer personally, serves (through orders)."""
    from yiyang.accounts.roles import Role
    from yiyang.homecare.models import Order
    from yiyang.people.models import Elder

    if role == Role.DISPATCHER and scope.provider_id:
        return Order.objects.filter(provider_id=scope.provider_id).values("elder_id")
    if role in (Role.CAREGIVER, Role.VOLUNTEER):
        return Order.objects.filter(caregiver__user_id=scope.user_id).values("elder_id")
    return Elder.objects.none().values("pk")


def orders_visible_to(user) -> QuerySet:
    """The one place that decides which orders a user may see; out of scope is 404 for callers."""
    from yiyang.accounts.roles import can
    from yiyang.accounts.scope import scope_of
    from yiyang.homecare.models import Order

    if not can(user, "order.view"):
        return Order.objects.none()
    scope = scope_of(user)
    if scope.everything:
        return Order.objects.all()
    return Order.objects.filter(_orders_visible_q(user.role, scope))


def _orders_visible_q(role: str, scope, *, by_prefix: bool = False) -> Q:
    from yiyang.accounts.roles import Role
    from yiyang.people.models import ElderLink

    visible = Q(pk__in=[])
    if scope.sees_region_elders and scope.region_paths:
        visible |= under_paths_q("elder__residence_region", list(scope.region_paths), by_prefix=by_prefix)
    if role == Role.DISPATCHER and scope.provider_id:
        visible |= Q(provider_id=scope.provider_id)
    if role in (Role.CAREGIVER, Role.VOLUNTEER):
        visible |= Q(caregiver__user_id=scope.user_id)
    if role in (Role.FAMILY, Role.ELDER):
        visible |= Q(elder_id__in=ElderLink.objects.filter(user_id=scope.user_id).values("elder_id"))
    return visible


# What the operations and the API's answer read with an order: one query, not six.
ORDER_RELATED = ("elder__residence_region", "item__category", "provider", "caregiver")
# ... and what neither needs of the related rows, left out of the lifecycle's locked read (each column
# is converted and set on every request; a page that does show one of them loads it when used).
ORDER_LOCKED_DEFERS = (
    *(f"elder__{name}" for name in ("created_at", "updated_at", "gender", "birth_date", "hukou_region", "address")),
    *(f"elder__{name}" for name in ("id_number_enc", "id_number_bidx", "phone_enc", "phone_bidx")),
    *(f"elder__{name}" for name in ("status_date", "status_reason", "age_exception_reason", "age_exception_by")),
    "elder__residence_region__created_at",
    "elder__residence_region__updated_at",
    "elder__residence_region__alias",
    "provider__created_at",
    "provider__updated_at",
    "provider__licence_no",
    "provider__phone",
    *(f"caregiver__{name}" for name in ("created_at", "updated_at", "phone_enc", "phone_bidx", "home_lat", "home_lng")),
    *(f"caregiver__{name}" for name in ("work_start", "work_end", "work_days")),
)


def _order_locked_rows(*, order_id, may_view, everything, role, visit_end=None, clash_caregiver_id=None, **scope_parts) -> QuerySet:
    from yiyang.accounts.scope import scope_from_prepared
    from yiyang.homecare.models import Order

    if not may_view:
        return Order.objects.none()
    rows = Order.objects.all()
    if not everything:
        rows = rows.filter(_orders_visible_q(role, scope_from_prepared(**scope_parts), by_prefix=True))
    if visit_end is not None:
        rows = rows.annotate(**_check_out_reads(visit_end))
    if clash_caregiver_id is not None:
        rows = rows.annotate(caregiver_clash=_caregiver_clash_read(clash_caregiver_id))
    # of=("self",): lock the order row only, not the joined elder/item rows. The rating comes along
    # (one-to-one): rating and the audit ask whether there is one. One row: no ORDER BY (the model's
    # ordering made PostgreSQL sort it).
    return (
        rows.select_for_update(of=("self",))
        .select_related(*ORDER_RELATED, "rating")
        .defer(*ORDER_LOCKED_DEFERS)
        .filter(pk=order_id)
        .order_by()
    )


def _caregiver_clash_read(caregiver_id) -> Subquery:
    """An assignment's overlap check (`_caregiver_clash`) for the order's own window, read with the order:
    the id of one clashing order, or None. Sound because the caregiver's row, which serialises their
    assignments, is locked before the order is read."""
    this = {"order_id": OuterRef("pk"), "start": OuterRef("window_start"), "end": OuterRef("window_end")}
    return Subquery(_caregiver_clash(caregiver_id=caregiver_id, **this).values("pk"))


def _check_out_reads(visit_end) -> dict:
    """What a check-out asks besides the order, read with it: the tasks with an outcome (codes, one per
    line) and the caregiver's other visits overlapping this one if it ends at `visit_end` (ids, comma
    separated), as `_task_outcomes` and `_visits_overlapping` read them. Two statements fewer per visit."""
    tasks_done = _task_outcomes(order_id=OuterRef("pk")).values("order_id")
    this = {"caregiver_id": OuterRef("caregiver_id"), "order_id": OuterRef("pk"), "checkin_at": OuterRef("checkin_at")}
    overlapping = _visits_overlapping(**this, checkout_at=visit_end).values("caregiver_id")
    return {
        "tasks_done": Subquery(tasks_done.annotate(codes=StringAgg("task_code", Value("\n"))).values("codes")),
        "visits_overlapping": Subquery(overlapping.annotate(ids=StringAgg(Cast("pk", TextField()), Value(","))).values("ids")),
    }


ORDER_LOCKED = PreparedQuery(_order_locked_rows, name="order_locked")


def _item_by_code(*, code):
    from yiyang.homecare.models import ServiceItem

    return ServiceItem.objects.select_related("category").filter(code=code).order_by()


def _order_by_idempotency_key(*, requested_by_id, key):
    from yiyang.homecare.models import Order

    # The unique index on (requester, key) covers only rows with a key. A database uses a partial index
    # only when the query itself states the index's condition, with the same literal: a bound '' would
    # not do, and the lookup would read every order the requester ever placed.
    return Order.objects.filter(requested_by_id=requested_by_id, idempotency_key=key).exclude(idempotency_key=RawSQL("''", ())).order_by()


def _task_outcomes(*, order_id):
    from yiyang.homecare.models import TaskOutcome

    return TaskOutcome.objects.filter(order_id=order_id).order_by()


def _caregiver_locked(*, caregiver_id):
    from yiyang.homecare.models import Caregiver

    return Caregiver.objects.select_for_update().filter(pk=caregiver_id).order_by()


def _caregiver_clash(*, caregiver_id, order_id, start, end):
    """An order of the caregiver's, other than this one, planned or under way in [start, end)."""
    from yiyang.homecare.models import Order
    from yiyang.homecare.states import BUSY

    return (
        Order.objects.filter(caregiver_id=caregiver_id, status__in=BUSY, window_start__lt=end, window_end__gt=start)
        .exclude(pk=order_id)
        .order_by()[:1]
    )


def _visits_overlapping(*, caregiver_id, order_id, checkin_at, checkout_at):
    """The caregiver's other visits (not the "not at home" ones) whose time at a home overlaps this one's."""
    from yiyang.homecare.models import Order, OrderStatus

    return (
        Order.objects.filter(caregiver_id=caregiver_id, checkin_at__lt=checkout_at, checkout_at__gt=checkin_at)
        .exclude(pk=order_id)
        .exclude(status=OrderStatus.NOT_HOME)
        .only("pk")
        # Unordered: sorting by id would tempt SQLite to walk the caregiver's whole history in id order
        # instead of the few visits that ended after this one began (index order_caregiver_checkout).
        .order_by()
    )


# The order lifecycle's other reads, each compiled once (core.prepared).
ITEM_BY_CODE = PreparedQuery(_item_by_code, name="item_by_code")
ORDER_BY_IDEMPOTENCY_KEY = PreparedQuery(_order_by_idempotency_key, name="order_by_idempotency_key")
TASK_OUTCOMES = PreparedQuery(_task_outcomes, name="task_outcomes")
CAREGIVER_LOCKED = PreparedQuery(_caregiver_locked, name="caregiver_locked")
CAREGIVER_CLASH = PreparedQuery(_caregiver_clash, name="caregiver_clash")
VISITS_OVERLAPPING = PreparedQuery(_visits_overlapping, name="visits_overlapping")


def _order_row(*, order_id) -> QuerySet:
    from yiyang.homecare.models import Order

    return Order.objects.select_related("rating").filter(pk=order_id).order_by()


# The order's own row and its rating, without the rest of ORDER_LOCKED's joins (operations.read_ahead).
ORDER_ROW = PreparedQuery(_order_row, name="order_row")


def order_locked(order_id: int, *, viewer=None, visit_end: datetime | None = None, clash_caregiver_id: int | None = None):
    """The order under its row lock, with its elder, item, provider and caregiver; None when it does not
    exist or lies outside the viewer's scope (the same rule as `orders_visible_to`, in the same query).
    `visit_end`: a check-out's time; the order then also carries `tasks_done` and `visits_overlapping`
    (`_check_out_reads`). `clash_caregiver_id`: a caregiver being assigned, whose row is locked; the
    order then carries `caregiver_clash` (`_caregiver_clash_read`).

    The lifecycle's every write starts here, so the query is compiled once (`core.prepared`).
    """
    from yiyang.accounts.scope import UNSCOPED, scope_for_prepared

    fixed, scope_values = UNSCOPED if viewer is None else scope_for_prepared(viewer, "order.view")
    if visit_end is not None:
        scope_values = {**scope_values, "visit_end": visit_end}
    if clash_caregiver_id is not None:
        scope_values = {**scope_values, "clash_caregiver_id": clash_caregiver_id}
    return ORDER_LOCKED.first(fixed=fixed, order_id=order_id, **scope_values)


def order_for(user, order_id: int):
    # get(), not first(): the pk is unique, and first() would add an ORDER BY.
    try:
        return orders_visible_to(user).select_related(*ORDER_RELATED).get(pk=order_id)
    except ObjectDoesNotExist:
        return None


def caregiver_of(user):
    from yiyang.homecare.models import Caregiver

    if not getattr(user, "is_authenticated", False):
        return None
    return Caregiver.objects.filter(user_id=user.pk).select_related("provider").first()


def caregivers_visible_to(user) -> QuerySet:
    from yiyang.homecare.models import Caregiver

    return Caregiver.objects.filter(provider__in=providers_visible_to(user))


def hotline_elder_search(user, text: str) -> QuerySet:
    """One search box for the hotline: the registry's search when it exists, else partial name."""
    from yiyang.people import queries as people_queries

    text = (text or "").strip()
    if not text:
        return people_queries.elders_visible_to(user).none()
    search = getattr(people_queries, "elder_search", None)
    if search is not None:
        return search(user, text)
    return people_queries.elders_visible_to(user).filter(name__contains=text)


# Geometry -------------------------------------------------------------------

EARTH_RADIUS_M = 6_371_008.8


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two WGS-84 (lat, lng) points."""
    lat1, lng1 = map(math.radians, a)
    lat2, lng2 = map(math.radians, b)
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def elder_home(elder) -> tuple[float, float] | None:
    """The elder's home (WGS-84): the registry's coordinates, else the residence region's centre."""
    for lat_name, lng_name in (("lat", "lng"), ("latitude", "longitude"), ("home_lat", "home_lng")):
        lat, lng = getattr(elder, lat_name, None), getattr(elder, lng_name, None)
        if lat is not None and lng is not None:
            return (float(lat), float(lng))
    region = elder.residence_region
    while region is not None:
        if region.lat is not None and region.lng is not None:
            return (region.lat, region.lng)
        region = region.parent
    return None


def elder_home_is_exact(elder) -> bool:
    return any(getattr(elder, n, None) is not None for n in ("lat", "latitude", "home_lat"))


# Catalogue and qualifications ----------------------------------------------------


def catalogue() -> QuerySet:
    from yiyang.homecare.models import ServiceItem

    return ServiceItem.objects.filter(is_active=True).select_related("category").order_by("category__sort", "code")


def path_prefixes(path: str) -> list[str]:
    """The paths of a region and all its ancestors ("330000/", "330000/331100/", …)."""
    parts = path.strip("/").split("/")
    return ["/".join(parts[:i]) + "/" for i in range(1, len(parts) + 1)]


def covering_q(path: str) -> Q:
    """Offerings whose area covers a region: their own area, or (when they name none) the provider's."""
    return _covering_prefixes_q(path_prefixes(path))


def _covering_prefixes_q(prefixes) -> Q:
    return Q(regions__path__in=list(prefixes)) | Q(regions__isnull=True, provider__service_regions__path__in=list(prefixes))


def offerings_covering(elder, item) -> QuerySet:
    """Active offerings of `item` whose area (or, when empty, the provider's area) covers the elder's home."""
    return _offerings_covering(item_id=item.pk, prefixes=tuple(path_prefixes(elder.residence_region.path)))


def _offerings_covering(*, item_id, prefixes) -> QuerySet:
    from yiyang.homecare.models import ProviderOffering

    covering = ProviderOffering.objects.filter(_covering_prefixes_q(prefixes), item_id=item_id).values("pk")
    return (
        ProviderOffering.objects.filter(item_id=item_id, is_active=True, provider__is_active=True, pk__in=covering)
        .select_related("provider")
        .order_by("price_fen", "provider__name")
    )


# Every order placed without naming a provider asks this: compiled once (core.prepared).
CHEAPEST_OFFERING = PreparedQuery(
    lambda *, item_id, prefixes: _offerings_covering(item_id=item_id, prefixes=prefixes)[:1], name="cheapest_offering"
)


def cheapest_offering_covering(elder, item):
    return CHEAPEST_OFFERING.first(item_id=item.pk, prefixes=tuple(path_prefixes(elder.residence_region.path)))


def offering_covers(offering, region_path: str) -> bool:
    from yiyang.homecare.models import ProviderOffering

    return ProviderOffering.objects.filter(pk=offering.pk).filter(covering_q(region_path)).exists()


def qualification_problem(caregiver, item, on: date, certificates=None) -> str | None:
    from yiyang.homecare.models import Qualification

    if item.qualification == Qualification.NONE:
        return None
    certificates = list(caregiver.certificates.all()) if certificates is None else certificates
    held = [c for c in certificates if c.kind == item.qualification]
    label = Qualification(item.qualification).label
    if not held:
        return _("%(name)s holds no certificate “%(qualification)s”, which %(item)s requires.") % {
            "name": caregiver.name,
            "qualification": label,
            "item": item.name,
        }
    latest = max(c.expires_on for c in held)
    if latest < on:
        return _("%(name)s's certificate “%(qualification)s” expired on %(date)s.") % {
            "name": caregiver.name,
            "qualification": label,
            "date": latest.isoformat(),
        }
    return None


# Dispatch suggestion -----------------------------------------------------------------


@dataclass
class Suggestion:
    caregiver_id: int
    name: str
    is_volunteer: bool
    distance_m: int | None
    starts_from: str
    load: int
    rank: int = 0


@dataclass
class Suggestions:
    ranked: list[Suggestion] = field(default_factory=list)
    excluded: list[dict] = field(default_factory=list)


def _local_day_bounds(moment: datetime) -> tuple[datetime, datetime]:
    local = timezone.localtime(moment)
    start = timezone.make_aware(datetime.combine(local.date(), time.min))
    return start, start + timedelta(days=1)


def dispatch_suggestions(order, *, limit: int = 10) -> Suggestions:
    """Caregivers of the order's provider, best first.

    Qualified for the item (valid certificate, the category among their skills), on duty and
    free in the window; ranked by distance to the elder from where they will be (the home of
    their previous visit that day, else their home base), then by the day's load.
    Reads plain tuples (three narrow queries, no model instances): it runs for every order on the board.
    """
    from yiyang.homecare.models import Caregiver, Certificate, Order, OrderStatus, Qualification
    from yiyang.homecare.states import BUSY

    result = Suggestions()
    item = order.item
    target = elder_home(order.elder)
    local_start = timezone.localtime(order.window_start)
    local_end = timezone.localtime(order.window_end)
    day_start, day_end = _local_day_bounds(order.window_start)
    weekday, t_start, t_end = local_start.weekday(), local_start.time(), local_end.time()
    # The hours are compared by the database and the weekdays read as text (one JSON parse per distinct
    # schedule): converting 500 rows of times and JSON lists cost more than all the queries together.
    # The skill and the latest certificate of the item's kind come with each caregiver (subqueries).
    needs_certificate = item.qualification != Qualification.NONE
    latest_certificate = (
        Subquery(
            Certificate.objects.filter(caregiver_id=OuterRef("pk"), kind=item.qualification)
            .order_by("-expires_on")
            .values("expires_on")[:1]
        )
        if needs_certificate
        else Value(None, output_field=DateField())
    )
    caregivers = list(
        Caregiver.objects.filter(provider_id=order.provider_id, is_active=True)
        .order_by("pk")
        .annotate(
            in_hours=ExpressionWrapper(Q(work_start__lte=t_start, work_end__gte=t_end), output_field=BooleanField()),
            days=Cast("work_days", TextField()),
            skilled=Exists(Caregiver.skills.through.objects.filter(caregiver_id=OuterRef("pk"), servicecategory_id=item.category_id)),
            expires_on=latest_certificate,
        )
        .values_list("pk", "name", "is_volunteer", "home_lat", "home_lng", "in_hours", "days", "skilled", "expires_on")
    )
    day = (
        Order.objects.filter(provider_id=order.provider_id, caregiver__isnull=False, window_start__lt=day_end, window_end__gt=day_start)
        .exclude(pk=order.pk)
        .exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.REJECTED])
    )
    # Two narrow reads instead of every visit of the day with its times (converting ~1,000 datetimes
    # costs more than the queries): per caregiver the day's load and a clashing visit; the previous visits.
    load: dict[int, int] = {}
    clash_of: dict[int, int] = {}
    overlapping = Q(status__in=BUSY, window_start__lt=order.window_end, window_end__gt=order.window_start)
    for caregiver_id, n, clash in (
        day.order_by()
        .values("caregiver_id")
        .annotate(n=Count("pk"), clash=Min("pk", filter=overlapping))
        .values_list("caregiver_id", "n", "clash")
    ):
        load[caregiver_id] = n
        if clash is not None:
            clash_of[caregiver_id] = clash
    previous_of: dict[int, tuple] = {}
    for row in (
        day.filter(window_end__lte=order.window_start)
        .order_by("window_end", "pk")
        .values_list("caregiver_id", "pk", "elder__lat", "elder__lng", "elder__residence_region__lat", "elder__residence_region__lng")
    ):
        previous_of[row[0]] = row  # ordered by end: the last one wins
    label = Qualification(item.qualification).label
    on = local_start.date()
    one_day = local_end.date() == on
    # Translated once, not once per caregiver.
    no_certificate = _("%(name)s holds no certificate “%(qualification)s”, which %(item)s requires.")
    expired = _("%(name)s's certificate “%(qualification)s” expired on %(date)s.")
    unskilled = _("%(name)s is not skilled in %(category)s.")
    off_duty = _("%(name)s is off duty in this window.")
    busy = _("%(name)s is busy with order #%(id)s.")
    home_base, after_order = _("home base"), _("after order #%(id)s")
    works_today: dict[str | None, bool] = {}
    for pk, name, volunteer, home_lat, home_lng, in_hours, days, skilled, expires_on in caregivers:
        problem = None
        if needs_certificate:
            if expires_on is None:
                problem = no_certificate % {"name": name, "qualification": label, "item": item.name}
            elif expires_on < on:
                problem = expired % {"name": name, "qualification": label, "date": expires_on.isoformat()}
        if problem is None and not skilled:
            problem = unskilled % {"name": name, "category": item.category.name}
        if problem is None:
            if days not in works_today:
                works_today[days] = weekday in (json.loads(days or "null") or [])
            if not (works_today[days] and in_hours and one_day):
                problem = off_duty % {"name": name}
        if problem is None and pk in clash_of:
            problem = busy % {"name": name, "id": clash_of[pk]}
        if problem is not None:
            result.excluded.append({"caregiver_id": pk, "name": name, "reason": problem})
            continue
        origin, starts_from = (home_lat, home_lng), home_base
        previous = previous_of.get(pk)
        if previous is not None:
            lat, lng = (previous[2], previous[3]) if previous[2] is not None else (previous[4], previous[5])
            if lat is not None and lng is not None:
                origin, starts_from = (lat, lng), after_order % {"id": previous[1]}
        dist = None if target is None else int(distance_m(origin, target))
        result.ranked.append(Suggestion(pk, name, volunteer, dist, starts_from, load.get(pk, 0)))
    # Distance in 1 km bands first, so that among equally near caregivers the least loaded wins.
    result.ranked.sort(
        key=lambda s: ((s.distance_m if s.distance_m is not None else 10**9) // 1000, s.load, s.distance_m or 0, s.caregiver_id)
    )
    result.ranked = result.ranked[:limit]
    for i, s in enumerate(result.ranked, start=1):
        s.rank = i
    return result


# Audit queue, scores, receivables ------------------------------------------------------


def audit_queue(user) -> QuerySet:
    from yiyang.homecare.models import OrderStatus

    return orders_visible_to(user).filter(status=OrderStatus.FLAGGED).select_related("elder", "item", "provider", "caregiver")


def overdue_orders(user) -> QuerySet:
    from yiyang.homecare.states import OPEN_FOR_DISPATCH

    return (
        orders_visible_to(user).filter(status__in=OPEN_FOR_DISPATCH, overdue_at__isnull=False).select_related("elder", "item", "provider")
    )


def follow_ups_open(user) -> QuerySet:
    from yiyang.homecare.models import Rating

    return Rating.objects.filter(follow_up_open=True, order__in=orders_visible_to(user)).select_related("order__elder", "order__provider")


def provider_scores(providers: QuerySet) -> QuerySet:
    return providers.annotate(
        rating_avg=Avg("orders__rating__score"),
        rating_count=Count("orders__rating"),
        low_ratings=Count("orders__rating", filter=Q(orders__rating__score__lte=settings.YIYANG_LOW_RATING)),
    )


def provider_receivables(provider) -> list[dict]:
    """Per month of payment: what the subsidy programmes and the elders owe the provider."""
    from yiyang.homecare.models import Order, OrderStatus

    rows = (
        Order.objects.filter(provider=provider, status=OrderStatus.PAID, paid_at__isnull=False)
        .annotate(month=TruncMonth("paid_at"))
        .values("month")
        .annotate(orders=Count("pk"), subsidy_fen=Sum("subsidy_fen"), copay_fen=Sum("copay_fen"), total_fen=Sum("price_fen"))
        .order_by("month")
    )
    return [{**r, "month": timezone.localtime(r["month"]).strftime("%Y-%m") if r["month"] else ""} for r in rows]
