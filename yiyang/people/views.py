"""Pages of the elder registry. They parse, call an operation or a query, and render."""

import csv
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.accounts.scope import scope_of
from yiyang.core.errors import DomainError
from yiyang.people import operations as ops
from yiyang.people.models import (
    OLDEST_OLD,
    Category,
    ConsentKind,
    ElderContact,
    ElderStatus,
    LivingArrangement,
    TransferStatus,
)
from yiyang.people.queries import access_log_visible_to, elder_for, elders_filtered, transfers_visible_to
from yiyang.regions.models import Level, Region
from yiyang.regions.queries import region_by_code

CATEGORY_CHOICES = [*Category.choices, (OLDEST_OLD, gettext_lazy("Oldest-old (80+, 高龄)"))]


def _need(request: HttpRequest, capability: str) -> None:
    # Pages answer 404 to roles without the capability, so a page's existence leaks nothing either.
    if not can(request.user, capability):
        raise Http404


def _elder_or_404(request: HttpRequest, elder_id: int):
    elder = elder_for(request.user, elder_id)
    if elder is None:
        raise Http404
    return elder


def _townships_for(user):
    townships = Region.objects.filter(level__in=[Level.TOWNSHIP, Level.VILLAGE]).order_by("code")
    scope = scope_of(user)
    if scope.everything:
        return townships
    return townships.filter(_self_in(scope.region_paths))


def _self_in(paths):
    from django.db.models import Q

    q = Q(pk__in=[])
    for path in paths:
        q |= Q(path__startswith=path)
    return q


def _filters(request: HttpRequest) -> dict[str, str]:
    return {
        "q": request.GET.get("q", "").strip()[:64],
        "region": request.GET.get("region", "").strip()[:12],
        "category": request.GET.get("category", "").strip(),
        "status": request.GET.get("status", ElderStatus.ACTIVE).strip(),
        "living_arrangement": request.GET.get("living_arrangement", "").strip(),
    }


@login_required
def elder_list(request: HttpRequest) -> HttpResponse:
    _need(request, "elder.list")
    filters = _filters(request)
    elders = elders_filtered(request.user, **filters).select_related("residence_region")
    page = Paginator(elders, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "people/elder_list.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "q": filters["q"],
            "categories": CATEGORY_CHOICES,
            "statuses": [("all", _("All")), *ElderStatus.choices],
            "arrangements": LivingArrangement.choices,
            "can_register": can(request.user, "elder.register"),
            "can_export": can(request.user, "elder.export"),
            "can_import": can(request.user, "elder.import"),
        },
    )


@login_required
def elder_export(request: HttpRequest) -> HttpResponse:
    """CSV of the filtered list, masked. Asks for the purpose first; every export goes to the access log."""
    _need(request, "elder.export")
    filters = _filters(request)
    if request.method != "POST":
        return render(request, "people/elder_export.html", {"filters": filters, "query": request.GET.urlencode()})
    filters = {k: request.POST.get(k, v) for k, v in filters.items()}
    elders = list(elders_filtered(request.user, **filters).select_related("residence_region", "hukou_region"))
    region = region_by_code(filters["region"]) if filters["region"] else None
    try:
        ops.export_record(actor=request.user, count=len(elders), filters=filters, purpose=request.POST.get("purpose", ""), region=region)
    except DomainError as exc:
        return render(request, "people/elder_export.html", {"filters": filters, "error": exc}, status=400)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="elders-{timezone.localdate():%Y%m%d}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
    writer = csv.writer(response)
    writer.writerow([_("Name"), _("Gender"), _("Birth date"), _("ID number"), _("Phone"), _("Lives in"), _("Address"), _("Status")])
    for e in elders:
        writer.writerow(
            [
                e.name,
                e.get_gender_display(),
                e.birth_date.isoformat(),
                e.id_number_masked,
                e.phone_masked,
                e.residence_region.name,
                e.address,
                e.get_status_display(),
            ]
        )
    return response


