"""Writes of the time bank. Every movement of hours is one HourEntry between two locked accounts."""

from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.roles import Role
from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.models import Elder, ElderLink
from yiyang.regions.models import Region
from yiyang.subsidies.ledger import lock_accounts, post
from yiyang.timebank.models import (
    CLAIM_TRANSITIONS,
    Claim,
    ClaimStatus,
    ClaimTransition,
    HourAccount,
    HourAccountKind,
    HourEntry,
    HourSource,
    Volunteer,
)

MAX_MINUTES = 24 * 60


def _minutes(value, *, field: str = "minutes", maximum: int = MAX_MINUTES) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= maximum:
        raise DomainError(_("Enter whole minutes from 1 to %(max)s.") % {"max": maximum}, field=field)
    return value


def _system_account(kind: str) -> HourAccount:
    account = HourAccount.objects.filter(kind=kind).first()
    if account is None:
        try:
            with transaction.atomic():
                account = HourAccount.objects.create(kind=kind)
        except IntegrityError:
            account = HourAccount.objects.get(kind=kind)
    return account


def account_for_user(user) -> HourAccount:
    account, _created = HourAccount.objects.get_or_create(user=user, defaults={"kind": HourAccountKind.PERSON})
    return account


def account_for_elder(elder) -> HourAccount:
    account, _created = HourAccount.objects.get_or_create(elder=elder, defaults={"kind": HourAccountKind.PERSON})
    return account


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


# Volunteers ------------------------------------------------------------------------


@transaction.atomic
def volunteer_register(*, user, name: str, birth_date, region_code: str, skills: str = "", elder=None, actor) -> Volunteer:
    """Register a person as a volunteer; an elder's own account may register too (elder volunteers, indicator 18)."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Enter the volunteer's name."), field="name")
    if isinstance(birth_date, str):
        try:
            birth_date = date.fromisoformat(birth_date)
        except ValueError:
            raise DomainError(_("Enter a date as YYYY-MM-DD."), field="birth_date")
    if not isinstance(birth_date, date) or birth_date > timezone.localdate() or birth_date.year < 1900:
        raise DomainError(_("Enter a real birth date."), field="birth_date")
    region = Region.objects.filter(code=(region_code or "").strip()).first()
    if region is None:
        raise DomainError(_("Unknown region code."), field="region")
    if Volunteer.objects.filter(user=user).exists():
        raise StateConflict(_("This person is already registered as a volunteer."), field="user", code="already_registered")
    volunteer = Volunteer.objects.create(
        user=user, name=name[:64], birth_date=birth_date, region=region, skills=(skills or "")[:255], elder=elder, registered_by=actor
    )
    account_for_user(user)
    audit_record(actor=actor, action="timebank.volunteer_register", obj=volunteer, region=region)
    return volunteer


# Credits -------------------------------------------------------------------------------


@transaction.atomic
def hours_credit_for_service(*, volunteer, elder, order_ref: str, minutes: int, actor) -> HourEntry:
    """Credit a volunteer (a User) for an order's audited visit. Idempotent per `order_ref`."""
    order_ref = (order_ref or "").strip()
    if not order_ref or len(order_ref) > 64:
        raise DomainError(_("An order reference is required."), field="order_ref")
    minutes = _minutes(minutes)
    existing = HourEntry.objects.filter(source=HourSource.SERVICE, order_ref=order_ref).first()
    if existing is not None:
        return existing
    issuance = _system_account(HourAccountKind.ISSUANCE)
    target = account_for_user(volunteer)
    locked = lock_accounts(HourAccount, [issuance.pk, target.pk])
    try:
        with transaction.atomic():
            entry = post(
                entry_model=HourEntry,
                debit=locked[target.pk],
                credit=locked[issuance.pk],
                amount=minutes,
                source=HourSource.SERVICE,
                order_ref=order_ref,
                elder=elder,
                region_id=elder.residence_region_id,
                actor=_user(actor),
                reason=f"service {order_ref}",
            )
    except IntegrityError:
        # The same order was credited by a concurrent call: the unique constraint keeps it once.
        return HourEntry.objects.get(source=HourSource.SERVICE, order_ref=order_ref)
    audit_record(
        actor=actor, action="timebank.credit", obj=entry, detail={"order_ref": order_ref, "minutes": minutes, "volunteer": volunteer.pk}
    )
    return entry


@transaction.atomic
def claim_submit(*, volunteer: Volunteer, elder: Elder, served_on, minutes, description: str, actor) -> Claim:
    if isinstance(served_on, str):
        try:
            served_on = date.fromisoformat(served_on)
        except ValueError:
            raise DomainError(_("Enter a date as YYYY-MM-DD."), field="served_on")
    today = timezone.localdate()
    if not isinstance(served_on, date) or served_on > today or (today - served_on).days > 90:
        raise DomainError(_("Claim help given in the last 90 days."), field="served_on")
    minutes = _minutes(minutes, maximum=600)
    description = (description or "").strip()
    if not description:
        raise DomainError(_("Say what was done."), field="description")
    if volunteer.elder_id == elder.pk:
        raise DomainError(_("A volunteer cannot claim hours for helping themselves."), field="elder")
    claim = Claim.objects.create(volunteer=volunteer, elder=elder, served_on=served_on, minutes=minutes, description=description[:255])
    audit_record(actor=actor, action="timebank.claim_submit", obj=claim, region=elder.residence_region, detail={"minutes": minutes})
    return claim


