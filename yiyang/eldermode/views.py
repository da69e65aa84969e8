"""Elder mode (长辈模式): the elder's home screen and ordering a common service in three taps."""

import secrets

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.eldermode import queries


def _elder_or_404(request: HttpRequest):
    if not can(request.user, "eldermode.use"):
        raise Http404
    elder = queries.elder_of(request.user, request.GET.get("elder") or request.POST.get("elder"))
    return elder


def _item_or_404(code: str):
    item = next((i for i in queries.common_items() if i.code == code), None)
    if item is None:
        raise Http404
    return item


def _yuan(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen / 100:.2f}"


@login_required
def care_home(request: HttpRequest) -> HttpResponse:
    elder = _elder_or_404(request)
    if elder is None:
        return render(request, "eldermode/no_elder.html", status=200)
    facts = queries.home_facts(elder)
    return render(
        request,
        "eldermode/home.html",
        {
            "facts": facts,
            "items": queries.common_items(),
            "others": [e for e in queries.linked_elders(request.user) if e.pk != elder.pk],
            "voucher_yuan": _yuan(facts.voucher_fen),
            "hours": (facts.hours_minutes or 0) // 60,
            "extra_minutes": (facts.hours_minutes or 0) % 60,
            "help_available": apps.is_installed("yiyang.guardian"),
        },
    )


@login_required
def care_order_when(request: HttpRequest, item_code: str) -> HttpResponse:
    elder = _elder_or_404(request)
    if elder is None:
        raise Http404
    item = _item_or_404(item_code)
    return render(request, "eldermode/order_when.html", {"elder": elder, "item": item, "slots": queries.slots()})


@login_required
def care_order_confirm(request: HttpRequest, item_code: str) -> HttpResponse:
    from yiyang.homecare.models import Channel
    from yiyang.homecare.operations import order_create

    elder = _elder_or_404(request)
    if elder is None:
        raise Http404
    item = _item_or_404(item_code)
    slot = queries.slot_by_code(request.POST.get("slot") or request.GET.get("slot", ""))
    if slot is None:
        return redirect(f"{reverse('eldermode:order_when', args=[item.code])}?elder={elder.pk}")
    price = queries.price_for(elder, item)
    context = {"elder": elder, "item": item, "slot": slot, "price_fen": price, "error": None}
    if price is not None:
        covered = queries.voucher_cover_estimate(elder, item.category.code, price)
        context.update(price_yuan=_yuan(price), covered_yuan=_yuan(covered), copay_yuan=_yuan(price - covered), covered_fen=covered)
    if request.method == "POST":
        channel = Channel.ELDER if request.user.role == "elder" else Channel.FAMILY
        try:
            order, _created = order_create(
                elder=elder,
                item=item,
                window_start=slot.start,
                window_end=slot.end,
                actor=request.user,
                channel=channel,
                idempotency_key=request.POST.get("idempotency_key", ""),
            )
        except DomainError as exc:
            context["error"] = exc
            context["idempotency_key"] = secrets.token_urlsafe(16)
            return render(request, "eldermode/order_confirm.html", context, status=400)
        return redirect(f"{reverse('eldermode:order_done', args=[order.pk])}?elder={elder.pk}")
    context["idempotency_key"] = secrets.token_urlsafe(16)
    return render(request, "eldermode/order_confirm.html", context)


@login_required
@require_POST
def care_help(request: HttpRequest) -> HttpResponse:
    from yiyang.guardian.help import alert_help_request

    elder = _elder_or_404(request)
    if elder is None:
        raise Http404
    alert, _created = alert_help_request(elder=elder, actor=request.user)
    return redirect(f"{reverse('eldermode:help_sent')}?elder={elder.pk}&alert={alert.pk}")


@login_required
@require_POST
def care_callback(request: HttpRequest) -> HttpResponse:
    from yiyang.eldermode.operations import callback_request

    elder = _elder_or_404(request)
    if elder is None:
        raise Http404
    callback_request(elder=elder, actor=request.user)
    return render(request, "eldermode/callback_sent.html", {"elder": elder})


@login_required
def callbacks(request: HttpRequest) -> HttpResponse:
    """The hotline's list of elders waiting for a call back."""
    from yiyang.eldermode.models import CallbackRequest
    from yiyang.eldermode.operations import callback_close

    if not can(request.user, "callback.handle"):
        raise Http404
    from yiyang.people.queries import elders_visible_to

    error, status = None, 200
    if request.method == "POST":
        pk = request.POST.get("request", "")
        target = CallbackRequest.objects.filter(pk=pk, elder__in=elders_visible_to(request.user)).first() if pk.isdigit() else None
        if target is None:
            raise Http404
        try:
            callback_close(request=target, actor=request.user, note=request.POST.get("note", ""))
            return redirect("eldermode:callbacks")
        except DomainError as exc:
            error, status = exc, exc.status
    return render(request, "eldermode/callbacks.html", {"waiting": queries.callbacks_open_for(request.user), "error": error}, status=status)


@login_required
def care_help_sent(request: HttpRequest) -> HttpResponse:
    elder = _elder_or_404(request)
    if elder is None:
        raise Http404
    from yiyang.people.operations import contact_phone_for_dialling

    # In an emergency every tap counts, so the numbers are shown at once; each reveal is still logged.
    facts = queries.home_facts(elder)
    dial = [
        (c, contact_phone_for_dialling(elder=elder, contact=c, actor=request.user, purpose="call family after pressing help"))
        for c in facts.contacts
        if c.phone_enc
    ]
    return render(request, "eldermode/help_sent.html", {"elder": elder, "dial": dial})


@login_required
def care_call(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The number to dial, large, behind one tap: showing it in clear is logged (see people.operations)."""
    from yiyang.people.operations import contact_phone_for_dialling

    elder = _elder_or_404(request)
    contact = elder.contacts.filter(pk=contact_id).first() if elder else None
    if contact is None or not contact.phone_enc:
        raise Http404
    phone = contact_phone_for_dialling(elder=elder, contact=contact, actor=request.user, purpose="call family from the elder's home screen")
    return render(request, "eldermode/call.html", {"elder": elder, "contact": contact, "phone": phone})


@login_required
def care_order_done(request: HttpRequest, order_id: int) -> HttpResponse:
    from yiyang.homecare.models import Order

    elder = _elder_or_404(request)
    order = Order.objects.filter(pk=order_id, elder=elder).select_related("item", "provider").first() if elder else None
    if order is None:
        raise Http404
    return render(request, "eldermode/order_done.html", {"elder": elder, "order": order, "price_yuan": _yuan(order.price_fen)})
