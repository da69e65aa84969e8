"""Writes on institutions: institutions and ratings, beds, residents, home-care beds, staff, inspections."""

import hashlib
import secrets
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.institutions.models import (
    Alliance,
    Bed,
    BedStatus,
    BedType,
    Certificate,
    CertificateKind,
    DrawStatus,
    Finding,
    FindingStatus,
    Inspection,
    InspectionDraw,
    InspectionResult,
    InspectionStatus,
    Institution,
    InstitutionKind,
    Operation,
    Residency,
    Staff,
    StaffRole,
)
from yiyang.people.models import Elder, ElderStatus, LivingArrangement
from yiyang.regions.models import Region

DRAW_ALGORITHM = "sha256-rank-v1"


def _choice(value: str, choices, field: str) -> str:
    if value not in choices.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(choices.values)}, field=field)
    return value


def _text(value: str, field: str, *, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_("This field is required."), field=field)
    if len(value) > max_length:
        raise DomainError(_("Too long (at most %(n)s characters).") % {"n": max_length}, field=field)
    return value


def _not_future(day: date, field: str) -> None:
    if day > timezone.localdate():
        raise DomainError(_("The date cannot be in the future."), field=field)


# Institutions ----------------------------------------------------------------------------------


def institution_create(
    *,
    actor,
    name: str,
    kind: str,
    operation: str,
    region: Region,
    address: str = "",
    licence_no: str = "",
    licence_expires: date | None = None,
    smart_care_home: bool = False,
    alliance: Alliance | None = None,
) -> Institution:
    name = _text(name, "name", max_length=128)
    _choice(kind, InstitutionKind, "kind")
    _choice(operation, Operation, "operation")
    with transaction.atomic():
        institution = Institution.objects.create(
            name=name,
            kind=kind,
            operation=operation,
            region=region,
            address=_text(address, "address", max_length=255, required=False),
            licence_no=_text(licence_no, "licence_no", max_length=64, required=False),
            licence_expires=licence_expires,
            smart_care_home=smart_care_home,
            alliance=alliance,
        )
        audit_record(actor=actor, action="institution.create", obj=institution, region=region)
    return institution


UPDATABLE = {"name", "address", "licence_no", "licence_expires", "smart_care_home", "alliance", "is_active", "operation", "kind"}


def institution_update(*, institution: Institution, actor, **changes) -> Institution:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise DomainError(_("This field is not allowed."), field=sorted(unknown)[0])
    if "name" in changes:
        changes["name"] = _text(changes["name"], "name", max_length=128)
    if "kind" in changes:
        _choice(changes["kind"], InstitutionKind, "kind")
    if "operation" in changes:
        _choice(changes["operation"], Operation, "operation")
    with transaction.atomic():
        institution = Institution.objects.select_for_update().get(pk=institution.pk)
        before = {k: getattr(institution, k if k != "alliance" else "alliance_id") for k in changes}
        for key, value in changes.items():
            setattr(institution, key, value)
        institution.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=actor,
            action="institution.update",
            obj=institution,
            region=institution.region,
            detail={"fields": sorted(changes), "before": {k: str(v) for k, v in before.items()}},
        )
    return institution


def institution_rate(*, institution: Institution, star_rating: int, rated_on: date, actor) -> Institution:
    """Record the provincial star grading (1-5 stars) and its date."""
    if not 1 <= int(star_rating) <= 5:
        raise DomainError(_("A star rating is from 1 to 5."), field="star_rating")
    _not_future(rated_on, "rated_on")
    with transaction.atomic():
        institution = Institution.objects.select_for_update().get(pk=institution.pk)
        if institution.star_rated_on and rated_on < institution.star_rated_on:
            raise StateConflict(_("A later rating is already recorded."), field="rated_on")
        old = institution.star_rating
        institution.star_rating, institution.star_rated_on = int(star_rating), rated_on
        institution.save(update_fields=["star_rating", "star_rated_on", "updated_at"])
        audit_record(
            actor=actor, action="institution.rate", obj=institution, region=institution.region, detail={"from": old, "to": star_rating}
        )
    return institution