def may_confirm(user, claim: Claim) -> bool:
    """The elder (own account or family) or a community worker / officer whose scope holds the elder; never the claimant."""
    from yiyang.people.queries import elder_for

    if user.pk == claim.volunteer.user_id:
        return False
    if (
        user.role not in (Role.ELDER, Role.FAMILY, Role.WORKER, Role.COUNTY_OFFICER, Role.CITY_OFFICER, Role.ADMIN)
        and not user.is_superuser
    ):
        return False
    return elder_for(user, claim.elder_id) is not None


@transaction.atomic
def claim_decide(*, claim: Claim, confirm: bool, actor, reason: str = "") -> Claim:
    claim = Claim.objects.select_for_update().select_related("volunteer").get(pk=claim.pk)
    new = ClaimStatus.CONFIRMED if confirm else ClaimStatus.REJECTED
    if new not in CLAIM_TRANSITIONS[claim.status]:
        raise StateConflict(_("This claim was already decided."), field="status")
    if not may_confirm(actor, claim):
        raise DomainError(
            _("Only the elder, their family or the community worker can confirm this claim."), field="claim", status=403, code="forbidden"
        )
    if not confirm and not (reason or "").strip():
        raise DomainError(_("Say why the claim is rejected."), field="reason")
    old = claim.status
    claim.status = new
    claim.save(update_fields=["status", "updated_at"])
    ClaimTransition.objects.create(claim=claim, from_status=old, to_status=new, actor=actor, reason=(reason or "")[:255])
    if confirm:
        issuance = _system_account(HourAccountKind.ISSUANCE)
        target = account_for_user(claim.volunteer.user)
        locked = lock_accounts(HourAccount, [issuance.pk, target.pk])
        elder = claim.elder
        post(
            entry_model=HourEntry,
            debit=locked[target.pk],
            credit=locked[issuance.pk],
            amount=claim.minutes,
            source=HourSource.CLAIM,
            claim=claim,
            elder=elder,
            region_id=elder.residence_region_id,
            actor=actor,
            reason=claim.description,
        )
    audit_record(actor=actor, action="timebank.claim_decide", obj=claim, detail={"to": new, "reason": reason})
    return claim


# Transfers and redemptions ---------------------------------------------------------------


@transaction.atomic
def hours_transfer(*, from_user, to_elder: Elder, minutes, actor, note: str = "") -> HourEntry:
    """Move hours from a person's account to a family member in the registry (e.g. a parent in another township)."""
    minutes = _minutes(minutes, maximum=1_000_000)
    if not ElderLink.objects.filter(user=from_user, elder=to_elder).exists():
        raise DomainError(_("Hours can only be given to a family member linked to your account."), field="elder")
    source = account_for_user(from_user)
    target = account_for_elder(to_elder)
    locked = lock_accounts(HourAccount, [source.pk, target.pk])
    entry = post(
        entry_model=HourEntry,
        debit=locked[target.pk],
        credit=locked[source.pk],
        amount=minutes,
        source=HourSource.TRANSFER,
        elder=to_elder,
        actor=actor,
        reason=(note or "").strip()[:255] or f"transfer to {to_elder.name}",
    )
    audit_record(actor=actor, action="timebank.transfer", obj=entry, detail={"minutes": minutes, "to_elder": to_elder.pk})
    return entry


@transaction.atomic
def hours_redeem(*, account: HourAccount, minutes, service: str, actor, elder: Elder | None = None) -> HourEntry:
    """Spend stored hours on a service for the holder (or, for an elder's account, that elder)."""
    minutes = _minutes(minutes, maximum=1_000_000)
    service = (service or "").strip()
    if not service:
        raise DomainError(_("Name the service the hours pay for."), field="service")
    if account.kind != HourAccountKind.PERSON:
        raise DomainError(_("Only a personal account can redeem."), field="account")
    sink = _system_account(HourAccountKind.REDEEMED)
    locked = lock_accounts(HourAccount, [account.pk, sink.pk])
    beneficiary = elder or (Elder.objects.filter(pk=account.elder_id).first() if account.elder_id else None)
    entry = post(
        entry_model=HourEntry,
        debit=locked[sink.pk],
        credit=locked[account.pk],
        amount=minutes,
        source=HourSource.REDEMPTION,
        elder=beneficiary,
        region_id=beneficiary.residence_region_id if beneficiary else None,
        actor=actor,
        reason=service[:255],
    )
    audit_record(actor=actor, action="timebank.redeem", obj=entry, detail={"minutes": minutes, "service": service})
    return entry


@transaction.atomic
def hours_correct(*, entry: HourEntry, reason: str, actor) -> HourEntry:
    """An officer's correction: a reversing entry with a reason. Entries are never edited."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the correction."), field="reason")
    entry = HourEntry.objects.get(pk=entry.pk)
    if entry.source == HourSource.CORRECTION:
        raise StateConflict(_("A correction is not corrected again; post a new entry instead."), field="entry")
    if HourEntry.objects.filter(reverses=entry).exists():
        raise StateConflict(_("This entry was already reversed."), field="entry", code="already_reversed")
    locked = lock_accounts(HourAccount, [entry.debit_id, entry.credit_id])
    try:
        with transaction.atomic():
            reversal = post(
                entry_model=HourEntry,
                debit=locked[entry.credit_id],
                credit=locked[entry.debit_id],
                amount=entry.amount,
                source=HourSource.CORRECTION,
                reverses=entry,
                elder_id=entry.elder_id,
                region_id=entry.region_id,
                actor=actor,
                reason=reason[:255],
            )
    except IntegrityError:
        raise StateConflict(_("This entry was already reversed."), field="entry", code="already_reversed")
    audit_record(actor=actor, action="timebank.correct", obj=reversal, detail={"reverses": entry.pk, "reason": reason})
    return reversal
