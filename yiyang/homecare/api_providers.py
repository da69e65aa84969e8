"""JSON API for managing providers, offerings, caregivers, certificates, the catalogue, recurrences and receivables.

The endpoints hang on the existing home-care router (imported at the end of api.py). A role without
the capability gets 403; a provider, caregiver, elder or recurrence outside the user's scope, 404.
"""

import re
from datetime import date, time

from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Schema, Status
from ninja.pagination import paginate

from yiyang.core.api_auth import require
from yiyang.core.errors import DomainError
from yiyang.core.pagination import Pages
from yiyang.homecare import provider_operations as pops
from yiyang.homecare.api import ERRORS, ErrorOut, ItemOut, RecurrenceOut, homecare_router
from yiyang.homecare.forms_providers import parse_month
from yiyang.homecare.models import Certificate, ServiceCategory, ServiceItem
from yiyang.homecare.provider_queries import (
    caregiver_for,
    provider_for,
    receivables_for_month,
    recurrence_for,
    recurrences_visible_to,
)
from yiyang.regions.models import Region

router = homecare_router


# Schemas -----------------------------------------------------------------------------------------------


class ProviderDetailOut(Schema):
    id: int
    name: str
    licence_no: str
    phone: str
    region: str
    service_regions: list[str]
    is_active: bool
    auto_dispatch: bool

    @staticmethod
    def resolve_region(p) -> str:
        return p.region.code

    @staticmethod
    def resolve_service_regions(p) -> list[str]:
        return sorted(r.code for r in p.service_regions.all())


class ProviderPatch(Schema):
    name: str | None = Field(None, max_length=128)
    licence_no: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=32)
    service_regions: list[str] | None = Field(
        None, description="Township codes served; those outside your area are kept as they are and may not be named"
    )
    is_active: bool | None = None


class AutoDispatchIn(Schema):
    on: bool


class OfferingIn(Schema):
    price_fen: int = Field(description="The provider's price in fen (the catalogue's guide price is only a guide)")
    regions: list[str] = Field(default_factory=list, description="Township codes among the provider's; empty: its whole area")
    is_active: bool = True


class OfferingDetailOut(Schema):
    provider_id: int
    item_code: str
    item_name: str
    guide_price_fen: int
    price_fen: int
    regions: list[str]
    is_active: bool

    @staticmethod
    def resolve_item_code(o) -> str:
        return o.item.code

    @staticmethod
    def resolve_item_name(o) -> str:
        return o.item.name

    @staticmethod
    def resolve_guide_price_fen(o) -> int:
        return o.item.guide_price_fen

    @staticmethod
    def resolve_regions(o) -> list[str]:
        return sorted(r.code for r in o.regions.all())


class CertificateDetailOut(Schema):
    id: int
    kind: str
    level: str
    number: str
    expires_on: date
    state: str = Field(description="valid, expiring (within 30 days) or expired")

    @staticmethod
    def resolve_state(c) -> str:
        return pops.certificate_status(c.expires_on)


class CaregiverDetailOut(Schema):
    id: int
    provider_id: int
    name: str
    phone_masked: str = Field(description="e.g. 139****0000; POST …/phone/reveal shows it in full (logged)")
    username: str | None
    is_volunteer: bool
    is_active: bool
    skills: list[str]
    home_lat: float
    home_lng: float
    work_start: time
    work_end: time
    work_days: list[int]
    certificates: list[CertificateDetailOut]

    @staticmethod
    def resolve_username(c) -> str | None:
        return c.user.username if c.user_id else None

    @staticmethod
    def resolve_skills(c) -> list[str]:
        return sorted(s.code for s in c.skills.all())

    @staticmethod
    def resolve_certificates(c) -> list:
        return list(c.certificates.all())


class CaregiverIn(Schema):
    provider_id: int
    name: str = Field(max_length=64)
    phone: str = Field("", max_length=32)
    skills: list[str] = Field(default_factory=list, description="Category codes: meal, bath, clean, medical, …")
    home_lat: float = Field(description="Home base, WGS-84 latitude")
    home_lng: float = Field(description="Home base, WGS-84 longitude")
    work_start: time = time(8)
    work_end: time = time(18)
    work_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday … 6 = Sunday")
    is_volunteer: bool = False
    is_active: bool = True
    username: str | None = Field(None, description="A caregiver or volunteer account for the phone view")


