"""Writes of the plan: reported values and their approval, snapshots, period closing, task and project progress."""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.roles import Role, can
from yiyang.accounts.scope import scope_of
from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.plan.indicators import all_definitions
from yiyang.plan.models import (
    Indicator,
    IndicatorValue,
    KeyProject,
    MajorTask,
    PeriodClose,
    Plan,
    ProgressUpdate,
    ProvincialAverage,
    Source,
    ValueEvent,
    ValueStatus,
    WorkStatus,
)
from yiyang.plan.periods import Period
from yiyang.regions.models import Level, Region

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
EVIDENCE_TYPES = {".pdf", ".jpg", ".jpeg", ".png", ".docx", ".xlsx", ".doc", ".xls", ".zip"}
# The plan names joint responsibility as "市民政局、市卫生健康委".
UNIT_SEPARATORS = re.compile(r"[、，,；;/]")


def _out_of_scope() -> DomainError:
    return DomainError(_("Not found."), code="not_found", status=404)


def region_in_scope(user, region: Region) -> bool:
    scope = scope_of(user)
    return scope.everything or any(region.path.startswith(p) for p in scope.region_paths)


def parse_amount(raw, *, field: str = "value") -> Decimal:
    try:
        amount = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(_("Enter a number for the value."), field=field, code="value_invalid")
    if not amount.is_finite():
        raise DomainError(_("Enter a number for the value."), field=field, code="value_invalid")
    return amount


def _check_value(indicator: Indicator, amount: Decimal) -> None:
    if amount < 0:
        raise DomainError(_("The value cannot be negative."), field="value", code="value_negative")
    if indicator.unit == "%" and amount > 100:
        raise DomainError(_("A percentage cannot exceed 100."), field="value", code="value_too_large")
    if abs(amount) >= Decimal("1e10") or amount.as_tuple().exponent < -4:
        raise DomainError(_("Use at most 4 decimal places and 10 digits."), field="value", code="value_invalid")


def responsible_units(indicator: Indicator) -> set[str]:
    """The units the plan makes responsible for an indicator (one or more)."""
    return {unit.strip() for unit in UNIT_SEPARATORS.split(indicator.responsible_unit) if unit.strip()}


def may_enter(user, indicator: Indicator) -> bool:
    """Officers enter any reported indicator of their regions; a reporting unit only those it is responsible for."""
    if not can(user, "plan.enter"):
        return False
    if user.role == Role.REPORTER:
        return bool(user.unit.strip()) and user.unit.strip() in responsible_units(indicator)
    return True


def period_is_closed(period: str) -> bool:
    """A year is closed when it or any of its months is; a month when it or its year is."""
    p = Period.parse(period)
    keys = {str(p), str(Period(p.year))} if p.is_month else {str(p), *(str(m) for m in p.months())}
    return PeriodClose.objects.filter(period__in=keys).exists()


@transaction.atomic
def value_submit(
    *, indicator: Indicator, region: Region, period: str, value, actor, note: str = "", reporting_unit: str = ""
) -> IndicatorValue:
    """A responsible unit enters (or corrects) a reported value; it waits for approval by the level above."""
    if not can(actor, "plan.enter"):
        raise DomainError(_("You may not enter indicator values."), code="forbidden", status=403)
    if not may_enter(actor, indicator):
        raise DomainError(
            _("Your unit is not responsible for this indicator; its responsible unit enters it."), field="indicator", code="not_responsible"
        )
    if not region_in_scope(actor, region):
        raise _out_of_scope()
    if indicator.source == Source.COMPUTED:
        raise DomainError(_("This indicator is computed by the platform and cannot be entered."), field="indicator", code="computed")
    p = Period.parse(period)
    if p.is_month:
        raise DomainError(_("Reported indicators are entered per year (e.g. 2024)."), field="period", code="period_invalid")
    if p.year < indicator.plan.base_year or p.year > indicator.plan.target_year:
        raise DomainError(
            _("The period must lie within the plan (%(a)s–%(b)s).") % {"a": indicator.plan.base_year, "b": indicator.plan.target_year},
            field="period",
            code="period_invalid",
        )
    amount = parse_amount(value)
    _check_value(indicator, amount)
    if period_is_closed(str(p)):
        raise StateConflict(_("The period %(p)s is closed; its values no longer change.") % {"p": p}, field="period", code="period_closed")
    now = timezone.now()
    row = IndicatorValue.objects.select_for_update().filter(indicator=indicator, region=region, period=str(p)).first()
    from_status = ""
    if row is None:
        row = IndicatorValue(indicator=indicator, region=region, period=str(p), source=Source.REPORTED)
    else:
        from_status = row.status
    row.status = ValueStatus.SUBMITTED
    row.value = amount
    row.note = note.strip()[:255]
    row.reporting_unit = (reporting_unit or actor.unit or actor.display_name or indicator.responsible_unit).strip()[:64]
    row.entered_by = actor
    row.entered_at = now
    row.approved_by = None
    row.approved_at = None
    row.save()
    ValueEvent.objects.create(value=row, actor=actor, from_status=from_status, to_status=row.status, amount=amount, reason=row.note)
    audit_record(
        actor=actor,
        action="plan.value_submit",
        obj=row,
        region=region,
        detail={"indicator": indicator.no, "period": str(p), "value": str(amount)},
    )
    return row