def alliance_create(*, name: str, region: Region, actor, established_on: date | None = None) -> Alliance:
    name = _text(name, "name", max_length=128)
    if Alliance.objects.filter(name=name).exists():
        raise DomainError(_("An alliance with this name exists."), field="name", code="duplicate")
    with transaction.atomic():
        alliance = Alliance.objects.create(name=name, region=region, established_on=established_on)
        audit_record(actor=actor, action="alliance.create", obj=alliance, region=region)
    return alliance


# Beds --------------------------------------------------------------------------------------------


def bed_add(*, institution: Institution, code: str, bed_type: str, actor) -> Bed:
    code = _text(code, "code", max_length=32)
    _choice(bed_type, BedType, "bed_type")
    try:
        with transaction.atomic():
            bed = Bed.objects.create(institution=institution, code=code, bed_type=bed_type)
            audit_record(actor=actor, action="bed.add", obj=bed, region=institution.region)
    except IntegrityError:
        raise DomainError(_("Bed %(code)s already exists in this institution.") % {"code": code}, field="code", code="duplicate")
    return bed


def bed_set_status(*, bed: Bed, status: str, actor) -> Bed:
    """Maintenance, closing and reopening; occupancy changes only through admission and discharge."""
    _choice(status, BedStatus, "status")
    if status == BedStatus.OCCUPIED:
        raise DomainError(_("A bed becomes occupied by admitting a resident."), field="status")
    with transaction.atomic():
        bed = Bed.objects.select_for_update().get(pk=bed.pk)
        if bed.status == BedStatus.OCCUPIED:
            raise StateConflict(_("The bed is occupied; discharge the resident first."), field="status")
        old = bed.status
        bed.status = status
        bed.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="bed.status", obj=bed, detail={"from": old, "to": status})
    return bed


# Residents ---------------------------------------------------------------------------------------


def _admit_locked(*, elder: Elder, bed: Bed, admitted_on: date, actor, assessment=None) -> Residency:
    """Inside a transaction, with the bed and the elder locked by the caller."""
    if bed.institution_id is None:
        raise DomainError(_("A home-care bed cannot take an admission."), field="bed_id")
    if bed.status != BedStatus.AVAILABLE:
        raise StateConflict(_("Bed %(code)s is %(status)s.") % {"code": bed.code, "status": bed.get_status_display()}, field="bed_id")
    if elder.status != ElderStatus.ACTIVE:
        raise DomainError(_("Only an active elder can be admitted."), field="elder_id")
    current = Residency.objects.filter(elder=elder, discharged_on__isnull=True).select_related("institution").first()
    if current is not None:
        raise StateConflict(
            _("%(elder)s already has a bed in %(institution)s.") % {"elder": elder.name, "institution": current.institution.name},
            field="elder_id",
            code="already_resident",
        )
    residency = Residency.objects.create(
        elder=elder,
        bed=bed,
        institution_id=bed.institution_id,
        admitted_on=admitted_on,
        previous_living_arrangement=elder.living_arrangement,
        assessment=assessment,
    )
    bed.status = BedStatus.OCCUPIED
    bed.save(update_fields=["status", "updated_at"])
    # The registry shows where the elder lives now.
    elder.living_arrangement = LivingArrangement.INSTITUTION
    elder.save(update_fields=["living_arrangement", "updated_at"])
    audit_record(actor=actor, action="resident.admit", obj=residency, region=elder.residence_region, detail={"bed": bed.pk})
    return residency


def resident_admit(*, elder: Elder, bed: Bed, admitted_on: date, actor) -> Residency:
    """Admit an elder to an available institution bed. An elder is never in two beds, a bed never holds two."""
    _not_future(admitted_on, "admitted_on")
    try:
        with transaction.atomic():
            # Lock order bed -> elder everywhere, so two admissions cannot deadlock.
            bed = Bed.objects.select_for_update().get(pk=bed.pk)
            elder = Elder.objects.select_for_update().get(pk=elder.pk)
            return _admit_locked(elder=elder, bed=bed, admitted_on=admitted_on, actor=actor)
    except IntegrityError:
        # The partial unique constraints are the backstop for a race past the checks above.
        raise StateConflict(_("The bed or the elder was taken by another admission."), field="bed_id", code="already_resident")


