from django.http import Http404, HttpRequest
from ninja import Router, Schema

from yiyang.regions.models import Level, Region

router = Router(tags=["regions"])


class RegionOut(Schema):
    code: str
    name: str
    alias: str
    level: str
    parent_code: str | None
    lng: float | None
    lat: float | None


def _out(region: Region) -> dict:
    return {
        "code": region.code,
        "name": region.name,
        "alias": region.alias,
        "level": region.level,
        "parent_code": region.parent.code if region.parent_id else None,
        "lng": region.lng,
        "lat": region.lat,
    }


@router.get("", response=list[RegionOut], summary="Administrative divisions (public reference data)")
def regions_list(request: HttpRequest, parent: str | None = None, level: Level | None = None):
    regions = Region.objects.select_related("parent")
    if parent:
        regions = regions.filter(parent__code=parent)
    if level:
        regions = regions.filter(level=level)
    return [_out(r) for r in regions]


@router.get("/{code}", response=RegionOut, summary="One division by its statistical code")
def regions_get(request: HttpRequest, code: str):
    region = Region.objects.select_related("parent").filter(code=code).first()
    if region is None:
        raise Http404
    return _out(region)