def may_approve(user, row: IndicatorValue) -> bool:
    """Approval is by the level above: a township's value by its county, a county's by the city.

    The city's own values (entered by the municipal responsible units) are approved by the city
    civil-affairs office, which coordinates the plan (plan 4(5)). Nobody approves their own entry.
    """
    if not can(user, "plan.approve") or row.entered_by_id == user.pk:
        return False
    scope = scope_of(user)
    if scope.everything:
        return True
    covering = [p for p in scope.region_paths if row.region.path.startswith(p)]
    if not covering:
        return False
    if row.region.level in (Level.CITY, Level.PROVINCE):
        return user.role == Role.CITY_OFFICER
    return any(len(p) < len(row.region.path) for p in covering)


@transaction.atomic
def value_approve(*, value: IndicatorValue, actor) -> IndicatorValue:
    row = IndicatorValue.objects.select_for_update().select_related("region", "indicator").get(pk=value.pk)
    if not region_in_scope(actor, row.region):
        raise _out_of_scope()
    if not may_approve(actor, row):
        raise DomainError(
            _("Values are approved by the level above the region, and not by the person who entered them."), code="forbidden", status=403
        )
    if row.status != ValueStatus.SUBMITTED:
        raise StateConflict(_("Only a submitted value can be approved."), code="value_state")
    if period_is_closed(row.period):
        raise StateConflict(_("The period %(p)s is closed; its values no longer change.") % {"p": row.period}, code="period_closed")
    row.status = ValueStatus.APPROVED
    row.approved_by = actor
    row.approved_at = timezone.now()
    row.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    ValueEvent.objects.create(value=row, actor=actor, from_status=ValueStatus.SUBMITTED, to_status=row.status, amount=row.value)
    audit_record(actor=actor, action="plan.value_approve", obj=row, region=row.region)
    return row


@transaction.atomic
def value_reject(*, value: IndicatorValue, reason: str, actor) -> IndicatorValue:
    row = IndicatorValue.objects.select_for_update().select_related("region", "indicator").get(pk=value.pk)
    if not region_in_scope(actor, row.region):
        raise _out_of_scope()
    if not may_approve(actor, row):
        raise DomainError(
            _("Values are approved by the level above the region, and not by the person who entered them."), code="forbidden", status=403
        )
    if row.status != ValueStatus.SUBMITTED:
        raise StateConflict(_("Only a submitted value can be returned."), code="value_state")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the value is returned."), field="reason", code="reason_required")
    row.status = ValueStatus.REJECTED
    row.save(update_fields=["status", "updated_at"])
    ValueEvent.objects.create(
        value=row, actor=actor, from_status=ValueStatus.SUBMITTED, to_status=row.status, amount=row.value, reason=reason[:255]
    )
    audit_record(actor=actor, action="plan.value_reject", obj=row, region=row.region, detail={"reason": reason[:255]})
    return row