class CaregiverPatch(Schema):
    name: str | None = Field(None, max_length=64)
    phone: str | None = Field(None, max_length=32, description="empty string removes the phone")
    skills: list[str] | None = None
    home_lat: float | None = None
    home_lng: float | None = None
    work_start: time | None = None
    work_end: time | None = None
    work_days: list[int] | None = None
    is_volunteer: bool | None = None
    is_active: bool | None = None
    username: str | None = Field(None, description="Link this account; an empty string unlinks")


class PhoneRevealIn(Schema):
    purpose: str = Field(min_length=1, max_length=255, description="Why the number is needed; kept in the access log")


class PhoneRevealOut(Schema):
    phone: str


class CertificateIn(Schema):
    kind: str = Field(description="care_worker, health_cert, nurse, rehab or social_worker")
    level: str = Field("", max_length=16)
    number: str = Field("", max_length=64)
    expires_on: date = Field(description="An expiry in the past is recorded and shown as expired")


class ItemIn(Schema):
    name: str = Field(max_length=64)
    unit: str = Field(max_length=16)
    guide_price_fen: int
    standard_minutes: int
    qualification: str = "none"
    tasks: list[dict] = Field(default_factory=list, description='[{"code", "label", "required"}]')
    is_active: bool = True


class ItemCreateIn(ItemIn):
    category: str = Field(description="Category code")
    code: str = Field(max_length=48)


class RecurrenceDetailOut(RecurrenceOut):
    elder_name: str
    provider_name: str
    item_name: str
    note: str
    is_active: bool
    state: str = Field(description="active, paused or ended")

    @staticmethod
    def resolve_elder_name(r) -> str:
        return r.elder.name

    @staticmethod
    def resolve_provider_name(r) -> str:
        return r.provider.name

    @staticmethod
    def resolve_item_name(r) -> str:
        return r.item.name

    @staticmethod
    def resolve_state(r) -> str:
        return pops.recurrence_state(r)


class PauseIn(Schema):
    cancel_planned: bool = Field(True, description="Also cancel the orders already generated that have not started")


class EndIn(Schema):
    last_day: date | None = Field(None, description="Default: today")


class RecurrenceChangeOut(Schema):
    recurrence: RecurrenceDetailOut
    cancelled_orders: int


class ReceivableRowOut(Schema):
    provider_id: int
    provider_name: str
    licence_no: str
    orders: int
    total_fen: int
    subsidy_fen: int
    copay_fen: int


class ReceivablesOut(Schema):
    month: str
    orders: int
    total_fen: int
    subsidy_fen: int
    copay_fen: int
    rows: list[ReceivableRowOut]


# Helpers -----------------------------------------------------------------------------------------------


def _provider(request: HttpRequest, provider_id: int):
    provider = provider_for(request.auth, provider_id)
    if provider is None:
        raise Http404
    return provider


def _caregiver(request: HttpRequest, caregiver_id: int):
    caregiver = caregiver_for(request.auth, caregiver_id)
    if caregiver is None:
        raise Http404
    return caregiver


def _plain(value: str, *, field: str, pattern: str, message: str) -> str:
    """A code or user name from the request, checked before it reaches a query (PostgreSQL refuses NUL in text)."""
    if not re.fullmatch(pattern, value or ""):
        raise DomainError(message, field=field, code="invalid")
    return value


def _regions(codes: list[str], *, field: str) -> list[Region]:
    for code in codes:
        _plain(code, field=field, pattern=r"\d{1,12}", message=_("A region code is 6 to 12 digits."))
    found = {r.code: r for r in Region.objects.filter(code__in=codes)}
    for code in codes:
        if code not in found:
            raise DomainError(_("Unknown region code %(code)s.") % {"code": str(code)[:12]}, field=field, code="unknown_region")
    return [found[c] for c in dict.fromkeys(codes)]


def _skills(codes: list[str]) -> list[ServiceCategory]:
    for code in codes:
        _plain(code, field="skills", pattern=r"[a-z0-9_-]{1,32}", message=_("Unknown skill “%(code)s”.") % {"code": str(code)[:32]})
    found = {c.code: c for c in ServiceCategory.objects.filter(code__in=codes)}
    for code in codes:
        if code not in found:
            raise DomainError(_("Unknown skill “%(code)s”.") % {"code": str(code)[:32]}, field="skills", code="unknown_skill")
    return list(found.values())