def _discharge_locked(residency: Residency, *, discharged_on: date, reason: str, actor) -> Residency:
    if residency.discharged_on is not None:
        raise StateConflict(_("Already discharged."), field="discharged_on")
    if discharged_on < residency.admitted_on:
        raise DomainError(_("Discharge cannot be before admission."), field="discharged_on")
    bed = Bed.objects.select_for_update().get(pk=residency.bed_id)
    elder = Elder.objects.select_for_update().get(pk=residency.elder_id)
    residency.discharged_on, residency.discharge_reason = discharged_on, reason
    residency.save(update_fields=["discharged_on", "discharge_reason", "updated_at"])
    bed.status = BedStatus.AVAILABLE
    bed.save(update_fields=["status", "updated_at"])
    if elder.living_arrangement == LivingArrangement.INSTITUTION:
        elder.living_arrangement = residency.previous_living_arrangement or LivingArrangement.WITH_FAMILY
        elder.save(update_fields=["living_arrangement", "updated_at"])
    audit_record(actor=actor, action="resident.discharge", obj=residency, region=elder.residence_region, detail={"reason": reason})
    return residency


def resident_discharge(*, residency: Residency, discharged_on: date, reason: str, actor) -> Residency:
    reason = _text(reason, "reason", max_length=255)
    _not_future(discharged_on, "discharged_on")
    with transaction.atomic():
        residency = Residency.objects.select_for_update().get(pk=residency.pk)
        return _discharge_locked(residency, discharged_on=discharged_on, reason=reason, actor=actor)


# Home-care beds (家庭养老床位) ---------------------------------------------------------------------


def _valid_assessment(elder: Elder, on: date):
    from yiyang.assessments.queries import current_assessment

    assessment = current_assessment(elder, on=on)
    if assessment is None:
        raise DomainError(
            _("%(elder)s has no valid ability assessment; assess first.") % {"elder": elder.name},
            field="elder_id",
            code="assessment_required",
        )
    return assessment


def home_bed_register(*, elder: Elder, bed_type: str, actor, on: date | None = None) -> Bed:
    """Register a home-care bed at the elder's home; it rests on a valid ability assessment."""
    _choice(bed_type, BedType, "bed_type")
    day = on or timezone.localdate()
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        if elder.status != ElderStatus.ACTIVE:
            raise DomainError(_("Only an active elder can have a home-care bed."), field="elder_id")
        if Residency.objects.filter(elder=elder, discharged_on__isnull=True).exists():
            raise StateConflict(_("The elder lives in an institution."), field="elder_id", code="already_resident")
        if Bed.objects.filter(home_elder=elder).exclude(status=BedStatus.CLOSED).exists():
            raise StateConflict(_("The elder already has a home-care bed."), field="elder_id", code="duplicate")
        assessment = _valid_assessment(elder, day)
        bed = Bed.objects.create(
            home_elder=elder, code=f"H-{elder.pk}-{day:%Y%m%d}", bed_type=bed_type, status=BedStatus.OCCUPIED, assessment=assessment
        )
        audit_record(actor=actor, action="home_bed.register", obj=bed, region=elder.residence_region, detail={"assessment": assessment.pk})
    return bed


def home_bed_convert_to_institution(*, home_bed: Bed, bed: Bed, admitted_on: date, actor) -> Residency:
    """Major task 9: a home-care bed becomes an institution bed, on a valid assessment."""
    _not_future(admitted_on, "admitted_on")
    with transaction.atomic():
        bed = Bed.objects.select_for_update().get(pk=bed.pk)
        home_bed = Bed.objects.select_for_update().get(pk=home_bed.pk)
        if not home_bed.is_home_bed or home_bed.status == BedStatus.CLOSED:
            raise StateConflict(_("This is not an open home-care bed."), field="home_bed_id")
        elder = Elder.objects.select_for_update().get(pk=home_bed.home_elder_id)
        assessment = _valid_assessment(elder, admitted_on)
        home_bed.status = BedStatus.CLOSED
        home_bed.save(update_fields=["status", "updated_at"])
        residency = _admit_locked(elder=elder, bed=bed, admitted_on=admitted_on, actor=actor, assessment=assessment)
        audit_record(actor=actor, action="home_bed.convert_to_institution", obj=home_bed, detail={"residency": residency.pk})
    return residency


