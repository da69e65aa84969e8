"""Reads of the time bank, scoped by the user where they show people."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from yiyang.accounts.scope import scope_of
from yiyang.regions.models import Region
from yiyang.regions.queries import under_paths_q
from yiyang.subsidies.rules import years_before
from yiyang.timebank.models import ELDER_VOLUNTEER_AGE, Claim, ClaimStatus, HourAccount, HourEntry, HourSource, Volunteer


def elder_volunteer_count(region_path: str, *, on: date | None = None) -> int:
    """Active volunteers aged 60+ registered in the region's subtree (indicator 18 of the plan)."""
    on = on or date.today()
    return Volunteer.objects.filter(
        is_active=True, region__path__startswith=region_path, birth_date__lte=years_before(on, ELDER_VOLUNTEER_AGE)
    ).count()


def volunteer_count(region_path: str) -> int:
    return Volunteer.objects.filter(is_active=True, region__path__startswith=region_path).count()


def statement(account: HourAccount) -> QuerySet[HourEntry]:
    return (
        HourEntry.objects.filter(Q(debit=account) | Q(credit=account))
        .select_related("debit__user", "debit__elder", "credit__user", "credit__elder", "elder")
        .order_by("-at", "-pk")
    )


def signed(entry: HourEntry, account: HourAccount) -> int:
    return entry.amount if entry.debit_id == account.pk else -entry.amount


def volunteers_visible_to(user) -> QuerySet[Volunteer]:
    scope = scope_of(user)
    if scope.everything:
        return Volunteer.objects.all()
    if scope.region_paths:
        return Volunteer.objects.filter(under_paths_q("region", list(scope.region_paths)))
    return Volunteer.objects.filter(user=user)


def claims_to_confirm(user) -> QuerySet[Claim]:
    """Pending claims about elders this user may confirm for (their family, or their area as a worker)."""
    from yiyang.people.queries import elders_visible_to

    return (
        Claim.objects.filter(status=ClaimStatus.PENDING, elder__in=elders_visible_to(user))
        .exclude(volunteer__user=user)
        .select_related("volunteer", "elder")
    )


def entries_visible_to(user) -> QuerySet[HourEntry]:
    scope = scope_of(user)
    if scope.everything:
        return HourEntry.objects.all()
    if scope.region_paths:
        return HourEntry.objects.filter(under_paths_q("region", list(scope.region_paths)))
    return HourEntry.objects.none()


def totals_by_region_month(user, *, level_depth: int = 2) -> list[dict]:
    """Minutes credited and redeemed per month and county (or any region row) within the user's scope."""
    rows = (
        entries_visible_to(user)
        .filter(region__isnull=False)
        .annotate(month=TruncMonth("at"))
        .values("month", "region__path", "source")
        .annotate(minutes=Sum("amount"), n=Count("pk"))
        .order_by("month")
    )
    grouped: dict[tuple, dict] = {}
    for row in rows:
        codes = row["region__path"].strip("/").split("/")
        code = codes[min(level_depth, len(codes) - 1)]
        key = (row["month"].date() if hasattr(row["month"], "date") else row["month"], code)
        bucket = grouped.setdefault(key, {"month": key[0], "region": code, "credited": 0, "redeemed": 0, "corrected": 0, "entries": 0})
        if row["source"] in (HourSource.SERVICE, HourSource.CLAIM):
            bucket["credited"] += row["minutes"]
        elif row["source"] == HourSource.REDEMPTION:
            bucket["redeemed"] += row["minutes"]
        elif row["source"] == HourSource.CORRECTION:
            bucket["corrected"] += row["minutes"]
        bucket["entries"] += row["n"]
    names = dict(Region.objects.filter(code__in={k[1] for k in grouped}).values_list("code", "name"))
    out = sorted(grouped.values(), key=lambda b: (b["month"], b["region"]), reverse=True)
    for b in out:
        b["region_name"] = names.get(b["region"], b["region"])
    return out
