from datetime import date, datetime

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from yiyang.core.api_auth import require
from yiyang.core.errors import DomainError
from yiyang.core.pagination import Pages
from yiyang.institutions import operations as ops
from yiyang.institutions.models import (
    Alliance,
    Bed,
    BedType,
    CertificateKind,
    Finding,
    InspectionDraw,
    InspectionResult,
    InstitutionKind,
    Operation,
    Staff,
    StaffRole,
)
from yiyang.institutions.queries import (
    draws_visible_to,
    inspections_visible_to,
    institution_for,
    institution_indicators,
    institutions_visible_to,
    public_inspections,
    region_in_scope,
    residencies_visible_to,
)
from yiyang.people.queries import elder_for

router = Router(tags=["institutions"])


class InstitutionOut(Schema):
    id: int
    name: str
    kind: str
    operation: str
    region: str
    address: str
    licence_no: str
    licence_expires: date | None
    star_rating: int | None
    star_rated_on: date | None
    smart_care_home: bool
    alliance: str | None
    is_active: bool

    @staticmethod
    def resolve_region(i) -> str:
        return i.region.code

    @staticmethod
    def resolve_alliance(i) -> str | None:
        return i.alliance.name if i.alliance_id else None


class InstitutionIn(Schema):
    name: str = Field(min_length=1, max_length=128)
    kind: InstitutionKind
    operation: Operation
    region: str = Field(description="region code")
    address: str = Field("", max_length=255)
    licence_no: str = Field("", max_length=64)
    licence_expires: date | None = None
    smart_care_home: bool = False


class InstitutionPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=128)
    address: str | None = Field(None, max_length=255)
    licence_no: str | None = Field(None, max_length=64)
    licence_expires: date | None = None
    smart_care_home: bool | None = None
    alliance_id: int | None = Field(None, description="an alliance id; 0 leaves the alliance")
    is_active: bool | None = None


class AllianceIn(Schema):
    name: str = Field(min_length=1, max_length=128)
    region: str
    established_on: date | None = None


class AllianceOut(Schema):
    id: int
    name: str
    region: str
    established_on: date | None

    @staticmethod
    def resolve_region(a) -> str:
        return a.region.code


class ConvertToInstitutionIn(Schema):
    home_bed_id: int
    bed_id: int
    admitted_on: date


class ConvertToHomeIn(Schema):
    bed_type: BedType
    on: date


class BedIn(Schema):
    code: str = Field(min_length=1, max_length=32)
    bed_type: BedType


class BedOut(Schema):
    id: int
    institution_id: int | None
    home_elder_id: int | None
    code: str
    bed_type: str
    status: str


class AdmitIn(Schema):
    elder_id: int
    bed_id: int
    admitted_on: date


class ResidencyOut(Schema):
    id: int
    elder_id: int
    bed_id: int
    institution_id: int
    admitted_on: date
    discharged_on: date | None
    discharge_reason: str


class DischargeIn(Schema):
    discharged_on: date
    reason: str = Field(min_length=1, max_length=255)


class RatingIn(Schema):
    star_rating: int = Field(ge=1, le=5)
    rated_on: date


class StaffIn(Schema):
    name: str = Field(min_length=1, max_length=64)
    role: StaffRole
    hired_on: date | None = None


class StaffOut(Schema):
    id: int
    institution_id: int
    name: str
    role: str
    hired_on: date | None
    left_on: date | None


class CertificateIn(Schema):
    kind: CertificateKind
    number: str = Field(min_length=1, max_length=64)
    issued_on: date
    expires_on: date | None = None
    level: int | None = Field(None, ge=1, le=5)


class CertificateOut(Schema):
    id: int
    staff_id: int
    kind: str
    number: str
    level: int | None
    issued_on: date
    expires_on: date | None


class HomeBedIn(Schema):
    elder_id: int
    bed_type: BedType


class DrawIn(Schema):
    region: str
    period: str = Field(min_length=1, max_length=16)
    sample_size: int = Field(ge=1, le=1000)
    seed: str | None = Field(None, max_length=64)


class DrawOut(Schema):
    id: int
    region: str
    period: str
    seed: str
    algorithm: str
    sample_size: int
    institution_candidates: list[int]
    inspector_candidates: list[int]
    result: list[list[int]]
    status: str
    void_reason: str
    created_at: datetime

    @staticmethod
    def resolve_region(d) -> str:
        return d.region.code


class VoidIn(Schema):
    reason: str = Field(min_length=1, max_length=255)


class VerifyOut(Schema):
    id: int
    reproduced: bool


