"""Writes of the subsidies app: programmes, monthly grants, voucher spends and refunds, settlement, flags.

Lock order, everywhere, to keep two operations from waiting on each other in a cycle:
programme row (grants) → provider row (spends, refunds, settlements) → ledger accounts by primary key.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.core.hot_cursor import hot_cursor
from yiyang.core.prepared import PreparedQuery, row_insert
from yiyang.homecare.models import Provider
from yiyang.people.models import Elder, ElderLink, ElderStatus, LivingArrangement
from yiyang.regions.models import Region
from yiyang.subsidies import rules
from yiyang.subsidies.ledger import apply_balance_deltas, lock_accounts, post
from yiyang.subsidies.models import (
    Account,
    AccountKind,
    Entry,
    EntrySource,
    Flag,
    FlagKind,
    Grant,
    GrantRun,
    Notification,
    Programme,
    ProgrammeStatus,
    Refund,
    Settlement,
    Spend,
    service_categories,
)

BATCH = 5000
MAX_AMOUNT_FEN = 10_000_00  # 10,000 yuan a month per tier is far above any programme; a typo guard


# Months ---------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1)


def current_period() -> date:
    return month_start(timezone.localdate())


def parse_period(value, *, field: str = "period") -> date:
    """'2026-11' or a date -> the first day of that month."""
    if isinstance(value, date):
        return month_start(value)
    try:
        year, month = str(value).strip()[:7].split("-")
        return date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise DomainError(_("Enter a month as YYYY-MM."), field=field)


# Programmes -----------------------------------------------------------------


def tiers_clean(tiers) -> list[dict]:
    """Validate the tiers of a programme (first that holds wins); errors name e.g. `tiers.1.amount_fen`."""
    if not isinstance(tiers, list) or not tiers:
        raise DomainError(_("Define at least one tier with a monthly amount."), field="tiers")
    clean_tiers, keys = [], set()
    for i, tier in enumerate(tiers):
        where = f"tiers.{i}"
        if not isinstance(tier, dict):
            raise DomainError(_("A tier has a key, a label, conditions and an amount."), field=where)
        key = str(tier.get("key") or "").strip() or f"t{i + 1}"
        if len(key) > 32 or key in keys:
            raise DomainError(_("Each tier needs its own short key."), field=f"{where}.key")
        keys.add(key)
        amount = tier.get("amount_fen")
        if isinstance(amount, str) and amount.strip().isdigit():
            amount = int(amount.strip())
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT_FEN:
            raise DomainError(
                _("Enter the monthly amount in fen, from 1 to %(max)s.") % {"max": MAX_AMOUNT_FEN}, field=f"{where}.amount_fen"
            )
        conditions = rules.validate_conditions(tier.get("all") or [], field=f"{where}.all")
        label = str(tier.get("label") or key).strip()[:64]
        clean_tiers.append({"key": key, "label": label, "all": conditions, "amount_fen": amount})
    return clean_tiers


def programme_clean(
    *,
    name: str,
    funding_source: str,
    region_code: str,
    starts_on,
    ends_on=None,
    rule=None,
    tiers=None,
    categories=None,
    carry_over: bool = False,
    actor,
) -> dict:
    """Validate a programme's fields; errors name the field. Returns the values to store."""
    from yiyang.accounts.scope import scope_of

    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the programme a name."), field="name")
    if len(name) > 128:
        raise DomainError(_("The name is too long (128 characters at most)."), field="name")
    funding_source = (funding_source or "").strip()
    if not funding_source:
        raise DomainError(_("Name the funding source, e.g. 福彩公益金."), field="funding_source")
    region = Region.objects.filter(code=(region_code or "").strip()).first()
    if region is None:
        raise DomainError(_("Unknown region code."), field="region")
    scope = scope_of(actor)
    if not scope.everything and not any(region.path.startswith(p) for p in scope.region_paths):
        raise DomainError(_("You may only define programmes for your own regions."), field="region")
    starts = parse_period(starts_on, field="starts_on")
    ends = parse_period(ends_on, field="ends_on") if ends_on not in (None, "") else None
    if ends is not None and ends < starts:
        raise DomainError(_("The last month is before the first."), field="ends_on")
    clean_rule = rules.validate_conditions(rule or [], field="rule")
    clean_tiers = tiers_clean(tiers)
    known = {code for code, _label in service_categories()}
    if isinstance(categories, str):
        categories = [c.strip() for c in categories.split(",") if c.strip()]
    if not isinstance(categories, list) or not categories:
        raise DomainError(_("Choose the service categories the programme pays for."), field="categories")
    wrong = [c for c in categories if c not in known]
    if wrong:
        raise DomainError(_("Unknown service category: %(c)s.") % {"c": ", ".join(map(str, wrong))}, field="categories")
    return {
        "name": name,
        "funding_source": funding_source[:128],
        "region": region,
        "starts_on": starts,
        "ends_on": ends,
        "rule": clean_rule,
        "tiers": clean_tiers,
        "categories": sorted(set(categories)),
        "carry_over": bool(carry_over),
    }


