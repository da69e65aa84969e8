"""Pages of the time bank: the volunteer's own page, confirmation of claims, officers' totals and corrections."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.roles import can
from yiyang.accounts.scope import scope_of
from yiyang.core.errors import DomainError
from yiyang.people.models import Elder, ElderLink
from yiyang.people.queries import elder_for
from yiyang.regions.models import Level, Region
from yiyang.timebank import operations as ops
from yiyang.timebank import queries
from yiyang.timebank.models import Claim, Volunteer


def _need(user, capability: str) -> None:
    if not can(user, capability):
        raise Http404


def _regions():
    return Region.objects.filter(level__in=[Level.TOWNSHIP]).order_by("path")


@login_required
def mine(request: HttpRequest) -> HttpResponse:
    _need(request.user, "timebank.use")
    user = request.user
    volunteer = Volunteer.objects.filter(user=user).first()
    error, form = None, None
    if request.method == "POST":
        action = request.POST.get("action", "")
        form = action
        try:
            if action == "register":
                ops.volunteer_register(
                    user=user,
                    name=request.POST.get("name", ""),
                    birth_date=request.POST.get("birth_date", ""),
                    region_code=request.POST.get("region", ""),
                    skills=request.POST.get("skills", ""),
                    actor=user,
                )
                messages.success(request, _("You are registered as a volunteer. Thank you!"))
            elif action == "claim" and volunteer is not None:
                elder_id = request.POST.get("elder", "")
                elder = Elder.objects.filter(pk=int(elder_id)).first() if elder_id.isdigit() else None
                if elder is None:
                    raise DomainError(_("Enter the number of the elder you helped (on their card)."), field="elder")
                ops.claim_submit(
                    volunteer=volunteer,
                    elder=elder,
                    served_on=request.POST.get("served_on", ""),
                    minutes=request.POST.get("minutes", ""),
                    description=request.POST.get("description", ""),
                    actor=user,
                )
                messages.success(request, _("Claim sent. The hours are credited when the elder or the community worker confirms."))
            elif action == "transfer":
                elder = _linked_elder(user, request.POST.get("elder", ""))
                ops.hours_transfer(
                    from_user=user, to_elder=elder, minutes=request.POST.get("minutes", ""), actor=user, note=request.POST.get("note", "")
                )
                messages.success(request, _("Hours given."))
            elif action == "redeem":
                source = request.POST.get("account", "me")
                if source == "me":
                    account, elder = ops.account_for_user(user), None
                else:
                    elder = _linked_elder(user, source)
                    account = ops.account_for_elder(elder)
                ops.hours_redeem(
                    account=account,
                    minutes=request.POST.get("minutes", ""),
                    service=request.POST.get("service", ""),
                    actor=user,
                    elder=elder,
                )
                messages.success(request, _("Hours redeemed."))
            else:
                raise Http404
            return redirect("timebank:mine")
        except DomainError as exc:
            error = exc
    account = ops.account_for_user(user)
    linked = [
        {"elder": link.elder, "balance": ops.account_for_elder(link.elder).balance}
        for link in ElderLink.objects.filter(user=user).select_related("elder")
    ]
    statement = [{"entry": e, "signed": queries.signed(e, account)} for e in queries.statement(account)[:50]]
    context = {
        "volunteer": volunteer,
        "account": account,
        "linked": linked,
        "statement": statement,
        "claims": Claim.objects.filter(volunteer__user=user)[:20],
        "regions": _regions(),
        "error": error,
        "form": form,
        "post": request.POST if error else {},
        "today": timezone.localdate(),
    }
    return render(request, "timebank/mine.html", context, status=400 if error else 200)


def _linked_elder(user, elder_id: str) -> Elder:
    elder = elder_for(user, int(elder_id)) if elder_id.isdigit() else None
    if elder is None or not ElderLink.objects.filter(user=user, elder=elder).exists():
        raise DomainError(_("Choose a family member linked to your account."), field="elder")
    return elder


@login_required
def confirm(request: HttpRequest) -> HttpResponse:
    _need(request.user, "timebank.confirm")
    error = None
    if request.method == "POST":
        claim_id = request.POST.get("claim", "")
        claim = queries.claims_to_confirm(request.user).filter(pk=int(claim_id)).first() if claim_id.isdigit() else None
        if claim is None:
            raise Http404
        try:
            confirm_it = request.POST.get("decision") == "confirm"
            ops.claim_decide(claim=claim, confirm=confirm_it, actor=request.user, reason=request.POST.get("reason", ""))
            messages.success(request, _("Claim confirmed: the hours are credited.") if confirm_it else _("Claim rejected."))
            return redirect("timebank:confirm")
        except DomainError as exc:
            error = {"claim": claim.pk, "error": exc}
    claims = queries.claims_to_confirm(request.user)[:100]
    return render(request, "timebank/confirm.html", {"claims": claims, "error": error}, status=400 if error else 200)


@login_required
def officer(request: HttpRequest) -> HttpResponse:
    _need(request.user, "timebank.manage")
    error = None
    if request.method == "POST":
        entry_id = request.POST.get("entry", "")
        entry = queries.entries_visible_to(request.user).filter(pk=int(entry_id)).first() if entry_id.isdigit() else None
        try:
            if entry is None:
                raise DomainError(_("No entry with that number in your area."), field="entry")
            reversal = ops.hours_correct(entry=entry, reason=request.POST.get("reason", ""), actor=request.user)
            messages.success(request, _("Correction posted as entry %(n)s.") % {"n": reversal.pk})
            return redirect("timebank:officer")
        except DomainError as exc:
            error = exc
    scope = scope_of(request.user)
    paths = [""] if scope.everything else list(scope.region_paths)
    context = {
        "totals": queries.totals_by_region_month(request.user)[:60],
        "recent": queries.entries_visible_to(request.user).select_related("debit__user", "elder").order_by("-pk")[:30],
        "volunteers": sum(queries.volunteer_count(p) for p in paths),
        "elder_volunteers": sum(queries.elder_volunteer_count(p) for p in paths),
        "error": error,
        "post": request.POST if error else {},
    }
    return render(request, "timebank/officer.html", context, status=400 if error else 200)