class InspectionOut(Schema):
    id: int
    draw_id: int
    institution_id: int
    institution_name: str
    status: str
    inspected_on: date | None
    result: str
    summary: str
    published_at: datetime | None

    @staticmethod
    def resolve_institution_name(x) -> str:
        return x.institution.name


class RecordIn(Schema):
    inspected_on: date
    result: InspectionResult
    summary: str = Field("", max_length=4000)


class FindingIn(Schema):
    description: str = Field(min_length=1, max_length=500)
    deadline: date


class FindingOut(Schema):
    id: int
    inspection_id: int
    description: str
    deadline: date
    status: str
    rechecked_on: date | None
    recheck_note: str


class RecheckIn(Schema):
    fixed: bool
    rechecked_on: date
    note: str = Field("", max_length=500)


class PublicFindingOut(Schema):
    description: str
    deadline: date
    status: str


class PublicInspectionOut(Schema):
    institution: str
    region: str
    period: str
    inspected_on: date | None
    result: str
    summary: str
    findings: list[PublicFindingOut]

    @staticmethod
    def resolve_institution(x) -> str:
        return x.institution.name

    @staticmethod
    def resolve_region(x) -> str:
        return x.institution.region.name

    @staticmethod
    def resolve_period(x) -> str:
        return x.draw.period

    @staticmethod
    def resolve_findings(x) -> list:
        return list(x.findings.all())


def _institution(request: HttpRequest, institution_id: int):
    institution = institution_for(request.auth, institution_id)
    if institution is None:
        raise Http404
    return institution


def _manage(request: HttpRequest, institution_id: int):
    require(request, "institution.manage")
    return _institution(request, institution_id)


@router.get("", response=list[InstitutionOut], summary="Institutions in my area")
@paginate(Pages, page_size=100)
def institutions_list(request: HttpRequest, kind: InstitutionKind | None = None, region: str | None = None):
    require(request, "institution.view")
    rows = institutions_visible_to(request.auth).select_related("region", "alliance")
    if kind:
        rows = rows.filter(kind=kind)
    if region:
        where = region_in_scope(request.auth, region)
        rows = rows.filter(region__path__startswith=where.path) if where else rows.none()
    return rows


@router.post("", response={201: InstitutionOut}, summary="Register an institution")
def institutions_create(request: HttpRequest, payload: InstitutionIn):
    require(request, "institution.manage")
    region = region_in_scope(request.auth, payload.region)
    if region is None:
        raise DomainError(_("Enter the code of a region in your area."), field="region")
    data = payload.dict()
    data["region"] = region
    return Status(201, ops.institution_create(actor=request.auth, **data))


@router.get("/indicators", summary="Counts for the plan cockpit (beds, certified care workers, alliances, smart care homes, tekun)")
def institutions_indicators(request: HttpRequest, region: str):
    require(request, "institution.view")
    where = region_in_scope(request.auth, region)
    if where is None:
        raise Http404
    return {"region": where.code, **institution_indicators(region_path=where.path)}


@router.post("/alliances", response={201: AllianceOut}, summary="Register a care-and-wellness alliance (康养联合体)")
def alliances_create(request: HttpRequest, payload: AllianceIn):
    require(request, "institution.manage")
    region = region_in_scope(request.auth, payload.region)
    if region is None:
        raise DomainError(_("Enter the code of a region in your area."), field="region")
    return Status(201, ops.alliance_create(name=payload.name, region=region, established_on=payload.established_on, actor=request.auth))


@router.get("/{int:institution_id}", response=InstitutionOut, summary="One institution")
def institutions_get(request: HttpRequest, institution_id: int):
    require(request, "institution.view")
    return _institution(request, institution_id)


@router.patch("/{int:institution_id}", response=InstitutionOut, summary="Change an institution's details, flags or alliance")
def institutions_update(request: HttpRequest, institution_id: int, payload: InstitutionPatch):
    institution = _manage(request, institution_id)
    changes = payload.dict(exclude_unset=True)
    if "alliance_id" in changes:
        alliance_id = changes.pop("alliance_id")
        if alliance_id:
            alliance = Alliance.objects.filter(pk=alliance_id).first()
            if alliance is None:
                raise DomainError(_("No such alliance."), field="alliance_id")
            changes["alliance"] = alliance
        else:
            changes["alliance"] = None
    ops.institution_update(institution=institution, actor=request.auth, **changes)
    return _institution(request, institution_id)


