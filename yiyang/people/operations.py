"""Writes to the elder registry. Pages, API, imports and commands all call these functions.

Each runs in one transaction, locks the rows it changes, re-checks state, and writes its audit
row. Audit details never contain a clear ID number or phone: only masked forms or field names.
"""

from dataclasses import dataclass, field
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from yiyang.accounts.roles import OFFICERS, can
from yiyang.accounts.scope import scope_of
from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.core.text import free_text
from yiyang.people import crypto
from yiyang.people.idnumber import IdInfo, normalise_phone, parse_id_number
from yiyang.people.models import (
    ID_FIELD,
    MIN_AGE,
    STATUS_TRANSITIONS,
    TRANSFER_TRANSITIONS,
    Category,
    ConsentKind,
    Elder,
    ElderCategory,
    ElderConsent,
    ElderContact,
    ElderLink,
    ElderStatus,
    ElderStatusChange,
    ElderTransfer,
    LivingArrangement,
    TransferStatus,
    age_on,
)
from yiyang.regions.models import Level, Region


class DuplicateElder(StateConflict):
    """The ID number is registered already. Says where only to someone who may see that file."""


def _require(actor, capability: str) -> None:
    if not can(actor, capability):
        raise DomainError(_("Your role may not do this."), code="forbidden", status=403)


def region_in_scope(actor, region: Region) -> bool:
    scope = scope_of(actor)
    return scope.everything or any(region.path.startswith(p) for p in scope.region_paths)


def _check_home_region(actor, region: Region | None, *, field_name: str, in_scope: bool = True) -> Region:
    if region is None:
        raise DomainError(_("Choose a township or village."), field=field_name, code="required")
    if region.level not in (Level.TOWNSHIP, Level.VILLAGE):
        raise DomainError(_("Choose a township or village, not a whole county."), field=field_name, code="region_level")
    if in_scope and not region_in_scope(actor, region):
        raise DomainError(_("This region is outside your area."), field=field_name, code="region_scope")
    return region


def _check_coordinates(lng: float | None, lat: float | None) -> None:
    if (lng is None) != (lat is None):
        raise DomainError(_("Give both longitude and latitude, or neither."), field="lat" if lat is None else "lng")
    if lng is not None and not (-180 <= lng <= 180):
        raise DomainError(_("Longitude must be between -180 and 180 (WGS-84)."), field="lng")
    if lat is not None and not (-90 <= lat <= 90):
        raise DomainError(_("Latitude must be between -90 and 90 (WGS-84)."), field="lat")


def clean_text(value: str | None, *, field_name: str, max_length: int) -> str:
    """Stripped text without control characters (PostgreSQL refuses NUL; nobody types a tab in an address)."""
    return free_text(value, field=field_name, max_length=max_length, single_line=True)


def _check_name(name: str) -> str:
    name = clean_text(name, field_name="name", max_length=64)
    if not name:
        raise DomainError(_("Enter the name."), field="name", code="required")
    return name


def _city_path(region: Region) -> str:
    # Paths run province/city/county/township/: the first two codes name the city.
    return "/".join(region.path.split("/")[:2]) + "/"


def county_of(region: Region) -> Region | None:
    codes = region.path.strip("/").split("/")
    return Region.objects.filter(code__in=codes, level=Level.COUNTY).first()


def _duplicate(actor, existing: Elder) -> DuplicateElder:
    from yiyang.people.queries import elder_for

    if elder_for(actor, existing.pk) is not None:
        return DuplicateElder(
            _("This ID number is already registered: open the existing file."),
            field="id_number",
            code="duplicate_visible",
            extra={"existing_id": existing.pk, "existing_url": reverse("people:elder_detail", args=[existing.pk])},
        )
    county = county_of(existing.residence_region)
    office = _("the civil-affairs office of %(county)s") % {"county": county.name} if county else _("the city civil-affairs office")
    return DuplicateElder(
        _("This person is already registered elsewhere. Please ask %(office)s.") % {"office": office},
        field="id_number",
        code="duplicate_elsewhere",
        extra={"ask": office},
    )


def check_identity(*, id_number: str, gender: str | None = None, birth_date: date | None = None, today: date | None = None) -> IdInfo:
    info = parse_id_number(id_number, today=today)
    if gender and gender != info.gender:
        raise DomainError(_("The gender does not match the ID number."), field="gender", code="id_mismatch")
    if birth_date and birth_date != info.birth_date:
        raise DomainError(_("The birth date does not match the ID number."), field="birth_date", code="id_mismatch")
    return info