@transaction.atomic
def provincial_average_set(*, indicator: Indicator, period: str, value, source_note: str, actor) -> ProvincialAverage:
    if not can(actor, "plan.manage"):
        raise DomainError(_("You may not enter reference values."), code="forbidden", status=403)
    if indicator.target_text != "达到全省平均水平以上":
        raise DomainError(_("This indicator's target does not refer to the provincial average."), field="indicator", code="no_reference")
    p = Period.parse(period)
    if p.is_month:
        raise DomainError(_("Provincial averages are entered per year (e.g. 2024)."), field="period", code="period_invalid")
    amount = parse_amount(value)
    _check_value(indicator, amount)
    row, _created = ProvincialAverage.objects.update_or_create(
        indicator=indicator, period=str(p), defaults={"value": amount, "source_note": source_note.strip()[:255], "entered_by": actor}
    )
    audit_record(actor=actor, action="plan.provincial_average_set", obj=row, detail={"period": str(p), "value": str(amount)})
    return row


@transaction.atomic
def period_close(*, period: str, actor, reason: str = "") -> PeriodClose:
    if not (can(actor, "plan.manage") and (scope_of(actor).everything or actor.role == Role.CITY_OFFICER)):
        raise DomainError(_("Only the city office closes periods."), code="forbidden", status=403)
    p = Period.parse(period)
    if timezone.localdate() <= p.end:
        raise DomainError(_("A period can be closed only after it has ended."), field="period", code="period_open")
    if PeriodClose.objects.filter(period=str(p)).exists():
        raise StateConflict(_("The period %(p)s is already closed.") % {"p": p}, field="period", code="period_closed")
    row = PeriodClose.objects.create(period=str(p), closed_by=actor, reason=reason.strip()[:255])
    audit_record(actor=actor, action="plan.period_close", object_type="plan.periodclose", object_id=str(p))
    return row


def snapshot_regions() -> list[Region]:
    """City, counties and townships: the levels the cockpit shows (villages are computed on demand)."""
    return list(Region.objects.filter(level__in=[Level.CITY, Level.COUNTY, Level.TOWNSHIP]).order_by("path"))


def snapshot_take(*, period: str, now: datetime | None = None, regions: list[Region] | None = None) -> dict:
    """Compute every computed indicator for every region for one month, in grouped database queries.

    A snapshot taken after its month ended is final: history that later data does not change. So is
    every value of a closed period.
    """
    p = Period.parse(period)
    if not p.is_month:
        raise DomainError(_("Snapshots are taken per month."), field="period", code="period_invalid")
    now = now or timezone.now()
    final = timezone.localdate(now) > p.end
    regions = regions if regions is not None else snapshot_regions()
    plan = Plan.objects.filter(is_current=True).first()
    written = skipped = 0
    if plan is None or period_is_closed(str(p)):
        return {"written": 0, "skipped": 0, "closed": True}
    indicators = {i.no: i for i in Indicator.objects.filter(plan=plan)}
    for definition in all_definitions():
        indicator = indicators.get(definition.indicator_no)
        if indicator is None or definition.plan_code != plan.code:
            continue
        written_now, skipped_now = _snapshot_one(definition, indicator, p, regions, now=now, final=final)
        written += written_now
        skipped += skipped_now
    return {"written": written, "skipped": skipped, "closed": False}


@transaction.atomic
def _snapshot_one(definition, indicator: Indicator, p: Period, regions: list[Region], *, now: datetime, final: bool) -> tuple[int, int]:
    """One indicator's rows for one month, in its own transaction (a short write lock on SQLite). Returns (written, skipped)."""
    frozen = set(IndicatorValue.objects.filter(indicator=indicator, period=str(p), final=True).values_list("region_id", flat=True))
    todo = [r for r in regions if r.pk not in frozen]
    if not todo:
        return 0, len(regions)
    results = definition.compute_many(todo, p)
    rows = [
        IndicatorValue(
            indicator=indicator,
            region_id=region_id,
            period=str(p),
            source=Source.COMPUTED,
            status=ValueStatus.COMPUTED,
            value=result.value,
            numerator=result.numerator,
            denominator=result.denominator,
            computed_at=now,
            final=final,
        )
        for region_id, result in results.items()
    ]
    IndicatorValue.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["indicator", "region", "period"],
        update_fields=["value", "numerator", "denominator", "computed_at", "final", "updated_at"],
    )
    return len(rows), len(regions) - len(todo)


