"""/api/v1/elders: the registry's JSON API. Each endpoint parses, calls one operation or query, and answers."""

from datetime import date, datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from yiyang.core.api_auth import require
from yiyang.core.errors import DomainError
from yiyang.core.pagination import Pages
from yiyang.people import operations as ops
from yiyang.people.models import Category, ConsentKind, ElderStatus, LivingArrangement
from yiyang.people.queries import elder_for, elders_filtered, transfers_visible_to
from yiyang.regions.queries import region_by_code

router = Router(tags=["elders"])


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None
    existing_id: int | None = Field(None, description="on a duplicate ID number, when you may open the existing file")
    existing_url: str | None = None
    ask: str | None = Field(None, description="on a duplicate you may not see: whom to ask")


class ElderOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: date
    age: int
    residence_region: str
    residence_region_name: str
    hukou_region: str | None
    address: str
    lng: float | None = Field(description="WGS-84")
    lat: float | None = Field(description="WGS-84")
    living_arrangement: str
    status: str
    status_date: date | None
    id_number_masked: str
    phone_masked: str
    categories: list[str] = Field(description="special-difficulty categories held now; oldest_old (80+) is derived")

    @staticmethod
    def resolve_residence_region(elder) -> str:
        return elder.residence_region.code

    @staticmethod
    def resolve_residence_region_name(elder) -> str:
        return elder.residence_region.name

    @staticmethod
    def resolve_hukou_region(elder) -> str | None:
        return elder.hukou_region.code if elder.hukou_region_id else None

    @staticmethod
    def resolve_categories(elder) -> list[str]:
        held = sorted(c.category for c in elder.categories.all() if c.ended is None)
        return [*held, "oldest_old"] if elder.is_oldest_old else held


class ElderIn(Schema):
    name: str = Field(min_length=1, max_length=64)
    id_number: str = Field(min_length=1, max_length=32, description="GB 11643, 18 characters; lower-case x accepted")
    residence_region: str = Field(min_length=1, max_length=12, description="township or village code")
    hukou_region: str | None = Field(None, max_length=12)
    gender: str | None = Field(None, description="optional; checked against the ID number")
    birth_date: date | None = Field(None, description="optional; checked against the ID number")
    phone: str = Field("", max_length=32)
    address: str = Field("", max_length=255)
    living_arrangement: LivingArrangement = LivingArrangement.WITH_FAMILY
    lng: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    categories: list[Category] = Field(default_factory=list, max_length=len(Category.values))
    age_exception_reason: str = Field("", max_length=255, description="officers only, to register someone under 60")


class ElderPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=64)
    phone: str | None = Field(None, max_length=32, description="empty string removes the phone")
    residence_region: str | None = Field(None, max_length=12, description="within the same county; another county is a transfer")
    hukou_region: str | None = Field(None, max_length=12)
    address: str | None = Field(None, max_length=255)
    living_arrangement: LivingArrangement | None = None
    lng: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    categories: list[Category] | None = Field(None, max_length=len(Category.values))
    reason: str = Field("", max_length=255)


class StatusIn(Schema):
    to_status: ElderStatus
    effective_date: date
    reason: str = Field(min_length=1, max_length=255)


class UnmaskIn(Schema):
    field: str = Field(description="id_number, phone or contact_phone", max_length=16)
    purpose: str = Field(min_length=1, max_length=255)
    contact_id: int | None = None


class UnmaskOut(Schema):
    field: str
    value: str


class ContactIn(Schema):
    name: str = Field(min_length=1, max_length=64)
    relation: str = Field(max_length=16)
    phone: str = Field("", max_length=32)
    is_guardian: bool = False


class ContactOut(Schema):
    id: int
    name: str
    relation: str
    is_guardian: bool
    is_emergency: bool
    phone_masked: str


class ContactPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=64)
    relation: str | None = Field(None, max_length=16)
    phone: str | None = Field(None, max_length=32, description="empty string removes the phone")
    is_guardian: bool | None = None
    is_emergency: bool | None = None


class ContactRemoveIn(Schema):
    reason: str = Field(min_length=1, max_length=255)


class ContactRemoveOut(Schema):
    outcome: str = Field(description="deleted, or ended when a consent names this contact as the guardian (the row is kept)")


