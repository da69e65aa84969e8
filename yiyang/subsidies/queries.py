"""Reads of the subsidies app, always scoped by the user."""

from __future__ import annotations

from django.db.models import Q, QuerySet, Sum

from yiyang.accounts.roles import can
from yiyang.accounts.scope import scope_of
from yiyang.people.queries import elder_for, elders_visible_to
from yiyang.subsidies.models import Account, AccountKind, Entry, Flag, Grant, Notification, Programme, Settlement


def programmes_visible_to(user) -> QuerySet[Programme]:
    """Programmes of the user's regions, and those of the regions above them (a city programme pays in every county)."""
    if not can(user, "subsidy.programme.view"):
        return Programme.objects.none()
    scope = scope_of(user)
    if scope.everything:
        return Programme.objects.all()
    q = Q(pk__in=[])
    for path in scope.region_paths:
        q |= Q(region__path__startswith=path)
        ancestors = [path.split("/")[: i + 1] for i in range(len(path.strip("/").split("/")) - 1)]
        for codes in ancestors:
            q |= Q(region__path="/".join(codes) + "/")
    return Programme.objects.filter(q).select_related("region")


def may_manage(user, programme: Programme) -> bool:
    if not can(user, "subsidy.programme.manage"):
        return False
    scope = scope_of(user)
    return scope.everything or any(programme.region.path.startswith(p) for p in scope.region_paths)


def programme_for(user, programme_id: int) -> Programme | None:
    return programmes_visible_to(user).filter(pk=programme_id).first()


def elder_balance(elder) -> dict:
    """An elder's voucher balance: the total, and per programme (with the part that expires at month end)."""
    lots = (
        Account.objects.filter(kind=AccountKind.VOUCHER, elder=elder, balance__gt=0)
        .values("programme_id", "programme__name", "programme__carry_over", "programme__categories")
        .annotate(balance=Sum("balance"))
        .order_by("programme__name")
    )
    programmes = [
        {
            "programme_id": row["programme_id"],
            "name": row["programme__name"],
            "balance_fen": row["balance"],
            "expires_at_month_end": not row["programme__carry_over"],
            "categories": row["programme__categories"],
        }
        for row in lots
    ]
    return {"elder_id": elder.pk, "total_fen": sum(p["balance_fen"] for p in programmes), "programmes": programmes}


def elder_statement(elder) -> QuerySet[Entry]:
    lots = Account.objects.filter(kind=AccountKind.VOUCHER, elder=elder)
    return (
        Entry.objects.filter(Q(debit__in=lots) | Q(credit__in=lots))
        .select_related("debit__programme", "credit__programme")
        .order_by("-at", "-pk")
    )


def signed_for_elder(entry: Entry) -> int:
    return entry.amount if entry.debit.kind == AccountKind.VOUCHER else -entry.amount


def elder_grants(elder) -> QuerySet[Grant]:
    return Grant.objects.filter(elder=elder).select_related("programme", "run").order_by("-period", "pk")


def elder_for_vouchers(user, elder_id: int):
    if not can(user, "subsidy.balance.view"):
        return None
    return elder_for(user, elder_id)


def notifications_for(user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("grant__programme", "elder")


def flags_visible_to(user) -> QuerySet[Flag]:
    if not can(user, "subsidy.flag.review"):
        return Flag.objects.none()
    return Flag.objects.filter(elder__in=elders_visible_to(user)).select_related("elder")


def settlements_visible_to(user) -> QuerySet[Settlement]:
    from yiyang.homecare.queries import providers_visible_to

    if not can(user, "subsidy.settle"):
        return Settlement.objects.none()
    return Settlement.objects.filter(provider__in=providers_visible_to(user)).select_related("provider", "closed_by")


def provider_for_settlement(user, provider_id: int):
    from yiyang.homecare.queries import providers_visible_to

    if not can(user, "subsidy.settle"):
        return None
    return providers_visible_to(user).filter(pk=provider_id).first()