def check_age(actor, info: IdInfo, age_exception_reason: str, *, today: date | None = None) -> str:
    """60+ on registration, unless an officer records the reason for an allowed exception."""
    reason = (age_exception_reason or "").strip()
    if age_on(info.birth_date, today or timezone.localdate()) >= MIN_AGE:
        return ""
    if actor.role not in OFFICERS and not actor.is_superuser:
        raise DomainError(
            _("This person is under 60. Only a civil-affairs officer may register an exception, with its reason."),
            field="id_number",
            code="under_age",
        )
    if len(reason) < 4:
        raise DomainError(_("State why this person under 60 is registered."), field="age_exception_reason", code="required")
    return reason


@dataclass
class ElderInput:
    name: str
    id_number: str
    residence_region: Region | None
    hukou_region: Region | None = None
    gender: str | None = None
    birth_date: date | None = None
    phone: str = ""
    address: str = ""
    living_arrangement: str = LivingArrangement.WITH_FAMILY
    lng: float | None = None
    lat: float | None = None
    categories: list[str] = field(default_factory=list)
    age_exception_reason: str = ""


def validate_elder_input(actor, data: ElderInput) -> tuple[IdInfo, str, str]:
    """All checks that need no lock; returns the parsed ID, the normalised phone and the age-exception reason."""
    _check_name(data.name)
    info = check_identity(id_number=data.id_number, gender=data.gender, birth_date=data.birth_date)
    reason = check_age(actor, info, data.age_exception_reason)
    _check_home_region(actor, data.residence_region, field_name="residence_region")
    if data.hukou_region is not None and data.hukou_region.level not in (Level.TOWNSHIP, Level.VILLAGE, Level.COUNTY):
        raise DomainError(_("Choose the township of the hukou."), field="hukou_region", code="region_level")
    phone = normalise_phone(data.phone) if data.phone.strip() else ""
    if data.living_arrangement not in LivingArrangement.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(LivingArrangement.values)}, field="living_arrangement")
    unknown = [c for c in data.categories if c not in Category.values]
    if unknown:
        raise DomainError(_("Unknown category: %(c)s.") % {"c": ", ".join(unknown)}, field="categories")
    _check_coordinates(data.lng, data.lat)
    data.address = clean_text(data.address, field_name="address", max_length=255)
    reason = clean_text(reason, field_name="age_exception_reason", max_length=255)
    return info, phone, reason


@sensitive_variables("data", "info", "phone")
def elder_register(*, data: ElderInput, actor, source: str = "form") -> Elder:
    _require(actor, "elder.register")
    info, phone, reason = validate_elder_input(actor, data)
    bidx = crypto.blind_index(info.number, field=ID_FIELD)
    with transaction.atomic():
        existing = Elder.objects.select_related("residence_region").filter(id_number_bidx=bidx).first()
        if existing is not None:
            raise _duplicate(actor, existing)
        elder = Elder(
            name=data.name.strip(),
            gender=info.gender,
            birth_date=info.birth_date,
            residence_region=data.residence_region,
            hukou_region=data.hukou_region or data.residence_region,
            address=data.address.strip(),
            living_arrangement=data.living_arrangement,
            lng=data.lng,
            lat=data.lat,
            age_exception_reason=reason,
            age_exception_by=actor if reason else None,
        )
        elder.set_id_number(info.number)
        elder.set_phone(phone)
        try:
            with transaction.atomic():
                elder.save()
        except IntegrityError:
            # Backstop for a concurrent registration of the same number between the check and the insert.
            existing = Elder.objects.select_related("residence_region").get(id_number_bidx=bidx)
            raise _duplicate(actor, existing)
        today = timezone.localdate()
        ElderCategory.objects.bulk_create(
            [ElderCategory(elder=elder, category=c, since=today, source=source) for c in dict.fromkeys(data.categories)]
        )
        audit_record(
            actor=actor,
            action="elder.register",
            obj=elder,
            region=elder.residence_region,
            detail={"source": source, "id_number": crypto.mask_id_number(info.number), "age_exception": bool(reason)},
        )
    return elder


UPDATABLE = {"name", "phone", "hukou_region", "living_arrangement", "address", "lng", "lat", "residence_region"}


