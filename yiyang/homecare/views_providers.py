"""Pages that manage the supply side: providers and their offerings, caregivers and certificates, the catalogue.

Parse the form -> call a provider_operations function -> render. A role without the capability
gets 403; an object outside the user's providers or regions gets 404.
"""

import re
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.homecare import provider_operations as pops
from yiyang.homecare.forms_providers import (
    checked,
    fen_to_yuan_text,
    parse_date,
    parse_float,
    parse_int,
    parse_time,
    parse_weekdays,
    plain_code,
    weekday_choices,
    yuan_to_fen,
)
from yiyang.homecare.models import Caregiver, Certificate, Qualification, ServiceCategory, ServiceItem
from yiyang.homecare.provider_queries import (
    caregiver_for,
    caregivers_matching,
    caregivers_of,
    counties_in_area,
    offerings_of,
    provider_for,
    townships_choosable,
    townships_in_area,
)
from yiyang.homecare.queries import provider_scores, providers_visible_to
from yiyang.regions.models import Region


def need(request: HttpRequest, capability: str) -> None:
    """Wrong role: 403 (the role, not the object, is refused)."""
    if not can(request.user, capability):
        raise PermissionDenied


def _provider_or_404(request: HttpRequest, provider_id: int):
    provider = provider_for(request.user, provider_id)
    if provider is None:
        raise Http404
    return provider


def _caregiver_or_404(request: HttpRequest, caregiver_id: int) -> Caregiver:
    caregiver = caregiver_for(request.user, caregiver_id)
    if caregiver is None:
        raise Http404
    return caregiver


def _regions_from(codes: list[str], allowed, *, field: str) -> list[Region]:
    """The chosen townships; a code that is not among the choices is refused by name."""
    codes = [c for c in codes if c]
    for code in codes:
        if not code.isascii() or not code.isdigit() or len(code) > 12:
            raise DomainError(_("A region code is 6 to 12 digits."), field=field, code="invalid")
    found = {r.code: r for r in Region.objects.filter(code__in=codes)}
    for code in codes:
        if code not in found:
            raise DomainError(_("Unknown region code %(code)s.") % {"code": code[:12]}, field=field, code="unknown_region")
    return [found[c] for c in dict.fromkeys(codes)]


def _county_groups(townships) -> list[dict]:
    groups: dict[str, dict] = {}
    for t in townships:
        key = t.parent.code if t.parent_id else ""
        groups.setdefault(key, {"name": t.parent.name if t.parent_id else "", "townships": []})["townships"].append(t)
    return list(groups.values())


# Providers --------------------------------------------------------------------------------------------


@login_required
def provider_list(request: HttpRequest) -> HttpResponse:
    need(request, "provider.view")
    providers = provider_scores(providers_visible_to(request.user).select_related("region")).order_by("name")
    return render(
        request,
        "homecare/provider_list.html",
        {
            "providers": list(providers.prefetch_related("service_regions")),
            "can_manage": can(request.user, "provider.manage"),
            "can_register": can(request.user, "provider.register"),
        },
    )


@login_required
def provider_new(request: HttpRequest) -> HttpResponse:
    """An officer registers a provider: name, licence, phone, county, townships served."""
    need(request, "provider.register")
    counties = list(counties_in_area(request.user))
    townships = list(townships_in_area(request.user))
    form = {"name": "", "licence_no": "", "phone": "", "region": counties[0].code if len(counties) == 1 else "", "regions": set()}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        post = request.POST
        form.update(
            name=post.get("name", ""),
            licence_no=post.get("licence_no", ""),
            phone=post.get("phone", ""),
            region=post.get("region", ""),
            regions=set(post.getlist("regions")),
        )
        try:
            county = next((c for c in counties if c.code == form["region"]), None)
            if county is None:
                raise DomainError(_("Choose the county the provider is registered in."), field="region", code="not_county")
            provider = pops.provider_create(
                actor=request.user,
                name=form["name"],
                licence_no=form["licence_no"],
                phone=form["phone"],
                region=county,
                service_regions=_regions_from(post.getlist("regions"), townships, field="service_regions"),
            )
        except DomainError as exc:
            errors[exc.field or "name"] = exc.message
            status = 400
        else:
            messages.success(request, _("Provider registered. Now add what it offers and its caregivers."))
            return redirect("homecare:provider_offerings", provider_id=provider.pk)
    return render(
        request,
        "homecare/provider_new.html",
        {"form": form, "errors": errors, "counties": counties, "groups": _county_groups(townships)},
        status=status,
    )