@transaction.atomic
def programme_create(*, actor, **fields) -> Programme:
    values = programme_clean(actor=actor, **fields)
    programme = Programme.objects.create(created_by=actor, **values)
    for kind in (AccountKind.FUNDING, AccountKind.EXPIRED):
        Account.objects.create(kind=kind, programme=programme)
    audit_record(actor=actor, action="subsidy.programme_create", obj=programme, region=programme.region, detail={"name": programme.name})
    return programme


@transaction.atomic
def programme_update(*, programme: Programme, actor, **fields) -> Programme:
    """Edit a programme. Months already granted keep the rule they were granted under (stored with each grant)."""
    programme = Programme.objects.select_for_update().get(pk=programme.pk)
    if programme.status == ProgrammeStatus.ENDED:
        raise StateConflict(_("An ended programme cannot be edited."), field="status")
    values = programme_clean(actor=actor, **fields)
    for name, value in values.items():
        setattr(programme, name, value)
    programme.version += 1
    programme.save(update_fields=[*values.keys(), "version", "updated_at"])
    audit_record(
        actor=actor, action="subsidy.programme_update", obj=programme, region=programme.region, detail={"version": programme.version}
    )
    return programme


PROGRAMME_TRANSITIONS = {
    ProgrammeStatus.DRAFT: {ProgrammeStatus.ACTIVE, ProgrammeStatus.ENDED},
    ProgrammeStatus.ACTIVE: {ProgrammeStatus.ENDED},
    ProgrammeStatus.ENDED: set(),
}


@transaction.atomic
def programme_set_status(*, programme: Programme, status: str, actor) -> Programme:
    programme = Programme.objects.select_for_update().get(pk=programme.pk)
    if status not in PROGRAMME_TRANSITIONS.get(programme.status, set()):
        raise StateConflict(
            _("A programme that is %(old)s cannot become %(new)s.") % {"old": programme.get_status_display(), "new": status}, field="status"
        )
    old = programme.status
    programme.status = status
    programme.save(update_fields=["status", "updated_at"])
    audit_record(actor=actor, action="subsidy.programme_status", obj=programme, region=programme.region, detail={"from": old, "to": status})
    return programme


# Eligibility ------------------------------------------------------------------


def eligible_elders(*, region_path: str, rule: list[dict], tiers: list[dict], period: date):
    """Elders the programme grants to for `period`, annotated with `tier_idx`. The preview and the grant share it."""
    qs = Elder.objects.filter(rules.base_q(region_path=region_path) & rules.conditions_q(rule, period))
    whens = []
    for i, tier in enumerate(tiers):
        condition = rules.conditions_q(tier["all"], period)
        whens.append(When(condition if condition else Q(pk__isnull=False), then=Value(i)))
    qs = qs.annotate(tier_idx=Case(*whens, default=Value(None), output_field=IntegerField()))
    return qs.filter(tier_idx__isnull=False)


def programme_preview(*, region_path: str, rule: list[dict], tiers: list[dict], period: date) -> dict:
    """How many elders a rule matches for a month, by tier, and what it costs."""
    from django.db.models import Count

    counts = {
        row["tier_idx"]: row["n"]
        for row in eligible_elders(region_path=region_path, rule=rule, tiers=tiers, period=period)
        .values("tier_idx")
        .annotate(n=Count("pk"))
        .order_by()
    }
    by_tier = [
        {
            "key": t["key"],
            "label": t["label"],
            "amount_fen": t["amount_fen"],
            "count": counts.get(i, 0),
            "total_fen": counts.get(i, 0) * t["amount_fen"],
        }
        for i, t in enumerate(tiers)
    ]
    return {
        "period": period.isoformat(),
        "count": sum(t["count"] for t in by_tier),
        "total_fen": sum(t["total_fen"] for t in by_tier),
        "tiers": by_tier,
    }


