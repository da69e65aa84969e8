"""Demo data: institutions in every county with beds, residents, staff and certificates; an alliance; one inspection round."""

import random
from datetime import date, timedelta

from django.utils import timezone

from yiyang.institutions.models import Alliance, BedType, Institution, StaffRole
from yiyang.institutions.operations import (
    bed_add,
    certificate_add,
    finding_add,
    inspection_draw,
    inspection_publish,
    inspection_record,
    institution_create,
    institution_rate,
    resident_admit,
    staff_add,
)
from yiyang.people.models import Elder
from yiyang.regions.models import Level, Region

KINDS = [("颐养院", "care_home", "private"), ("敬老院", "township_home", "public"), ("护理院", "nursing_home", "public_private")]


def demo_institutions(*, officer, inspectors) -> int:
    """Idempotent: does nothing when institutions exist."""
    if Institution.objects.exists():
        return 0
    rng = random.Random(1995)
    today = timezone.localdate()
    liandu = Region.objects.get(code="331102")
    alliance = Alliance.objects.create(name="莲都区康养联合体", region=liandu, established_on=date(2023, 6, 1))
    made = []
    for county in Region.objects.filter(level=Level.COUNTY, path__startswith="330000/331100/").order_by("code"):
        townships = list(Region.objects.filter(parent=county, level=Level.TOWNSHIP).order_by("code")[:2])
        for n, township in enumerate(townships):
            suffix, kind, operation = KINDS[(n + len(made)) % len(KINDS)]
            home = institution_create(
                actor=officer,
                name=f"{township.name}{suffix}",
                kind=kind,
                operation=operation,
                region=township,
                licence_no=f"{township.code}-YL-{n + 1:03d}",
                licence_expires=today + timedelta(days=rng.randint(-20, 900)),
                smart_care_home=rng.random() < 0.3,
                alliance=alliance if county == liandu else None,
            )
            if rng.random() < 0.6:
                institution_rate(
                    institution=home, star_rating=rng.randint(1, 5), rated_on=today - timedelta(days=rng.randint(30, 700)), actor=officer
                )
            beds = [
                bed_add(
                    institution=home,
                    code=f"{100 + i}",
                    bed_type=rng.choice([BedType.GENERAL, BedType.NURSING, BedType.NURSING, BedType.COGNITIVE]),
                    actor=officer,
                )
                for i in range(rng.randint(8, 16))
            ]
            residents = Elder.objects.filter(status="active", residence_region__path__startswith=township.path).exclude(
                living_arrangement="institution"
            )
            for bed, elder in zip(beds[: rng.randint(3, 7)], residents.order_by("pk")[:7], strict=False):
                resident_admit(elder=elder, bed=bed, admitted_on=today - timedelta(days=rng.randint(0, 400)), actor=officer)
            for s in range(rng.randint(2, 5)):
                staff = staff_add(institution=home, name=f"护理员{home.pk}-{s + 1}", role=StaffRole.CARE_WORKER, actor=officer)
                if rng.random() < 0.7:
                    certificate_add(
                        staff=staff, kind="care_worker", number=f"YLHL-{home.pk:04d}-{s + 1}", issued_on=today - timedelta(days=rng.randint(30, 1500)),
                        level=rng.randint(3, 5), actor=officer,
                    )  # fmt: skip
            made.append(home)
    if len(inspectors) >= 2:
        draw = inspection_draw(
            region=liandu, period=f"{today.year}-Q{(today.month - 1) // 3 + 1}", sample_size=2, seed=f"demo-{today:%Y%m}", actor=officer
        )
        inspection = draw.inspections.order_by("pk").first()
        inspection_record(
            inspection=inspection,
            inspected_on=today,
            result="rectify",
            summary="消防设施完好；个别护理记录不完整。",
            actor=inspection.inspector_a,
        )
        finding_add(inspection=inspection, description="护理记录不完整", deadline=today + timedelta(days=30), actor=inspection.inspector_a)
        inspection_publish(inspection=inspection, actor=officer)
    return len(made)


def demo_inspectors() -> list:
    """The demo inspector and a second one, so that a draw can pick a pair."""
    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role

    second, created = User.objects.get_or_create(
        username="inspector-2", defaults={"role": Role.INSPECTOR, "display_name": "检查员 钱敏", "is_demo": True}
    )
    if created:
        second.set_unusable_password()
        second.save(update_fields=["password"])
        second.regions.set(Region.objects.filter(code="331100"))
    return list(User.objects.filter(role=Role.INSPECTOR, is_active=True).order_by("pk"))
