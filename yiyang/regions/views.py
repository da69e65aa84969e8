from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from yiyang.regions.models import Level, Region


@login_required
def region_list(request: HttpRequest) -> HttpResponse:
    return region_detail(request, code=None)


@login_required
def region_detail(request: HttpRequest, code: str | None) -> HttpResponse:
    region = get_object_or_404(Region, code=code) if code else Region.objects.filter(level=Level.CITY).first()
    children = region.children.annotate(n_children=Count("children")) if region else Region.objects.none()
    ancestors = region.ancestors() if region else []
    return render(request, "regions/region_detail.html", {"region": region, "children": children, "ancestors": ancestors})
