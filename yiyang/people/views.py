from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from yiyang.accounts.roles import can
from yiyang.people.queries import elder_for, elders_visible_to


@login_required
def elder_list(request: HttpRequest) -> HttpResponse:
    if not can(request.user, "elder.list"):
        raise Http404
    q = request.GET.get("q", "").strip()
    elders = elders_visible_to(request.user).select_related("residence_region")
    if q:
        elders = elders.filter(name__contains=q)
    page = Paginator(elders, 50).get_page(request.GET.get("page"))
    return render(request, "people/elder_list.html", {"page": page, "q": q})


@login_required
def elder_detail(request: HttpRequest, elder_id: int) -> HttpResponse:
    elder = elder_for(request.user, elder_id)
    if elder is None:
        raise Http404
    return render(request, "people/elder_detail.html", {"elder": elder})
