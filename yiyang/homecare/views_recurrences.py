"""Pages for recurring orders (per elder, and all in scope) and for providers' monthly receivables (with .xlsx)."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.homecare import operations as ops
from yiyang.homecare import provider_operations as pops
from yiyang.homecare.forms_providers import (
    checked,
    no_control_characters,
    parse_date,
    parse_month,
    parse_time,
    parse_weekdays,
    plain_code,
    weekday_choices,
)
from yiyang.homecare.models import Provider, ServiceItem
from yiyang.homecare.provider_queries import receivable_orders, receivables_for_month, recurrence_for, recurrences_visible_to
from yiyang.homecare.queries import catalogue, providers_visible_to
from yiyang.homecare.views_providers import need
from yiyang.people.queries import elder_for

# Orders are generated this far ahead when a recurrence is created or resumed; the nightly job keeps it so.
GENERATE_AHEAD = timedelta(days=14)


def _rows(recurrences, today) -> list[dict]:
    names = dict(weekday_choices())
    return [
        {"r": r, "state": pops.recurrence_state(r, today), "days": " ".join(str(names[d]) for d in r.weekdays or [])} for r in recurrences
    ]


def _generate(request: HttpRequest, recurrence) -> None:
    """Generate the next two weeks now, so the provider sees the orders at once; a calendar gap is reported, not fatal."""
    try:
        made = ops.recurrence_generate(recurrence=recurrence, until=timezone.localdate() + GENERATE_AHEAD, actor=request.user)
    except DomainError as exc:
        messages.warning(request, exc.message)
    else:
        if made:
            messages.info(request, _("%(n)s orders planned for the next two weeks.") % {"n": len(made)})


@login_required
def recurrence_list(request: HttpRequest) -> HttpResponse:
    """Every recurring order of the elders in my area, filterable by state."""
    need(request, "order.create")
    today = timezone.localdate()
    recurrences = recurrences_visible_to(request.user).order_by("-is_active", "elder__name", "pk")
    state = request.GET.get("state", "")
    if state == "active":
        recurrences = recurrences.filter(is_active=True).exclude(ends_on__lt=today)
    elif state == "paused":
        recurrences = recurrences.filter(is_active=False).exclude(ends_on__lt=today)
    elif state == "ended":
        recurrences = recurrences.filter(ends_on__lt=today)
    page = Paginator(recurrences, 50).get_page(request.GET.get("page"))
    return render(request, "homecare/recurrence_list.html", {"rows": _rows(page, today), "page": page, "state": state, "today": today})


@login_required
def elder_recurrences(request: HttpRequest, elder_id: int) -> HttpResponse:
    """One elder's recurring orders, and the form for a new one (weekdays, window, official calendar)."""
    need(request, "order.create")
    elder = elder_for(request.user, elder_id)
    if elder is None:
        raise Http404
    today = timezone.localdate()
    form = {
        "item": request.GET.get("item", ""),
        "provider": "",
        "weekdays": [0, 1, 2, 3, 4],
        "working_days_only": False,
        "skip_holidays": True,
        "start_time": "11:00",
        "end_time": "12:00",
        "starts_on": (today + timedelta(days=1)).isoformat(),
        "ends_on": "",
        "note": "",
    }
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        post = request.POST
        form.update({k: post.get(k, "").strip() for k in ("item", "provider", "start_time", "end_time", "starts_on", "ends_on", "note")})
        form.update(
            weekdays=[int(d) for d in post.getlist("weekdays") if len(d) == 1 and d in "0123456"],
            working_days_only=checked(post.get("working_days_only")),
            skip_holidays=checked(post.get("skip_holidays")),
        )
        try:
            no_control_characters(form["note"], field="note")
            item = ServiceItem.objects.filter(code=plain_code(form["item"]), is_active=True).first()
            if item is None:
                raise DomainError(_("Choose a service from the menu."), field="item", code="item")
            provider = None
            if form["provider"]:
                provider = Provider.objects.filter(pk=form["provider"]).first() if form["provider"].isdigit() else None
                if provider is None:
                    raise DomainError(_("Choose a provider from the list."), field="provider", code="provider")
            recurrence = ops.recurrence_create(
                elder=elder,
                item=item,
                provider=provider,
                weekdays=parse_weekdays(post.getlist("weekdays"), field="weekdays"),
                working_days_only=form["working_days_only"],
                skip_holidays=form["skip_holidays"],
                start_time=parse_time(form["start_time"], field="start_time"),
                end_time=parse_time(form["end_time"], field="end_time"),
                starts_on=parse_date(form["starts_on"], field="starts_on"),
                ends_on=parse_date(form["ends_on"], field="ends_on", required=False),
                note=form["note"],
                actor=request.user,
            )
        except DomainError as exc:
            errors[exc.field if exc.field in form or exc.field == "elder" else "item"] = exc.message
            status = 400
        else:
            messages.success(request, _("Recurring order created."))
            _generate(request, recurrence)
            return redirect("homecare:elder_recurrences", elder_id=elder.pk)
    items = list(catalogue())
    recurrences = recurrences_visible_to(request.user).filter(elder=elder).order_by("-is_active", "-starts_on", "pk")
    return render(
        request,
        "homecare/elder_recurrences.html",
        {
            "elder": elder,
            "rows": _rows(recurrences, today),
            "items": items,
            "providers": providers_visible_to(request.user).filter(is_active=True).order_by("name")
            if not can(request.user, "eldermode.use")
            else [],
            "weekdays": weekday_choices(),
            "form": form,
            "errors": errors,
            "today": today,
        },
        status=status,
    )