def elder_update(*, elder: Elder, actor, changes: dict, reason: str = "") -> Elder:
    """Correct or update a file. The residence may move within the actor's area; another county needs a transfer."""
    _require(actor, "elder.update")
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise DomainError(_("This field cannot be changed here."), field=sorted(unknown)[0], code="not_updatable")
    with transaction.atomic():
        elder = Elder.objects.select_for_update().select_related("residence_region").get(pk=elder.pk)
        if elder.status != ElderStatus.ACTIVE:
            raise StateConflict(_("An archived file cannot be changed; restore it first."), field="status")
        changed: dict[str, object] = {}
        if "name" in changes:
            elder.name = _check_name(changes["name"])
            changed["name"] = "name"
        if "phone" in changes:
            phone = normalise_phone(changes["phone"]) if (changes["phone"] or "").strip() else ""
            elder.set_phone(phone)
            changed["phone"] = crypto.mask_phone(phone)
        if "living_arrangement" in changes:
            if changes["living_arrangement"] not in LivingArrangement.values:
                raise DomainError(
                    _("Choose one of: %(choices)s.") % {"choices": ", ".join(LivingArrangement.values)}, field="living_arrangement"
                )
            elder.living_arrangement = changes["living_arrangement"]
            changed["living_arrangement"] = elder.living_arrangement
        if "hukou_region" in changes:
            elder.hukou_region = changes["hukou_region"]
            changed["hukou_region"] = elder.hukou_region.code if elder.hukou_region else None
        if "residence_region" in changes:
            new = _check_home_region(actor, changes["residence_region"], field_name="residence_region")
            old_county, new_county = county_of(elder.residence_region), county_of(new)
            if old_county != new_county:
                raise DomainError(_("A move to another county is a transfer."), field="residence_region", code="needs_transfer")
            changed["residence_region"] = {"from": elder.residence_region.code, "to": new.code}
            elder.residence_region = new
        if "address" in changes:
            address = clean_text(changes["address"], field_name="address", max_length=255)
            changed["address"] = {"from": elder.address, "to": address}
            elder.address = address
        if "lng" in changes or "lat" in changes:
            lng, lat = changes.get("lng", elder.lng), changes.get("lat", elder.lat)
            _check_coordinates(lng, lat)
            elder.lng, elder.lat = lng, lat
            changed["coordinates"] = True
        fields = {
            "name": ["name"],
            "phone": ["phone_enc", "phone_bidx"],
            "living_arrangement": ["living_arrangement"],
            "hukou_region": ["hukou_region"],
            "residence_region": ["residence_region"],
            "address": ["address"],
            "coordinates": ["lng", "lat"],
        }
        update_fields = [f for key in changed for f in fields[key]]
        if update_fields:
            elder.save(update_fields=[*update_fields, "updated_at"])
            audit_record(
                actor=actor, action="elder.update", obj=elder, region=elder.residence_region, purpose=reason, detail={"changes": changed}
            )
    return elder


def elder_change_status(*, elder: Elder, actor, to_status: str, effective_date: date, reason: str) -> Elder:
    """Archive (death, move away) or restore a file. Never deletes; one transition row per change."""
    _require(actor, "elder.archive")
    reason = clean_text(reason, field_name="reason", max_length=255)
    if len(reason) < 2:
        raise DomainError(_("State the reason."), field="reason", code="required")
    if effective_date is None:
        raise DomainError(_("Enter the date."), field="effective_date", code="required")
    if effective_date > timezone.localdate():
        raise DomainError(_("The date cannot be in the future."), field="effective_date")
    if to_status not in ElderStatus.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(ElderStatus.values)}, field="to_status")
    if to_status == ElderStatus.ACTIVE and actor.role not in OFFICERS and not actor.is_superuser:
        raise DomainError(_("Only a civil-affairs officer may restore an archived file."), code="forbidden", status=403)
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        if to_status not in STATUS_TRANSITIONS.get(elder.status, set()):
            raise StateConflict(
                _("A file that is %(old)s cannot become %(new)s.")
                % {"old": elder.get_status_display(), "new": ElderStatus(to_status).label},
                field="to_status",
            )
        if elder.transfers.filter(status=TransferStatus.PENDING).exists():
            raise StateConflict(_("This file has a pending transfer; settle it first."), field="to_status")
        ElderStatusChange.objects.create(
            elder=elder, from_status=elder.status, to_status=to_status, effective_date=effective_date, reason=reason, actor=actor
        )
        old = elder.status
        elder.status, elder.status_date, elder.status_reason = to_status, effective_date, reason
        elder.save(update_fields=["status", "status_date", "status_reason", "updated_at"])
        audit_record(
            actor=actor,
            action="elder.status",
            obj=elder,
            region=elder.residence_region,
            purpose=reason,
            detail={"from": old, "to": to_status, "effective_date": effective_date.isoformat()},
        )
    return elder


# Categories, contacts, consents ----------------------------------------------


