"""Safe-zone geometry in WGS-84: great-circle distance for circles, shapely for polygons."""

import math
from datetime import datetime, time

from django.utils import timezone
from shapely.geometry import Point, Polygon

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def applies_at(active_from: time | None, active_until: time | None, moment: datetime) -> bool:
    if active_from is None or active_until is None:
        return True
    local = timezone.localtime(moment).time()
    if active_from <= active_until:
        return active_from <= local < active_until
    # Wraps midnight, e.g. 20:00-07:00 ("only at night").
    return local >= active_from or local < active_until


def polygon_valid(points) -> bool:
    try:
        if not isinstance(points, list) or len(points) < 3:
            return False
        for p in points:
            lon, lat = float(p[0]), float(p[1])
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                return False
        return Polygon([(float(p[0]), float(p[1])) for p in points]).is_valid
    except (TypeError, ValueError, IndexError):
        return False


def contains(zone, lat: float, lon: float) -> bool:
    if zone.shape == "circle":
        return distance_m(zone.center_lat, zone.center_lon, lat, lon) <= zone.radius_m
    # Polygons use planar lon/lat: fine at village scale; `covers` counts the boundary as inside.
    poly = getattr(zone, "_shape_cache", None)
    if poly is None:
        poly = Polygon([(float(p[0]), float(p[1])) for p in zone.polygon])
        zone._shape_cache = poly
    return poly.covers(Point(lon, lat))


def inside_any(zones, lat: float, lon: float, moment: datetime) -> bool | None:
    """True inside an applicable zone, False outside all of them, None when no zone applies now."""
    applicable = [z for z in zones if z.is_active and applies_at(z.active_from, z.active_until, moment)]
    if not applicable:
        return None
    return any(contains(z, lat, lon) for z in applicable)
