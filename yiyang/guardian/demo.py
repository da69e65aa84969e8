"""Demo data for Silver Guardian: devices in a few demo elders' homes, a bracelet with its safe zones.

The demo's simulator (`yiyang guardian simulate`, started by `yiyang demo`) then makes them report.
"""

from datetime import time

from django.db import transaction

from yiyang.guardian.models import Device, DeviceType, SafeZone
from yiyang.guardian.operations import device_register, safezone_create

# (elder name, serial, type, installed at, reporting interval in seconds)
DEMO_DEVICES = [
    ("张桂英", "DEMO-SM-0001", DeviceType.SMOKE, "厨房", 3600),
    ("张桂英", "DEMO-SOS-0001", DeviceType.SOS, "床头", 3600),
    ("张桂英", "DEMO-DR-0001", DeviceType.DOOR, "大门", 1800),
    ("张桂英", "DEMO-BR-0001", DeviceType.BRACELET, "左手腕", 300),
    ("李春生", "DEMO-SM-0002", DeviceType.SMOKE, "客厅", 3600),
    ("李春生", "DEMO-GS-0001", DeviceType.GAS, "厨房", 3600),
    ("陈土根", "DEMO-DR-0002", DeviceType.DOOR, "大门", 1800),
    ("陈土根", "DEMO-MO-0001", DeviceType.MOTION, "卧室", 1800),
    ("陈土根", "DEMO-FL-0001", DeviceType.FALL, "卫生间", 3600),
    ("刘阿菊", "DEMO-BR-0002", DeviceType.BRACELET, "右手腕", 300),
]


def _home(elder, actor) -> tuple[float, float]:
    """The elder's home in WGS-84; demo elders without one get a point near their township's."""
    if elder.lat is not None and elder.lng is not None:
        return elder.lat, elder.lng
    region = elder.residence_region
    while region is not None and (region.lat is None or region.lng is None):
        region = region.parent
    base = (region.lat, region.lng) if region is not None else (28.4517, 119.9219)
    # A few hundred metres from the township's point, different per elder.
    home = (round(base[0] + 0.002 + (elder.pk % 7) * 0.0004, 6), round(base[1] + 0.002 - (elder.pk % 5) * 0.0004, 6))
    from yiyang.people.operations import elder_update

    elder_update(elder=elder, actor=actor, changes={"lat": home[0], "lng": home[1]}, reason="demo data: home location")
    elder.lat, elder.lng = home
    return home


@transaction.atomic
def demo_guardian(*, worker, elders) -> int:
    """Idempotent: registers the demo devices that are missing; returns how many it registered."""
    by_name = {e.name: e for e in elders}
    made = 0
    for name, serial, kind, where, interval in DEMO_DEVICES:
        elder = by_name.get(name)
        if elder is None or Device.objects.filter(serial=serial).exists():
            continue
        _home(elder, worker)
        device_register(
            elder=elder, device_type=kind, serial=serial, install_location=where, report_interval_seconds=interval, actor=worker
        )
        made += 1
        if kind == DeviceType.BRACELET and not SafeZone.objects.filter(elder=elder).exists():
            lat, lon = _home(elder, worker)
            safezone_create(elder=elder, name="家附近", shape="circle", center_lat=lat, center_lon=lon, radius_m=400, actor=worker)
            # The village (a square of about 900 m around home), only in the daytime: a walk to the market is fine.
            d = 0.004
            safezone_create(
                elder=elder,
                name="村里(白天)",
                shape="polygon",
                polygon=[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]],
                active_from=time(8),
                active_until=time(18),
                actor=worker,
            )
    return made