@router.put("/{int:institution_id}/rating", response=InstitutionOut, summary="Record the provincial star rating")
def institutions_rate(request: HttpRequest, institution_id: int, payload: RatingIn):
    institution = _manage(request, institution_id)
    return ops.institution_rate(institution=institution, star_rating=payload.star_rating, rated_on=payload.rated_on, actor=request.auth)


@router.get("/{int:institution_id}/beds", response=list[BedOut], summary="Beds of an institution")
def beds_list(request: HttpRequest, institution_id: int):
    require(request, "institution.view")
    return list(Bed.objects.filter(institution=_institution(request, institution_id)))


@router.post("/{int:institution_id}/beds", response={201: BedOut}, summary="Add a bed")
def beds_add(request: HttpRequest, institution_id: int, payload: BedIn):
    institution = _manage(request, institution_id)
    return Status(201, ops.bed_add(institution=institution, code=payload.code, bed_type=payload.bed_type, actor=request.auth))


@router.post("/{int:institution_id}/residents", response={201: ResidencyOut}, summary="Admit an elder to a bed")
def residents_admit(request: HttpRequest, institution_id: int, payload: AdmitIn):
    institution = _manage(request, institution_id)
    elder = elder_for(request.auth, payload.elder_id)
    if elder is None:
        raise Http404
    bed = Bed.objects.filter(institution=institution, pk=payload.bed_id).first()
    if bed is None:
        raise DomainError(_("No such bed in this institution."), field="bed_id")
    return Status(201, ops.resident_admit(elder=elder, bed=bed, admitted_on=payload.admitted_on, actor=request.auth))


@router.post("/residencies/{int:residency_id}/discharge", response=ResidencyOut, summary="Discharge a resident")
def residents_discharge(request: HttpRequest, residency_id: int, payload: DischargeIn):
    require(request, "institution.manage")
    residency = residencies_visible_to(request.auth).filter(pk=residency_id).first()
    if residency is None or institution_for(request.auth, residency.institution_id) is None:
        raise Http404
    return ops.resident_discharge(residency=residency, discharged_on=payload.discharged_on, reason=payload.reason, actor=request.auth)


@router.post("/{int:institution_id}/staff", response={201: StaffOut}, summary="Add a staff member")
def staff_add(request: HttpRequest, institution_id: int, payload: StaffIn):
    institution = _manage(request, institution_id)
    return Status(201, ops.staff_add(institution=institution, actor=request.auth, **payload.dict()))


@router.post("/staff/{staff_id}/certificates", response={201: CertificateOut}, summary="Register a staff member's certificate")
def certificates_add(request: HttpRequest, staff_id: int, payload: CertificateIn):
    require(request, "institution.manage")
    staff = Staff.objects.filter(pk=staff_id, institution__in=institutions_visible_to(request.auth).values("pk")).first()
    if staff is None:
        raise Http404
    return Status(201, ops.certificate_add(staff=staff, actor=request.auth, **payload.dict()))


@router.post("/home-beds", response={201: BedOut}, summary="Register a home-care bed (家庭养老床位) on a valid assessment")
def home_beds_register(request: HttpRequest, payload: HomeBedIn):
    require(request, "institution.manage")
    elder = elder_for(request.auth, payload.elder_id)
    if elder is None:
        raise Http404
    return Status(201, ops.home_bed_register(elder=elder, bed_type=payload.bed_type, actor=request.auth))


@router.post("/home-beds/convert-to-institution", response={201: ResidencyOut}, summary="A home-care bed becomes an institution bed")
def home_beds_to_institution(request: HttpRequest, payload: ConvertToInstitutionIn):
    require(request, "institution.manage")
    home_bed = Bed.objects.filter(pk=payload.home_bed_id, home_elder__isnull=False).first()
    if home_bed is None or elder_for(request.auth, home_bed.home_elder_id) is None:
        raise Http404
    bed = Bed.objects.filter(pk=payload.bed_id, institution__in=institutions_visible_to(request.auth).values("pk")).first()
    if bed is None:
        raise DomainError(_("No such bed in an institution of your area."), field="bed_id")
    return Status(201, ops.home_bed_convert_to_institution(home_bed=home_bed, bed=bed, admitted_on=payload.admitted_on, actor=request.auth))


@router.post("/residencies/{int:residency_id}/convert-to-home-bed", response={201: BedOut}, summary="A resident moves to a home-care bed")
def residency_to_home_bed(request: HttpRequest, residency_id: int, payload: ConvertToHomeIn):
    require(request, "institution.manage")
    residency = residencies_visible_to(request.auth).filter(pk=residency_id).first()
    if residency is None or institution_for(request.auth, residency.institution_id) is None:
        raise Http404
    return Status(201, ops.residency_convert_to_home_bed(residency=residency, bed_type=payload.bed_type, on=payload.on, actor=request.auth))