@never_cache
@sensitive_variables("value", "revealed")
@login_required
def elder_detail(request: HttpRequest, elder_id: int) -> HttpResponse:
    elder = _elder_or_404(request, elder_id)
    revealed: dict = {}
    unmask_error = None
    if request.method == "POST" and request.POST.get("action") == "unmask":
        contact = None
        if request.POST.get("contact"):
            contact = elder.contacts.filter(pk=request.POST.get("contact")).first()
        try:
            value = ops.elder_unmask(
                elder=elder,
                actor=request.user,
                field_name=request.POST.get("field", ""),
                purpose=request.POST.get("purpose", ""),
                contact=contact,
            )
            revealed = {"field": request.POST.get("field"), "value": value, "contact": contact.pk if contact else None}
        except DomainError as exc:
            if exc.status == 403:
                raise Http404
            unmask_error = exc
    return render(request, "people/elder_detail.html", _detail_context(request, elder, revealed=revealed, unmask_error=unmask_error))


def _detail_context(request: HttpRequest, elder, **extra) -> dict:
    user = request.user
    return {
        "elder": elder,
        "categories": elder.categories.all(),
        "open_categories": [c.category for c in elder.categories.all() if c.ended is None],
        "contacts": elder.contacts.filter(ended_on__isnull=True),
        "former_contacts": elder.contacts.filter(ended_on__isnull=False),
        "consents": ops.consents_in_force(elder),
        "status_changes": elder.status_changes.select_related("actor"),
        "transfers": elder.transfers.select_related("from_region", "to_region"),
        "can_unmask": can(user, "elder.unmask"),
        "can_order": can(user, "order.create") and elder.status == ElderStatus.ACTIVE,
        "can_hotline": can(user, "homecare.hotline") and elder.status == ElderStatus.ACTIVE,
        "can_update": can(user, "elder.update") and elder.status == ElderStatus.ACTIVE,
        "can_archive": can(user, "elder.archive"),
        "can_transfer": can(user, "elder.transfer") and elder.status == ElderStatus.ACTIVE,
        "all_categories": Category.choices,
        "consent_kinds": ConsentKind.choices,
        "relations": ElderContact.Relation.choices,
        "statuses": ElderStatus.choices,
        "today": timezone.localdate(),
        "counties": Region.objects.filter(level=Level.COUNTY).order_by("code"),
        **extra,
    }


def _register_fields(request: HttpRequest, values: dict, errors: dict) -> list[dict]:
    townships = [(r.code, r.name) for r in _townships_for(request.user)]
    spec = [
        ("name", _("Name"), "text", None, True),
        ("id_number", _("ID number"), "text", None, True),
        ("phone", _("Phone"), "tel", None, False),
        ("residence_region", _("Lives in (township)"), "select", townships, True),
        ("hukou_region", _("Hukou (township), if different"), "select", [("", "—"), *townships], False),
        ("address", _("Address"), "text", None, False),
        ("living_arrangement", _("Living arrangement"), "select", LivingArrangement.choices, True),
        ("lng", _("Longitude (WGS-84)"), "text", None, False),
        ("lat", _("Latitude (WGS-84)"), "text", None, False),
        ("age_exception_reason", _("Reason for registering someone under 60 (officers only)"), "text", None, False),
    ]
    return [
        {"name": n, "label": label, "type": t, "choices": c, "required": r, "value": values.get(n, ""), "error": errors.get(n)}
        for n, label, t, c, r in spec
    ]


def _float(value: str, field: str) -> float | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise DomainError(_("Enter a number."), field=field)


# Error reports (DEBUG pages, mailed tracebacks) must never carry the number or phone typed in.
@sensitive_post_parameters("id_number", "phone")
@sensitive_variables("values", "data")
@login_required
def elder_register(request: HttpRequest) -> HttpResponse:
    _need(request, "elder.register")
    values = {"living_arrangement": LivingArrangement.WITH_FAMILY}
    errors: dict = {}
    duplicate = None
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "").strip() for k in request.POST}
        try:
            data = ops.ElderInput(
                name=values.get("name", ""),
                id_number=values.get("id_number", ""),
                residence_region=region_by_code(values.get("residence_region", "")),
                hukou_region=region_by_code(values["hukou_region"]) if values.get("hukou_region") else None,
                phone=values.get("phone", ""),
                address=values.get("address", ""),
                living_arrangement=values.get("living_arrangement", ""),
                lng=_float(values.get("lng", ""), "lng"),
                lat=_float(values.get("lat", ""), "lat"),
                categories=request.POST.getlist("categories"),
                age_exception_reason=values.get("age_exception_reason", ""),
            )
            elder = ops.elder_register(data=data, actor=request.user)
        except ops.DuplicateElder as exc:
            duplicate, status = exc, 409
            errors[exc.field] = exc.message
        except DomainError as exc:
            errors[exc.field or "form"] = exc.message
            status = 400
        else:
            messages.success(request, _("Registered %(name)s.") % {"name": elder.name})
            return redirect("people:elder_detail", elder.pk)
    return render(
        request,
        "people/elder_form.html",
        {
            "fields": _register_fields(request, values, errors),
            "errors": errors,
            "duplicate": duplicate,
            "all_categories": Category.choices,
            "chosen": request.POST.getlist("categories") if request.method == "POST" else [],
            "title": _("Register an elder"),
        },
        status=status,
    )