def residency_convert_to_home_bed(*, residency: Residency, bed_type: str, on: date, actor) -> Bed:
    """The reverse: an elder leaves the institution bed for a home-care bed, on a valid assessment."""
    _choice(bed_type, BedType, "bed_type")
    _not_future(on, "on")
    with transaction.atomic():
        residency = Residency.objects.select_for_update().get(pk=residency.pk)
        elder = residency.elder
        assessment = _valid_assessment(elder, on)
        _discharge_locked(residency, discharged_on=on, reason=_("Converted to a home-care bed"), actor=actor)
        if Bed.objects.filter(home_elder=elder).exclude(status=BedStatus.CLOSED).exists():
            raise StateConflict(_("The elder already has a home-care bed."), field="elder_id", code="duplicate")
        bed = Bed.objects.create(
            home_elder=elder, code=f"H-{elder.pk}-{on:%Y%m%d}", bed_type=bed_type, status=BedStatus.OCCUPIED, assessment=assessment
        )
        audit_record(actor=actor, action="home_bed.convert_from_institution", obj=bed, detail={"residency": residency.pk})
    return bed


# Staff -------------------------------------------------------------------------------------------


def staff_add(*, institution: Institution, name: str, role: str, actor, hired_on: date | None = None) -> Staff:
    name = _text(name, "name", max_length=64)
    _choice(role, StaffRole, "role")
    with transaction.atomic():
        staff = Staff.objects.create(institution=institution, name=name, role=role, hired_on=hired_on)
        audit_record(actor=actor, action="staff.add", obj=staff, region=institution.region)
    return staff


def staff_leave(*, staff: Staff, left_on: date, actor) -> Staff:
    with transaction.atomic():
        staff = Staff.objects.select_for_update().get(pk=staff.pk)
        if staff.left_on is not None:
            raise StateConflict(_("Already left."), field="left_on")
        staff.left_on = left_on
        staff.save(update_fields=["left_on", "updated_at"])
        audit_record(actor=actor, action="staff.leave", obj=staff)
    return staff


def certificate_add(
    *, staff: Staff, kind: str, number: str, issued_on: date, actor, level: int | None = None, expires_on: date | None = None
) -> Certificate:
    _choice(kind, CertificateKind, "kind")
    number = _text(number, "number", max_length=64)
    if level is not None and not 1 <= level <= 5:
        raise DomainError(_("A skill level is from 1 to 5."), field="level")
    _not_future(issued_on, "issued_on")
    if expires_on is not None and expires_on <= issued_on:
        raise DomainError(_("The expiry must be after the issue date."), field="expires_on")
    try:
        with transaction.atomic():
            cert = Certificate.objects.create(
                staff=staff, kind=kind, number=number, issued_on=issued_on, expires_on=expires_on, level=level
            )
            audit_record(actor=actor, action="certificate.add", obj=cert)
    except IntegrityError:
        raise DomainError(_("This certificate number is already registered."), field="number", code="duplicate")
    return cert


# Inspections: 双随机、一公开 ----------------------------------------------------------------------


def _rank(seed: str, *parts: int) -> str:
    return hashlib.sha256(":".join([seed, *map(str, parts)]).encode()).hexdigest()


def draw_compute(*, seed: str, institution_ids: list[int], inspector_ids: list[int], sample_size: int) -> list[list[int]]:
    """The draw itself, a pure function anyone can redo from the published seed and candidate lists.

    Institutions are ranked by SHA-256("seed:institution_id") and the first `sample_size` taken;
    for each, inspectors are ranked by SHA-256("seed:institution_id:inspector_id") and the first
    two form its pair. Same inputs, same result, on any machine and in any language.
    """
    chosen = sorted(institution_ids, key=lambda i: _rank(seed, i))[:sample_size]
    result = []
    for institution_id in sorted(chosen):
        pair = sorted(inspector_ids, key=lambda u: _rank(seed, institution_id, u))[:2]
        result.append([institution_id, pair[0], pair[1]])
    return result


