"""Pages of home care. They parse the form, call an operation, render; scope comes from queries."""

from datetime import date, datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.homecare import operations as ops
from yiyang.homecare.api import task_rows
from yiyang.homecare.models import Caregiver, Channel, OrderStatus, Provider, Rating, ServiceItem
from yiyang.homecare.queries import (
    audit_queue,
    caregiver_of,
    catalogue,
    dispatch_suggestions,
    elder_home,
    follow_ups_open,
    hotline_elder_search,
    offerings_covering,
    order_for,
    orders_visible_to,
    overdue_orders,
)
from yiyang.homecare.states import OPEN_FOR_DISPATCH, actions_from
from yiyang.people.models import ElderLink
from yiyang.people.queries import elder_for


def _need(request: HttpRequest, capability: str) -> None:
    if not can(request.user, capability):
        raise Http404


def _parse_window(day: str, start: str, end: str) -> tuple[datetime, datetime]:
    """Local date and times from a form; each bad part names its field."""
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise DomainError(_("Enter a date as YYYY-MM-DD."), field="date", code="date")
    times = []
    for name, value in (("start", start), ("end", end)):
        try:
            times.append(datetime.strptime(value, "%H:%M").time())
        except ValueError:
            raise DomainError(_("Enter a time as HH:MM."), field=name, code="time")
    return timezone.make_aware(datetime.combine(d, times[0])), timezone.make_aware(datetime.combine(d, times[1]))


def _field_of(exc: DomainError) -> str:
    mapping = {"window_start": "start", "window_end": "end", "item": "item", "provider": "provider", "elder": "elder"}
    return mapping.get(exc.field or "", exc.field or "")


def _order_or_404(request: HttpRequest, order_id: int):
    order = order_for(request.user, order_id)
    if order is None:
        raise Http404
    return order


# Hotline console -------------------------------------------------------------------------------