@sensitive_post_parameters("phone")
@sensitive_variables("values", "posted", "changes")
@login_required
def elder_edit(request: HttpRequest, elder_id: int) -> HttpResponse:
    _need(request, "elder.update")
    elder = _elder_or_404(request, elder_id)
    townships = [(r.code, r.name) for r in _townships_for(request.user)]
    values = {
        "name": elder.name,
        "residence_region": elder.residence_region.code,
        "hukou_region": elder.hukou_region.code if elder.hukou_region else "",
        "address": elder.address,
        "living_arrangement": elder.living_arrangement,
        "lng": "" if elder.lng is None else elder.lng,
        "lat": "" if elder.lat is None else elder.lat,
        "phone": "",
        "reason": "",
    }
    errors: dict = {}
    status = 200
    if request.method == "POST":
        posted = {k: request.POST.get(k, "").strip() for k in values}
        values.update(posted)
        try:
            changes: dict = {}
            if posted["name"] != elder.name:
                changes["name"] = posted["name"]
            if posted["residence_region"] != elder.residence_region.code:
                changes["residence_region"] = region_by_code(posted["residence_region"])
            hukou_code = elder.hukou_region.code if elder.hukou_region else ""
            if posted["hukou_region"] and posted["hukou_region"] != hukou_code:
                changes["hukou_region"] = region_by_code(posted["hukou_region"])
            if posted["address"] != elder.address:
                changes["address"] = posted["address"]
            if posted["living_arrangement"] != elder.living_arrangement:
                changes["living_arrangement"] = posted["living_arrangement"]
            lng, lat = _float(posted["lng"], "lng"), _float(posted["lat"], "lat")
            if (lng, lat) != (elder.lng, elder.lat):
                changes.update(lng=lng, lat=lat)
            if posted["phone"]:
                changes["phone"] = posted["phone"]
            if request.POST.get("clear_phone"):
                changes["phone"] = ""
            ops.elder_update(elder=elder, actor=request.user, changes=changes, reason=posted["reason"])
        except DomainError as exc:
            errors[exc.field or "form"] = exc.message
            status = 409 if exc.status == 409 else 400
        else:
            messages.success(request, _("Saved."))
            return redirect("people:elder_detail", elder.pk)
    spec = [
        ("name", _("Name"), "text", None),
        ("phone", _("New phone (leave empty to keep %(masked)s)") % {"masked": elder.phone_masked or "—"}, "tel", None),
        ("residence_region", _("Lives in (township)"), "select", townships),
        (
            "hukou_region",
            _("Hukou (township)"),
            "select",
            [("", "—"), *[(r.code, r.name) for r in Region.objects.filter(level=Level.TOWNSHIP)]],
        ),
        ("address", _("Address"), "text", None),
        ("living_arrangement", _("Living arrangement"), "select", LivingArrangement.choices),
        ("lng", _("Longitude (WGS-84)"), "text", None),
        ("lat", _("Latitude (WGS-84)"), "text", None),
        ("reason", _("Reason for the change (e.g. address correction)"), "text", None),
    ]
    fields = [
        {"name": n, "label": lab, "type": t, "choices": c, "value": values.get(n, ""), "error": errors.get(n)} for n, lab, t, c in spec
    ]
    return render(
        request,
        "people/elder_form.html",
        {"fields": fields, "errors": errors, "elder": elder, "title": _("Edit %(name)s") % {"name": elder.name}},
        status=status,
    )


