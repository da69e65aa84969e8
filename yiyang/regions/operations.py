"""Loading a city's divisions from a CSV (code,name,level,parent_code)."""

import csv
import math
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction

from yiyang.core.errors import DomainError
from yiyang.regions.models import Level, Region

DATA_DIR = Path(__file__).resolve().parent / "data"
LISHUI_REGIONS = DATA_DIR / "lishui_regions.csv"
LISHUI_CENTROIDS = DATA_DIR / "lishui_township_centroids.csv"
# The statistics print 石达石街道; maps and people say 塔石街道 (shared/data/README.md).
KNOWN_ALIASES = {"331181004": "塔石街道"}


_A, _EE = 6378245.0, 0.00669342162296594323


def _gcj_offset(lng: float, lat: float) -> tuple[float, float]:
    x, y = lng - 105.0, lat - 35.0
    dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    dlat += (20 * math.sin(y * math.pi) + 40 * math.sin(y / 3 * math.pi)) * 2 / 3
    dlat += (160 * math.sin(y / 12 * math.pi) + 320 * math.sin(y * math.pi / 30)) * 2 / 3
    dlng = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlng += (20 * math.sin(6 * x * math.pi) + 20 * math.sin(2 * x * math.pi)) * 2 / 3
    dlng += (20 * math.sin(x * math.pi) + 40 * math.sin(x / 3 * math.pi)) * 2 / 3
    dlng += (150 * math.sin(x / 12 * math.pi) + 300 * math.sin(x / 30 * math.pi)) * 2 / 3
    rad = lat / 180 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlng = (dlng * 180) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return dlng, dlat


def wgs84_to_gcj02(lng: float, lat: float) -> tuple[float, float]:
    """The published GCJ-02 obfuscation, for showing a stored point on a Chinese map."""
    dlng, dlat = _gcj_offset(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng: float, lat: float) -> tuple[float, float]:
    """Invert GCJ-02 by fixed-point iteration (to well under a metre within China)."""
    wlng, wlat = lng, lat
    for _ in range(6):
        glng, glat = wgs84_to_gcj02(wlng, wlat)
        wlng, wlat = wlng - (glng - lng), wlat - (glat - lat)
    return wlng, wlat


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@transaction.atomic
def regions_import(*, rows: Iterable[dict], centroids: Iterable[dict] = ()) -> int:
    """Insert or update divisions. Parents must come before children or already exist.

    Returns the number of regions created. Unknown parents of top-level rows (e.g. the
    province 330000 of a city) become a province row so that every path has a root.
    """
    created = 0
    points = {}
    for c in centroids:
        if c.get("lng") and c.get("lat"):
            lng, lat = float(c["lng"]), float(c["lat"])
            if c.get("datum", "").upper() == "GCJ-02":
                lng, lat = gcj02_to_wgs84(lng, lat)
            points[c["code"]] = (lng, lat)
    by_code = {r.code: r for r in Region.objects.all()}
    for number, row in enumerate(rows, start=2):
        code, name, level, parent_code = (row.get(k, "").strip() for k in ("code", "name", "level", "parent_code"))
        if not code.isdigit() or not name or level not in Level.values:
            raise DomainError(f"row {number}: code, name and a known level are required", field="rows")
        parent = by_code.get(parent_code) if parent_code else None
        if parent_code and parent is None:
            if level not in (Level.CITY, Level.PROVINCE):
                raise DomainError(f"row {number}: parent {parent_code} is unknown", field="parent_code")
            parent = Region.objects.create(code=parent_code, name=parent_code, level=Level.PROVINCE, path=f"{parent_code}/")
            by_code[parent_code] = parent
            created += 1
        path = f"{parent.path if parent else ''}{code}/"
        lng, lat = points.get(code, (None, None))
        region = by_code.get(code)
        if region is None:
            region = Region.objects.create(
                code=code, name=name, level=level, parent=parent, path=path, lng=lng, lat=lat, alias=KNOWN_ALIASES.get(code, "")
            )
            by_code[code] = region
            created += 1
        else:
            region.name, region.level, region.parent, region.path = name, level, parent, path
            if lng is not None:
                region.lng, region.lat = lng, lat
            region.save()
    return created


def regions_load_lishui() -> int:
    return regions_import(rows=_rows(LISHUI_REGIONS), centroids=_rows(LISHUI_CENTROIDS))


def regions_load_file(path: Path) -> int:
    return regions_import(rows=_rows(path))