@login_required
@require_POST
def recurrence_action(request: HttpRequest, recurrence_id: int, action: str) -> HttpResponse:
    need(request, "order.create")
    recurrence = recurrence_for(request.user, recurrence_id)
    if recurrence is None or action not in ("pause", "resume", "end"):
        raise Http404
    try:
        if action == "pause":
            _r, cancelled = pops.recurrence_pause(
                recurrence=recurrence, actor=request.user, cancel_planned=request.POST.get("cancel_planned", "on") == "on"
            )
            messages.success(request, _("Recurring order paused; %(n)s planned orders cancelled.") % {"n": cancelled})
        elif action == "resume":
            recurrence = pops.recurrence_resume(recurrence=recurrence, actor=request.user)
            messages.success(request, _("Recurring order resumed."))
            _generate(request, recurrence)
        else:
            last_day = parse_date(request.POST.get("last_day", ""), field="last_day", required=False)
            _r, cancelled = pops.recurrence_end(recurrence=recurrence, actor=request.user, last_day=last_day)
            messages.success(request, _("Recurring order ends; %(n)s planned orders after its last day cancelled.") % {"n": cancelled})
    except DomainError as exc:
        messages.error(request, exc.message)
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("homecare:elder_recurrences", elder_id=recurrence.elder_id)


# Receivables ------------------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _month(request: HttpRequest):
    """The month asked for (?month=YYYY-MM), else the current one; a bad value is a 400 naming the field."""
    text = request.GET.get("month", "")
    if not text:
        return timezone.localdate().replace(day=1), None
    try:
        return parse_month(text), None
    except DomainError as exc:
        return timezone.localdate().replace(day=1), exc.message


def _provider_filter(request: HttpRequest):
    value = request.GET.get("provider", "")
    if not value:
        return None
    provider = providers_visible_to(request.user).filter(pk=value).first() if value.isdigit() else None
    if provider is None:
        raise Http404
    return provider


@login_required
def receivables(request: HttpRequest) -> HttpResponse:
    """Per provider, for one month of payments: visits, amount, subsidy share, co-payment; one provider's visits below."""
    need(request, "provider.receivables")
    month, error = _month(request)
    provider = _provider_filter(request)
    result = receivables_for_month(request.user, month)
    orders = None
    if provider is None and len(result.rows) == 1:
        provider = providers_visible_to(request.user).filter(pk=result.rows[0].provider_id).first()
    if provider is not None:
        orders = Paginator(receivable_orders(request.user, month, provider_id=provider.pk), 100).get_page(request.GET.get("page"))
    previous = (month - timedelta(days=1)).replace(day=1)
    following = (month + timedelta(days=32)).replace(day=1)
    return render(
        request,
        "homecare/receivables.html",
        {
            "month": month,
            "result": result,
            "provider": provider,
            "orders": orders,
            "error": error,
            "previous": previous,
            "following": following if following <= timezone.localdate() else None,
        },
        status=400 if error else 200,
    )


def yuan(fen: int) -> float:
    # Spreadsheet cells show yuan with two decimals (as the settlement export does); the orders keep integer fen.
    return round(fen / 100, 2)


def receivables_table(result, *, orders=None) -> tuple[list[str], list[list]]:
    headers = [
        _("Provider"), _("Licence number"), _("Month"), _("Paid visits"), _("Amount (yuan)"),
        _("Paid by subsidy (yuan)"), _("Co-payment (yuan)"),
    ]  # fmt: skip
    month = result.month.strftime("%Y-%m")
    rows = [
        [r.provider_name, r.licence_no, month, r.orders, yuan(r.total_fen), yuan(r.subsidy_fen), yuan(r.copay_fen)] for r in result.rows
    ]
    rows.append(
        [pgettext("sum", "Total"), "", month, result.orders, yuan(result.total_fen), yuan(result.subsidy_fen), yuan(result.copay_fen)]
    )
    return headers, rows


@login_required
def receivables_xlsx(request: HttpRequest) -> HttpResponse:
    need(request, "provider.receivables")
    month, error = _month(request)
    if error:
        return HttpResponse(error, status=400, content_type="text/plain; charset=utf-8")
    provider = _provider_filter(request)
    result = receivables_for_month(request.user, month, provider_id=provider.pk if provider else None)
    from yiyang.plan.exports import xlsx_bytes

    content = xlsx_bytes(_("Receivables"), receivables_table(result))
    response = HttpResponse(content, content_type=XLSX)
    suffix = f"-{provider.pk}" if provider else ""
    response["Content-Disposition"] = f'attachment; filename="receivables-{month:%Y-%m}{suffix}.xlsx"'
    return response
