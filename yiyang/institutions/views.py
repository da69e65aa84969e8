from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.institutions import operations as ops
from yiyang.institutions.models import (
    Bed,
    BedStatus,
    BedType,
    CertificateKind,
    DrawStatus,
    Finding,
    InspectionDraw,
    InspectionResult,
    Institution,
    InstitutionKind,
    Operation,
    Residency,
    Staff,
    StaffRole,
)
from yiyang.institutions.queries import (
    draws_visible_to,
    inspections_visible_to,
    institution_for,
    institutions_visible_to,
    public_inspections,
    region_in_scope,
)
from yiyang.people.queries import elder_for, elders_visible_to


def _require(request: HttpRequest, capability: str) -> None:
    if not can(request.user, capability):
        raise Http404


def _date(value: str, field: str, *, required: bool = True) -> date | None:
    value = (value or "").strip()
    if not value:
        if required:
            raise DomainError(_("This field is required."), field=field)
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(_("Enter a date as YYYY-MM-DD."), field=field)


def _int(value: str, field: str) -> int:
    try:
        return int((value or "").strip())
    except ValueError:
        raise DomainError(_("Enter a whole number."), field=field)


@login_required
def institution_list(request: HttpRequest) -> HttpResponse:
    _require(request, "institution.view")
    rows = (
        institutions_visible_to(request.user)
        .select_related("region", "alliance")
        .annotate(
            beds_total=Count("beds", filter=~Q(beds__status=BedStatus.CLOSED)),
            beds_nursing=Count("beds", filter=Q(beds__bed_type=BedType.NURSING) & ~Q(beds__status=BedStatus.CLOSED)),
            beds_occupied=Count("beds", filter=Q(beds__status=BedStatus.OCCUPIED)),
        )
        .order_by("region__code", "name", "pk")
    )
    kind = request.GET.get("kind", "")
    if kind in InstitutionKind.values:
        rows = rows.filter(kind=kind)
    q = request.GET.get("q", "").strip()
    if q:
        rows = rows.filter(name__contains=q)
    error = None
    if request.method == "POST":
        _require(request, "institution.manage")
        try:
            region = region_in_scope(request.user, request.POST.get("region", "").strip())
            if region is None:
                raise DomainError(_("Enter the code of a region in your area."), field="region")
            institution = ops.institution_create(
                actor=request.user,
                name=request.POST.get("name", ""),
                kind=request.POST.get("kind", ""),
                operation=request.POST.get("operation", ""),
                region=region,
                address=request.POST.get("address", ""),
                licence_no=request.POST.get("licence_no", ""),
                licence_expires=_date(request.POST.get("licence_expires", ""), "licence_expires", required=False),
                smart_care_home=request.POST.get("smart_care_home") == "on",
            )
        except DomainError as exc:
            error = exc
        else:
            return redirect("institutions:detail", institution_id=institution.pk)
    return render(
        request,
        "institutions/list.html",
        {
            "page": Paginator(rows, 50).get_page(request.GET.get("page")),
            "q": q,
            "kind": kind,
            "kinds": InstitutionKind.choices,
            "operations": Operation.choices,
            "can_manage": can(request.user, "institution.manage"),
            "error": error,
            "posted": request.POST if error else {},
        },
        status=400 if error else 200,
    )


ACTIONS = {"add_bed", "bed_status", "admit", "discharge", "rate", "add_staff", "add_certificate", "staff_leave"}