class ConsentIn(Schema):
    kind: ConsentKind
    granted: bool
    given_on: date
    guardian_id: int | None = None


class ConsentOut(Schema):
    id: int
    kind: str
    granted: bool
    given_on: date
    given_by: str
    guardian_id: int | None


class TransferIn(Schema):
    to_region: str = Field(min_length=1, max_length=12, description="a township code in the receiving county")
    reason: str = Field(min_length=1, max_length=255)
    new_address: str = Field("", max_length=255)


class TransferDecisionIn(Schema):
    to_status: str = Field(description="accepted or rejected (receiving county), cancelled (sending county)", max_length=16)
    note: str = Field("", max_length=255)


class TransferOut(Schema):
    id: int
    elder_id: int
    elder_name: str
    from_region: str
    to_region: str
    status: str
    reason: str
    created_at: datetime
    decided_at: datetime | None

    @staticmethod
    def resolve_elder_name(t) -> str:
        return t.elder.name

    @staticmethod
    def resolve_from_region(t) -> str:
        return t.from_region.code

    @staticmethod
    def resolve_to_region(t) -> str:
        return t.to_region.code


class ElderFilters(Schema):
    q: str | None = Field(None, max_length=64, description="name (part), phone or ID number (exact)")
    region: str | None = Field(None, max_length=12)
    category: str | None = Field(None, max_length=24, description="a category, or oldest_old")
    status: str | None = Field(None, max_length=16, description="active, deceased, moved_away or all (default: all)")
    living_arrangement: str | None = Field(None, max_length=16)


def _elder(request: HttpRequest, elder_id: int):
    elder = elder_for(request.auth, elder_id)
    if elder is None:
        raise Http404
    return elder


def _region(code: str | None, field: str):
    if code is None:
        return None
    region = region_by_code(code.strip())
    if region is None:
        raise DomainError(_("Unknown region code."), field=field, code="unknown_region")
    return region


ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


@router.get("", response=list[ElderOut], summary="Elders in my scope, filtered")
@paginate(Pages, page_size=50)
def elders_list(request: HttpRequest, filters: Query[ElderFilters]):
    require(request, "elder.list")
    f = filters.dict()
    return (
        elders_filtered(request.auth, **{k: v or "" for k, v in f.items()})
        .select_related("residence_region", "hukou_region")
        .prefetch_related("categories")
    )


@router.post("", response={201: ElderOut, **ERRORS}, summary="Register an elder")
def elders_create(request: HttpRequest, payload: ElderIn):
    require(request, "elder.register")
    data = ops.ElderInput(
        name=payload.name,
        id_number=payload.id_number,
        residence_region=_region(payload.residence_region, "residence_region"),
        hukou_region=_region(payload.hukou_region, "hukou_region"),
        gender=payload.gender,
        birth_date=payload.birth_date,
        phone=payload.phone,
        address=payload.address,
        living_arrangement=payload.living_arrangement,
        lng=payload.lng,
        lat=payload.lat,
        categories=[str(c) for c in payload.categories],
        age_exception_reason=payload.age_exception_reason,
    )
    elder = ops.elder_register(data=data, actor=request.auth, source="api")
    return Status(201, elder)


@router.get("/transfers", response=list[TransferOut], summary="Transfers to or from my counties")
@paginate(Pages, page_size=50)
def transfers_list(request: HttpRequest, status: str | None = None):
    require(request, "elder.transfer")
    return transfers_visible_to(request.auth, status=status or "")


@router.post("/transfers/{transfer_id}/decide", response={200: TransferOut, **ERRORS}, summary="Accept, reject or cancel a transfer")
def transfers_decide(request: HttpRequest, transfer_id: int, payload: TransferDecisionIn):
    require(request, "elder.transfer")
    transfer = get_object_or_404(transfers_visible_to(request.auth), pk=transfer_id)
    return ops.transfer_decide(transfer=transfer, actor=request.auth, to_status=payload.to_status, note=payload.note)


class ImportJobOut(Schema):
    id: int
    kind: str
    original_name: str
    status: str
    total_rows: int
    processed_rows: int
    percent: int
    created_count: int
    unchanged_count: int
    proposed_count: int
    error_count: int
    message: str
    errors_url: str

    @staticmethod
    def resolve_errors_url(job) -> str:
        return f"/api/v1/elders/imports/{job.pk}/errors"