def _draws(request: HttpRequest):
    return draws_visible_to(request.auth).select_related("region")


@router.get("/inspection-draws", response=list[DrawOut], summary="Inspection draws in my area")
@paginate(Pages, page_size=50)
def draws_list(request: HttpRequest):
    require(request, "inspection.view")
    return _draws(request)


@router.post("/inspection-draws", response={201: DrawOut}, summary="Draw institutions and inspector pairs (recorded, reproducible)")
def draws_create(request: HttpRequest, payload: DrawIn):
    require(request, "inspection.draw")
    region = region_in_scope(request.auth, payload.region)
    if region is None:
        raise DomainError(_("Enter the code of a region in your area."), field="region")
    draw = ops.inspection_draw(region=region, period=payload.period, sample_size=payload.sample_size, seed=payload.seed, actor=request.auth)
    return Status(201, InspectionDraw.objects.select_related("region").get(pk=draw.pk))


@router.get("/inspection-draws/{draw_id}/verify", response=VerifyOut, summary="Redo a draw from its recorded seed and candidates")
def draws_verify(request: HttpRequest, draw_id: int):
    require(request, "inspection.view")
    draw = _draws(request).filter(pk=draw_id).first()
    if draw is None:
        raise Http404
    return {"id": draw.pk, "reproduced": ops.inspection_draw_verify(draw)}


@router.post("/inspection-draws/{draw_id}/void", response=DrawOut, summary="Void a draw (it stays on record) so that a new one can be made")
def draws_void(request: HttpRequest, draw_id: int, payload: VoidIn):
    require(request, "inspection.draw")
    draw = _draws(request).filter(pk=draw_id).first()
    if draw is None:
        raise Http404
    ops.inspection_draw_void(draw=draw, reason=payload.reason, actor=request.auth)
    return _draws(request).get(pk=draw_id)


def _inspection(request: HttpRequest, inspection_id: int):
    inspection = inspections_visible_to(request.auth).select_related("institution").filter(pk=inspection_id).first()
    if inspection is None:
        raise Http404
    return inspection


@router.get("/inspections", response=list[InspectionOut], summary="Inspections I may see (inspectors: their own)")
@paginate(Pages, page_size=100)
def inspections_list(request: HttpRequest):
    require(request, "inspection.view")
    return inspections_visible_to(request.auth).select_related("institution")


@router.post("/inspections/{inspection_id}/record", response=InspectionOut, summary="Record an inspection's result")
def inspections_record(request: HttpRequest, inspection_id: int, payload: RecordIn):
    require(request, "inspection.record")
    inspection = _inspection(request, inspection_id)
    ops.inspection_record(inspection=inspection, actor=request.auth, **payload.dict())
    return _inspection(request, inspection_id)


@router.post("/inspections/{inspection_id}/findings", response={201: FindingOut}, summary="Add a finding with a deadline for the fix")
def findings_add(request: HttpRequest, inspection_id: int, payload: FindingIn):
    require(request, "inspection.record")
    inspection = _inspection(request, inspection_id)
    return Status(201, ops.finding_add(inspection=inspection, actor=request.auth, **payload.dict()))


@router.post("/findings/{finding_id}/recheck", response=FindingOut, summary="Record the re-check of a finding")
def findings_recheck(request: HttpRequest, finding_id: int, payload: RecheckIn):
    require(request, "inspection.record")
    finding = Finding.objects.filter(pk=finding_id, inspection__in=inspections_visible_to(request.auth).values("pk")).first()
    if finding is None:
        raise Http404
    return ops.finding_recheck(finding=finding, actor=request.auth, **payload.dict())


@router.post("/inspections/{inspection_id}/publish", response=InspectionOut, summary="Publish an inspection's result")
def inspections_publish(request: HttpRequest, inspection_id: int):
    require(request, "inspection.draw")
    inspection = _inspection(request, inspection_id)
    ops.inspection_publish(inspection=inspection, actor=request.auth)
    return _inspection(request, inspection_id)


public_router = Router(tags=["public"])


@public_router.get(
    "/inspections",
    auth=None,
    openapi_extra={"security": []},
    response=list[PublicInspectionOut],
    summary="Published inspection results (public, no personal data)",
)
@paginate(Pages, page_size=100)
def public_inspection_results(request: HttpRequest):
    return public_inspections()