def elder_set_categories(*, elder: Elder, actor, categories: list[str], since: date | None = None, source: str = "form") -> Elder:
    """Make the open categories exactly `categories`: new ones open today, dropped ones end today."""
    _require(actor, "elder.update")
    unknown = [c for c in categories if c not in Category.values]
    if unknown:
        raise DomainError(_("Unknown category: %(c)s.") % {"c": ", ".join(unknown)}, field="categories")
    today = timezone.localdate()
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        open_rows = {c.category: c for c in ElderCategory.objects.select_for_update().filter(elder=elder, ended__isnull=True)}
        wanted = set(categories)
        ended = [row for cat, row in open_rows.items() if cat not in wanted]
        for row in ended:
            row.ended = today
            row.save(update_fields=["ended", "updated_at"])
        added = [c for c in dict.fromkeys(categories) if c not in open_rows]
        ElderCategory.objects.bulk_create([ElderCategory(elder=elder, category=c, since=since or today, source=source) for c in added])
        if added or ended:
            audit_record(
                actor=actor,
                action="elder.categories",
                obj=elder,
                region=elder.residence_region,
                detail={"added": added, "ended": [r.category for r in ended], "source": source},
            )
    return elder


def open_categories(elder: Elder) -> set[str]:
    return set(elder.categories.filter(ended__isnull=True).values_list("category", flat=True))


def contact_add(
    *, elder: Elder, actor, name: str, relation: str, phone: str = "", is_guardian: bool = False, is_emergency: bool = True
) -> ElderContact:
    _require(actor, "elder.update")
    name = _check_name(name)
    if relation not in ElderContact.Relation.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(ElderContact.Relation.values)}, field="relation")
    normalised = normalise_phone(phone) if (phone or "").strip() else ""
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        contact = ElderContact(elder=elder, name=name[:64], relation=relation, is_guardian=is_guardian, is_emergency=is_emergency)
        contact.set_phone(normalised)
        contact.save()
        audit_record(
            actor=actor,
            action="elder.contact_add",
            obj=elder,
            region=elder.residence_region,
            detail={"contact": contact.pk, "guardian": is_guardian},
        )
    return contact


def _contact_locked(actor, contact: ElderContact) -> tuple[Elder, ElderContact]:
    """Lock the elder and the contact; 404 when the elder is outside the actor's scope."""
    from yiyang.people.queries import elders_visible_to

    if not elders_visible_to(actor).filter(pk=contact.elder_id).exists():
        raise DomainError(_("Not found."), code="not_found", status=404)
    elder = Elder.objects.select_for_update().select_related("residence_region").get(pk=contact.elder_id)
    contact = ElderContact.objects.select_for_update().filter(pk=contact.pk, elder=elder).first()
    if contact is None:
        raise DomainError(_("Not found."), code="not_found", status=404)
    if contact.ended_on is not None:
        raise StateConflict(_("This contact was removed already."), field="contact")
    return elder, contact


@sensitive_variables("phone", "normalised")
def contact_update(
    *,
    contact: ElderContact,
    actor,
    name: str | None = None,
    relation: str | None = None,
    phone: str | None = None,
    is_guardian: bool | None = None,
    is_emergency: bool | None = None,
) -> ElderContact:
    """Correct a guardian or contact. Only the fields given change; an empty phone removes the phone."""
    _require(actor, "elder.update")
    if name is not None:
        name = _check_name(name)
    if relation is not None and relation not in ElderContact.Relation.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(ElderContact.Relation.values)}, field="relation")
    normalised = None
    if phone is not None:
        normalised = normalise_phone(phone) if phone.strip() else ""
    with transaction.atomic():
        elder, contact = _contact_locked(actor, contact)
        if elder.status != ElderStatus.ACTIVE:
            raise StateConflict(_("An archived file cannot be changed; restore it first."), field="status")
        changed: dict[str, object] = {}
        update_fields: list[str] = []
        if name is not None and name != contact.name:
            contact.name = name
            changed["name"] = "name"
            update_fields.append("name")
        if relation is not None and relation != contact.relation:
            changed["relation"] = {"from": contact.relation, "to": relation}
            contact.relation = relation
            update_fields.append("relation")
        if normalised is not None and normalised != contact.reveal_phone():
            contact.set_phone(normalised)
            changed["phone"] = crypto.mask_phone(normalised)
            update_fields += ["phone_enc", "phone_bidx"]
        if is_guardian is not None and is_guardian != contact.is_guardian:
            contact.is_guardian = is_guardian
            changed["guardian"] = is_guardian
            update_fields.append("is_guardian")
        if is_emergency is not None and is_emergency != contact.is_emergency:
            contact.is_emergency = is_emergency
            changed["emergency"] = is_emergency
            update_fields.append("is_emergency")
        if update_fields:
            contact.save(update_fields=[*update_fields, "updated_at"])
            audit_record(
                actor=actor,
                action="elder.contact_update",
                obj=elder,
                region=elder.residence_region,
                detail={"contact": contact.pk, "changes": changed},
            )
    return contact