class ReconciliationOut(Schema):
    id: int
    elder_id: int
    elder_name: str
    kind: str
    row: int
    proposal: dict
    status: str

    @staticmethod
    def resolve_elder_name(item) -> str:
        return item.elder.name


class DecisionIn(Schema):
    confirm: bool
    note: str = Field("", max_length=255)


@router.post("/import", response={201: ImportJobOut, **ERRORS}, summary="Import elders or another department's file (.xlsx/.csv)")
def imports_create(request: HttpRequest, kind: Form[str] = "elders", file: File[UploadedFile] = None):
    from yiyang.people.imports import import_start

    require(request, "elder.import")
    if file is None:
        raise DomainError(_("Choose a file."), field="file", code="required")
    if file.size > 50 * 1024 * 1024:
        raise DomainError(_("At most 50 MB per file."), field="file", code="file_too_large")
    job = import_start(actor=request.auth, kind=kind, name=file.name or "upload", content=file.read())
    return Status(201, job)


@router.get("/imports/{job_id}", response={200: ImportJobOut, 403: ErrorOut, 404: ErrorOut}, summary="An import's progress and counts")
def imports_get(request: HttpRequest, job_id: int):
    from yiyang.people.queries import import_jobs_visible_to

    require(request, "elder.import")
    return get_object_or_404(import_jobs_visible_to(request.auth), pk=job_id)


@router.get(
    "/imports/{job_id}/errors", response={200: None, 403: ErrorOut, 404: ErrorOut}, summary="The bad rows as CSV: row, column, reason"
)
def imports_errors(request: HttpRequest, job_id: int):
    from yiyang.people.imports import error_file
    from yiyang.people.queries import import_jobs_visible_to

    require(request, "elder.import")
    job = get_object_or_404(import_jobs_visible_to(request.auth), pk=job_id)
    response = HttpResponse(error_file(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@router.get("/reconciliation", response=list[ReconciliationOut], summary="Proposed changes from other departments' files")
@paginate(Pages, page_size=50)
def reconciliation_list(request: HttpRequest, status: str = "pending"):
    from yiyang.people.models import ReconciliationStatus
    from yiyang.people.queries import reconciliation_queue

    require(request, "elder.import")
    if status not in ReconciliationStatus.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(ReconciliationStatus.values)}, field="status")
    return reconciliation_queue(request.auth, status=status)


@router.post(
    "/reconciliation/{item_id}/decide", response={200: ReconciliationOut, **ERRORS}, summary="Confirm or reject one proposed change"
)
def reconciliation_decide(request: HttpRequest, item_id: int, payload: DecisionIn):
    from yiyang.people.queries import reconciliation_queue

    require(request, "elder.import")
    item = get_object_or_404(reconciliation_queue(request.auth, status=""), pk=item_id)
    return ops.reconciliation_decide(item=item, actor=request.auth, confirm=payload.confirm, note=payload.note)


@router.get("/{elder_id}", response={200: ElderOut, 404: ErrorOut}, summary="One elder's file")
def elders_get(request: HttpRequest, elder_id: int):
    require(request, "elder.view")
    return _elder(request, elder_id)


@router.patch("/{elder_id}", response={200: ElderOut, **ERRORS}, summary="Update or correct an elder's file")
def elders_update(request: HttpRequest, elder_id: int, payload: ElderPatch):
    require(request, "elder.update")
    elder = _elder(request, elder_id)
    given = payload.dict(exclude_unset=True)
    reason = given.pop("reason", "")
    categories = given.pop("categories", None)
    changes: dict = {}
    for key, value in given.items():
        if key in ("residence_region", "hukou_region"):
            if value is None:
                raise DomainError(_("This field cannot be empty."), field=key, code="required")
            changes[key] = _region(value, key)
        elif key == "phone":
            changes[key] = value or ""
        elif key == "name" and value is None:
            raise DomainError(_("This field cannot be empty."), field=key, code="required")
        else:
            changes[key] = value
    if changes:
        ops.elder_update(elder=elder, actor=request.auth, changes=changes, reason=reason)
    if categories is not None:
        ops.elder_set_categories(elder=elder, actor=request.auth, categories=[str(c) for c in categories], source="api")
    return _elder(request, elder_id)


