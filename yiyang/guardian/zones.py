"""Safe-zone geometry in WGS-84: great-circle distance for circles, shapely for polygons."""

import math
from datetime import datetime, time, timedelta

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


def parse_window(text: str) -> tuple[time, time]:
    """ "HH:MM-HH:MM" -> (from, until); equal ends mean the whole day."""
    try:
        start, end = (part.strip() for part in text.split("-"))
        return time.fromisoformat(start), time.fromisoformat(end)
    except ValueError as exc:
        raise ValueError(f"a window is 'HH:MM-HH:MM', not {text!r}") from exc


def window_minutes_between(start: datetime, end: datetime, window: tuple[time, time]) -> float:
    """Minutes of [start, end) that fall inside the daily local-time window (which may wrap midnight)."""
    if end <= start:
        return 0.0
    w_from, w_until = window
    if w_from == w_until:
        return (end - start).total_seconds() / 60
    tz = timezone.get_current_timezone()
    local_start, local_end = timezone.localtime(start, tz), timezone.localtime(end, tz)
    total = 0.0
    # The window opening on the day before the start covers the early hours when it wraps midnight.
    day = local_start.date() - timedelta(days=1)
    while day <= local_end.date():
        opens = timezone.make_aware(datetime.combine(day, w_from), tz)
        closes_day = day if w_from < w_until else day + timedelta(days=1)
        closes = timezone.make_aware(datetime.combine(closes_day, w_until), tz)
        overlap = (min(closes, end) - max(opens, start)).total_seconds()
        if overlap > 0:
            total += overlap / 60
        day += timedelta(days=1)
    return total


def parse_latlon_lines(text: str) -> list[list[float]]:
    """The zone editor's accessible fallback: one "latitude,longitude" (WGS-84) per line -> [[lon, lat], ...].

    Raises ValueError with a message for the person typing (line number, what is wrong).
    """
    from django.utils.translation import gettext as _

    points: list[list[float]] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip().replace("，", ",")
        if not line:
            continue
        parts = [p for p in line.replace(";", ",").replace(" ", ",").split(",") if p]
        try:
            lat, lon = (float(p) for p in parts)
        except ValueError:
            raise ValueError(
                _("Line %(n)s: write latitude,longitude in decimal degrees (WGS-84), e.g. 28.4517,119.9219.") % {"n": number}
            ) from None
        if not (math.isfinite(lat) and math.isfinite(lon)) or not -90 <= lat <= 90:
            raise ValueError(
                _("Line %(n)s: the latitude must be from -90 to 90; latitude comes first (e.g. 28.4517,119.9219).") % {"n": number}
            )
        if not -180 <= lon <= 180:
            raise ValueError(_("Line %(n)s: the longitude must be from -180 to 180.") % {"n": number})
        points.append([lon, lat])
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()  # a closed ring written out: the polygon closes itself
    if len(points) < 3:
        raise ValueError(_("At least 3 points, one per line, are needed for a polygon."))
    if len(points) > 200:
        raise ValueError(_("At most 200 points."))
    if not Polygon([(p[0], p[1]) for p in points]).is_valid:
        raise ValueError(_("The outline crosses itself: list the points in order around the area."))
    return points


def latlon_lines(polygon: list | None) -> str:
    return "\n".join(f"{p[1]:.6f},{p[0]:.6f}" for p in polygon or [])
