"""Writes that manage the supply side of home care: providers, their offerings, caregivers and
certificates, the catalogue, and the life of a recurring order (pause, resume, end).

Same rules as operations.py: keyword-only arguments and the acting user; validation first, naming
the field, so bad input changes nothing; then transaction.atomic() -> select_for_update() of the
row -> save(update_fields=...) -> audit row. Scope (which provider, which region) is checked by
the callers through the query layer (404); what an actor may *change* inside an object they may
see (the townships of their own area) is a rule and is checked here.
"""

import re
from datetime import date, time, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from yiyang.accounts.scope import scope_of
from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.core.text import free_text, has_control_characters
from yiyang.homecare.models import (
    Caregiver,
    Certificate,
    Order,
    OrderStatus,
    Provider,
    ProviderOffering,
    Qualification,
    Recurrence,
    ServiceCategory,
    ServiceItem,
)
from yiyang.people import crypto
from yiyang.people.idnumber import normalise_phone
from yiyang.regions.models import Level, Region

# A price above this is a typing error (¥10,000 for one visit), not a price.
MAX_PRICE_FEN = 1_000_000
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")
CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
# Mainland China, generously: a home base outside it is a swapped or mistyped coordinate.
CHINA_LAT = (18.0, 54.0)
CHINA_LNG = (73.0, 136.0)
EXPIRING_DAYS = 30


def _text(value, *, field: str, max_length: int, missing: str = "") -> str:
    """Single-line text; `missing`, a whole sentence, makes the field required and is the error when it is empty."""
    value = free_text(value, field=field, max_length=max_length, single_line=True)
    if missing and not value:
        raise DomainError(missing, field=field, code="required")
    return value


def _phone(value, *, field: str = "phone") -> str:
    value = _text(value, field=field, max_length=32)
    if value and not PHONE_RE.match(value):
        raise DomainError(_("Enter a phone number of digits (a leading + and dashes are allowed)."), field=field, code="phone")
    return value