def _user(username: str | None):
    from yiyang.accounts.models import User

    if not username:
        return None
    _plain(username, field="username", pattern=r"[\w.@+-]{1,150}", message=_("No account with this user name."))
    user = User.objects.filter(username=username).first()
    if user is None:
        raise DomainError(_("No account with this user name."), field="username", code="unknown_user")
    return user


# Providers and offerings --------------------------------------------------------------------------------


class ProviderIn(Schema):
    name: str = Field(max_length=128)
    region: str = Field(description="Code of the county the provider is registered in")
    service_regions: list[str] = Field(description="Township codes served (in your area)")
    licence_no: str = Field("", max_length=64)
    phone: str = Field("", max_length=32)


@router.post("/providers", response={201: ProviderDetailOut, **ERRORS}, summary="Officer registers a provider")
def provider_create(request: HttpRequest, data: ProviderIn):
    require(request, "provider.register")
    [county] = _regions([data.region], field="region")
    provider = pops.provider_create(
        actor=request.auth,
        name=data.name,
        region=county,
        service_regions=_regions(data.service_regions, field="service_regions"),
        licence_no=data.licence_no,
        phone=data.phone,
    )
    return Status(201, provider)


@router.get("/providers/{provider_id}", response={200: ProviderDetailOut, 404: ErrorOut}, summary="One provider")
def provider_get(request: HttpRequest, provider_id: int):
    require(request, "provider.view")
    return _provider(request, provider_id)


@router.patch(
    "/providers/{provider_id}", response={200: ProviderDetailOut, **ERRORS}, summary="Edit a provider (licence, townships served …)"
)
def provider_patch(request: HttpRequest, provider_id: int, data: ProviderPatch):
    require(request, "provider.manage")
    provider = _provider(request, provider_id)
    regions = None
    if data.service_regions is not None:
        regions = _regions(data.service_regions, field="service_regions")
    return pops.provider_update(
        provider=provider,
        actor=request.auth,
        name=provider.name if data.name is None else data.name,
        licence_no=provider.licence_no if data.licence_no is None else data.licence_no,
        phone=provider.phone if data.phone is None else data.phone,
        service_regions=regions,
        is_active=data.is_active,
    )


@router.put("/providers/{provider_id}/auto-dispatch", response={200: ProviderDetailOut, **ERRORS}, summary="Turn auto-dispatch on or off")
def provider_auto_dispatch(request: HttpRequest, provider_id: int, data: AutoDispatchIn):
    require(request, "provider.manage")
    return pops.provider_auto_dispatch_set(provider=_provider(request, provider_id), actor=request.auth, on=data.on)


@router.put(
    "/providers/{provider_id}/offerings/{item_code}",
    response={200: OfferingDetailOut, 201: OfferingDetailOut, **ERRORS},
    summary="Offer a menu item (or change the offer): price in fen, townships",
)
def offering_put(request: HttpRequest, provider_id: int, item_code: str, data: OfferingIn):
    require(request, "provider.manage")
    provider = _provider(request, provider_id)
    item = ServiceItem.objects.filter(code=item_code).first() if re.fullmatch(r"[\w-]{1,48}", item_code) else None
    if item is None:
        raise DomainError(
            _("“%(code)s” is not on the menu.") % {"code": item_code[:48]}, field="item_code", code="unknown_item", status=404
        )
    offering, created = pops.offering_save(
        provider=provider,
        item=item,
        actor=request.auth,
        price_fen=data.price_fen,
        regions=_regions(data.regions, field="regions"),
        is_active=data.is_active,
    )
    return Status(201 if created else 200, offering)


# Caregivers and certificates ------------------------------------------------------------------------------


@router.post("/caregivers", response={201: CaregiverDetailOut, **ERRORS}, summary="Add a caregiver to a provider")
def caregiver_create(request: HttpRequest, data: CaregiverIn):
    require(request, "caregiver.manage")
    provider = _provider(request, data.provider_id)
    caregiver = pops.caregiver_create(
        provider=provider,
        actor=request.auth,
        name=data.name,
        phone=data.phone,
        skills=_skills(data.skills),
        home_lat=data.home_lat,
        home_lng=data.home_lng,
        work_start=data.work_start,
        work_end=data.work_end,
        work_days=data.work_days,
        is_volunteer=data.is_volunteer,
        is_active=data.is_active,
        user=_user(data.username),
    )
    return Status(201, _caregiver(request, caregiver.pk))