def _act(request: HttpRequest, institution, action: str) -> str:
    post, user = request.POST, request.user
    if action == "add_bed":
        ops.bed_add(institution=institution, code=post.get("code", ""), bed_type=post.get("bed_type", ""), actor=user)
        return _("Bed added.")
    if action == "bed_status":
        bed = Bed.objects.filter(institution=institution, pk=_int(post.get("bed_id", ""), "bed_id")).first()
        if bed is None:
            raise DomainError(_("No such bed here."), field="bed_id")
        ops.bed_set_status(bed=bed, status=post.get("status", ""), actor=user)
        return _("Bed status changed.")
    if action == "admit":
        elder = elder_for(user, _int(post.get("elder_id", ""), "elder_id"))
        if elder is None:
            raise DomainError(_("No elder with this number in your area."), field="elder_id")
        bed = Bed.objects.filter(institution=institution, pk=_int(post.get("bed_id", ""), "bed_id")).first()
        if bed is None:
            raise DomainError(_("No such bed here."), field="bed_id")
        ops.resident_admit(elder=elder, bed=bed, admitted_on=_date(post.get("admitted_on", ""), "admitted_on"), actor=user)
        return _("Resident admitted.")
    if action == "discharge":
        residency = Residency.objects.filter(institution=institution, pk=_int(post.get("residency_id", ""), "residency_id")).first()
        if residency is None:
            raise DomainError(_("No such resident here."), field="residency_id")
        ops.resident_discharge(
            residency=residency,
            discharged_on=_date(post.get("discharged_on", ""), "discharged_on"),
            reason=post.get("reason", ""),
            actor=user,
        )
        return _("Resident discharged.")
    if action == "rate":
        ops.institution_rate(
            institution=institution,
            star_rating=_int(post.get("star_rating", ""), "star_rating"),
            rated_on=_date(post.get("rated_on", ""), "rated_on"),
            actor=user,
        )
        return _("Rating recorded.")
    if action == "add_staff":
        ops.staff_add(
            institution=institution,
            name=post.get("name", ""),
            role=post.get("role", ""),
            hired_on=_date(post.get("hired_on", ""), "hired_on", required=False),
            actor=user,
        )
        return _("Staff member added.")
    if action in ("add_certificate", "staff_leave"):
        staff = Staff.objects.filter(institution=institution, pk=_int(post.get("staff_id", ""), "staff_id")).first()
        if staff is None:
            raise DomainError(_("No such staff member here."), field="staff_id")
        if action == "staff_leave":
            ops.staff_leave(staff=staff, left_on=_date(post.get("left_on", ""), "left_on"), actor=user)
            return _("Recorded.")
        level = post.get("level", "").strip()
        ops.certificate_add(
            staff=staff,
            kind=post.get("kind", ""),
            number=post.get("number", ""),
            issued_on=_date(post.get("issued_on", ""), "issued_on"),
            expires_on=_date(post.get("expires_on", ""), "expires_on", required=False),
            level=_int(level, "level") if level else None,
            actor=user,
        )
        return _("Certificate added.")
    raise Http404


@login_required
def institution_detail(request: HttpRequest, institution_id: int) -> HttpResponse:
    _require(request, "institution.view")
    institution = institution_for(request.user, institution_id)
    if institution is None:
        raise Http404
    errors: dict = {}
    action = ""
    if request.method == "POST":
        _require(request, "institution.manage")
        action = request.POST.get("action", "")
        if action not in ACTIONS:
            raise Http404
        try:
            messages.success(request, _act(request, institution, action))
        except DomainError as exc:
            errors = {f"{action}_{exc.field}" if exc.field else action: exc.message, action: exc.message}
        else:
            return redirect("institutions:detail", institution_id=institution.pk)
    residents = (
        Residency.objects.filter(institution=institution, discharged_on__isnull=True)
        .filter(elder__in=elders_visible_to(request.user).values("pk"))
        .select_related("elder", "bed")
    )
    hidden_residents = Residency.objects.filter(institution=institution, discharged_on__isnull=True).count() - residents.count()
    return render(
        request,
        "institutions/detail.html",
        {
            "i": institution,
            "beds": institution.beds.all(),
            "residents": residents,
            "hidden_residents": hidden_residents,
            "staff": Staff.objects.filter(institution=institution).prefetch_related("certificates"),
            "bed_types": BedType.choices,
            "bed_statuses": [c for c in BedStatus.choices if c[0] != BedStatus.OCCUPIED],
            "staff_roles": StaffRole.choices,
            "cert_kinds": CertificateKind.choices,
            "can_manage": can(request.user, "institution.manage"),
            "errors": errors,
            "today": timezone.localdate(),
        },
        status=400 if errors else 200,
    )