@login_required
def hotline(request: HttpRequest) -> HttpResponse:
    """Search an elder (phone, name or ID number), pick an item, a window and a note, place the order."""
    _need(request, "homecare.hotline")
    q = request.GET.get("q", "").strip()
    results = list(hotline_elder_search(request.user, q).select_related("residence_region")[:20]) if q else []
    elder_id = request.GET.get("elder") or request.POST.get("elder")
    elder = elder_for(request.user, int(elder_id)) if elder_id and str(elder_id).isdigit() else None
    if elder_id and elder is None:
        raise Http404
    if elder is None and len(results) == 1:
        elder = results[0]
    tomorrow = timezone.localdate() + timedelta(days=1)
    form = {"item": "", "provider": "", "date": tomorrow.isoformat(), "start": "09:00", "end": "10:00", "note": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST" and elder is not None:
        form.update({k: request.POST.get(k, "").strip() for k in form})
        try:
            item = ServiceItem.objects.filter(code=form["item"], is_active=True).first()
            if item is None:
                raise DomainError(_("Choose a service from the menu."), field="item")
            provider = None
            if form["provider"]:
                provider = Provider.objects.filter(pk=form["provider"]).first() if form["provider"].isdigit() else None
                if provider is None:
                    raise DomainError(_("Choose a provider from the list."), field="provider")
            start, end = _parse_window(form["date"], form["start"], form["end"])
            channel = Channel.WORKER if request.user.role == "worker" else Channel.HOTLINE
            order, _created = ops.order_create(
                elder=elder,
                item=item,
                provider=provider,
                window_start=start,
                window_end=end,
                note=form["note"],
                channel=channel,
                idempotency_key=request.POST.get("idempotency_key", ""),
                actor=request.user,
            )
        except DomainError as exc:
            errors[_field_of(exc) or "item"] = exc.message
            status = 400
        else:
            messages.success(request, _("Order #%(id)s placed with %(provider)s.") % {"id": order.pk, "provider": order.provider.name})
            return redirect("homecare:order_detail", order_id=order.pk)
    items = list(catalogue())
    providers = []
    if elder is not None and form["item"]:
        chosen = next((i for i in items if i.code == form["item"]), None)
        if chosen:
            providers = list(offerings_covering(elder, chosen))
    recent = (
        orders_visible_to(request.user).filter(elder=elder).select_related("item", "provider").order_by("-window_start")[:10]
        if elder
        else []
    )
    return render(
        request,
        "homecare/hotline.html",
        {
            "q": q,
            "results": results,
            "elder": elder,
            "items": items,
            "form": form,
            "errors": errors,
            "providers": providers,
            "recent": recent,
            "overdue": overdue_orders(request.user)[:20],
            "idempotency_key": _new_key(),
        },
        status=status,
    )


def _new_key() -> str:
    import secrets

    return secrets.token_urlsafe(16)


# Dispatcher board -------------------------------------------------------------------------------


@login_required
def dispatch_board(request: HttpRequest) -> HttpResponse:
    _need(request, "order.dispatch")
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.localdate()
    orders = orders_visible_to(request.user).select_related("elder__residence_region__parent", "item__category", "provider", "caregiver")
    queue = list(orders.filter(status__in=OPEN_FOR_DISPATCH).order_by("window_start")[:30])
    rows = []
    for order in queue:
        found = dispatch_suggestions(order, limit=3)
        rows.append({"order": order, "suggestions": found.ranked, "excluded": len(found.excluded)})
    planned = orders.filter(service_date=day).exclude(status__in=OPEN_FOR_DISPATCH).order_by("caregiver__name", "window_start")
    caregivers = (
        Caregiver.objects.filter(provider_id=request.user.provider_id, is_active=True)
        if request.user.provider_id
        else Caregiver.objects.none()
    )
    return render(
        request,
        "homecare/dispatch.html",
        {"rows": rows, "planned": planned, "day": day, "caregivers": caregivers, "follow_ups": follow_ups_open(request.user)[:20]},
    )


# Caregiver mobile view ---------------------------------------------------------------------------


@login_required
def my_visits(request: HttpRequest) -> HttpResponse:
    _need(request, "order.serve")
    caregiver = caregiver_of(request.user)
    today = timezone.localdate()
    visits = []
    if caregiver is not None:
        orders = (
            orders_visible_to(request.user)
            .filter(caregiver=caregiver, service_date__gte=today, service_date__lte=today + timedelta(days=1))
            # Implied by the service date; it lets the index skip the caregiver's past visits.
            .filter(window_end__gt=timezone.make_aware(datetime.combine(today, time.min)))
            .exclude(status__in=[OrderStatus.CANCELLED])
            .select_related("elder__residence_region__parent", "item__category")
            .prefetch_related("task_outcomes")
            .order_by("window_start")
        )
        for order in orders:
            home = elder_home(order.elder)
            visits.append(
                {"order": order, "tasks": task_rows(order), "actions": [str(a) for a in actions_from(order.status)], "home": home}
            )
    return render(request, "homecare/my_visits.html", {"caregiver": caregiver, "visits": visits, "today": today})


# Elder view --------------------------------------------------------------------------------------


@login_required
def elder_home_page(request: HttpRequest) -> HttpResponse:
    """Elder mode: the menu in large buttons, a day and a half-day, and my orders with rating."""
    _need(request, "homecare.elder_view")
    elders = [link.elder for link in ElderLink.objects.filter(user=request.user).select_related("elder__residence_region")]
    elder = elders[0] if elders else None
    if request.GET.get("elder", "").isdigit():
        elder = next((e for e in elders if e.pk == int(request.GET["elder"])), None)
        if elder is None:
            raise Http404
    errors: dict[str, str] = {}
    form = {
        "item": request.GET.get("item", ""),
        "date": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "slot": "morning",
        "note": "",
    }
    status = 200
    if request.method == "POST" and elder is not None:
        form.update({k: request.POST.get(k, "").strip() for k in form})
        slots = {"morning": ("09:00", "11:30"), "afternoon": ("14:00", "17:00")}
        try:
            item = ServiceItem.objects.filter(code=form["item"], is_active=True).first()
            if item is None:
                raise DomainError(_("Choose a service."), field="item")
            if form["slot"] not in slots:
                raise DomainError(_("Choose morning or afternoon."), field="slot")
            start, end = _parse_window(form["date"], *slots[form["slot"]])
            channel = Channel.ELDER if request.user.role == "elder" else Channel.FAMILY
            order, _created = ops.order_create(
                elder=elder,
                item=item,
                window_start=start,
                window_end=end,
                note=form["note"],
                channel=channel,
                idempotency_key=request.POST.get("idempotency_key", ""),
                actor=request.user,
            )
        except DomainError as exc:
            field = _field_of(exc)
            errors[field if field in ("item", "date", "slot", "note") else "item"] = exc.message
            status = 400
        else:
            messages.success(request, _("Your order is placed. Order number %(id)s.") % {"id": order.pk})
            return redirect(reverse("homecare:elder_home") + f"?elder={elder.pk}")
    orders = (
        orders_visible_to(request.user)
        .filter(elder=elder)
        .select_related("item", "caregiver")
        .annotate(rating_exists=Exists(Rating.objects.filter(order=OuterRef("pk"))))
        .order_by("-window_start")[:20]
        if elder
        else []
    )
    return render(
        request,
        "homecare/elder_home.html",
        {
            "elders": elders,
            "elder": elder,
            "items": list(catalogue()),
            "form": form,
            "errors": errors,
            "orders": orders,
            "idempotency_key": _new_key(),
        },
        status=status,
    )


# Audit queue -------------------------------------------------------------------------------------


@login_required
def audit_queue_page(request: HttpRequest) -> HttpResponse:
    _need(request, "order.audit")
    page = Paginator(audit_queue(request.user).order_by("window_start"), 30).get_page(request.GET.get("page"))
    return render(
        request,
        "homecare/audit_queue.html",
        {"page": page, "overdue": overdue_orders(request.user)[:30], "follow_ups": follow_ups_open(request.user)[:30]},
    )


# Order detail and its actions ----------------------------------------------------------------------


@login_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    _need(request, "order.view")
    order = _order_or_404(request, order_id)
    actions = [str(a) for a in actions_from(order.status)]
    suggestions = dispatch_suggestions(order, limit=5) if can(request.user, "order.dispatch") and "assign" in actions else None
    return render(
        request,
        "homecare/order_detail.html",
        {
            "order": order,
            "timeline": order.transitions.select_related("actor"),
            "tasks": task_rows(order),
            "rating": getattr(order, "rating", None),
            "actions": actions,
            "suggestions": suggestions,
            "caregivers": Caregiver.objects.filter(provider_id=order.provider_id, is_active=True) if suggestions is not None else [],
            "can": {
                "dispatch": can(request.user, "order.dispatch"),
                "cancel": can(request.user, "order.cancel"),
                "rate": can(request.user, "order.rate"),
                "audit": can(request.user, "order.audit"),
                "follow_up": can(request.user, "order.follow_up"),
            },
        },
    )


@login_required
@require_POST
def order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    """The form buttons of the detail page, the board, the audit queue and the elder view."""
    order = _order_or_404(request, order_id)
    post = request.POST
    handlers = {
        "accept": ("order.dispatch", lambda: ops.order_accept(order=order, actor=request.user), _("Order accepted.")),
        "assign": ("order.dispatch", lambda: _assign(request, order), _("Caregiver assigned.")),
        "cancel": (
            "order.cancel",
            lambda: ops.order_cancel(order=order, actor=request.user, reason=post.get("reason", "")),
            _("Order cancelled."),
        ),
        "rate": (
            "order.rate",
            lambda: ops.order_rate(
                order=order, actor=request.user, score=_int(post.get("score"), "score"), comment=post.get("comment", "")
            ),
            _("Thank you for your rating."),
        ),
        "approve": (
            "order.audit",
            lambda: ops.order_audit_decide(order=order, actor=request.user, approve=True, comment=post.get("comment", "")),
            _("Visit approved and paid."),
        ),
        "reject": (
            "order.audit",
            lambda: ops.order_audit_decide(order=order, actor=request.user, approve=False, comment=post.get("comment", "")),
            _("Visit rejected."),
        ),
        "follow_up_close": ("order.follow_up", lambda: _close_follow_up(request, order), _("Follow-up closed.")),
    }
    if action not in handlers:
        raise Http404
    capability, run, done = handlers[action]
    _need(request, capability)
    try:
        run()
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    target = post.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return redirect(target)
    return redirect("homecare:order_detail", order_id=order.pk)


def _int(value, field: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(_("Enter a whole number."), field=field)


def _assign(request: HttpRequest, order):
    caregiver = Caregiver.objects.filter(pk=_int(request.POST.get("caregiver"), "caregiver"), provider_id=order.provider_id).first()
    if caregiver is None:
        raise DomainError(_("Choose a caregiver of this provider."), field="caregiver")
    return ops.order_assign(order=order, caregiver=caregiver, actor=request.user)


def _close_follow_up(request: HttpRequest, order):
    rating = getattr(order, "rating", None)
    if rating is None:
        raise Http404
    return ops.follow_up_close(rating=rating, actor=request.user, note=request.POST.get("note", ""))


def visits_service_worker(request: HttpRequest) -> HttpResponse:
    """The service worker must be served from under the page it controls (scope /homecare/visits/)."""
    from django.contrib.staticfiles import finders

    path = finders.find("yiyang/homecare/visits-sw.js")
    with open(path, encoding="utf-8") as f:
        body = f.read()
    response = HttpResponse(body, content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response