@router.get("/caregivers/{caregiver_id}", response={200: CaregiverDetailOut, **ERRORS}, summary="One caregiver with certificates")
def caregiver_get(request: HttpRequest, caregiver_id: int):
    require(request, "caregiver.manage")
    return _caregiver(request, caregiver_id)


@router.patch("/caregivers/{caregiver_id}", response={200: CaregiverDetailOut, **ERRORS}, summary="Edit a caregiver")
def caregiver_patch(request: HttpRequest, caregiver_id: int, data: CaregiverPatch):
    require(request, "caregiver.manage")
    caregiver = _caregiver(request, caregiver_id)
    given = data.dict(exclude_unset=True)

    def pick(name: str):
        return given[name] if given.get(name) is not None else getattr(caregiver, name)

    pops.caregiver_update(
        caregiver=caregiver,
        actor=request.auth,
        name=pick("name"),
        phone=given.get("phone"),  # None keeps the stored number
        skills=_skills(given["skills"]) if given.get("skills") is not None else list(caregiver.skills.all()),
        home_lat=pick("home_lat"),
        home_lng=pick("home_lng"),
        work_start=pick("work_start"),
        work_end=pick("work_end"),
        work_days=pick("work_days"),
        is_volunteer=pick("is_volunteer"),
        is_active=pick("is_active"),
        keep_user="username" not in given,
        user=_user(given.get("username")),
    )
    return _caregiver(request, caregiver_id)


@router.post(
    "/caregivers/{caregiver_id}/phone/reveal",
    response={200: PhoneRevealOut, **ERRORS},
    summary="A caregiver's phone in full, with a purpose (logged in the personal-data access log)",
)
def caregiver_phone_reveal(request: HttpRequest, caregiver_id: int, data: PhoneRevealIn):
    require(request, "caregiver.phone_reveal")
    caregiver = _caregiver(request, caregiver_id)
    return {"phone": pops.caregiver_phone_reveal(caregiver=caregiver, actor=request.auth, purpose=data.purpose)}


@router.post(
    "/caregivers/{caregiver_id}/certificates", response={201: CertificateDetailOut, **ERRORS}, summary="Record a caregiver's certificate"
)
def certificate_create(request: HttpRequest, caregiver_id: int, data: CertificateIn):
    require(request, "caregiver.manage")
    caregiver = _caregiver(request, caregiver_id)
    certificate = pops.certificate_add(
        caregiver=caregiver, actor=request.auth, kind=data.kind, level=data.level, number=data.number, expires_on=data.expires_on
    )
    return Status(201, certificate)


def _certificate(request: HttpRequest, certificate_id: int) -> Certificate:
    certificate = Certificate.objects.filter(pk=certificate_id).first()
    if certificate is None or caregiver_for(request.auth, certificate.caregiver_id) is None:
        raise Http404
    return certificate


@router.put("/certificates/{certificate_id}", response={200: CertificateDetailOut, **ERRORS}, summary="Correct or renew a certificate")
def certificate_put(request: HttpRequest, certificate_id: int, data: CertificateIn):
    require(request, "caregiver.manage")
    return pops.certificate_update(
        certificate=_certificate(request, certificate_id),
        actor=request.auth,
        kind=data.kind,
        level=data.level,
        number=data.number,
        expires_on=data.expires_on,
    )


@router.delete("/certificates/{certificate_id}", response={204: None, **ERRORS}, summary="Remove a certificate recorded in error")
def certificate_delete(request: HttpRequest, certificate_id: int):
    require(request, "caregiver.manage")
    pops.certificate_remove(certificate=_certificate(request, certificate_id), actor=request.auth)
    return Status(204, None)


# Catalogue ------------------------------------------------------------------------------------------------


@router.post("/catalogue", response={201: ItemOut, **ERRORS}, summary="Officer adds a menu item")
def catalogue_create(request: HttpRequest, data: ItemCreateIn):
    require(request, "catalogue.manage")
    category = ServiceCategory.objects.filter(code=data.category).first() if re.fullmatch(r"[\w-]{1,32}", data.category) else None
    if category is None:
        raise DomainError(_("Choose a category."), field="category", code="category")
    item, _created = pops.catalogue_item_save(actor=request.auth, category=category, **data.dict(exclude={"category"}))
    return Status(201, item)