def inspector_pool(region: Region) -> list[int]:
    """Active inspectors whose area contains the region or lies within it."""
    ancestors = []
    codes = region.path.strip("/").split("/")
    for i in range(len(codes)):
        ancestors.append("/".join(codes[: i + 1]) + "/")
    users = User.objects.filter(role=Role.INSPECTOR, is_active=True)
    from django.db.models import Q

    users = users.filter(Q(regions__path__in=ancestors) | Q(regions__path__startswith=region.path))
    return sorted(set(users.values_list("pk", flat=True)))


def inspection_draw(*, region: Region, period: str, sample_size: int, actor, seed: str | None = None) -> InspectionDraw:
    period = _text(period, "period", max_length=16)
    if sample_size < 1:
        raise DomainError(_("Draw at least one institution."), field="sample_size")
    seed = (seed or "").strip() or str(secrets.randbits(64))
    if len(seed) > 64:
        raise DomainError(_("Too long (at most %(n)s characters).") % {"n": 64}, field="seed")
    with transaction.atomic():
        if InspectionDraw.objects.select_for_update().filter(region=region, period=period, status=DrawStatus.ACTIVE).exists():
            raise StateConflict(
                _("A draw for %(region)s, %(period)s is already in force; void it (with a reason) before drawing again.")
                % {"region": region.name, "period": period},
                field="period",
                code="draw_exists",
            )
        institutions = sorted(Institution.objects.filter(is_active=True, region__path__startswith=region.path).values_list("pk", flat=True))
        inspectors = inspector_pool(region)
        if not institutions:
            raise DomainError(_("There is no active institution in %(region)s.") % {"region": region.name}, field="region")
        if len(inspectors) < 2:
            raise DomainError(_("At least two inspectors are needed in the pool."), field="region", code="pool_too_small")
        if sample_size > len(institutions):
            raise DomainError(
                _("Only %(n)s institutions can be drawn in %(region)s.") % {"n": len(institutions), "region": region.name},
                field="sample_size",
            )
        result = draw_compute(seed=seed, institution_ids=institutions, inspector_ids=inspectors, sample_size=sample_size)
        try:
            draw = InspectionDraw.objects.create(
                region=region,
                period=period,
                seed=seed,
                algorithm=DRAW_ALGORITHM,
                sample_size=sample_size,
                institution_candidates=institutions,
                inspector_candidates=inspectors,
                result=result,
                drawn_by=actor,
            )
        except IntegrityError:
            raise StateConflict(_("Another draw for this region and period was just made."), field="period", code="draw_exists")
        Inspection.objects.bulk_create([Inspection(draw=draw, institution_id=i, inspector_a_id=a, inspector_b_id=b) for i, a, b in result])
        audit_record(actor=actor, action="inspection.draw", obj=draw, region=region, detail={"seed": seed, "result": result})
    return draw


def inspection_draw_verify(draw: InspectionDraw) -> bool:
    return (
        draw.algorithm == DRAW_ALGORITHM
        and draw_compute(
            seed=draw.seed,
            institution_ids=draw.institution_candidates,
            inspector_ids=draw.inspector_candidates,
            sample_size=draw.sample_size,
        )
        == draw.result
    )


def inspection_draw_void(*, draw: InspectionDraw, reason: str, actor) -> InspectionDraw:
    """Void a draw (it stays on record and on the public page) so that a new one can be made."""
    reason = _text(reason, "reason", max_length=255)
    with transaction.atomic():
        draw = InspectionDraw.objects.select_for_update().get(pk=draw.pk)
        if draw.status != DrawStatus.ACTIVE:
            raise StateConflict(_("This draw is already void."), field="status")
        if draw.inspections.filter(status=InspectionStatus.DONE).exists():
            raise StateConflict(_("Inspections of this draw were already carried out."), field="status", code="draw_in_use")
        draw.status, draw.void_reason = DrawStatus.VOIDED, reason
        draw.save(update_fields=["status", "void_reason", "updated_at"])
        draw.inspections.update(status=InspectionStatus.CANCELLED, updated_at=timezone.now())
        audit_record(actor=actor, action="inspection.draw_void", obj=draw, region=draw.region, detail={"reason": reason})
    return draw


