from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from yiyang.accounts.models import ApiToken
from yiyang.accounts.operations import token_create, token_revoke
from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "token.manage"):
        raise Http404
    context = {"tokens": ApiToken.objects.filter(user=request.user), "new_token": None, "error": None, "name": ""}
    if request.method == "POST":
        name = request.POST.get("name", "")
        try:
            _token, raw = token_create(user=request.user, name=name)
        except DomainError as exc:
            context.update(error=exc, name=name)
            return render(request, "accounts/tokens.html", context, status=400)
        context["new_token"] = raw
    return render(request, "accounts/tokens.html", context)


@login_required
@require_POST
def token_revoke_view(request: HttpRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    token_revoke(token=token, actor=request.user)
    messages.success(request, _("Token revoked."))
    return redirect("accounts:tokens")