@router.put("/catalogue/{code}", response={200: ItemOut, **ERRORS}, summary="Officer edits a menu item (all fields but code and category)")
def catalogue_put(request: HttpRequest, code: str, data: ItemIn):
    require(request, "catalogue.manage")
    item = get_object_or_404(ServiceItem.objects.select_related("category"), code=code)
    saved, _created = pops.catalogue_item_save(actor=request.auth, item=item, **data.dict())
    return saved


# Recurring orders --------------------------------------------------------------------------------------


@router.get("/recurrences", response=list[RecurrenceDetailOut], summary="Recurring orders of the elders in my scope")
@paginate(Pages, page_size=100)
def recurrences_list(request: HttpRequest, elder_id: int | None = None, state: str | None = None):
    require(request, "order.create")
    from django.utils import timezone

    today = timezone.localdate()
    recurrences = recurrences_visible_to(request.auth).order_by("pk")
    if elder_id is not None:
        recurrences = recurrences.filter(elder_id=elder_id)
    if state == "active":
        recurrences = recurrences.filter(is_active=True).exclude(ends_on__lt=today)
    elif state == "paused":
        recurrences = recurrences.filter(is_active=False).exclude(ends_on__lt=today)
    elif state == "ended":
        recurrences = recurrences.filter(ends_on__lt=today)
    elif state:
        raise DomainError(_("The state is active, paused or ended."), field="state", code="state")
    return recurrences


def _recurrence(request: HttpRequest, recurrence_id: int):
    recurrence = recurrence_for(request.auth, recurrence_id)
    if recurrence is None:
        raise Http404
    return recurrence


@router.get("/recurrences/{recurrence_id}", response={200: RecurrenceDetailOut, **ERRORS}, summary="One recurring order")
def recurrence_get(request: HttpRequest, recurrence_id: int):
    require(request, "order.create")
    return _recurrence(request, recurrence_id)


@router.post("/recurrences/{recurrence_id}/pause", response={200: RecurrenceChangeOut, **ERRORS}, summary="Pause a recurring order")
def recurrence_pause(request: HttpRequest, recurrence_id: int, data: PauseIn):
    require(request, "order.create")
    recurrence, cancelled = pops.recurrence_pause(
        recurrence=_recurrence(request, recurrence_id), actor=request.auth, cancel_planned=data.cancel_planned
    )
    return {"recurrence": recurrence, "cancelled_orders": cancelled}


@router.post(
    "/recurrences/{recurrence_id}/resume", response={200: RecurrenceChangeOut, **ERRORS}, summary="Resume a paused recurring order"
)
def recurrence_resume(request: HttpRequest, recurrence_id: int):
    require(request, "order.create")
    recurrence = pops.recurrence_resume(recurrence=_recurrence(request, recurrence_id), actor=request.auth)
    return {"recurrence": recurrence, "cancelled_orders": 0}


@router.post(
    "/recurrences/{recurrence_id}/end", response={200: RecurrenceChangeOut, **ERRORS}, summary="End a recurring order after a last day"
)
def recurrence_end(request: HttpRequest, recurrence_id: int, data: EndIn):
    require(request, "order.create")
    recurrence, cancelled = pops.recurrence_end(recurrence=_recurrence(request, recurrence_id), actor=request.auth, last_day=data.last_day)
    return {"recurrence": recurrence, "cancelled_orders": cancelled}


# Receivables -------------------------------------------------------------------------------------------


@router.get("/receivables", response={200: ReceivablesOut, **ERRORS}, summary="Providers' receivables for one month of payments")
def receivables_get(request: HttpRequest, month: str, provider_id: int | None = None):
    require(request, "provider.receivables")
    when = parse_month(month)
    if provider_id is not None:
        _provider(request, provider_id)
    result = receivables_for_month(request.auth, when, provider_id=provider_id)
    return {
        "month": when.strftime("%Y-%m"),
        "orders": result.orders,
        "total_fen": result.total_fen,
        "subsidy_fen": result.subsidy_fen,
        "copay_fen": result.copay_fen,
        "rows": result.rows,
    }