def _is_inspector_of(inspection: Inspection, actor) -> bool:
    return actor.pk in (inspection.inspector_a_id, inspection.inspector_b_id) or actor.is_superuser or actor.role == Role.ADMIN


def inspection_record(*, inspection: Inspection, inspected_on: date, result: str, summary: str, actor) -> Inspection:
    _choice(result, InspectionResult, "result")
    _not_future(inspected_on, "inspected_on")
    summary = _text(summary, "summary", max_length=4000, required=False)
    with transaction.atomic():
        inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
        if not _is_inspector_of(inspection, actor):
            raise DomainError(
                _("Only the two inspectors drawn record this inspection."), field="inspection_id", code="not_drawn", status=403
            )
        if inspection.status != InspectionStatus.PLANNED:
            raise StateConflict(_("This inspection is %(s)s.") % {"s": inspection.get_status_display()}, field="status")
        inspection.status, inspection.inspected_on, inspection.result, inspection.summary = (
            InspectionStatus.DONE,
            inspected_on,
            result,
            summary,
        )
        inspection.save(update_fields=["status", "inspected_on", "result", "summary", "updated_at"])
        audit_record(actor=actor, action="inspection.record", obj=inspection, detail={"result": result})
    return inspection


def finding_add(*, inspection: Inspection, description: str, deadline: date, actor) -> Finding:
    description = _text(description, "description", max_length=500)
    with transaction.atomic():
        inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
        if not _is_inspector_of(inspection, actor):
            raise DomainError(
                _("Only the two inspectors drawn record this inspection."), field="inspection_id", code="not_drawn", status=403
            )
        if inspection.status != InspectionStatus.DONE:
            raise StateConflict(_("Record the inspection before its findings."), field="status")
        if deadline < inspection.inspected_on:
            raise DomainError(_("The deadline must be after the inspection."), field="deadline")
        finding = Finding.objects.create(inspection=inspection, description=description, deadline=deadline)
        audit_record(actor=actor, action="inspection.finding", obj=finding)
    return finding


def finding_recheck(*, finding: Finding, fixed: bool, rechecked_on: date, note: str, actor) -> Finding:
    _not_future(rechecked_on, "rechecked_on")
    note = _text(note, "note", max_length=500, required=False)
    with transaction.atomic():
        finding = Finding.objects.select_for_update().select_related("inspection").get(pk=finding.pk)
        if not _is_inspector_of(finding.inspection, actor):
            raise DomainError(_("Only the two inspectors drawn record this inspection."), field="finding_id", code="not_drawn", status=403)
        if finding.status != FindingStatus.OPEN:
            raise StateConflict(_("This finding was already re-checked."), field="status")
        if rechecked_on < finding.inspection.inspected_on:
            raise DomainError(_("The re-check cannot be before the inspection."), field="rechecked_on")
        finding.status = FindingStatus.RESOLVED if fixed else FindingStatus.UNRESOLVED
        finding.rechecked_on, finding.rechecked_by, finding.recheck_note = rechecked_on, actor, note
        finding.save(update_fields=["status", "rechecked_on", "rechecked_by", "recheck_note", "updated_at"])
        audit_record(actor=actor, action="inspection.recheck", obj=finding, detail={"fixed": fixed})
    return finding


def inspection_publish(*, inspection: Inspection, actor) -> Inspection:
    with transaction.atomic():
        inspection = Inspection.objects.select_for_update().get(pk=inspection.pk)
        if inspection.status != InspectionStatus.DONE:
            raise StateConflict(_("Only a recorded inspection can be published."), field="status")
        if inspection.published_at is not None:
            raise StateConflict(_("Already published."), field="status")
        inspection.published_at = timezone.now()
        inspection.save(update_fields=["published_at", "updated_at"])
        audit_record(actor=actor, action="inspection.publish", obj=inspection)
    return inspection