def contact_remove(*, contact: ElderContact, actor, reason: str) -> str:
    """Remove a contact. Returns "deleted", or "ended" when a consent names this contact as the guardian.

    A consent given by a guardian must keep saying who gave it, so such a contact is not deleted:
    it is marked ended (no longer a guardian to choose, no longer called in an emergency, phone erased).
    """
    _require(actor, "elder.update")
    reason = clean_text(reason, field_name="reason", max_length=255)
    if len(reason) < 2:
        raise DomainError(_("State the reason."), field="reason", code="required")
    with transaction.atomic():
        elder, contact = _contact_locked(actor, contact)
        named_in_consent = ElderConsent.objects.filter(guardian=contact).exists()
        detail = {"contact": contact.pk, "guardian": contact.is_guardian, "phone": contact.phone_masked}
        if named_in_consent:
            contact.ended_on = timezone.localdate()
            contact.is_emergency = False
            contact.set_phone("")
            contact.save(update_fields=["ended_on", "is_emergency", "phone_enc", "phone_bidx", "updated_at"])
            outcome = "ended"
        else:
            contact.delete()
            outcome = "deleted"
        audit_record(
            actor=actor,
            action="elder.contact_remove",
            obj=elder,
            region=elder.residence_region,
            purpose=reason,
            detail={**detail, "outcome": outcome},
        )
    return outcome


def consent_record(*, elder: Elder, actor, kind: str, granted: bool, given_on: date, guardian: ElderContact | None = None) -> ElderConsent:
    """A new dated decision. For an elder with dementia (失智) the guardian gives it, and must be named."""
    _require(actor, "elder.update")
    if kind not in ConsentKind.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(ConsentKind.values)}, field="kind")
    if given_on is None or given_on > timezone.localdate():
        raise DomainError(_("Enter the date it was given (not in the future)."), field="given_on")
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        if guardian is not None and (guardian.elder_id != elder.pk or not guardian.is_guardian or guardian.ended_on is not None):
            raise DomainError(_("Choose one of this elder's guardians."), field="guardian")
        if Category.DEMENTIA in open_categories(elder) and guardian is None:
            raise DomainError(_("For an elder with dementia, the guardian gives consent: choose the guardian."), field="guardian")
        consent = ElderConsent.objects.create(
            elder=elder,
            kind=kind,
            granted=granted,
            given_on=given_on,
            given_by=ElderConsent.GivenBy.GUARDIAN if guardian else ElderConsent.GivenBy.SELF,
            guardian=guardian,
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action="elder.consent",
            obj=elder,
            region=elder.residence_region,
            detail={"kind": kind, "granted": granted, "given_on": given_on.isoformat(), "by_guardian": guardian is not None},
        )
    return consent


def consents_in_force(elder: Elder) -> dict[str, ElderConsent]:
    current: dict[str, ElderConsent] = {}
    for consent in elder.consents.select_related("guardian").order_by("kind", "-given_on", "-pk"):
        current.setdefault(consent.kind, consent)
    return current


# Unmasking and exports: permission, purpose, access log --------------------------

UNMASKABLE = {"id_number", "phone", "contact_phone"}


@sensitive_variables()
def elder_unmask(*, elder: Elder, actor, field_name: str, purpose: str, contact: ElderContact | None = None) -> str:
    """Reveal one field of one elder to a permitted user who states why; the access log records it."""
    _require(actor, "elder.unmask")
    purpose = clean_text(purpose, field_name="purpose", max_length=255)
    if field_name not in UNMASKABLE:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(sorted(UNMASKABLE))}, field="field")
    if len(purpose) < 4:
        raise DomainError(_("State the purpose (at least 4 characters)."), field="purpose", code="required")
    if field_name == "contact_phone" and (contact is None or contact.elder_id != elder.pk):
        raise DomainError(_("Choose one of this elder's contacts."), field="contact")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="elder.unmask",
            obj=elder,
            region=elder.residence_region,
            purpose=purpose[:255],
            detail={"field": field_name, **({"contact": contact.pk} if contact else {})},
        )
    if field_name == "id_number":
        return elder.reveal_id_number()
    if field_name == "phone":
        return elder.reveal_phone()
    return contact.reveal_phone()


