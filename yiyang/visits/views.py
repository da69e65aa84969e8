from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.people.queries import elder_for
from yiyang.visits.models import Health, Home, Mood, Need, VisitMode
from yiyang.visits.operations import visit_open_order, visit_plan_add_extra, visit_plan_generate, visit_record
from yiyang.visits.queries import (
    coverage_visible_to,
    due_for,
    items_visible_to,
    parse_month,
    region_in_scope,
    visit_coverage,
    visit_coverage_by_region,
    visits_missed,
    visits_visible_to,
)


def _require(request: HttpRequest, capability: str) -> None:
    if not can(request.user, capability):
        raise Http404


def _month(request: HttpRequest) -> tuple[date, str | None]:
    try:
        return parse_month(request.GET.get("month"), default=timezone.localdate()), None
    except DomainError as exc:
        return parse_month(None, default=timezone.localdate()), exc.message


@login_required
def visit_home(request: HttpRequest) -> HttpResponse:
    _require(request, "visit.view")
    month, month_error = _month(request)
    page = Paginator(due_for(request.user, month=month), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "visits/home.html",
        {
            "month": month,
            "month_error": month_error,
            "page": page,
            "can_plan": can(request.user, "visit.plan"),
            "can_coverage": can(request.user, "visit.coverage"),
        },
    )


@login_required
@require_POST
def plan_generate(request: HttpRequest) -> HttpResponse:
    _require(request, "visit.plan")
    try:
        month = parse_month(request.POST.get("month"), default=timezone.localdate())
        result = visit_plan_generate(month=month, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Plan for %(month)s: %(created)s elders added, %(cancelled)s cancelled.")
            % {"month": f"{result.month:%Y-%m}", "created": result.created, "cancelled": result.cancelled},
        )
    return redirect("visits:home")


def _visit_form_context(elder, request, errors=None, values=None) -> dict:
    visits = list(visits_visible_to(request.user).filter(elder=elder).select_related("visitor")[:24])
    _with_followup_alerts(visits)
    return {
        "elder": elder,
        "errors": errors or {},
        "values": values or {"visited_on": timezone.localdate().isoformat(), "mode": VisitMode.IN_PERSON, "needs": []},
        "modes": VisitMode.choices,
        "healths": Health.choices,
        "moods": Mood.choices,
        "homes": Home.choices,
        "need_choices": Need.choices,
        "items": items_visible_to(request.user).filter(elder=elder).order_by("-month", "kind")[:12],
        "visits": visits,
        "can_alert": can(request.user, "visit.record"),
        "severities": _severities(),
        "can_record": can(request.user, "visit.record"),
        "can_extra": can(request.user, "visit.add_extra"),
        "can_order": can(request.user, "visit.record") and can(request.user, "order.create"),
        "menu": _menu(),
        "tomorrow": timezone.localdate() + timedelta(days=1),
    }


def _with_followup_alerts(visits) -> None:
    """Each visit's needs as (code, label), and its Silver Guardian follow-up alert if one was opened."""
    from yiyang.guardian.queries import visit_followup_alerts

    alerts = visit_followup_alerts([v.pk for v in visits])
    labels = dict(Need.choices)
    for v in visits:
        v.need_options = [(n, labels.get(n, n)) for n in v.needs]
        v.followup_alert_id = alerts.get(v.pk)


def _severities():
    from yiyang.guardian.models import Severity

    return Severity.choices


def _menu():
    from yiyang.homecare.models import ServiceItem

    return ServiceItem.objects.filter(is_active=True).only("code", "name")


@login_required
def elder_visits(request: HttpRequest, elder_id: int) -> HttpResponse:
    _require(request, "visit.view")
    elder = elder_for(request.user, elder_id)
    if elder is None:
        raise Http404
    if request.method != "POST":
        return render(request, "visits/elder.html", _visit_form_context(elder, request))
    _require(request, "visit.record")
    values = {
        "visited_on": request.POST.get("visited_on", ""),
        "mode": request.POST.get("mode", ""),
        "health": request.POST.get("health", ""),
        "mood": request.POST.get("mood", ""),
        "home": request.POST.get("home", ""),
        "safety_concern": request.POST.get("safety_concern") == "on",
        "needs": request.POST.getlist("needs"),
        "notes": request.POST.get("notes", ""),
    }
    errors = {}
    try:
        visited_on = date.fromisoformat(values["visited_on"])
    except ValueError:
        errors["visited_on"] = _("Enter a date as YYYY-MM-DD.")
    if not errors:
        try:
            visit_record(
                elder=elder,
                actor=request.user,
                visited_on=visited_on,
                mode=values["mode"],
                health=values["health"],
                mood=values["mood"],
                home=values["home"],
                safety_concern=values["safety_concern"],
                needs=values["needs"],
                notes=values["notes"],
                photo=request.FILES.get("photo"),
            )
        except DomainError as exc:
            errors[exc.field or "form"] = exc.message
        else:
            messages.success(request, _("Visit recorded."))
            return redirect("visits:elder", elder_id=elder.pk)
    return render(request, "visits/elder.html", _visit_form_context(elder, request, errors, values), status=400)


@login_required
@require_POST
def elder_extra(request: HttpRequest, elder_id: int) -> HttpResponse:
    _require(request, "visit.add_extra")
    elder = elder_for(request.user, elder_id)
    if elder is None:
        raise Http404
    try:
        visit_plan_add_extra(elder=elder, reason=request.POST.get("reason", ""), actor=request.user, source="page")
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Extra visit added to this month's plan."))
    return redirect("visits:elder", elder_id=elder.pk)


@login_required
def coverage(request: HttpRequest) -> HttpResponse:
    _require(request, "visit.coverage")
    month, month_error = _month(request)
    code = request.GET.get("region", "")
    region = region_in_scope(request.user, code) if code else None
    if code and region is None:
        raise Http404
    if region is not None:
        total = visit_coverage(region_path=region.path, month=month)
        rows = visit_coverage_by_region(region=region, month=month)
        missed = Paginator(visits_missed(region_path=region.path, month=month), 100).get_page(request.GET.get("page"))
    else:
        total, rows, missed = None, coverage_visible_to(request.user, month=month), None
    return render(
        request,
        "visits/coverage.html",
        {"month": month, "month_error": month_error, "region": region, "total": total, "rows": rows, "missed": missed},
    )


@login_required
@require_POST
def visit_order(request: HttpRequest, visit_id: int) -> HttpResponse:
    """One step from a need found to a service order."""
    _require(request, "visit.record")
    _require(request, "order.create")
    visit = visits_visible_to(request.user).filter(pk=visit_id).first()
    if visit is None:
        raise Http404
    try:
        try:
            day = date.fromisoformat(request.POST.get("day", ""))
            start = time.fromisoformat(request.POST.get("start", ""))
            end = time.fromisoformat(request.POST.get("end", ""))
        except ValueError:
            raise DomainError(_("Enter the day and the times of the window."), field="window_start")
        order = visit_open_order(
            visit=visit,
            item_code=request.POST.get("item_code", ""),
            window_start=timezone.make_aware(datetime.combine(day, start)),
            window_end=timezone.make_aware(datetime.combine(day, end)),
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Service order #%(id)s placed.") % {"id": order.pk})
    return redirect("visits:elder", elder_id=visit.elder_id)