def _price(value, *, field: str = "price_fen") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(_("The price must be a whole number of fen."), field=field, code="price")
    if value < 0:
        raise DomainError(_("The price cannot be negative."), field=field, code="price_negative")
    if value > MAX_PRICE_FEN:
        raise DomainError(_("The price may be at most ¥%(max)s.") % {"max": MAX_PRICE_FEN // 100}, field=field, code="price_too_high")
    return value


# Providers ----------------------------------------------------------------------------------------


def township_area_of(actor, provider: Provider) -> list[str] | None:
    """Region paths under which `actor` may add or remove a provider's townships; None means anywhere.

    Officers: their own regions. A provider's dispatcher: the county the provider is registered in.
    """
    scope = scope_of(actor)
    if scope.everything:
        return None
    if scope.provider_id and scope.provider_id == provider.pk:
        region = provider.region
        while region.level not in (Level.COUNTY, Level.CITY, Level.PROVINCE) and region.parent_id:
            region = region.parent
        return [region.path]
    return list(scope.region_paths)


def _inside(path: str, area: list[str] | None) -> bool:
    return area is None or any(path.startswith(p) for p in area)


def provider_update(
    *,
    provider: Provider,
    actor,
    name: str,
    licence_no: str = "",
    phone: str = "",
    service_regions: list[Region] | None = None,
    is_active: bool | None = None,
) -> Provider:
    """Edit a provider: name, licence, phone, the townships it serves (within the actor's area), active flag.

    Townships outside the actor's area are kept as they are; naming one is refused. A township that
    an offering is limited to cannot be dropped while the offering names it.
    """
    name = _text(name, field="name", max_length=128, missing=_("Enter the provider's name."))
    licence_no = _text(licence_no, field="licence_no", max_length=64)
    phone = _phone(phone)
    area = township_area_of(actor, provider)
    scope = scope_of(actor)
    own_staff = not scope.everything and scope.provider_id == provider.pk
    with transaction.atomic():
        provider = Provider.objects.select_for_update(of=("self",)).select_related("region__parent").get(pk=provider.pk)
        if own_staff and is_active is not None and is_active != provider.is_active:
            # Whether a provider takes orders at all is the licensing authority's decision, not its own.
            raise DomainError(
                _("Only a civil-affairs officer can activate or deactivate a provider."), field="is_active", code="officers_only"
            )
        before = {"name": provider.name, "licence_no": provider.licence_no, "phone": provider.phone, "is_active": provider.is_active}
        current = list(provider.service_regions.all())
        changes: dict = {}
        if service_regions is not None:
            for region in service_regions:
                if region.level != Level.TOWNSHIP:
                    raise DomainError(
                        _("%(region)s is not a township or street.") % {"region": region.name}, field="service_regions", code="not_township"
                    )
                if not _inside(region.path, area):
                    raise DomainError(
                        _("%(region)s lies outside your area.") % {"region": region.name}, field="service_regions", code="outside_area"
                    )
            kept = [r for r in current if not _inside(r.path, area)]
            wanted = {r.pk: r for r in [*kept, *service_regions]}
            if not wanted and (provider.is_active if is_active is None else is_active):
                raise DomainError(_("An active provider serves at least one township."), field="service_regions", code="no_townships")
            dropped = {r.pk for r in current} - set(wanted)
            if dropped:
                pinned = (
                    ProviderOffering.regions.through.objects.filter(provideroffering__provider=provider, region_id__in=dropped)
                    .values_list("provideroffering__item__name", "region__name")
                    .first()
                )
                if pinned:
                    raise DomainError(
                        _("The offering “%(item)s” is limited to %(region)s: change the offering first.")
                        % {"item": pinned[0], "region": pinned[1]},
                        field="service_regions",
                        code="township_in_use",
                    )
            if set(wanted) != {r.pk for r in current}:
                provider.service_regions.set(list(wanted.values()))
                changes["service_regions"] = sorted(r.code for r in wanted.values())
        provider.name, provider.licence_no, provider.phone = name, licence_no, phone
        if is_active is not None:
            provider.is_active = is_active
        after = {"name": provider.name, "licence_no": provider.licence_no, "phone": provider.phone, "is_active": provider.is_active}
        changes.update({k: v for k, v in after.items() if before[k] != v})
        provider.save(update_fields=["name", "licence_no", "phone", "is_active", "updated_at"])
        audit_record(actor=actor, action="provider.update", obj=provider, region=provider.region, detail={"changes": changes})
    return provider


def provider_create(
    *,
    actor,
    name: str,
    region: Region,
    service_regions: list[Region],
    licence_no: str = "",
    phone: str = "",
) -> Provider:
    """An officer registers a provider in a county of their area, with the townships it serves (in their area too)."""
    name = _text(name, field="name", max_length=128, missing=_("Enter the provider's name."))
    licence_no = _text(licence_no, field="licence_no", max_length=64)
    phone = _phone(phone)
    scope = scope_of(actor)
    area = None if scope.everything else list(scope.region_paths)
    if region is None or region.level != Level.COUNTY:
        raise DomainError(_("Choose the county the provider is registered in."), field="region", code="not_county")
    if not _inside(region.path, area):
        raise DomainError(_("%(region)s lies outside your area.") % {"region": region.name}, field="region", code="outside_area")
    if not service_regions:
        raise DomainError(_("An active provider serves at least one township."), field="service_regions", code="no_townships")
    for township in service_regions:
        if township.level != Level.TOWNSHIP:
            raise DomainError(
                _("%(region)s is not a township or street.") % {"region": township.name}, field="service_regions", code="not_township"
            )
        if not _inside(township.path, area):
            raise DomainError(
                _("%(region)s lies outside your area.") % {"region": township.name}, field="service_regions", code="outside_area"
            )
    with transaction.atomic():
        # Two officers registering the same organisation at once: the county row serialises them.
        Region.objects.select_for_update().filter(pk=region.pk).first()
        if Provider.objects.filter(region=region, name=name).exists():
            raise DomainError(
                _("%(name)s is already registered in %(region)s.") % {"name": name, "region": region.name}, field="name", code="duplicate"
            )
        provider = Provider.objects.create(name=name, region=region, licence_no=licence_no, phone=phone)
        provider.service_regions.set(service_regions)
        audit_record(
            actor=actor,
            action="provider.create",
            obj=provider,
            region=region,
            detail={"name": name, "licence_no": licence_no, "service_regions": sorted(r.code for r in service_regions)},
        )
    return provider


def provider_auto_dispatch_set(*, provider: Provider, actor, on: bool) -> Provider:
    """Turn auto-dispatch on or off: when on, a new order is assigned to the best suggestion at once."""
    if not isinstance(on, bool):
        raise DomainError(_("Auto-dispatch is on or off."), field="auto_dispatch", code="boolean")
    with transaction.atomic():
        provider = Provider.objects.select_for_update(of=("self",)).select_related("region").get(pk=provider.pk)
        if provider.auto_dispatch != on:
            provider.auto_dispatch = on
            provider.save(update_fields=["auto_dispatch", "updated_at"])
            audit_record(actor=actor, action="provider.auto_dispatch", obj=provider, region=provider.region, detail={"on": on})
    return provider


# Offerings --------------------------------------------------------------------------------------


def offering_save(
    *, provider: Provider, item: ServiceItem, actor, price_fen, regions: list[Region] | None = None, is_active: bool = True
) -> tuple[ProviderOffering, bool]:
    """Create or change what a provider offers: the item, its price, the townships (empty: the whole service area)."""
    price_fen = _price(price_fen)
    regions = list(regions or [])
    served = {r.pk for r in provider.service_regions.all()}
    for region in regions:
        if region.pk not in served:
            raise DomainError(
                _("%(region)s is not among the townships %(provider)s serves.") % {"region": region.name, "provider": provider.name},
                field="regions",
                code="outside_provider_area",
            )
    with transaction.atomic():
        Provider.objects.select_for_update(of=("self",)).filter(pk=provider.pk).first()
        offering = ProviderOffering.objects.select_for_update(of=("self",)).filter(provider=provider, item=item).first()
        created = offering is None
        if created and not item.is_active:
            raise DomainError(_("“%(item)s” is no longer on the menu.") % {"item": item.name}, field="item", code="item_inactive")
        if created:
            offering = ProviderOffering.objects.create(provider=provider, item=item, price_fen=price_fen, is_active=is_active)
            before = None
        else:
            before = {
                "price_fen": offering.price_fen,
                "is_active": offering.is_active,
                "regions": sorted(r.code for r in offering.regions.all()),
            }
            offering.price_fen, offering.is_active = price_fen, is_active
            offering.save(update_fields=["price_fen", "is_active", "updated_at"])
        offering.regions.set(regions)
        after = {"price_fen": price_fen, "is_active": is_active, "regions": sorted(r.code for r in regions)}
        audit_record(
            actor=actor,
            action="offering.create" if created else "offering.update",
            obj=offering,
            region=provider.region,
            detail={"item": item.code, "before": before, "after": after, "guide_price_fen": item.guide_price_fen},
        )
    return offering, created


# Caregivers and certificates ----------------------------------------------------------------------


def _hours(work_start, work_end) -> tuple[time, time]:
    for name, value in (("work_start", work_start), ("work_end", work_end)):
        if not isinstance(value, time):
            raise DomainError(_("Enter a time as HH:MM."), field=name, code="time")
    if work_end <= work_start:
        raise DomainError(_("Working hours must end after they start."), field="work_end", code="hours_order")
    return work_start, work_end


def _work_days(days) -> list[int]:
    if not isinstance(days, list | tuple) or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        raise DomainError(_("Working days are weekdays 0 (Monday) to 6 (Sunday)."), field="work_days", code="weekdays")
    days = sorted(set(days))
    if not days:
        raise DomainError(_("Choose at least one working day."), field="work_days", code="weekdays")
    return days


def _home_base(lat, lng) -> tuple[float, float]:
    for name, value in (("home_lat", lat), ("home_lng", lng)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise DomainError(_("Enter the coordinate as a decimal number."), field=name, code="coordinate")
    if not CHINA_LAT[0] <= lat <= CHINA_LAT[1]:
        raise DomainError(_("The latitude lies outside China: give WGS-84 degrees (e.g. 28.45)."), field="home_lat", code="coordinate")
    if not CHINA_LNG[0] <= lng <= CHINA_LNG[1]:
        raise DomainError(_("The longitude lies outside China: give WGS-84 degrees (e.g. 119.92)."), field="home_lng", code="coordinate")
    return float(lat), float(lng)


def _user_for_caregiver(user, provider: Provider, caregiver: Caregiver | None):
    """A login for the phone view: a caregiver or volunteer account of this provider (or without one), not linked elsewhere."""
    from yiyang.accounts.roles import Role

    if user is None:
        return None
    if user.role not in (Role.CAREGIVER, Role.VOLUNTEER):
        raise DomainError(_("%(user)s is not a caregiver or volunteer account.") % {"user": user.username}, field="username", code="role")
    if user.provider_id not in (None, provider.pk):
        raise DomainError(_("%(user)s works for another provider.") % {"user": user.username}, field="username", code="other_provider")
    taken = Caregiver.objects.filter(user=user).exclude(pk=caregiver.pk if caregiver else None).exists()
    if taken:
        raise DomainError(_("%(user)s is already linked to another caregiver.") % {"user": user.username}, field="username", code="taken")
    return user


def _caregiver_phone(value) -> str:
    """The registry's phone check (people.idnumber), so a caregiver's number is stored in the same canonical
    form as an elder's; empty means none. The field is named on refusal."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if not isinstance(value, str):
        raise DomainError(_("Enter a phone number."), field="phone", code="phone_invalid")
    return normalise_phone(_text(value, field="phone", max_length=32), field="phone")


def _caregiver_fields(*, name, home_lat, home_lng, work_start, work_end, work_days) -> dict:
    lat, lng = _home_base(home_lat, home_lng)
    start, end = _hours(work_start, work_end)
    return {
        "name": _text(name, field="name", max_length=64, missing=_("Enter the caregiver's name.")),
        "home_lat": lat,
        "home_lng": lng,
        "work_start": start,
        "work_end": end,
        "work_days": _work_days(work_days),
    }


@sensitive_variables("phone")
def caregiver_create(
    *,
    provider: Provider,
    actor,
    name: str,
    home_lat: float,
    home_lng: float,
    work_start: time,
    work_end: time,
    work_days: list[int],
    skills: list[ServiceCategory],
    phone: str = "",
    is_volunteer: bool = False,
    is_active: bool = True,
    user=None,
) -> Caregiver:
    fields = _caregiver_fields(
        name=name, home_lat=home_lat, home_lng=home_lng, work_start=work_start, work_end=work_end, work_days=work_days
    )
    phone = _caregiver_phone(phone)
    user = _user_for_caregiver(user, provider, None)
    with transaction.atomic():
        caregiver = Caregiver(provider=provider, is_volunteer=is_volunteer, is_active=is_active, user=user, **fields)
        caregiver.set_phone(phone)
        caregiver.save()
        caregiver.skills.set(skills)
        audit_record(
            actor=actor,
            action="caregiver.create",
            obj=caregiver,
            region=provider.region,
            detail={"name": caregiver.name, "skills": sorted(s.code for s in skills), "phone": caregiver.phone_masked},
        )
    return caregiver


@sensitive_variables("phone", "old_phone")
def caregiver_update(
    *,
    caregiver: Caregiver,
    actor,
    name: str,
    home_lat: float,
    home_lng: float,
    work_start: time,
    work_end: time,
    work_days: list[int],
    skills: list[ServiceCategory],
    phone: str | None = None,
    is_volunteer: bool = False,
    is_active: bool = True,
    user=None,
    keep_user: bool = True,
) -> Caregiver:
    """Edit a caregiver. `keep_user` leaves the linked login alone; otherwise `user` replaces it (None unlinks).

    `phone` None keeps the stored number (pages never hold it in clear to post it back); "" removes it."""
    fields = _caregiver_fields(
        name=name, home_lat=home_lat, home_lng=home_lng, work_start=work_start, work_end=work_end, work_days=work_days
    )
    phone = None if phone is None else _caregiver_phone(phone)
    with transaction.atomic():
        caregiver = Caregiver.objects.select_for_update(of=("self",)).select_related("provider__region").get(pk=caregiver.pk)
        if not keep_user:
            fields["user"] = _user_for_caregiver(user, caregiver.provider, caregiver)
        fields.update(is_volunteer=is_volunteer, is_active=is_active)
        before = {k: _jsonable(getattr(caregiver, k)) for k in fields}
        for key, value in fields.items():
            setattr(caregiver, key, value)
        phone_changes = {}
        if phone is not None:
            old_phone = caregiver.reveal_phone()
            if phone != old_phone:
                # The audit trail says the number changed, masked both ways: never the number itself.
                phone_changes["phone"] = {"from": crypto.mask_phone(old_phone), "to": crypto.mask_phone(phone)}
                caregiver.set_phone(phone)
        caregiver.save(update_fields=[*fields, *(["phone_enc", "phone_bidx"] if phone_changes else []), "updated_at"])
        old_skills = sorted(caregiver.skills.values_list("code", flat=True))
        caregiver.skills.set(skills)
        changes = {k: _jsonable(v) for k, v in fields.items() if before[k] != _jsonable(v)} | phone_changes
        if old_skills != sorted(s.code for s in skills):
            changes["skills"] = sorted(s.code for s in skills)
        audit_record(actor=actor, action="caregiver.update", obj=caregiver, region=caregiver.provider.region, detail={"changes": changes})
    return caregiver


@sensitive_variables()
def caregiver_phone_reveal(*, caregiver: Caregiver, actor, purpose: str) -> str:
    """A caregiver's phone in clear, for someone who manages their provider and says why (to call them).

    Like the registry's unmasking: a capability, a purpose, and a row in the personal-data access
    log (caregiver.phone_reveal) for every reveal. A caregiver outside the actor's providers is
    not found (404), whoever asks."""
    from yiyang.accounts.roles import can
    from yiyang.homecare.provider_queries import caregiver_for

    if not can(actor, "caregiver.phone_reveal"):
        raise DomainError(_("Your role may not do this."), code="forbidden", status=403)
    if caregiver_for(actor, caregiver.pk) is None:
        raise DomainError(_("Not found."), code="not_found", status=404)
    purpose = _text(purpose, field="purpose", max_length=255)
    if len(purpose) < 4:
        raise DomainError(_("State the purpose (at least 4 characters)."), field="purpose", code="required")
    if not caregiver.phone_enc:
        raise DomainError(_("No phone is recorded for this caregiver."), field="phone", code="no_phone")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="caregiver.phone_reveal",
            obj=caregiver,
            region=caregiver.provider.region,
            purpose=purpose,
            detail={"field": "phone", "provider": caregiver.provider_id},
        )
    return caregiver.reveal_phone()


def caregiver_phones_rotate(*, batch_size: int = 500) -> int:
    """Re-encrypt caregiver phones under the current key version and cipher (the rotate_keys command)."""
    from yiyang.homecare.models import CAREGIVER_PHONE_FIELD
    from yiyang.people.operations import phones_reencrypt

    return phones_reencrypt(Caregiver.objects.all(), field=CAREGIVER_PHONE_FIELD, batch_size=batch_size)


def _jsonable(value):
    if isinstance(value, time | date):
        return value.isoformat()
    if hasattr(value, "pk"):
        return value.pk
    return value


def certificate_status(expires_on: date, today: date | None = None) -> str:
    """expired, expiring (within EXPIRING_DAYS) or valid."""
    today = today or timezone.localdate()
    if expires_on < today:
        return "expired"
    if expires_on <= today + timedelta(days=EXPIRING_DAYS):
        return "expiring"
    return "valid"


def _certificate_fields(*, kind, level, number, expires_on) -> dict:
    if kind not in Qualification.values or kind == Qualification.NONE:
        raise DomainError(_("Choose the kind of certificate."), field="kind", code="kind")
    if not isinstance(expires_on, date):
        raise DomainError(_("Enter a date as YYYY-MM-DD."), field="expires_on", code="date")
    if expires_on > timezone.localdate() + timedelta(days=365 * 50):
        raise DomainError(_("The expiry date lies more than 50 years ahead."), field="expires_on", code="date_far")
    return {
        "kind": kind,
        "level": _text(level, field="level", max_length=16),
        "number": _text(number, field="number", max_length=64),
        "expires_on": expires_on,
    }


def certificate_add(*, caregiver: Caregiver, actor, kind: str, expires_on: date, level: str = "", number: str = "") -> Certificate:
    """Record a certificate. One already expired is accepted (the record is true) and shows as expired;
    dispatch ignores it for items that need it."""
    fields = _certificate_fields(kind=kind, level=level, number=number, expires_on=expires_on)
    with transaction.atomic():
        Caregiver.objects.select_for_update(of=("self",)).filter(pk=caregiver.pk).first()
        certificate = Certificate.objects.create(caregiver=caregiver, **fields)
        audit_record(
            actor=actor,
            action="certificate.add",
            obj=certificate,
            region=caregiver.provider.region,
            detail={"caregiver": caregiver.pk, **{k: _jsonable(v) for k, v in fields.items()}},
        )
    return certificate


def certificate_update(*, certificate: Certificate, actor, kind: str, expires_on: date, level: str = "", number: str = "") -> Certificate:
    fields = _certificate_fields(kind=kind, level=level, number=number, expires_on=expires_on)
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(of=("self",)).select_related("caregiver__provider__region").get(pk=certificate.pk)
        )
        before = {k: _jsonable(getattr(certificate, k)) for k in fields}
        for key, value in fields.items():
            setattr(certificate, key, value)
        certificate.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action="certificate.update",
            obj=certificate,
            region=certificate.caregiver.provider.region,
            detail={"before": before, "after": {k: _jsonable(v) for k, v in fields.items()}},
        )
    return certificate


def certificate_remove(*, certificate: Certificate, actor) -> None:
    with transaction.atomic():
        certificate = (
            Certificate.objects.select_for_update(of=("self",)).select_related("caregiver__provider__region").get(pk=certificate.pk)
        )
        audit_record(
            actor=actor,
            action="certificate.remove",
            obj=certificate,
            region=certificate.caregiver.provider.region,
            detail={"caregiver": certificate.caregiver_id, "kind": certificate.kind, "expires_on": certificate.expires_on.isoformat()},
        )
        certificate.delete()


# Catalogue --------------------------------------------------------------------------------------


def _tasks(tasks) -> list[dict]:
    if not isinstance(tasks, list):
        raise DomainError(_("The task checklist is a list."), field="tasks", code="tasks")
    out, seen = [], set()
    for i, task in enumerate(tasks):
        if not isinstance(task, dict):
            raise DomainError(_("Task %(n)s is not a task.") % {"n": i + 1}, field="tasks", code="tasks")
        code = str(task.get("code") or "").strip()
        label = str(task.get("label") or "").strip()
        if not label:
            raise DomainError(_("Task %(n)s has no label.") % {"n": i + 1}, field="tasks", code="task_label")
        if has_control_characters(label):
            raise DomainError(_("Remove the control characters from this text."), field="tasks", code="control_characters")
        if len(label) > 64:
            raise DomainError(_("Task %(n)s: the label may be at most 64 characters.") % {"n": i + 1}, field="tasks", code="task_label")
        if not CODE_RE.match(code):
            raise DomainError(
                _("Task %(n)s: the code uses lower-case letters, digits, - and _.") % {"n": i + 1}, field="tasks", code="task_code"
            )
        if code in seen:
            raise DomainError(_("Task code “%(code)s” appears twice.") % {"code": code}, field="tasks", code="task_code_twice")
        seen.add(code)
        out.append({"code": code, "label": label, "required": bool(task.get("required"))})
    return out


def _item_fields(*, name, unit, guide_price_fen, standard_minutes, qualification, tasks) -> dict:
    if isinstance(standard_minutes, bool) or not isinstance(standard_minutes, int) or not 1 <= standard_minutes <= 24 * 60:
        raise DomainError(
            _("The standard duration is a whole number of minutes from 1 to 1440."), field="standard_minutes", code="duration"
        )
    if qualification not in Qualification.values:
        raise DomainError(_("Choose a qualification from the list."), field="qualification", code="qualification")
    return {
        "name": _text(name, field="name", max_length=64, missing=_("Enter the name of the service.")),
        "unit": _text(unit, field="unit", max_length=16, missing=_("Enter the unit the service is counted in (e.g. visit, hour).")),
        "guide_price_fen": _price(guide_price_fen, field="guide_price_fen"),
        "standard_minutes": standard_minutes,
        "qualification": qualification,
        "tasks": _tasks(tasks),
    }


def catalogue_item_save(
    *,
    actor,
    name: str,
    unit: str,
    guide_price_fen: int,
    standard_minutes: int,
    qualification: str,
    tasks: list[dict],
    is_active: bool = True,
    item: ServiceItem | None = None,
    category: ServiceCategory | None = None,
    code: str = "",
) -> tuple[ServiceItem, bool]:
    """An officer adds a menu item (category and code given) or edits one: every field but its code and category.

    Task codes already used by visits keep their meaning: a task may be relabelled, added or removed.
    """
    fields = _item_fields(
        name=name, unit=unit, guide_price_fen=guide_price_fen, standard_minutes=standard_minutes, qualification=qualification, tasks=tasks
    )
    fields["is_active"] = bool(is_active)
    with transaction.atomic():
        if item is None:
            if category is None:
                raise DomainError(_("Choose a category."), field="category", code="category")
            code = (code or "").strip()
            if not CODE_RE.match(code):
                raise DomainError(_("The code uses lower-case letters, digits, - and _."), field="code", code="code")
            if code == "new":
                raise DomainError(_("The code “new” is reserved; choose another."), field="code", code="code_reserved")
            if ServiceItem.objects.filter(code=code).exists():
                raise DomainError(_("The code “%(code)s” is taken.") % {"code": code}, field="code", code="code_taken")
            item = ServiceItem.objects.create(category=category, code=code, **fields)
            audit_record(actor=actor, action="catalogue.create", obj=item, detail={"code": code, **fields})
            return item, True
        item = ServiceItem.objects.select_for_update(of=("self",)).select_related("category").get(pk=item.pk)
        before = {k: getattr(item, k) for k in fields}
        for key, value in fields.items():
            setattr(item, key, value)
        item.save(update_fields=[*fields, "updated_at"])
        changed = {k: v for k, v in fields.items() if before[k] != v}
        audit_record(
            actor=actor,
            action="catalogue.update",
            obj=item,
            detail={"before": {k: before[k] for k in changed}, "after": changed},
        )
    return item, False


# Recurring orders ----------------------------------------------------------------------------------

CANCELLABLE = (OrderStatus.REQUESTED, OrderStatus.ACCEPTED, OrderStatus.ASSIGNED)


def recurrence_state(recurrence: Recurrence, today: date | None = None) -> str:
    """active, paused or ended."""
    today = today or timezone.localdate()
    if recurrence.ends_on is not None and (recurrence.ends_on < today or recurrence.ends_on < recurrence.starts_on):
        return "ended"
    return "active" if recurrence.is_active else "paused"


def _cancel_planned(recurrence: Recurrence, *, after: date, actor, reason: str, detach: bool = False) -> int:
    """Cancel the generated orders from `after` on that nobody has set off for yet.

    `detach`: the cancelled orders let go of the recurrence, so that resuming it can generate those
    days again (one order per recurrence and day is a constraint); the reason keeps the link.
    """
    from yiyang.homecare.operations import order_cancel

    planned = Order.objects.filter(
        recurrence=recurrence, service_date__gte=after, status__in=CANCELLABLE, window_start__gt=timezone.now()
    ).order_by("window_start")
    cancelled = 0
    for order in planned:
        order_cancel(order=order, actor=actor, reason=reason)
        if detach:
            Order.objects.filter(pk=order.pk).update(recurrence=None, updated_at=timezone.now())
        cancelled += 1
    return cancelled


def _locked_recurrence(recurrence: Recurrence) -> Recurrence:
    return (
        Recurrence.objects.select_for_update(of=("self",))
        .select_related("elder__residence_region", "item", "provider")
        .get(pk=recurrence.pk)
    )


def recurrence_pause(*, recurrence: Recurrence, actor, cancel_planned: bool = True) -> tuple[Recurrence, int]:
    """Stop generating orders (the elder is in hospital, away …); by default the planned ones are cancelled too."""
    with transaction.atomic():
        recurrence = _locked_recurrence(recurrence)
        state = recurrence_state(recurrence)
        if state != "active":
            raise StateConflict(_("This recurring order is not active."), field="status", code="not_active", extra={"state": state})
        recurrence.is_active = False
        recurrence.save(update_fields=["is_active", "updated_at"])
        cancelled = (
            _cancel_planned(
                recurrence,
                after=timezone.localdate(),
                actor=actor,
                reason=_("Recurring order #%(id)s paused") % {"id": recurrence.pk},
                detach=True,
            )
            if cancel_planned
            else 0
        )
        audit_record(
            actor=actor,
            action="recurrence.pause",
            obj=recurrence,
            region=recurrence.elder.residence_region,
            detail={"cancelled": cancelled},
        )
    return recurrence, cancelled


def recurrence_resume(*, recurrence: Recurrence, actor) -> Recurrence:
    with transaction.atomic():
        recurrence = _locked_recurrence(recurrence)
        state = recurrence_state(recurrence)
        if state != "paused":
            raise StateConflict(
                _("Only a paused recurring order can be resumed."), field="status", code="not_paused", extra={"state": state}
            )
        from yiyang.people.models import ElderStatus

        if recurrence.elder.status != ElderStatus.ACTIVE:
            raise DomainError(
                _("%(elder)s's file is archived; no order can be placed.") % {"elder": recurrence.elder.name},
                field="elder",
                code="elder_archived",
            )
        recurrence.is_active = True
        recurrence.save(update_fields=["is_active", "updated_at"])
        audit_record(actor=actor, action="recurrence.resume", obj=recurrence, region=recurrence.elder.residence_region)
    return recurrence


def recurrence_end(*, recurrence: Recurrence, actor, last_day: date | None = None) -> tuple[Recurrence, int]:
    """End for good after `last_day` (default: today); planned orders after it are cancelled."""
    today = timezone.localdate()
    last_day = today if last_day is None else last_day
    if not isinstance(last_day, date):
        raise DomainError(_("Enter a date as YYYY-MM-DD."), field="last_day", code="date")
    if last_day < today:
        raise DomainError(_("The last day lies in the past."), field="last_day", code="last_day_past")
    with transaction.atomic():
        recurrence = _locked_recurrence(recurrence)
        if recurrence_state(recurrence) == "ended":
            raise StateConflict(_("This recurring order has already ended."), field="status", code="ended", extra={"state": "ended"})
        if recurrence.ends_on is not None and last_day > recurrence.ends_on:
            raise DomainError(
                _("The recurring order already ends on %(date)s.") % {"date": recurrence.ends_on.isoformat()},
                field="last_day",
                code="later",
            )
        recurrence.ends_on = last_day
        fields = ["ends_on", "updated_at"]
        if last_day < recurrence.starts_on:
            # Ended before its first day: nothing will ever be generated; the first day stays as it was planned.
            recurrence.is_active = False
            fields.append("is_active")
        recurrence.save(update_fields=fields)
        cancelled = _cancel_planned(recurrence, after=last_day + timedelta(days=1), actor=actor, reason=_("Recurring order ended"))
        audit_record(
            actor=actor,
            action="recurrence.end",
            obj=recurrence,
            region=recurrence.elder.residence_region,
            detail={"last_day": last_day.isoformat(), "cancelled": cancelled},
        )
    return recurrence, cancelled