@sensitive_variables()
def contact_phone_for_dialling(*, elder: Elder, contact: ElderContact, actor, purpose: str) -> str:
    """Give an elder (or a family member linked to them) a family contact's number to dial.

    The elder's own account needs no unmask permission for their own family, but every reveal in
    clear is still logged, so the access log shows who saw which number and why."""
    if contact.elder_id != elder.pk or not contact.phone_enc:
        raise DomainError(_("Choose one of this elder's contacts."), field="contact")
    if not ElderLink.objects.filter(user=actor, elder=elder).exists():
        raise DomainError(_("Your role may not do this."), code="forbidden", status=403)
    audit_record(
        actor=actor,
        action="elder.contact_dial",
        obj=elder,
        region=elder.residence_region,
        purpose=purpose[:255],
        detail={"field": "contact_phone", "contact": contact.pk},
    )
    return contact.reveal_phone()


def export_record(*, actor, count: int, filters: dict, purpose: str, region: Region | None = None, fmt: str = "csv") -> None:
    _require(actor, "elder.export")
    purpose = clean_text(purpose, field_name="purpose", max_length=255)
    if len(purpose) < 4:
        raise DomainError(_("State the purpose (at least 4 characters)."), field="purpose", code="required")
    audit_record(
        actor=actor,
        action="elder.export",
        object_type="people.elder",
        region=region,
        purpose=purpose[:255],
        detail={"count": count, "filters": filters, "format": fmt},
    )


# Transfers between counties --------------------------------------------------------


def transfer_initiate(*, elder: Elder, actor, to_region: Region, reason: str, new_address: str = "") -> ElderTransfer:
    """The sending county (which can see the elder) asks the receiving county to take over the file."""
    _require(actor, "elder.transfer")
    reason = clean_text(reason, field_name="reason", max_length=255)
    new_address = clean_text(new_address, field_name="new_address", max_length=255)
    if len(reason) < 2:
        raise DomainError(_("State the reason."), field="reason", code="required")
    _check_home_region(actor, to_region, field_name="to_region", in_scope=False)
    with transaction.atomic():
        elder = Elder.objects.select_for_update().select_related("residence_region").get(pk=elder.pk)
        if _city_path(to_region) != _city_path(elder.residence_region):
            raise DomainError(_("Choose a township in this city."), field="to_region")
        if elder.status != ElderStatus.ACTIVE:
            raise StateConflict(_("Only an active file can be transferred."), field="status")
        if county_of(elder.residence_region) == county_of(to_region):
            raise DomainError(_("Within the same county, change the residence instead."), field="to_region", code="same_county")
        if elder.transfers.filter(status=TransferStatus.PENDING).exists():
            raise StateConflict(_("This file already has a pending transfer."), field="elder")
        transfer = ElderTransfer.objects.create(
            elder=elder,
            from_region=elder.residence_region,
            to_region=to_region,
            reason=reason[:255],
            new_address=(new_address or "").strip()[:255],
            initiated_by=actor,
        )
        audit_record(
            actor=actor,
            action="elder.transfer_initiate",
            obj=elder,
            region=elder.residence_region,
            purpose=reason,
            detail={"transfer": transfer.pk, "to": to_region.code},
        )
    return transfer


def transfer_decide(*, transfer: ElderTransfer, actor, to_status: str, note: str = "") -> ElderTransfer:
    """Accept or reject (receiving county) or cancel (sending county). Accepting moves the residence."""
    _require(actor, "elder.transfer")
    with transaction.atomic():
        transfer = ElderTransfer.objects.select_for_update().select_related("from_region", "to_region").get(pk=transfer.pk)
        if to_status not in TRANSFER_TRANSITIONS.get(transfer.status, set()):
            raise StateConflict(_("This transfer is already %(s)s.") % {"s": transfer.get_status_display()}, field="status")
        side_ok = (
            region_in_scope(actor, transfer.from_region)
            if to_status == TransferStatus.CANCELLED
            else region_in_scope(actor, transfer.to_region)
        )
        if not side_ok:
            raise DomainError(
                _("Only the receiving county accepts or rejects; only the sending county cancels."), code="forbidden", status=403
            )
        elder = Elder.objects.select_for_update().get(pk=transfer.elder_id)
        transfer.status, transfer.decided_by, transfer.decided_at = to_status, actor, timezone.now()
        transfer.decision_note = clean_text(note, field_name="note", max_length=255)
        transfer.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "updated_at"])
        if to_status == TransferStatus.ACCEPTED:
            elder.residence_region = transfer.to_region
            update = ["residence_region", "updated_at"]
            if transfer.new_address:
                elder.address = transfer.new_address
                elder.lng = elder.lat = None
                update += ["address", "lng", "lat"]
            elder.save(update_fields=update)
        audit_record(
            actor=actor,
            action=f"elder.transfer_{to_status}",
            obj=elder,
            region=transfer.to_region if to_status == TransferStatus.ACCEPTED else transfer.from_region,
            purpose=transfer.decision_note,
            detail={"transfer": transfer.pk, "from": transfer.from_region.code, "to": transfer.to_region.code},
        )
    return transfer