def _post_action(request: HttpRequest, elder_id: int, capability: str, action) -> HttpResponse:
    _need(request, capability)
    elder = _elder_or_404(request, elder_id)
    try:
        action(elder)
    except DomainError as exc:
        if exc.status == 403:
            raise Http404
        context = _detail_context(request, elder, action_error=exc)
        return render(request, "people/elder_detail.html", context, status=exc.status)
    messages.success(request, _("Saved."))
    return redirect("people:elder_detail", elder.pk)


def _date(value: str, field: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise DomainError(_("Enter a date as YYYY-MM-DD."), field=field)


@login_required
@require_POST
def elder_status(request: HttpRequest, elder_id: int) -> HttpResponse:
    p = request.POST
    return _post_action(
        request,
        elder_id,
        "elder.archive",
        lambda e: ops.elder_change_status(
            elder=e,
            actor=request.user,
            to_status=p.get("to_status", ""),
            effective_date=_date(p.get("effective_date", ""), "effective_date"),
            reason=p.get("reason", ""),
        ),
    )


@login_required
@require_POST
def elder_categories(request: HttpRequest, elder_id: int) -> HttpResponse:
    return _post_action(
        request,
        elder_id,
        "elder.update",
        lambda e: ops.elder_set_categories(elder=e, actor=request.user, categories=request.POST.getlist("categories")),
    )


@login_required
@require_POST
def elder_contact_add(request: HttpRequest, elder_id: int) -> HttpResponse:
    p = request.POST
    return _post_action(
        request,
        elder_id,
        "elder.update",
        lambda e: ops.contact_add(
            elder=e,
            actor=request.user,
            name=p.get("name", ""),
            relation=p.get("relation", ""),
            phone=p.get("phone", ""),
            is_guardian=bool(p.get("is_guardian")),
        ),
    )


def _contact_action(request: HttpRequest, elder_id: int, contact_id: int, action) -> HttpResponse:
    """Like _post_action for one contact; an error is shown next to that contact's form fields."""
    _need(request, "elder.update")
    elder = _elder_or_404(request, elder_id)
    contact = elder.contacts.filter(pk=contact_id, ended_on__isnull=True).first()
    if contact is None:
        raise Http404
    try:
        action(contact)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise Http404
        context = _detail_context(request, elder, contact_error=exc, error_contact=contact.pk, contact_values=request.POST)
        return render(request, "people/elder_detail.html", context, status=exc.status)
    messages.success(request, _("Saved."))
    return redirect("people:elder_detail", elder.pk)


@login_required
@require_POST
def elder_contact_update(request: HttpRequest, elder_id: int, contact_id: int) -> HttpResponse:
    p = request.POST
    return _contact_action(
        request,
        elder_id,
        contact_id,
        lambda c: ops.contact_update(
            contact=c,
            actor=request.user,
            name=p.get("name", ""),
            relation=p.get("relation", ""),
            # The clear phone is never put back into the page: empty keeps it, the checkbox removes it.
            phone="" if p.get("clear_phone") else (p.get("phone", "").strip() or None),
            is_guardian=bool(p.get("is_guardian")),
            is_emergency=bool(p.get("is_emergency")),
        ),
    )


@login_required
@require_POST
def elder_contact_remove(request: HttpRequest, elder_id: int, contact_id: int) -> HttpResponse:
    return _contact_action(
        request, elder_id, contact_id, lambda c: ops.contact_remove(contact=c, actor=request.user, reason=request.POST.get("reason", ""))
    )


@login_required
@require_POST
def elder_consent(request: HttpRequest, elder_id: int) -> HttpResponse:
    p = request.POST

    def record(e):
        guardian = e.contacts.filter(pk=p.get("guardian")).first() if p.get("guardian") else None
        return ops.consent_record(
            elder=e,
            actor=request.user,
            kind=p.get("kind", ""),
            granted=p.get("granted") == "yes",
            given_on=_date(p.get("given_on", ""), "given_on"),
            guardian=guardian,
        )

    return _post_action(request, elder_id, "elder.update", record)


@login_required
@require_POST
def elder_transfer(request: HttpRequest, elder_id: int) -> HttpResponse:
    p = request.POST
    return _post_action(
        request,
        elder_id,
        "elder.transfer",
        lambda e: ops.transfer_initiate(
            elder=e,
            actor=request.user,
            to_region=region_by_code(p.get("to_region", "")),
            reason=p.get("reason", ""),
            new_address=p.get("new_address", ""),
        ),
    )


@login_required
def transfer_list(request: HttpRequest) -> HttpResponse:
    _need(request, "elder.transfer")
    transfers = transfers_visible_to(request.user)
    scope = scope_of(request.user)

    def side(region) -> bool:
        return scope.everything or any(region.path.startswith(p) for p in scope.region_paths)

    rows = [{"t": t, "incoming": side(t.to_region), "outgoing": side(t.from_region)} for t in transfers[:200]]
    return render(request, "people/transfer_list.html", {"rows": rows, "pending": TransferStatus.PENDING})


@login_required
@require_POST
def transfer_decide(request: HttpRequest, transfer_id: int) -> HttpResponse:
    _need(request, "elder.transfer")
    transfer = get_object_or_404(transfers_visible_to(request.user), pk=transfer_id)
    try:
        ops.transfer_decide(
            transfer=transfer, actor=request.user, to_status=request.POST.get("to_status", ""), note=request.POST.get("note", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("people:transfer_list")
    messages.success(request, _("Saved."))
    return redirect("people:transfer_list")


@login_required
def access_log(request: HttpRequest) -> HttpResponse:
    _need(request, "access_log.view")
    events = access_log_visible_to(request.user)
    action = request.GET.get("action", "")
    if action:
        events = events.filter(action=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "people/access_log.html", {"page": page, "action": action})


# Imports and reconciliation ------------------------------------------------------------


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    from yiyang.people.imports import import_start
    from yiyang.people.models import ImportKind
    from yiyang.people.queries import import_jobs_visible_to

    _need(request, "elder.import")
    error = None
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise DomainError(_("Choose a file."), field="file", code="required")
            if upload.size > 50 * 1024 * 1024:
                raise DomainError(_("At most 50 MB per file."), field="file", code="file_too_large")
            job = import_start(
                actor=request.user, kind=request.POST.get("kind", ImportKind.ELDERS), name=upload.name, content=upload.read()
            )
        except DomainError as exc:
            error, status = exc, 400
        else:
            return redirect("people:import_detail", job.pk)
    jobs = import_jobs_visible_to(request.user)[:50]
    return render(request, "people/import_list.html", {"jobs": jobs, "kinds": ImportKind.choices, "error": error}, status=status)


@login_required
def import_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    from yiyang.people.queries import import_jobs_visible_to

    _need(request, "elder.import")
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=job_id)
    template = "people/_import_progress.html" if request.htmx else "people/import_detail.html"
    return render(request, template, {"job": job, "errors": job.errors[:200]})


@login_required
def import_errors(request: HttpRequest, job_id: int) -> HttpResponse:
    from yiyang.people.imports import error_file
    from yiyang.people.queries import import_jobs_visible_to

    _need(request, "elder.import")
    job = get_object_or_404(import_jobs_visible_to(request.user), pk=job_id)
    response = HttpResponse(error_file(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@login_required
def reconciliation_list(request: HttpRequest) -> HttpResponse:
    from yiyang.people.models import ReconciliationStatus
    from yiyang.people.queries import reconciliation_queue

    _need(request, "elder.import")
    status = request.GET.get("status", ReconciliationStatus.PENDING)
    if status not in ReconciliationStatus.values:
        status = ReconciliationStatus.PENDING
    page = Paginator(reconciliation_queue(request.user, status=status), 50).get_page(request.GET.get("page"))
    return render(request, "people/reconciliation_list.html", {"page": page, "status": status, "statuses": ReconciliationStatus.choices})


@login_required
@require_POST
def reconciliation_decide_view(request: HttpRequest, item_id: int) -> HttpResponse:
    from yiyang.people.queries import reconciliation_queue

    _need(request, "elder.import")
    item = get_object_or_404(reconciliation_queue(request.user, status=""), pk=item_id)
    try:
        ops.reconciliation_decide(
            item=item, actor=request.user, confirm=request.POST.get("decision") == "confirm", note=request.POST.get("note", "")
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Saved."))
    return redirect("people:reconciliation_list")