def programme_next_period(programme: Programme) -> date:
    """The month the next grant of this programme will be for."""
    last = programme.runs.order_by("-period").values_list("period", flat=True).first()
    candidate = max(current_period(), next_month(last)) if last else current_period()
    return max(candidate, programme.starts_on)


def explain(grant: Grant) -> dict:
    """Re-evaluate the stored rule on the stored facts: the same tier must come out."""
    snapshot = grant.run.rule
    tier = rules.tier_for(region_path=snapshot["region_path"], rule=snapshot["rule"], tiers=snapshot["tiers"], facts=grant.facts)
    return {
        "holds": tier is not None and tier["key"] == grant.tier,
        "tier": tier,
        "conditions": rules.describe(snapshot["rule"]),
        "tier_conditions": rules.describe(tier["all"]) if tier else [],
    }


# Monthly grant ----------------------------------------------------------------


def _programme_account(programme: Programme, kind: str) -> Account:
    account, _created = Account.objects.get_or_create(kind=kind, programme=programme)
    return account


@transaction.atomic
def grants_run_month(*, programme: Programme, period, actor=None) -> tuple[GrantRun, bool]:
    """Grant one programme's month to every eligible elder, set-based. Returns (run, created).

    Running a month twice grants nothing twice: the GrantRun row is unique per programme and month,
    and the programme row lock serialises two runs started at the same moment.
    """
    period = parse_period(period)
    programme = Programme.objects.select_for_update().get(pk=programme.pk)
    existing = GrantRun.objects.filter(programme=programme, period=period).first()
    if existing is not None:
        return existing, False
    if programme.status != ProgrammeStatus.ACTIVE:
        raise StateConflict(_("Only an active programme grants."), field="status", code="programme_not_active")
    if not programme.runs_in(period):
        raise DomainError(_("The programme does not run in that month."), field="period")
    region_path = programme.region.path
    snapshot = {"region_path": region_path, "rule": programme.rule, "tiers": programme.tiers, "version": programme.version}
    run = GrantRun.objects.create(programme=programme, period=period, actor=actor, programme_version=programme.version, rule=snapshot)
    run.expired_fen = 0 if programme.carry_over else _expire_lots(programme=programme, before=period, actor=actor)

    funding = lock_accounts(Account, [_programme_account(programme, AccountKind.FUNDING).pk])
    funding = next(iter(funding.values()))
    tiers = programme.tiers
    eligible = eligible_elders(region_path=region_path, rule=programme.rule, tiers=tiers, period=period)
    rows = list(rules.fact_rows(eligible, period, "tier_idx").order_by("pk"))
    now = timezone.now()
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    total = 0
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        held = rules.categories_held([r["pk"] for r in chunk], period)
        amounts = [tiers[r["tier_idx"]]["amount_fen"] for r in chunk]
        lots = _insert_lots(programme=programme, period=period, elder_ids=[r["pk"] for r in chunk], amounts=amounts, now=now)
        entries, grants = [], []
        for r, amount in zip(chunk, amounts, strict=True):
            tier = tiers[r["tier_idx"]]
            reason = f"{programme.name} {period:%Y-%m} {tier['label']}"[:255]
            entries.append((now, amount, reason, actor_id, lots[r["pk"]], funding.pk, EntrySource.GRANT, period, "", "", None))
            grants.append(
                (
                    run.pk,
                    programme.pk,
                    r["pk"],
                    period,
                    lots[r["pk"]],
                    tier["key"],
                    amount,
                    rules.facts_of(r, held.get(r["pk"], []), period),
                    now,
                )
            )
            total += amount
        _insert(
            Entry, ["at", "amount", "reason", "actor", "debit", "credit", "source", "period", "order_ref", "category", "reverses"], entries
        )
        _insert(Grant, ["run", "programme", "elder", "period", "account", "tier", "amount_fen", "facts", "granted_at"], grants)
    apply_balance_deltas(Account, {funding.pk: -total})
    run.granted = len(rows)
    run.total_fen = total
    run.save(update_fields=["granted", "total_fen", "expired_fen"])
    _notify_grants(run)
    audit_record(
        actor=actor,
        action="subsidy.grant_run",
        obj=run,
        region=programme.region,
        detail={"programme": programme.pk, "period": period.isoformat(), "granted": run.granted, "total_fen": total},
    )
    return run, True


