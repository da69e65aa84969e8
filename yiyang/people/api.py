from datetime import date

from django.http import Http404, HttpRequest
from ninja import Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from yiyang.core.api_auth import require
from yiyang.people.queries import elder_for, elders_visible_to
from yiyang.regions.queries import region_by_code

router = Router(tags=["elders"])


class ElderOut(Schema):
    id: int
    name: str
    gender: str
    birth_date: date
    residence_region: str
    residence_region_name: str
    living_arrangement: str
    status: str

    @staticmethod
    def resolve_residence_region(elder) -> str:
        return elder.residence_region.code

    @staticmethod
    def resolve_residence_region_name(elder) -> str:
        return elder.residence_region.name


@router.get("", response=list[ElderOut], summary="Elders in my scope")
@paginate(PageNumberPagination, page_size=50)
def elders_list(request: HttpRequest, q: str | None = None, region: str | None = None):
    require(request, "elder.list")
    elders = elders_visible_to(request.auth).select_related("residence_region")
    if q:
        elders = elders.filter(name__contains=q.strip())
    if region:
        where = region_by_code(region)
        elders = elders.filter(residence_region__path__startswith=where.path) if where else elders.none()
    return elders


@router.get("/{elder_id}", response=ElderOut, summary="One elder's file")
def elders_get(request: HttpRequest, elder_id: int):
    require(request, "elder.view")
    elder = elder_for(request.auth, elder_id)
    if elder is None:
        raise Http404
    return elder