@login_required
def provider_detail(request: HttpRequest, provider_id: int) -> HttpResponse:
    """The provider's facts; for managers, the edit form (name, licence, phone, townships, active) and auto-dispatch."""
    need(request, "provider.view")
    provider = _provider_or_404(request, provider_id)
    can_manage = can(request.user, "provider.manage")
    can_register = can(request.user, "provider.register")
    current = list(provider.service_regions.select_related("parent").order_by("path"))
    choosable = list(townships_choosable(request.user, provider)) if can_manage else []
    form = {
        "name": provider.name,
        "licence_no": provider.licence_no,
        "phone": provider.phone,
        "is_active": provider.is_active,
        "regions": {r.code for r in current},
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        need(request, "provider.manage")
        post = request.POST
        form.update(
            name=post.get("name", ""),
            licence_no=post.get("licence_no", ""),
            phone=post.get("phone", ""),
            is_active=checked(post.get("is_active")) if can_register else provider.is_active,
            regions=set(post.getlist("regions")),
        )
        try:
            regions = _regions_from(post.getlist("regions"), choosable, field="service_regions")
            pops.provider_update(
                provider=provider,
                actor=request.user,
                name=form["name"],
                licence_no=form["licence_no"],
                phone=form["phone"],
                service_regions=regions,
                is_active=form["is_active"] if can_register else None,
            )
        except DomainError as exc:
            errors[exc.field or "name"] = exc.message
            status = 400
        else:
            messages.success(request, _("Provider saved."))
            return redirect("homecare:provider_detail", provider_id=provider.pk)
    outside = [r for r in current if r.pk not in {t.pk for t in choosable}] if can_manage else []
    return render(
        request,
        "homecare/provider_detail.html",
        {
            "provider": provider,
            "current": current,
            "groups": _county_groups(choosable),
            "outside": outside,
            "form": form,
            "errors": errors,
            "can_manage": can_manage,
            "can_register": can_register,
            "can_caregivers": can(request.user, "caregiver.manage"),
            "can_receivables": can(request.user, "provider.receivables"),
            "offerings": offerings_of(provider),
        },
        status=status,
    )


@login_required
@require_POST
def provider_auto_dispatch(request: HttpRequest, provider_id: int) -> HttpResponse:
    need(request, "provider.manage")
    provider = _provider_or_404(request, provider_id)
    on = request.POST.get("auto_dispatch") == "on"
    pops.provider_auto_dispatch_set(provider=provider, actor=request.user, on=on)
    messages.success(request, _("Auto-dispatch is on.") if on else _("Auto-dispatch is off."))
    return redirect("homecare:provider_detail", provider_id=provider.pk)


@login_required
def provider_offerings(request: HttpRequest, provider_id: int) -> HttpResponse:
    """What the provider offers, at what price, where; the form adds an item or changes one (?item=code)."""
    need(request, "provider.view")
    provider = _provider_or_404(request, provider_id)
    can_manage = can(request.user, "provider.manage")
    offerings = list(offerings_of(provider))
    by_code = {o.item.code: o for o in offerings}
    items = list(ServiceItem.objects.select_related("category").order_by("category__sort", "code"))
    served = list(provider.service_regions.select_related("parent").order_by("path"))
    code = request.POST.get("item") or request.GET.get("item", "")
    editing = by_code.get(code)
    item = next((i for i in items if i.code == code), None)
    form = {
        "item": code,
        "price": fen_to_yuan_text(editing.price_fen if editing else (item.guide_price_fen if item else None)),
        "regions": {r.code for r in editing.regions.all()} if editing else set(),
        "is_active": editing.is_active if editing else True,
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        need(request, "provider.manage")
        post = request.POST
        form.update(price=post.get("price", ""), regions=set(post.getlist("regions")), is_active=checked(post.get("is_active")))
        try:
            if item is None:
                raise DomainError(_("Choose a service from the menu."), field="item", code="item")
            price_fen = yuan_to_fen(form["price"], field="price")
            regions = _regions_from(post.getlist("regions"), served, field="regions")
            _offering, created = pops.offering_save(
                provider=provider, item=item, actor=request.user, price_fen=price_fen, regions=regions, is_active=form["is_active"]
            )
        except DomainError as exc:
            errors[{"price_fen": "price"}.get(exc.field or "", exc.field or "item")] = exc.message
            status = 400
        else:
            messages.success(request, _("Offering added.") if created else _("Offering saved."))
            return redirect("homecare:provider_offerings", provider_id=provider.pk)
    return render(
        request,
        "homecare/provider_offerings.html",
        {
            "provider": provider,
            "offerings": offerings,
            "items": items,
            "served": served,
            "form": form,
            "editing": editing,
            "chosen": item,
            "errors": errors,
            "can_manage": can_manage,
        },
        status=status,
    )


# Caregivers ---------------------------------------------------------------------------------------------


def _cert_rows(caregiver: Caregiver, today) -> list[dict]:
    return [{"cert": c, "state": pops.certificate_status(c.expires_on, today)} for c in caregiver.certificates.all()]


@login_required
def caregiver_list(request: HttpRequest) -> HttpResponse:
    """Caregivers of the providers in scope, with their certificates' state (expired / expires within 30 days)."""
    need(request, "caregiver.manage")
    providers = list(providers_visible_to(request.user).order_by("name"))
    provider = None
    if request.GET.get("provider", "").isdigit():
        provider = next((p for p in providers if p.pk == int(request.GET["provider"])), None)
        if provider is None:
            raise Http404
    elif len(providers) == 1:
        provider = providers[0]
    today = timezone.localdate()
    q = request.GET.get("q", "").strip()[:64]
    rows = []
    if provider is not None:
        queryset = caregivers_matching(caregivers_of(provider), q)
        state = request.GET.get("state", "")
        if state == "expired":
            queryset = queryset.filter(certificates__expires_on__lt=today).distinct()
        elif state == "expiring":
            queryset = queryset.filter(
                certificates__expires_on__gte=today, certificates__expires_on__lte=today + timedelta(days=pops.EXPIRING_DAYS)
            ).distinct()
        page = Paginator(queryset, 50).get_page(request.GET.get("page"))
        rows = [{"caregiver": c, "certs": _cert_rows(c, today)} for c in page]
    else:
        page = None
    return render(
        request,
        "homecare/caregiver_list.html",
        {
            "providers": providers,
            "provider": provider,
            "rows": rows,
            "page": page,
            "state": request.GET.get("state", ""),
            "today": today,
            "q": q,
        },
    )


def _caregiver_form(caregiver: Caregiver | None) -> dict:
    if caregiver is None:
        return {
            "name": "",
            "phone": "",
            "home_lat": "",
            "home_lng": "",
            "work_start": "08:00",
            "work_end": "18:00",
            "work_days": [0, 1, 2, 3, 4],
            "skills": set(),
            "is_active": True,
            "is_volunteer": False,
            "username": "",
        }
    # The clear phone is never put back into the page: empty keeps it, the checkbox removes it.
    return {
        "name": caregiver.name,
        "phone": "",
        "phone_masked": caregiver.phone_masked,
        "home_lat": f"{caregiver.home_lat:.6f}",
        "home_lng": f"{caregiver.home_lng:.6f}",
        "work_start": caregiver.work_start.strftime("%H:%M"),
        "work_end": caregiver.work_end.strftime("%H:%M"),
        "work_days": list(caregiver.work_days or []),
        "skills": {s.code for s in caregiver.skills.all()},
        "is_active": caregiver.is_active,
        "is_volunteer": caregiver.is_volunteer,
        "username": caregiver.user.username if caregiver.user_id else "",
    }


def _caregiver_post(request: HttpRequest, form: dict) -> dict:
    """Typed arguments for caregiver_create/update from the posted form (first bad field raises)."""
    from yiyang.accounts.models import User

    post = request.POST
    form.update(
        name=post.get("name", ""),
        phone=post.get("phone", "").strip(),
        clear_phone=checked(post.get("clear_phone")),
        home_lat=post.get("home_lat", ""),
        home_lng=post.get("home_lng", ""),
        work_start=post.get("work_start", ""),
        work_end=post.get("work_end", ""),
        work_days=[int(d) for d in post.getlist("work_days") if d in "0123456" and len(d) == 1],
        skills=set(post.getlist("skills")),
        is_active=checked(post.get("is_active")),
        is_volunteer=checked(post.get("is_volunteer")),
        username=post.get("username", "").strip(),
    )
    skills = list(ServiceCategory.objects.filter(code__in=[plain_code(c) for c in form["skills"]]))
    user = None
    if form["username"] and not re.fullmatch(r"[\w.@+-]{1,150}", form["username"]):
        raise DomainError(_("No account with this user name."), field="username", code="unknown_user")
    if form["username"]:
        user = User.objects.filter(username=form["username"]).first()
        if user is None:
            raise DomainError(_("No account with this user name."), field="username", code="unknown_user")
    editing = "phone_masked" in form
    if editing and form["clear_phone"]:
        phone = ""
    elif editing and not form["phone"]:
        phone = None  # keep the stored number
    else:
        phone = form["phone"]
    return {
        "name": form["name"],
        "phone": phone,
        "home_lat": parse_float(form["home_lat"], field="home_lat"),
        "home_lng": parse_float(form["home_lng"], field="home_lng"),
        "work_start": parse_time(form["work_start"], field="work_start"),
        "work_end": parse_time(form["work_end"], field="work_end"),
        "work_days": parse_weekdays(post.getlist("work_days"), field="work_days"),
        "skills": skills,
        "is_active": form["is_active"],
        "is_volunteer": form["is_volunteer"],
        "user": user,
    }


def _caregiver_context(request, provider, caregiver, form, errors, cert_form=None, cert_errors=None) -> dict:
    return {
        "provider": provider,
        "caregiver": caregiver,
        "form": form,
        "errors": errors,
        "categories": ServiceCategory.objects.all(),
        "weekdays": weekday_choices(),
        "certs": _cert_rows(caregiver, timezone.localdate()) if caregiver else [],
        "kinds": [(v, label) for v, label in Qualification.choices if v != Qualification.NONE],
        "cert_form": cert_form or {"kind": "care_worker", "level": "", "number": "", "expires_on": ""},
        "cert_errors": cert_errors or {},
        "can_reveal_phone": caregiver is not None and bool(caregiver.phone_enc) and can(request.user, "caregiver.phone_reveal"),
    }


@sensitive_post_parameters("phone")
@login_required
def caregiver_new(request: HttpRequest, provider_id: int) -> HttpResponse:
    need(request, "caregiver.manage")
    provider = _provider_or_404(request, provider_id)
    form = _caregiver_form(None)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            caregiver = pops.caregiver_create(provider=provider, actor=request.user, **_caregiver_post(request, form))
        except DomainError as exc:
            errors[exc.field or "name"] = exc.message
            status = 400
        else:
            messages.success(request, _("Caregiver %(name)s added. Now record their certificates.") % {"name": caregiver.name})
            return redirect("homecare:caregiver_detail", caregiver_id=caregiver.pk)
    return render(request, "homecare/caregiver_form.html", _caregiver_context(request, provider, None, form, errors), status=status)


@sensitive_post_parameters("phone")
@login_required
def caregiver_detail(request: HttpRequest, caregiver_id: int) -> HttpResponse:
    """Edit a caregiver; their certificates with add, edit and remove."""
    need(request, "caregiver.manage")
    caregiver = _caregiver_or_404(request, caregiver_id)
    form = _caregiver_form(caregiver)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            args = _caregiver_post(request, form)
            pops.caregiver_update(caregiver=caregiver, actor=request.user, keep_user=False, **args)
        except DomainError as exc:
            errors[exc.field or "name"] = exc.message
            status = 400
        else:
            messages.success(request, _("Caregiver saved."))
            if not args["is_active"]:
                _warn_assigned(request, caregiver)
            return redirect("homecare:caregiver_detail", caregiver_id=caregiver.pk)
    return render(
        request, "homecare/caregiver_form.html", _caregiver_context(request, caregiver.provider, caregiver, form, errors), status=status
    )


@login_required
@require_POST
def caregiver_phone_reveal(request: HttpRequest, caregiver_id: int) -> HttpResponse:
    """Show a caregiver's phone in clear to call them: a permitted role, in scope, with a purpose (access log)."""
    need(request, "caregiver.phone_reveal")
    caregiver = _caregiver_or_404(request, caregiver_id)
    context = _caregiver_context(request, caregiver.provider, caregiver, _caregiver_form(caregiver), {})
    try:
        context["revealed_phone"] = pops.caregiver_phone_reveal(
            caregiver=caregiver, actor=request.user, purpose=request.POST.get("purpose", "")
        )
    except DomainError as exc:
        context["reveal_error"] = exc.message
        return render(request, "homecare/caregiver_form.html", context, status=400)
    response = render(request, "homecare/caregiver_form.html", context)
    response["Cache-Control"] = "no-store"
    return response


def _warn_assigned(request: HttpRequest, caregiver: Caregiver) -> None:
    """An inactive caregiver keeps the visits already assigned: say so, so that someone reassigns them."""
    from yiyang.homecare.models import Order, OrderStatus

    now = timezone.now()
    # window_end: implied by window_start, and what the caregiver's index is on.
    planned = Order.objects.filter(caregiver=caregiver, status=OrderStatus.ASSIGNED, window_start__gt=now, window_end__gt=now).count()
    if planned:
        messages.warning(
            request,
            _("%(name)s still has %(n)s assigned visits ahead: reassign them on the dispatch board.")
            % {"name": caregiver.name, "n": planned},
        )


def _cert_args(request: HttpRequest, cert_form: dict) -> dict:
    post = request.POST
    cert_form.update({k: post.get(k, "").strip() for k in ("kind", "level", "number", "expires_on")})
    return {
        "kind": cert_form["kind"],
        "level": cert_form["level"],
        "number": cert_form["number"],
        "expires_on": parse_date(cert_form["expires_on"], field="expires_on"),
    }


def _flag_expiry(request: HttpRequest, certificate: Certificate) -> None:
    state = pops.certificate_status(certificate.expires_on)
    if state == "expired":
        messages.warning(
            request,
            _("Saved, but this certificate expired on %(date)s: it does not qualify for dispatch.")
            % {"date": certificate.expires_on.isoformat()},
        )
    elif state == "expiring":
        messages.warning(
            request, _("Saved. This certificate expires on %(date)s, within 30 days.") % {"date": certificate.expires_on.isoformat()}
        )
    else:
        messages.success(request, _("Certificate saved."))


@login_required
def certificate_add(request: HttpRequest, caregiver_id: int) -> HttpResponse:
    need(request, "caregiver.manage")
    caregiver = _caregiver_or_404(request, caregiver_id)
    if request.method != "POST":
        return redirect("homecare:caregiver_detail", caregiver_id=caregiver.pk)
    cert_form: dict = {}
    try:
        certificate = pops.certificate_add(caregiver=caregiver, actor=request.user, **_cert_args(request, cert_form))
    except DomainError as exc:
        context = _caregiver_context(
            request, caregiver.provider, caregiver, _caregiver_form(caregiver), {}, cert_form, {exc.field or "kind": exc.message}
        )
        return render(request, "homecare/caregiver_form.html", context, status=400)
    _flag_expiry(request, certificate)
    return redirect("homecare:caregiver_detail", caregiver_id=caregiver.pk)


def _certificate_or_404(request: HttpRequest, certificate_id: int) -> Certificate:
    certificate = Certificate.objects.select_related("caregiver").filter(pk=certificate_id).first()
    if certificate is None or caregiver_for(request.user, certificate.caregiver_id) is None:
        raise Http404
    return certificate


@login_required
def certificate_edit(request: HttpRequest, certificate_id: int) -> HttpResponse:
    need(request, "caregiver.manage")
    certificate = _certificate_or_404(request, certificate_id)
    caregiver = _caregiver_or_404(request, certificate.caregiver_id)
    cert_form = {
        "kind": certificate.kind,
        "level": certificate.level,
        "number": certificate.number,
        "expires_on": certificate.expires_on.isoformat(),
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        try:
            certificate = pops.certificate_update(certificate=certificate, actor=request.user, **_cert_args(request, cert_form))
        except DomainError as exc:
            errors[exc.field or "kind"] = exc.message
            status = 400
        else:
            _flag_expiry(request, certificate)
            return redirect("homecare:caregiver_detail", caregiver_id=caregiver.pk)
    return render(
        request,
        "homecare/certificate_form.html",
        {
            "caregiver": caregiver,
            "certificate": certificate,
            "cert_form": cert_form,
            "cert_errors": errors,
            "kinds": [(v, label) for v, label in Qualification.choices if v != Qualification.NONE],
        },
        status=status,
    )


@login_required
@require_POST
def certificate_delete(request: HttpRequest, certificate_id: int) -> HttpResponse:
    need(request, "caregiver.manage")
    certificate = _certificate_or_404(request, certificate_id)
    caregiver_id = certificate.caregiver_id
    pops.certificate_remove(certificate=certificate, actor=request.user)
    messages.success(request, _("Certificate removed."))
    return redirect("homecare:caregiver_detail", caregiver_id=caregiver_id)


# Catalogue -----------------------------------------------------------------------------------------------


@login_required
def catalogue_list(request: HttpRequest) -> HttpResponse:
    need(request, "catalogue.manage")
    items = ServiceItem.objects.select_related("category").order_by("category__sort", "code")
    return render(request, "homecare/catalogue_list.html", {"items": items})


def _task_rows_from_post(post) -> list[dict]:
    """Rows task-N-code / -label / -required / -remove; blank new rows are skipped, a new row without a code gets one."""
    rows = []
    n = parse_int(post.get("task_count", "0"), field="tasks")
    for i in range(min(max(n, 0), 60)):
        code = post.get(f"task-{i}-code", "").strip()
        label = post.get(f"task-{i}-label", "").strip()
        if checked(post.get(f"task-{i}-remove")) or (not code and not label):
            continue
        rows.append({"code": code, "label": label, "required": checked(post.get(f"task-{i}-required"))})
    used = {r["code"] for r in rows}
    for n, row in enumerate(rows, start=1):
        if not row["code"]:
            code = f"task-{n}"
            while code in used:
                code += "x"
            row["code"] = code
            used.add(code)
    return rows


def _item_form(item: ServiceItem | None) -> dict:
    if item is None:
        return {
            "category": "",
            "code": "",
            "name": "",
            "unit": "",
            "guide_price": "",
            "standard_minutes": "60",
            "qualification": Qualification.NONE,
            "tasks": [],
            "is_active": True,
        }
    return {
        "category": item.category.code,
        "code": item.code,
        "name": item.name,
        "unit": item.unit,
        "guide_price": fen_to_yuan_text(item.guide_price_fen),
        "standard_minutes": str(item.standard_minutes),
        "qualification": item.qualification,
        "tasks": list(item.tasks),
        "is_active": item.is_active,
    }


@login_required
def catalogue_item(request: HttpRequest, code: str | None = None) -> HttpResponse:
    """Add a menu item (no code in the URL) or edit one: guide price, duration, qualification, checklist, active."""
    need(request, "catalogue.manage")
    item = None
    if code is not None:
        item = ServiceItem.objects.select_related("category").filter(code=code).first()
        if item is None:
            raise Http404
    form = _item_form(item)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        post = request.POST
        form.update(
            {k: post.get(k, "").strip() for k in ("category", "code", "name", "unit", "guide_price", "standard_minutes", "qualification")}
        )
        form["is_active"] = checked(post.get("is_active"))
        if item is not None:
            form["category"], form["code"] = item.category.code, item.code
        try:
            form["tasks"] = _task_rows_from_post(post)
            saved, created = pops.catalogue_item_save(
                actor=request.user,
                item=item,
                category=ServiceCategory.objects.filter(code=plain_code(form["category"])).first(),
                code=form["code"],
                name=form["name"],
                unit=form["unit"],
                guide_price_fen=yuan_to_fen(form["guide_price"], field="guide_price"),
                standard_minutes=parse_int(
                    form["standard_minutes"], field="standard_minutes", message=_("The standard duration is a whole number of minutes.")
                ),
                qualification=form["qualification"],
                tasks=form["tasks"],
                is_active=form["is_active"],
            )
        except DomainError as exc:
            errors[{"guide_price_fen": "guide_price"}.get(exc.field or "", exc.field or "name")] = exc.message
            status = 400
        else:
            messages.success(request, _("Menu item added.") if created else _("Menu item saved."))
            return redirect("homecare:catalogue_list")
    # Three blank rows to add tasks without JavaScript.
    task_rows = [*form["tasks"], *({"code": "", "label": "", "required": True, "new": True} for _i in range(3))]
    return render(
        request,
        "homecare/catalogue_item.html",
        {
            "item": item,
            "form": form,
            "errors": errors,
            "task_rows": task_rows,
            "categories": ServiceCategory.objects.all(),
            "qualifications": Qualification.choices,
        },
        status=status,
    )
