"""Reads for managing providers, caregivers, the catalogue, recurrences and receivables; always scoped by the user."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from yiyang.homecare.queries import orders_visible_to, providers_visible_to


def provider_for(user, provider_id: int):
    return providers_visible_to(user).select_related("region").filter(pk=provider_id).first()


def caregiver_for(user, caregiver_id: int):
    from yiyang.homecare.models import Caregiver

    return (
        Caregiver.objects.filter(provider__in=providers_visible_to(user), pk=caregiver_id)
        .select_related("provider__region", "user")
        .prefetch_related("skills", "certificates")
        .first()
    )


def caregivers_of(provider) -> QuerySet:
    from yiyang.homecare.models import Caregiver, Certificate

    return (
        Caregiver.objects.filter(provider=provider)
        .select_related("user")
        .prefetch_related("skills", Prefetch("certificates", queryset=Certificate.objects.order_by("kind", "expires_on")))
        .order_by("-is_active", "name", "pk")
    )


def caregivers_matching(caregivers: QuerySet, text: str) -> QuerySet:
    """Narrow caregivers by a name part, or by an exact phone matched through its blind index.

    The phone is never decrypted to search. A phone that does not parse finds nobody rather than
    raising: a search is not a form."""
    from yiyang.core.errors import DomainError
    from yiyang.core.text import has_control_characters
    from yiyang.homecare.models import CAREGIVER_PHONE_FIELD
    from yiyang.people import crypto
    from yiyang.people.idnumber import looks_like_phone, normalise_phone

    text = (text or "").strip()
    if not text:
        return caregivers
    if has_control_characters(text):
        return caregivers.none()
    if looks_like_phone(text):
        try:
            phone = normalise_phone(text)
        except DomainError:
            return caregivers.none()
        return caregivers.filter(phone_bidx=crypto.blind_index(phone, field=CAREGIVER_PHONE_FIELD))
    return caregivers.filter(name__icontains=text)


def offerings_of(provider) -> QuerySet:
    return provider.offerings.select_related("item__category").prefetch_related("regions").order_by("item__category__sort", "item__code")


def townships_choosable(actor, provider) -> QuerySet:
    """Townships the actor may add to or remove from the provider's service area."""
    from yiyang.homecare.provider_operations import township_area_of
    from yiyang.regions.models import Level, Region

    area = township_area_of(actor, provider)
    townships = Region.objects.filter(level=Level.TOWNSHIP).select_related("parent").order_by("path")
    if area is None:
        return townships
    q = Q(pk__in=[])
    for path in area:
        q |= Q(path__startswith=path)
    return townships.filter(q)


def recurrences_visible_to(user) -> QuerySet:
    """Recurring orders of the elders the user may see."""
    from yiyang.homecare.models import Recurrence
    from yiyang.people.queries import elders_visible_to

    return Recurrence.objects.filter(elder__in=elders_visible_to(user).values("pk")).select_related(
        "elder__residence_region", "item", "provider"
    )


def recurrence_for(user, recurrence_id: int):
    return recurrences_visible_to(user).filter(pk=recurrence_id).first()


# Receivables ----------------------------------------------------------------------------------------


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The local month containing `month`, as aware datetimes [start, next start)."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return (timezone.make_aware(datetime.combine(first, time.min)), timezone.make_aware(datetime.combine(following, time.min)))


@dataclass
class ReceivableRow:
    provider_id: int
    provider_name: str
    licence_no: str
    orders: int
    total_fen: int
    subsidy_fen: int
    copay_fen: int


@dataclass
class Receivables:
    month: date
    rows: list[ReceivableRow] = field(default_factory=list)

    @property
    def orders(self) -> int:
        return sum(r.orders for r in self.rows)

    @property
    def total_fen(self) -> int:
        return sum(r.total_fen for r in self.rows)

    @property
    def subsidy_fen(self) -> int:
        return sum(r.subsidy_fen for r in self.rows)

    @property
    def copay_fen(self) -> int:
        return sum(r.copay_fen for r in self.rows)


def receivables_for_month(user, month: date, *, provider_id: int | None = None) -> Receivables:
    """What subsidies and elders owe each provider for the visits paid in `month`.

    The orders are the user's (orders_visible_to): a provider's dispatcher sees its own, an officer
    the visits to elders of their regions. Providers in scope without a paid visit show zeros.
    """
    from yiyang.homecare.models import OrderStatus

    start, end = month_bounds(month)
    orders = orders_visible_to(user).filter(status=OrderStatus.PAID, paid_at__gte=start, paid_at__lt=end)
    providers = providers_visible_to(user)
    if provider_id is not None:
        orders = orders.filter(provider_id=provider_id)
        providers = providers.filter(pk=provider_id)
    sums = {
        r["provider_id"]: r
        for r in orders.order_by()
        .values("provider_id")
        .annotate(n=Count("pk"), total=Sum("price_fen"), subsidy=Sum("subsidy_fen"), copay=Sum("copay_fen"))
    }
    known = dict(providers.values_list("pk", "name"))
    licences = dict(providers.values_list("pk", "licence_no"))
    missing = set(sums) - set(known)
    if missing:
        # An officer sees visits to their elders by a provider registered and serving elsewhere.
        from yiyang.homecare.models import Provider

        for pk, name, licence in Provider.objects.filter(pk__in=missing).values_list("pk", "name", "licence_no"):
            known[pk], licences[pk] = name, licence
    result = Receivables(month=month.replace(day=1))
    for pk, name in sorted(known.items(), key=lambda kv: kv[1]):
        s = sums.get(pk, {})
        result.rows.append(
            ReceivableRow(
                provider_id=pk,
                provider_name=name,
                licence_no=licences.get(pk, ""),
                orders=s.get("n", 0),
                total_fen=s.get("total") or 0,
                subsidy_fen=s.get("subsidy") or 0,
                copay_fen=s.get("copay") or 0,
            )
        )
    return result


def receivable_orders(user, month: date, *, provider_id: int) -> QuerySet:
    from yiyang.homecare.models import OrderStatus

    start, end = month_bounds(month)
    return (
        orders_visible_to(user)
        .filter(status=OrderStatus.PAID, paid_at__gte=start, paid_at__lt=end, provider_id=provider_id)
        .select_related("elder", "item", "caregiver")
        .order_by("paid_at", "pk")
    )


def _area_regions(actor, level: str) -> QuerySet:
    from yiyang.accounts.scope import scope_of
    from yiyang.regions.models import Region

    scope = scope_of(actor)
    regions = Region.objects.filter(level=level).select_related("parent").order_by("path")
    if scope.everything:
        return regions
    q = Q(pk__in=[])
    for path in scope.region_paths:
        q |= Q(path__startswith=path)
    return regions.filter(q)


def counties_in_area(actor) -> QuerySet:
    from yiyang.regions.models import Level

    return _area_regions(actor, Level.COUNTY)


def townships_in_area(actor) -> QuerySet:
    from yiyang.regions.models import Level

    return _area_regions(actor, Level.TOWNSHIP)