def _insert(model, fields: list[str], rows: list[tuple]) -> None:
    """Append many rows. On PostgreSQL through COPY (no per-row statement, no per-row Python model);
    elsewhere bulk_create. Only for append-only rows whose constraints the caller has already met."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        columns = [model._meta.get_field(f).column for f in fields]
        json_at = [i for i, f in enumerate(fields) if model._meta.get_field(f).get_internal_type() == "JSONField"]
        # Table and column names come from the model, never from input.
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = json.dumps(row[i], ensure_ascii=False)
                copy.write_row(row)
        return
    attnames = [model._meta.get_field(f).attname for f in fields]
    model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=BATCH)


def _insert_lots(*, programme: Programme, period: date, elder_ids: list[int], amounts: list[int], now) -> dict[int, int]:
    """Create the month's voucher lots (one account per elder, balance = the grant) and return elder id -> account id."""
    rows = [
        (AccountKind.VOUCHER, programme.pk, elder_id, None, period, amount, now)
        for elder_id, amount in zip(elder_ids, amounts, strict=True)
    ]
    _insert(Account, ["kind", "programme", "elder", "provider", "period", "balance", "created_at"], rows)
    found = Account.objects.filter(kind=AccountKind.VOUCHER, programme=programme, period=period, elder_id__in=elder_ids)
    return dict(found.values_list("elder_id", "pk"))


def _notify_grants(run: GrantRun) -> int:
    """Tell every linked family member and elder account of the new grant (set-based)."""
    links = ElderLink.objects.filter(elder__voucher_grants__run=run).values_list("user_id", "elder_id", "elder__voucher_grants__pk")
    notes = [Notification(user_id=u, elder_id=e, grant_id=g, kind="grant") for u, e, g in links.iterator(chunk_size=BATCH)]
    Notification.objects.bulk_create(notes, batch_size=BATCH, ignore_conflicts=True)
    return len(notes)


def _expire_lots(*, programme: Programme, before: date, actor) -> int:
    """Month-end expiry: unused balances of months before `before` go to the programme's EXPIRED account."""
    sink = _programme_account(programme, AccountKind.EXPIRED)
    lots = list(
        Account.objects.select_for_update()
        .filter(kind=AccountKind.VOUCHER, programme=programme, period__lt=before, balance__gt=0)
        .order_by("pk")
        .values_list("pk", "balance")
    )
    if not lots:
        return 0
    lock_accounts(Account, [sink.pk])
    now = timezone.now()
    total = 0
    for start in range(0, len(lots), BATCH):
        chunk = lots[start : start + BATCH]
        actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
        _insert(
            Entry,
            ["at", "amount", "reason", "actor", "debit", "credit", "source", "period", "order_ref", "category", "reverses"],
            [(now, bal, "month-end expiry", actor_id, sink.pk, pk, EntrySource.EXPIRY, before, "", "", None) for pk, bal in chunk],
        )
        Account.objects.filter(pk__in=[pk for pk, _bal in chunk]).update(balance=0)
        total += sum(bal for _pk, bal in chunk)
    apply_balance_deltas(Account, {sink.pk: total})
    return total


def vouchers_expire(*, programme: Programme, before, actor=None) -> int:
    """Expire a non-carry-over programme's unused lots of months before `before` (also run by the monthly grant)."""
    before = parse_period(before)
    with transaction.atomic():
        programme = Programme.objects.select_for_update().get(pk=programme.pk)
        if programme.carry_over:
            return 0
        total = _expire_lots(programme=programme, before=before, actor=actor)
        if total:
            audit_record(actor=actor, action="subsidy.expire", obj=programme, detail={"before": before.isoformat(), "expired_fen": total})
        return total


def grants_run_all(*, period=None, actor=None) -> list[dict]:
    """The monthly job: every active programme running in the month grants (one transaction each);
    programmes that no longer grant still expire their unused lots."""
    period = parse_period(period) if period else current_period()
    results = []
    for programme in Programme.objects.filter(status=ProgrammeStatus.ACTIVE).order_by("pk"):
        if programme.runs_in(period):
            run, created = grants_run_month(programme=programme, period=period, actor=actor)
            results.append({"programme": programme.pk, "period": period.isoformat(), "created": created, "granted": run.granted})
    for programme in Programme.objects.filter(carry_over=False).exclude(status=ProgrammeStatus.DRAFT).order_by("pk"):
        if not (programme.status == ProgrammeStatus.ACTIVE and programme.runs_in(period)):
            expired = vouchers_expire(programme=programme, before=period, actor=actor)
            if expired:
                results.append({"programme": programme.pk, "period": period.isoformat(), "expired_fen": expired})
    return results


# Spending -----------------------------------------------------------------------