@router.post("/{elder_id}/status", response={200: ElderOut, **ERRORS}, summary="Record a death, a move away, or a return")
def elders_status(request: HttpRequest, elder_id: int, payload: StatusIn):
    require(request, "elder.archive")
    elder = _elder(request, elder_id)
    ops.elder_change_status(
        elder=elder, actor=request.auth, to_status=payload.to_status, effective_date=payload.effective_date, reason=payload.reason
    )
    return _elder(request, elder_id)


@router.post("/{elder_id}/unmask", response={200: UnmaskOut, **ERRORS}, summary="Show one masked field, with a purpose (logged)")
def elders_unmask(request: HttpRequest, elder_id: int, payload: UnmaskIn):
    require(request, "elder.unmask")
    elder = _elder(request, elder_id)
    contact = elder.contacts.filter(pk=payload.contact_id).first() if payload.contact_id else None
    value = ops.elder_unmask(elder=elder, actor=request.auth, field_name=payload.field, purpose=payload.purpose, contact=contact)
    return {"field": payload.field, "value": value}


@router.get("/{elder_id}/contacts", response={200: list[ContactOut], 404: ErrorOut}, summary="Guardians and contacts (phones masked)")
def contacts_list(request: HttpRequest, elder_id: int):
    require(request, "elder.view")
    return list(_elder(request, elder_id).contacts.filter(ended_on__isnull=True))


@router.post("/{elder_id}/contacts", response={201: ContactOut, **ERRORS}, summary="Add a guardian or contact")
def contacts_add(request: HttpRequest, elder_id: int, payload: ContactIn):
    require(request, "elder.update")
    elder = _elder(request, elder_id)
    contact = ops.contact_add(
        elder=elder, actor=request.auth, name=payload.name, relation=payload.relation, phone=payload.phone, is_guardian=payload.is_guardian
    )
    return Status(201, contact)


def _contact(request: HttpRequest, elder_id: int, contact_id: int):
    contact = _elder(request, elder_id).contacts.filter(pk=contact_id, ended_on__isnull=True).first()
    if contact is None:
        raise Http404
    return contact


@router.patch("/{elder_id}/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, summary="Correct a guardian or contact")
def contacts_update(request: HttpRequest, elder_id: int, contact_id: int, payload: ContactPatch):
    require(request, "elder.update")
    contact = _contact(request, elder_id, contact_id)
    return ops.contact_update(contact=contact, actor=request.auth, **payload.dict(exclude_unset=True))


@router.post(
    "/{elder_id}/contacts/{contact_id}/remove",
    response={200: ContactRemoveOut, **ERRORS},
    summary="Remove a contact (kept as ended when a consent names it as the guardian)",
)
def contacts_remove(request: HttpRequest, elder_id: int, contact_id: int, payload: ContactRemoveIn):
    require(request, "elder.update")
    contact = _contact(request, elder_id, contact_id)
    return {"outcome": ops.contact_remove(contact=contact, actor=request.auth, reason=payload.reason)}


@router.post("/{elder_id}/consents", response={201: ConsentOut, **ERRORS}, summary="Record a dated consent decision")
def consents_add(request: HttpRequest, elder_id: int, payload: ConsentIn):
    require(request, "elder.update")
    elder = _elder(request, elder_id)
    guardian = None
    if payload.guardian_id is not None:
        guardian = elder.contacts.filter(pk=payload.guardian_id).first()
        if guardian is None:
            raise DomainError(_("Choose one of this elder's guardians."), field="guardian_id")
    consent = ops.consent_record(
        elder=elder, actor=request.auth, kind=payload.kind, granted=payload.granted, given_on=payload.given_on, guardian=guardian
    )
    return Status(201, consent)


@router.post("/{elder_id}/transfer", response={201: TransferOut, **ERRORS}, summary="Send the file to another county")
def elders_transfer(request: HttpRequest, elder_id: int, payload: TransferIn):
    require(request, "elder.transfer")
    elder = _elder(request, elder_id)
    transfer = ops.transfer_initiate(
        elder=elder,
        actor=request.auth,
        to_region=_region(payload.to_region, "to_region"),
        reason=payload.reason,
        new_address=payload.new_address,
    )
    return Status(201, transfer)