# Key rotation ------------------------------------------------------------------------


def phones_reencrypt(rows: QuerySet, *, field: str, batch_size: int = 500) -> int:
    """Re-encrypt the `phone_enc` of `rows` under the current key version and cipher; returns how many.

    Batches of locked rows, resumable: rows already current are skipped by their token prefix. The
    blind index has its own key and does not change.
    """
    prefix = f"v{crypto.current_version()}:{crypto.current_cipher()}:"
    stale = rows.exclude(phone_enc="").exclude(phone_enc__startswith=prefix)
    count = 0
    while True:
        with transaction.atomic():
            batch = list(stale.select_for_update().order_by("pk")[:batch_size])
            for row in batch:
                row.phone_enc = crypto.reencrypt(row.phone_enc, field=field)
            rows.model.objects.bulk_update(batch, ["phone_enc"])
        count += len(batch)
        if len(batch) < batch_size:
            return count


def keys_rotate(*, batch_size: int = 500, actor=None) -> dict[str, int]:
    """Re-encrypt every stored ID number and phone under the current key version and cipher.

    Works in batches of locked rows, so it can run while the platform is in use and be resumed
    after an interruption: rows already current are skipped by their token prefix.
    """
    from yiyang.people.models import CONTACT_PHONE_FIELD, PHONE_FIELD

    prefix = f"v{crypto.current_version()}:{crypto.current_cipher()}:"
    counts = {"elders": 0, "contacts": 0}
    from django.db.models import Q

    stale_elders = Elder.objects.filter(
        (~Q(id_number_enc="") & ~Q(id_number_enc__startswith=prefix)) | (~Q(phone_enc="") & ~Q(phone_enc__startswith=prefix))
    )
    while True:
        with transaction.atomic():
            rows = list(stale_elders.select_for_update().order_by("pk")[:batch_size])
            changed = []
            for elder in rows:
                new_id = crypto.reencrypt(elder.id_number_enc, field=ID_FIELD)
                new_phone = crypto.reencrypt(elder.phone_enc, field=PHONE_FIELD)
                elder.id_number_enc, elder.phone_enc = new_id, new_phone
                changed.append(elder)
            Elder.objects.bulk_update(changed, ["id_number_enc", "phone_enc"])
        counts["elders"] += len(changed)
        if len(rows) < batch_size:
            break
    counts["contacts"] += phones_reencrypt(ElderContact.objects.all(), field=CONTACT_PHONE_FIELD, batch_size=batch_size)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="people.keys_rotate",
            object_type="people.elder",
            detail={**counts, "version": crypto.current_version(), "cipher": crypto.current_cipher()},
        )
    return counts


# Categories one at a time (reconciliation) ------------------------------------------------


def elder_category_change(*, elder: Elder, actor, category: str, start: bool, on: date, source: str) -> bool:
    """Open or end one category on a date. Returns False when it was already so (nothing changed)."""
    _require(actor, "elder.update")
    if category not in Category.values:
        raise DomainError(_("Unknown category: %(c)s.") % {"c": category}, field="category")
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        row = ElderCategory.objects.select_for_update().filter(elder=elder, category=category, ended__isnull=True).first()
        if start == (row is not None):
            return False
        if start:
            ElderCategory.objects.create(elder=elder, category=category, since=on, source=source)
        else:
            row.ended = on
            row.save(update_fields=["ended", "updated_at"])
        audit_record(
            actor=actor,
            action="elder.categories",
            obj=elder,
            region=elder.residence_region,
            detail={"added" if start else "ended": [category], "on": on.isoformat(), "source": source},
        )
    return True


# Reconciliation with other departments' files -------------------------------------------------

ALLOWANCE_WORDS = {
    "低保": Category.DIBAO,
    "低边": Category.DIBIAN,
    "低保边缘": Category.DIBIAN,
    "特困": Category.TEKUN,
    "特困人员": Category.TEKUN,
}
START_WORDS = {"新增", "享受", "在保", "纳入", "start"}
END_WORDS = {"停保", "退出", "终止", "取消", "end"}