def _order_for(order_ref: str):
    """The home-care order behind `order:<pk>` (homecare.payment.order_ref), if any."""
    if not order_ref.startswith("order:"):
        return None
    try:
        from yiyang.homecare.models import Order
    except ImportError:
        return None
    pk = order_ref.removeprefix("order:")
    return Order.objects.filter(pk=int(pk)).first() if pk.isdigit() else None


def booking_period(provider_id: int) -> date:
    """The month new entries for a provider are booked in: this month, or the month after the last closed one.
    Call with the provider's months held (`hold_provider_months`, or a spend's share of them)."""
    period = current_period()
    last_closed = Settlement.objects.filter(provider_id=provider_id).order_by("-period").values_list("period", flat=True).first()
    if last_closed is not None and last_closed >= period:
        period = next_month(last_closed)
    return period


def _provider_account(kind: str, programme_id: int, provider_id: int) -> Account:
    account, _created = Account.objects.get_or_create(kind=kind, programme_id=programme_id, provider_id=provider_id)
    return account


# Every paid home-care visit asks these: compiled once (core.prepared).
SPEND_BY_REF = PreparedQuery(lambda *, order_ref: Spend.objects.filter(order_ref=order_ref).order_by(), name="spend_by_ref")
# A provider's open month is held by a lock of PostgreSQL's own (advisory, to the end of the transaction):
# shared by the spends booking into it, exclusive for settlement and refunds. So a provider's check-outs do
# not queue behind one another until each commits (those paid from one programme still take turns on its
# payable account), and, unlike a shared lock on the provider's row, the lock queue is fair: a settlement
# waiting for the spends under way is not overtaken by the spends that come after it. Two spends of one
# reference take turns on a lock of the reference's own: the second waits, then finds the first's spend.
# A spend takes both in one statement, as every paid visit does. On SQLite, writers take turns anyway.
PROVIDER_MONTHS, SPEND_REFERENCES = 0x5072_6F76, 0x5370_656E  # the advisory locks' first keys (namespaces)


def _provider_key(provider_id: int) -> int:
    return provider_id & 0x7FFF_FFFF  # the lock's second key is 32-bit: providers beyond share a key, and only wait more


def _hold_for_spend(*, provider_id: int, order_ref: str) -> None:
    if connection.vendor != "postgresql":
        return
    hot_cursor(connection).execute(
        "SELECT pg_advisory_xact_lock_shared(%s, %s), pg_advisory_xact_lock(%s, hashtext(%s))",
        [PROVIDER_MONTHS, _provider_key(provider_id), SPEND_REFERENCES, order_ref],
    )


