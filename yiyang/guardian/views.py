"""The 96345 console and alert pages. Views parse, call an operation or query, render."""

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.guardian import operations as ops
from yiyang.guardian.models import AlertState, Notification, Outcome, Position, RejectedMessage, TimelineKind
from yiyang.guardian.queries import alert_for, open_alerts_for_console

_last_selfwatch = {"at": 0.0}


def _selfwatch_now_and_then() -> None:
    # The console is polled every few seconds by every operator; check the chain at most twice a minute.
    if time.monotonic() - _last_selfwatch["at"] > 30:
        _last_selfwatch["at"] = time.monotonic()
        ops.guardian_selfwatch()


def _console_context(request: HttpRequest) -> dict:
    alerts = list(open_alerts_for_console(request.user)[:200])
    now = timezone.now()
    since = now - timezone.timedelta(hours=1)
    failed = {n for n in Notification.objects.filter(alert__in=alerts, state=Notification.State.FAILED).values_list("alert_id", flat=True)}
    for a in alerts:
        a.failed_notifications = a.pk in failed
        a.age_seconds = int((now - a.opened_at).total_seconds())
    return {
        "alerts": alerts,
        "critical_open": [a for a in alerts if a.severity == "critical" and a.state == AlertState.OPEN],
        "rejected_last_hour": RejectedMessage.objects.filter(at__gte=since).count(),
        "now": now,
    }


@login_required
def console(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "guardian.console"):
        raise Http404
    _selfwatch_now_and_then()
    return render(request, "guardian/console.html", _console_context(request))


@login_required
def console_alerts(request: HttpRequest) -> HttpResponse:
    """The live part of the console, polled by HTMX."""
    if not can(request.user, "guardian.console"):
        raise Http404
    _selfwatch_now_and_then()
    return render(request, "guardian/_console_alerts.html", _console_context(request))


def _alert_or_404(request: HttpRequest, alert_id: int):
    if not can(request.user, "guardian.alert.view"):
        raise Http404
    alert = alert_for(request.user, alert_id)
    if alert is None:
        raise Http404
    return alert


@login_required
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _render_detail(request, _alert_or_404(request, alert_id))


def _render_detail(request: HttpRequest, alert, *, form: str = "", errors: dict | None = None, status: int = 200) -> HttpResponse:
    elder = alert.elder
    contacts, family, last_position = [], [], None
    if elder is not None:
        contacts = list(elder.contacts.filter(ended_on__isnull=True)) if hasattr(elder, "contacts") else []
        family = list(elder.user_links.exclude(relation="self").select_related("user"))
        last_position = Position.objects.filter(elder_id=elder.pk).order_by("-at").first()
    positions = alert.detail.get("positions", [])
    if last_position is None and positions:
        last_position = positions[-1]
    return render(
        request,
        "guardian/alert_detail.html",
        {
            "alert": alert,
            "elder": elder,
            "contacts": contacts,
            "family": family,
            "last_position": last_position,
            "positions": positions,
            "timeline": alert.timeline.select_related("actor"),
            "notifications": alert.notifications.order_by("created_at", "pk"),
            "actions": ops.ACTIONS,
            "outcomes": Outcome.choices,
            "can_handle": can(request.user, "guardian.alert.handle"),
            "can_visits": can(request.user, "visit.view"),
            "emergency_order": emergency_order_available() and can(request.user, "guardian.alert.handle") and elder is not None,
            "TimelineKind": TimelineKind,
            "form": form,
            "errors": errors or {},
            "posted": request.POST if errors else {},
        },
        status=status,
    )


def _handle(request: HttpRequest, alert_id: int, call, form: str) -> HttpResponse:
    alert = _alert_or_404(request, alert_id)
    if not can(request.user, "guardian.alert.handle"):
        raise Http404
    try:
        call(alert)
    except DomainError as exc:
        # Shown next to the field at fault (or the form), nothing changed.
        alert.refresh_from_db()
        status = 409 if exc.status == 409 else 400
        # The order form has one button: whatever the home-care operation objects to is shown beside it.
        field = "item" if form == "order" and exc.field not in ("state",) else (exc.field or "form")
        return _render_detail(request, alert, form=form, errors={field: exc.message}, status=status)
    return redirect("guardian:alert_detail", alert_id=alert.pk)


@login_required
@require_POST
def alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    note = request.POST.get("note", "")[:500]
    return _handle(request, alert_id, lambda a: ops.alert_acknowledge(alert=a, actor=request.user, note=note), "acknowledge")


@login_required
@require_POST
def alert_action(request: HttpRequest, alert_id: int) -> HttpResponse:
    action, note = request.POST.get("action", ""), request.POST.get("note", "")[:500]
    return _handle(request, alert_id, lambda a: ops.alert_record_action(alert=a, actor=request.user, action=action, note=note), "action")


@login_required
@require_POST
def alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    outcome, note = request.POST.get("outcome", ""), request.POST.get("note", "")[:500]
    return _handle(request, alert_id, lambda a: ops.alert_resolve(alert=a, actor=request.user, outcome=outcome, note=note), "resolve")


def emergency_order_available() -> bool:
    from yiyang.guardian.emergency import available

    return available()


@login_required
@require_POST
def alert_emergency_order(request: HttpRequest, alert_id: int) -> HttpResponse:
    from yiyang.guardian.emergency import alert_emergency_order as create

    if not emergency_order_available():
        raise Http404

    def call(alert):
        order = create(alert=alert, actor=request.user)
        messages.success(request, _("Emergency order #%(id)s created for %(provider)s.") % {"id": order.pk, "provider": order.provider})

    return _handle(request, alert_id, call, "order")