def snapshot_due(*, now: datetime | None = None) -> dict:
    """The scheduled job's work: this month (provisional) and last month until its final snapshot exists."""
    now = now or timezone.now()
    this_month = Period.month_of(timezone.localdate(now))
    out = {str(this_month): snapshot_take(period=str(this_month), now=now)}
    last = this_month.previous()
    out[str(last)] = snapshot_take(period=str(last), now=now)
    return out


# Tasks and projects -----------------------------------------------------------------


def _item_locked(item):
    return type(item).objects.select_for_update().get(pk=item.pk)


@transaction.atomic
def progress_add(
    *, item: MajorTask | KeyProject, as_of: date, status: str, text: str, actor, investment_fen: int = 0, evidence=None
) -> ProgressUpdate:
    """A dated progress update with optional evidence; for a project, the investment made since the last update."""
    if not can(actor, "plan.manage"):
        raise DomainError(_("You may not record progress."), code="forbidden", status=403)
    if status not in WorkStatus.values:
        raise DomainError(_("Choose a status."), field="status", code="status_invalid")
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Describe the progress."), field="text", code="text_required")
    if as_of > timezone.localdate():
        raise DomainError(_("The date of progress cannot be in the future."), field="as_of", code="date_future")
    if isinstance(item, MajorTask) and investment_fen:
        raise DomainError(_("Investment is recorded for projects only."), field="investment", code="investment_task")
    if investment_fen < 0:
        raise DomainError(
            _("The investment cannot be negative; record a correction as a note."), field="investment", code="investment_negative"
        )
    if evidence is not None:
        import os

        if os.path.splitext(evidence.name)[1].lower() not in EVIDENCE_TYPES:
            raise DomainError(_("Attach a PDF, image, Word, Excel or ZIP file."), field="evidence", code="evidence_type")
        if evidence.size > MAX_EVIDENCE_BYTES:
            raise DomainError(_("The evidence file is larger than 20 MB."), field="evidence", code="evidence_size")
    locked = _item_locked(item)
    update = ProgressUpdate(
        task=locked if isinstance(locked, MajorTask) else None,
        project=locked if isinstance(locked, KeyProject) else None,
        as_of=as_of,
        status=status,
        text=text,
        investment_fen=investment_fen,
        by=actor,
    )
    if evidence is not None:
        update.evidence = evidence
    update.save()
    # The item's status follows its latest-dated update.
    latest = locked.updates.order_by("-as_of", "-pk").first()
    locked.status = latest.status
    fields = ["status", "updated_at"]
    if isinstance(locked, KeyProject):
        locked.invested_fen += investment_fen
        fields.append("invested_fen")
    locked.save(update_fields=fields)
    audit_record(actor=actor, action="plan.progress_add", obj=update, detail={"item": str(locked), "status": status})
    item.status = locked.status
    if isinstance(item, KeyProject):
        item.invested_fen = locked.invested_fen
    return update


@transaction.atomic
def lead_unit_confirm(*, item: MajorTask | KeyProject, lead_unit: str, actor) -> MajorTask | KeyProject:
    """Confirm (or correct) a lead unit that the data marked as inferred."""
    if not can(actor, "plan.manage"):
        raise DomainError(_("You may not confirm lead units."), code="forbidden", status=403)
    lead_unit = (lead_unit or "").strip()
    if not lead_unit:
        raise DomainError(_("Enter the lead unit."), field="lead_unit", code="lead_unit_required")
    locked = _item_locked(item)
    if locked.lead_unit_confirmed_at is not None:
        raise StateConflict(_("The lead unit is already confirmed."), code="already_confirmed")
    before = locked.lead_unit
    locked.lead_unit = lead_unit[:128]
    locked.lead_unit_confirmed_by = actor
    locked.lead_unit_confirmed_at = timezone.now()
    locked.save(update_fields=["lead_unit", "lead_unit_confirmed_by", "lead_unit_confirmed_at", "updated_at"])
    audit_record(actor=actor, action="plan.lead_unit_confirm", obj=locked, detail={"before": before, "after": locked.lead_unit})
    return locked
