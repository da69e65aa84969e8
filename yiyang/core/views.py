from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.accounts.scope import region_codes_visible
from yiyang.core.middleware import ELDER_MODE_COOKIE
from yiyang.regions.models import Region


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # the point of this view is to report any database failure
        return JsonResponse({"status": "error", "database": "unavailable", "error": exc.__class__.__name__}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if can(request.user, "eldermode.use"):
        # Elders and families start on their own home screen, in elder mode.
        return redirect("eldermode:home")
    codes = region_codes_visible(request.user)
    regions = Region.objects.filter(code__in=codes) if codes is not None else Region.objects.filter(level="city")
    return render(request, "core/home.html", {"scope_regions": regions, "provider": request.user.provider})


@require_POST
def elder_mode(request: HttpRequest) -> HttpResponse:
    on = request.POST.get("on") == "1"
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        target = "/"
    response = redirect(target)
    response.set_cookie(ELDER_MODE_COOKIE, "1" if on else "0", max_age=60 * 60 * 24 * 365, samesite="Lax", httponly=True)
    return response