@login_required
def inspections(request: HttpRequest) -> HttpResponse:
    _require(request, "inspection.view")
    error = None
    if request.method == "POST":
        _require(request, "inspection.draw")
        try:
            action = request.POST.get("action", "draw")
            if action == "void":
                draw = draws_visible_to(request.user).filter(pk=_int(request.POST.get("draw_id", ""), "draw_id")).first()
                if draw is None:
                    raise Http404
                ops.inspection_draw_void(draw=draw, reason=request.POST.get("reason", ""), actor=request.user)
                messages.success(request, _("Draw voided. It stays on record."))
            else:
                region = region_in_scope(request.user, request.POST.get("region", "").strip())
                if region is None:
                    raise DomainError(_("Enter the code of a region in your area."), field="region")
                ops.inspection_draw(
                    region=region,
                    period=request.POST.get("period", ""),
                    sample_size=_int(request.POST.get("sample_size", ""), "sample_size"),
                    seed=request.POST.get("seed", ""),
                    actor=request.user,
                )
                messages.success(request, _("Draw made and recorded."))
        except DomainError as exc:
            error = exc
        else:
            return redirect("institutions:inspections")
    mine = inspections_visible_to(request.user).select_related("institution", "draw").order_by("-draw__created_at", "institution__name")
    return render(
        request,
        "institutions/inspections.html",
        {
            "draws": draws_visible_to(request.user).select_related("region")[:50],
            "inspections": mine[:200],
            "can_draw": can(request.user, "inspection.draw"),
            "error": error,
            "posted": request.POST if error else {},
        },
        status=400 if error else 200,
    )


INSPECTION_ACTIONS = {"record", "finding", "recheck", "publish"}


@login_required
def inspection_detail(request: HttpRequest, inspection_id: int) -> HttpResponse:
    _require(request, "inspection.view")
    inspection = (
        inspections_visible_to(request.user).select_related("institution", "draw", "institution__region").filter(pk=inspection_id).first()
    )
    if inspection is None:
        raise Http404
    errors: dict = {}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in INSPECTION_ACTIONS:
            raise Http404
        _require(request, "inspection.draw" if action == "publish" else "inspection.record")
        post = request.POST
        try:
            if action == "record":
                ops.inspection_record(
                    inspection=inspection,
                    inspected_on=_date(post.get("inspected_on", ""), "inspected_on"),
                    result=post.get("result", ""),
                    summary=post.get("summary", ""),
                    actor=request.user,
                )
            elif action == "finding":
                ops.finding_add(
                    inspection=inspection,
                    description=post.get("description", ""),
                    deadline=_date(post.get("deadline", ""), "deadline"),
                    actor=request.user,
                )
            elif action == "recheck":
                finding = Finding.objects.filter(inspection=inspection, pk=_int(post.get("finding_id", ""), "finding_id")).first()
                if finding is None:
                    raise DomainError(_("No such finding."), field="finding_id")
                ops.finding_recheck(
                    finding=finding,
                    fixed=post.get("fixed") == "yes",
                    rechecked_on=_date(post.get("rechecked_on", ""), "rechecked_on"),
                    note=post.get("note", ""),
                    actor=request.user,
                )
            else:
                ops.inspection_publish(inspection=inspection, actor=request.user)
        except DomainError as exc:
            errors = {f"{action}_{exc.field}" if exc.field else action: exc.message, action: exc.message}
        else:
            messages.success(request, _("Saved."))
            return redirect("institutions:inspection", inspection_id=inspection.pk)
    return render(
        request,
        "institutions/inspection.html",
        {
            "x": inspection,
            "findings": inspection.findings.all(),
            "results": InspectionResult.choices,
            "is_inspector": request.user.pk in (inspection.inspector_a_id, inspection.inspector_b_id) or request.user.is_superuser,
            "can_publish": can(request.user, "inspection.draw"),
            "errors": errors,
            "today": timezone.localdate(),
        },
        status=400 if errors else 200,
    )


def public_inspection_results(request: HttpRequest) -> HttpResponse:
    """Public, no login: draws (with seeds and candidate counts) and published results. No personal data."""
    draws = InspectionDraw.objects.select_related("region").order_by("-created_at")[:50]
    institution_names = dict(Institution.objects.filter(pk__in={row[0] for d in draws for row in d.result}).values_list("pk", "name"))
    return render(
        request,
        "institutions/public.html",
        {
            "draws": [
                {
                    "draw": d,
                    "voided": d.status == DrawStatus.VOIDED,
                    "institutions": [institution_names.get(row[0], "?") for row in d.result],
                    "candidates": len(d.institution_candidates),
                    "pool": len(d.inspector_candidates),
                }
                for d in draws
            ],
            "inspections": public_inspections()[:200],
        },
    )