def hold_provider_months(provider_id: int) -> None:
    """Wait for the provider's spends under way, and keep new ones waiting, to the end of the transaction.
    Take it before the provider's row: a spend's commit checks its foreign key on that row."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [PROVIDER_MONTHS, _provider_key(provider_id)])


PROGRAMMES_NOT_DRAFT = PreparedQuery(
    lambda: Programme.objects.exclude(status=ProgrammeStatus.DRAFT).order_by("pk"), name="programmes_not_draft"
)


def vouchers_spend(
    *, elder, order_ref: str, category: str, amount_fen: int, actor, provider=None, order=None, savepoint: bool = True
) -> int:
    """Pay up to `amount_fen` of an order from the elder's vouchers; returns the fen covered (0 if none).

    Oldest grant first, only programmes covering `category`. Idempotent per `order_ref`: a second call
    returns what the first covered. The provider is the order's (homecare `order:<pk>`), or `provider`.
    `order`: the home-care order behind `order_ref`, when the caller has already read it.
    `savepoint=False`: for a caller inside a transaction that any error here aborts anyway (the order's
    payment): two statements fewer on every paid check-out.
    """
    order_ref = (order_ref or "").strip()
    if not order_ref or len(order_ref) > 64:
        raise DomainError(_("An order reference is required."), field="order_ref")
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen < 0:
        raise DomainError(_("The amount must be a whole number of fen, not negative."), field="amount_fen")
    with transaction.atomic(savepoint=savepoint):
        if order is None:
            order = _order_for(order_ref)
        if provider is None:
            provider = order.provider if order is not None else None
        if provider is None:
            existing = SPEND_BY_REF.first(order_ref=order_ref)
            if existing is not None:
                return _repeat(existing, elder)
            raise DomainError(_("No provider for this order."), field="order_ref")
        _hold_for_spend(provider_id=provider.pk, order_ref=order_ref)
        existing = SPEND_BY_REF.first(order_ref=order_ref)
        if existing is not None:
            return _repeat(existing, elder)
        programme_ids = [p.pk for p in PROGRAMMES_NOT_DRAFT.fetch() if p.covers(category)]
        covered = 0
        if amount_fen and programme_ids:
            candidates = Account.objects.filter(kind=AccountKind.VOUCHER, elder=elder, programme_id__in=programme_ids, balance__gt=0)
            lots = sorted(lock_accounts(Account, candidates.values_list("pk", flat=True)).values(), key=lambda a: (a.period, a.pk))
            lots = [lot for lot in lots if lot.balance > 0]
            payables = {}
            for programme_id in sorted({lot.programme_id for lot in lots}):  # one order for all: spends run side by side
                payables[programme_id] = _provider_account(AccountKind.PROVIDER, programme_id, provider.pk).pk
            locked = lock_accounts(Account, payables.values())
            period = booking_period(provider.pk)
            remaining = amount_fen
            for lot in lots:
                if remaining == 0:
                    break
                take = min(lot.balance, remaining)
                post(
                    entry_model=Entry,
                    debit=locked[payables[lot.programme_id]],
                    credit=lot,
                    amount=take,
                    source=EntrySource.ORDER,
                    period=period,
                    order_ref=order_ref,
                    category=category,
                    actor=_user(actor),
                    reason=f"{category} {order_ref}",
                )
                remaining -= take
            covered = amount_fen - remaining
        # Written once what it covers is known: inside a check-out it travels with the order's own writes
        # (core.write_batch), and its audit row takes its key from it.
        spend = row_insert(
            Spend(
                order_ref=order_ref,
                elder=elder,
                provider=provider,
                category=category,
                asked_fen=amount_fen,
                covered_fen=covered,
                actor=_user(actor),
            ),
            batchable=True,
        )
        _flag_spend(elder=elder, order_ref=order_ref, order=order, covered=covered)
        audit_record(
            actor=actor, action="subsidy.spend", obj=spend, detail={"order_ref": order_ref, "asked_fen": amount_fen, "covered_fen": covered}
        )
        return covered


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _repeat(spend: Spend, elder) -> int:
    if spend.elder_id != elder.pk:
        raise StateConflict(_("This order reference was already used for another elder."), field="order_ref")
    if Refund.objects.filter(spend=spend).exists():
        raise StateConflict(
            _("The vouchers of this order were refunded; pay again under a new reference."), field="order_ref", code="refunded"
        )
    return spend.covered_fen


@transaction.atomic
def vouchers_refund(*, order_ref: str, actor) -> int:
    """Give back exactly what `order_ref` took, lot by lot; returns the fen refunded. Idempotent.

    Booked in the provider's open month. If that month's payable cannot cover it (the order's month
    was settled and paid), the refund is recovered from what was paid out: an adjusting entry."""
    spend = Spend.objects.filter(order_ref=(order_ref or "").strip()).first()
    if spend is None:
        return 0
    hold_provider_months(spend.provider_id)
    Provider.objects.select_for_update().filter(pk=spend.provider_id).first()
    spend = Spend.objects.select_for_update().get(pk=spend.pk)
    done = Refund.objects.filter(spend=spend).first()
    if done is not None:
        return done.refunded_fen
    taken = list(Entry.objects.filter(order_ref=spend.order_ref, source=EntrySource.ORDER).order_by("pk"))
    programme_ids = {e.debit.programme_id for e in taken} if taken else set()
    paid_out = {pid: _provider_account(AccountKind.PAID_OUT, pid, spend.provider_id).pk for pid in programme_ids}
    locked = lock_accounts(Account, [*(e.debit_id for e in taken), *(e.credit_id for e in taken), *paid_out.values()])
    period = booking_period(spend.provider_id)
    total = 0
    for e in taken:
        payable = locked[e.debit_id]
        source = payable if payable.balance >= e.amount else locked[paid_out[payable.programme_id]]
        post(
            entry_model=Entry,
            debit=locked[e.credit_id],
            credit=source,
            amount=e.amount,
            source=EntrySource.REFUND,
            period=period,
            order_ref=spend.order_ref,
            category=e.category,
            reverses=e,
            actor=_user(actor),
            reason=f"refund {spend.order_ref}",
        )
        total += e.amount
    Refund.objects.create(spend=spend, refunded_fen=total, actor=_user(actor))
    audit_record(actor=actor, action="subsidy.refund", obj=spend, detail={"order_ref": spend.order_ref, "refunded_fen": total})
    return total


# Checks against reality ------------------------------------------------------------


def _flag_spend(*, elder, order_ref: str, order, covered: int) -> None:
    if not covered:
        return
    elder = Elder.objects.get(pk=elder.pk)
    when = order.service_date if order is not None else timezone.localdate()
    found: list[tuple[str, dict]] = []
    if elder.status == ElderStatus.DECEASED and (elder.status_date is None or elder.status_date <= when):
        found.append((FlagKind.AFTER_DEATH, {"status_date": str(elder.status_date or ""), "service_date": str(when)}))
    if elder.status == ElderStatus.MOVED_AWAY and (elder.status_date is None or elder.status_date <= when):
        found.append((FlagKind.AFTER_MOVE, {"status_date": str(elder.status_date or ""), "service_date": str(when)}))
    if elder.living_arrangement == LivingArrangement.INSTITUTION:
        found.append((FlagKind.INSTITUTION, {"service_date": str(when)}))
    if order is not None and order.checkin_at and order.checkout_at:
        from yiyang.homecare.models import Order

        overlapping = (
            Order.objects.filter(elder_id=elder.pk, checkin_at__lt=order.checkout_at, checkout_at__gt=order.checkin_at)
            .exclude(pk=order.pk)
            .values_list("pk", flat=True)[:5]
        )
        if overlapping:
            found.append((FlagKind.OVERLAP, {"orders": [f"order:{pk}" for pk in overlapping]}))
    for kind, detail in found:
        Flag.objects.get_or_create(kind=kind, order_ref=order_ref, defaults={"elder": elder, "detail": {**detail, "covered_fen": covered}})


@transaction.atomic
def flag_review(*, flag: Flag, note: str, actor) -> Flag:
    flag = Flag.objects.select_for_update().get(pk=flag.pk)
    if flag.reviewed_at is not None:
        raise StateConflict(_("This flag was already reviewed."), field="flag")
    note = (note or "").strip()
    if not note:
        raise DomainError(_("Say what the review found."), field="note")
    flag.reviewed_at = timezone.now()
    flag.reviewed_by = actor
    flag.review_note = note[:255]
    flag.save(update_fields=["reviewed_at", "reviewed_by", "review_note", "updated_at"])
    audit_record(actor=actor, action="subsidy.flag_review", obj=flag, detail={"note": flag.review_note})
    return flag


# Settlement ------------------------------------------------------------------------


def settlement_lines(*, provider_id: int, period: date) -> list[dict]:
    """Every voucher movement of a provider's month, one line per order, with the visit's audit result."""
    entries = (
        Entry.objects.filter(period=period, source__in=[EntrySource.ORDER, EntrySource.REFUND])
        .filter(Q(debit__provider_id=provider_id) | Q(credit__provider_id=provider_id))
        .select_related("debit__programme", "credit__programme")
        .order_by("order_ref", "pk")
    )
    lines: dict[str, dict] = {}
    for e in entries:
        provider_side = e.debit if e.debit.provider_id == provider_id else e.credit
        line = lines.setdefault(
            e.order_ref,
            {"order_ref": e.order_ref, "category": e.category, "spent_fen": 0, "refunded_fen": 0, "programmes": set(), "at": e.at},
        )
        line["programmes"].add(provider_side.programme.name)
        if e.source == EntrySource.ORDER:
            line["spent_fen"] += e.amount
        else:
            line["refunded_fen"] += e.amount
    spends = {s.order_ref: s for s in Spend.objects.filter(order_ref__in=lines.keys()).select_related("elder")}
    orders = _orders_by_ref(lines.keys())
    for ref, line in lines.items():
        spend = spends.get(ref)
        order = orders.get(ref)
        line["programmes"] = "、".join(sorted(line["programmes"]))
        line["elder"] = spend.elder.name if spend else ""
        line["elder_id"] = spend.elder_id if spend else None
        line["service_date"] = order.service_date if order else None
        line["audit"] = order.get_status_display() if order else ""
        line["audit_flags"] = ", ".join(map(str, order.audit_flags)) if order and order.audit_flags else ""
        line["net_fen"] = line["spent_fen"] - line["refunded_fen"]
    return list(lines.values())


def _orders_by_ref(refs) -> dict:
    pks = [int(r.removeprefix("order:")) for r in refs if r.startswith("order:") and r.removeprefix("order:").isdigit()]
    if not pks:
        return {}
    from yiyang.homecare.models import Order

    return {f"order:{o.pk}": o for o in Order.objects.filter(pk__in=pks)}


@transaction.atomic
def settlement_close(*, provider: Provider, period, actor) -> Settlement:
    """Close a provider's month: move the month's net payable to PAID_OUT per programme and freeze the month."""
    period = parse_period(period)
    if period > current_period():
        raise DomainError(_("A month can be closed only once it has begun."), field="period")
    hold_provider_months(provider.pk)
    Provider.objects.select_for_update().filter(pk=provider.pk).first()
    if Settlement.objects.filter(provider=provider, period=period).exists():
        raise StateConflict(_("This month is already closed for this provider."), field="period", code="closed")
    if Settlement.objects.filter(provider=provider, period__gt=period).exists():
        raise StateConflict(
            _("A later month is already closed; correct through an adjusting entry instead."), field="period", code="closed"
        )
    provider_accounts = Account.objects.filter(provider=provider, kind__in=[AccountKind.PROVIDER, AccountKind.PAID_OUT])
    earlier_open = Entry.objects.filter(period__lt=period).filter(Q(debit__in=provider_accounts) | Q(credit__in=provider_accounts))
    closed = set(Settlement.objects.filter(provider=provider).values_list("period", flat=True))
    if any(p not in closed for p in earlier_open.values_list("period", flat=True).distinct()):
        raise StateConflict(_("Close the earlier months first."), field="period", code="earlier_open")
    locked = lock_accounts(Account, provider_accounts.values_list("pk", flat=True))
    totals: dict[int, dict] = defaultdict(lambda: {"spent": 0, "refunded": 0, "recovered": 0, "visits": set()})
    for e in Entry.objects.filter(period=period).filter(Q(debit__in=provider_accounts) | Q(credit__in=provider_accounts)):
        side = locked.get(e.debit_id) or locked[e.credit_id]
        row = totals[side.programme_id]
        if e.source == EntrySource.ORDER:
            row["spent"] += e.amount
            row["visits"].add(e.order_ref)
        elif e.source == EntrySource.REFUND and side.kind == AccountKind.PROVIDER:
            row["refunded"] += e.amount
        elif e.source == EntrySource.REFUND:
            row["recovered"] += e.amount
    settlement = Settlement.objects.create(provider=provider, period=period, closed_by=actor)
    names = dict(Programme.objects.filter(pk__in=totals.keys()).values_list("pk", "name"))
    summary, grand = {}, 0
    for programme_id, row in sorted(totals.items()):
        net = row["spent"] - row["refunded"]
        payable = next(a for a in locked.values() if a.kind == AccountKind.PROVIDER and a.programme_id == programme_id) if net else None
        if net:
            paid = _provider_account(AccountKind.PAID_OUT, programme_id, provider.pk)
            paid = locked.get(paid.pk) or lock_accounts(Account, [paid.pk])[paid.pk]
            debit, credit = (paid, payable) if net > 0 else (payable, paid)
            post(
                entry_model=Entry,
                debit=debit,
                credit=credit,
                amount=abs(net),
                source=EntrySource.SETTLEMENT,
                period=period,
                actor=actor,
                reason=f"settlement {period:%Y-%m}",
            )
        to_pay = net - row["recovered"]
        summary[str(programme_id)] = {
            "name": names.get(programme_id, ""),
            "spent_fen": row["spent"],
            "refunded_fen": row["refunded"],
            "recovered_fen": row["recovered"],
            "net_fen": net,
            "to_pay_fen": to_pay,
            "visits": len(row["visits"]),
        }
        grand += to_pay
    settlement.totals = summary
    settlement.total_fen = grand
    # Filling in the summary of the row created above, still inside the closing transaction.
    Settlement.objects.filter(pk=settlement.pk).update(totals=summary, total_fen=grand)
    audit_record(
        actor=actor,
        action="subsidy.settlement_close",
        obj=settlement,
        detail={"provider": provider.pk, "period": period.isoformat(), "total_fen": grand},
    )
    return settlement


def settlement_preview(*, provider: Provider, period) -> dict:
    period = parse_period(period)
    lines = settlement_lines(provider_id=provider.pk, period=period)
    return {"period": period, "lines": lines, "net_fen": sum(line["net_fen"] for line in lines)}


__all__ = [
    "booking_period",
    "eligible_elders",
    "explain",
    "flag_review",
    "grants_run_all",
    "grants_run_month",
    "programme_create",
    "programme_preview",
    "programme_set_status",
    "programme_update",
    "settlement_close",
    "vouchers_expire",
    "vouchers_refund",
    "vouchers_spend",
]