def reconciliation_propose(*, job, row: int, values: dict) -> str:
    """Turn one row of another department's file into a proposal for review. Returns "proposed" or "unchanged"."""
    from yiyang.people.imports import _existing, _text, cell_date, cell_id_number, cell_region
    from yiyang.people.models import ImportKind, ReconciliationItem, ReconciliationStatus
    from yiyang.people.queries import elder_for

    actor = job.created_by
    number = parse_id_number(cell_id_number(values.get("id_number"))).number
    existing = _existing(number)
    elder = elder_for(actor, existing.pk) if existing else None
    if elder is None:
        raise DomainError(_("No elder with this ID number is registered in your area."), field="id_number", code="not_found")
    on = cell_date(values.get("date"), "date") or timezone.localdate()
    if on > timezone.localdate():
        raise DomainError(_("The date cannot be in the future."), field="date")
    if job.kind == ImportKind.DEATHS:
        if elder.status == ElderStatus.DECEASED:
            return "unchanged"
        proposal = {"status": ElderStatus.DECEASED, "date": on.isoformat()}
    elif job.kind == ImportKind.HUKOU_MOVES:
        region = cell_region(values.get("to_region"), "to_region")
        if region is None:
            raise DomainError(_("Enter the township."), field="to_region", code="required")
        if elder.hukou_region_id == region.pk:
            return "unchanged"
        proposal = {"hukou_region": region.code, "hukou_region_name": region.name, "date": on.isoformat()}
    else:
        category = ALLOWANCE_WORDS.get(_text(values.get("allowance")))
        if category is None:
            raise DomainError(_("Write 低保, 低边 or 特困."), field="allowance")
        word = _text(values.get("allowance_status"))
        if word not in START_WORDS | END_WORDS:
            raise DomainError(_("Write 新增/在保 or 停保/退出."), field="allowance_status")
        start = word in START_WORDS
        if (category in open_categories(elder)) == start:
            return "unchanged"
        proposal = {"category": category, "action": "start" if start else "end", "date": on.isoformat()}
    with transaction.atomic():
        if ReconciliationItem.objects.filter(elder=elder, kind=job.kind, proposal=proposal, status=ReconciliationStatus.PENDING).exists():
            return "unchanged"
        ReconciliationItem.objects.create(job=job, elder=elder, kind=job.kind, row=row, proposal=proposal)
    return "proposed"


def reconciliation_decide(*, item, actor, confirm: bool, note: str = ""):
    """An officer confirms (the change is applied through the usual operation) or rejects one proposal."""
    from yiyang.people.models import ImportKind, ReconciliationItem, ReconciliationStatus
    from yiyang.people.queries import elder_for

    _require(actor, "elder.import")
    note = clean_text(note, field_name="note", max_length=255)
    if elder_for(actor, item.elder_id) is None:
        raise DomainError(_("Not found."), code="not_found", status=404)
    with transaction.atomic():
        item = ReconciliationItem.objects.select_for_update().get(pk=item.pk)
        if item.status != ReconciliationStatus.PENDING:
            raise StateConflict(_("This proposal was already decided."), field="status")
        elder = item.elder
        source = f"reconciliation:{item.job_id}"
        if confirm:
            on = date.fromisoformat(item.proposal["date"])
            reason = note or _("Confirmed from %(kind)s file, row %(row)s") % {"kind": item.get_kind_display(), "row": item.row}
            if item.kind == ImportKind.DEATHS:
                elder_change_status(elder=elder, actor=actor, to_status=ElderStatus.DECEASED, effective_date=on, reason=reason)
            elif item.kind == ImportKind.HUKOU_MOVES:
                region = Region.objects.get(code=item.proposal["hukou_region"])
                elder_update(elder=elder, actor=actor, changes={"hukou_region": region}, reason=reason)
            else:
                elder_category_change(
                    elder=elder,
                    actor=actor,
                    category=item.proposal["category"],
                    start=item.proposal["action"] == "start",
                    on=on,
                    source=source,
                )
        item.status = ReconciliationStatus.CONFIRMED if confirm else ReconciliationStatus.REJECTED
        item.decided_by, item.decided_at, item.note = actor, timezone.now(), note
        item.save(update_fields=["status", "decided_by", "decided_at", "note", "updated_at"])
        audit_record(
            actor=actor,
            action="elder.reconciliation_" + ("confirm" if confirm else "reject"),
            obj=elder,
            region=elder.residence_region,
            purpose=note,
            detail={"item": item.pk, "kind": item.kind, "proposal": item.proposal},
        )
    return item
