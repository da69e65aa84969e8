"""Demo set-up: accounts for every role with stable usernames, a provider, a few linked elders."""

import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction

from yiyang.accounts.models import User
from yiyang.accounts.roles import Role
from yiyang.homecare.models import Provider
from yiyang.people.models import Elder, ElderLink, Gender, LivingArrangement
from yiyang.regions.models import Level, Region
from yiyang.regions.operations import regions_load_lishui

CITY = "331100"
LIANDU = "331102"
# 紫金街道, a street of 莲都区: the demo township worker's area.
WORKER_TOWNSHIP = "331102001"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    display_name: str
    regions: tuple[str, ...] = ()
    superuser: bool = False
    unit: str = ""


def demo_accounts() -> list[DemoAccount]:
    accounts = [
        DemoAccount("admin", Role.ADMIN, "系统管理员", (CITY,), superuser=True),
        DemoAccount("city-officer", Role.CITY_OFFICER, "市民政局 王科长", (CITY,)),
    ]
    for county in Region.objects.filter(level=Level.COUNTY).order_by("code"):
        accounts.append(DemoAccount(f"county-{county.code}", Role.COUNTY_OFFICER, f"{county.name}民政局", (county.code,)))
    accounts += [
        DemoAccount("operator", Role.OPERATOR, "96345 话务员 李敏", (CITY,)),
        DemoAccount("dispatcher", Role.DISPATCHER, "派单员 陈刚"),
        DemoAccount("caregiver", Role.CAREGIVER, "护理员 周丽"),
        DemoAccount("worker", Role.WORKER, "社区工作者 吴芳", (WORKER_TOWNSHIP,)),
        DemoAccount("assessor", Role.ASSESSOR, "评估员 郑强", (LIANDU,)),
        DemoAccount("inspector", Role.INSPECTOR, "检查员 孙伟", (CITY,)),
        DemoAccount("reporter", Role.REPORTER, "市卫生健康委 填报员", (CITY,), unit="市卫生健康委"),
        DemoAccount("volunteer", Role.VOLUNTEER, "志愿者 刘洋"),
        DemoAccount("family", Role.FAMILY, "家属 张晓梅"),
        DemoAccount("elder", Role.ELDER, "张桂英"),
    ]
    return accounts


def demo_password(var_dir: Path) -> tuple[str, bool]:
    """The password of every demo account: YIYANG_DEMO_PASSWORD, or one generated once and kept in var/."""
    import os

    configured = os.environ.get("YIYANG_DEMO_PASSWORD")
    if configured:
        return configured, True
    path = var_dir / "demo-password.txt"
    if path.exists():
        return path.read_text().strip(), False
    password = "yy-" + secrets.token_urlsafe(9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n")
    path.chmod(0o600)
    return password, False


@transaction.atomic
def demo_provider() -> Provider:
    liandu = Region.objects.get(code=LIANDU)
    provider, created = Provider.objects.get_or_create(
        name="丽水颐康居家养老服务中心", defaults={"region": liandu, "licence_no": "331102-YL-0001"}
    )
    if created:
        provider.service_regions.set(Region.objects.filter(parent=liandu))
    return provider


DEMO_ELDERS = [
    # name, gender, birth date, township code, living arrangement, address
    ("张桂英", Gender.FEMALE, date(1941, 3, 12), WORKER_TOWNSHIP, LivingArrangement.ALONE, "紫金街道 大众街 18号 2单元 301"),
    ("李春生", Gender.MALE, date(1938, 11, 2), WORKER_TOWNSHIP, LivingArrangement.EMPTY_NEST, "紫金街道 解放街 52号"),
    ("王美华", Gender.FEMALE, date(1950, 6, 21), "331102002", LivingArrangement.WITH_FAMILY, "岩泉街道 城北路 9号"),
    ("陈土根", Gender.MALE, date(1946, 1, 30), "331121001", LivingArrangement.ALONE, "鹤城街道 江滨路 33号"),
    ("刘阿菊", Gender.FEMALE, date(1935, 9, 8), "331127100", LivingArrangement.EMPTY_NEST, "鹤溪街道 民族路 7号"),
]


@transaction.atomic
def demo_elders() -> list[Elder]:
    elders = []
    for name, gender, born, township, living, address in DEMO_ELDERS:
        region = Region.objects.filter(code=township).first() or Region.objects.filter(level=Level.TOWNSHIP).first()
        elder, _ = Elder.objects.get_or_create(
            name=name,
            birth_date=born,
            defaults={
                "gender": gender,
                "residence_region": region,
                "hukou_region": region,
                "living_arrangement": living,
                "address": address,
            },
        )
        elders.append(elder)
    return elders


# Synthetic numbers: the hotline finds 张桂英 by her phone; her daughter is her emergency contact.
DEMO_ELDER_PHONE = "13905781234"
DEMO_DAUGHTER_PHONE = "13857812345"


def demo_elder_contacts(elder: Elder, *, actor: User) -> None:
    from yiyang.people.operations import contact_add, elder_update

    if not elder.phone_enc:
        elder_update(elder=elder, actor=actor, changes={"phone": DEMO_ELDER_PHONE}, reason="demo data")
    if not elder.contacts.exists():
        contact_add(elder=elder, actor=actor, name="张晓梅", relation="child", phone=DEMO_DAUGHTER_PHONE)


@transaction.atomic
def demo_setup(*, password: str, reset_passwords: bool) -> list[DemoAccount]:
    """Idempotent: creates what is missing, keeps what exists."""
    if not Region.objects.exists():
        regions_load_lishui()
    provider = demo_provider()
    elders = demo_elders()
    if Elder.objects.count() < 100:
        # The synthetic population (people/seed.py): about 2,000 elders across the 9 counties.
        from yiyang.people.seed import DEMO_SCALE, seed_population

        seed_population(scale=DEMO_SCALE)
    accounts = demo_accounts()
    for spec in accounts:
        user = User.objects.filter(username=spec.username).first()
        if user is None:
            user = User(username=spec.username, role=spec.role, display_name=spec.display_name, unit=spec.unit, is_demo=True)
            user.is_superuser = user.is_staff = spec.superuser
            if spec.role in (Role.DISPATCHER, Role.CAREGIVER):
                user.provider = provider
            user.set_password(password)
            user.save()
            user.regions.set(Region.objects.filter(code__in=spec.regions))
        elif reset_passwords and user.is_demo and not user.check_password(password):
            user.set_password(password)
            user.save(update_fields=["password"])
        if user.is_demo and spec.unit and not user.unit:
            # A demo database made before users had a unit: its reporter would be offered nothing to enter.
            user.unit = spec.unit
            user.save(update_fields=["unit"])
    elder_user = User.objects.get(username="elder")
    family_user = User.objects.get(username="family")
    ElderLink.objects.get_or_create(user=elder_user, elder=elders[0], defaults={"relation": ElderLink.Relation.SELF})
    ElderLink.objects.get_or_create(user=family_user, elder=elders[0], defaults={"relation": ElderLink.Relation.CHILD})
    demo_elder_contacts(elders[0], actor=User.objects.get(username="worker"))
    # Subsidies first, so that the demo's paid orders below take vouchers; the volunteer registers in the time bank.
    from yiyang.subsidies.demo import demo_subsidies

    demo_subsidies(officer=User.objects.get(username="city-officer"), volunteer_user=User.objects.get(username="volunteer"))
    # Home care: menu, offerings, caregivers (the demo caregiver and volunteer among them), weeks of orders.
    from yiyang.homecare.demo import demo_homecare

    demo_homecare(
        provider=provider,
        dispatcher=User.objects.get(username="dispatcher"),
        caregiver_user=User.objects.get(username="caregiver"),
        volunteer_user=User.objects.get(username="volunteer"),
    )
    # Institutions, ability assessments and monthly visits (institutions, assessments, visits apps).
    from yiyang.assessments.demo import demo_assessments
    from yiyang.institutions.demo import demo_inspectors, demo_institutions
    from yiyang.visits.demo import demo_visits

    city_officer = User.objects.get(username="city-officer")
    demo_institutions(officer=city_officer, inspectors=demo_inspectors())
    demo_assessments(assessor=User.objects.get(username="assessor"))
    demo_visits(worker=User.objects.get(username="worker"), officer=city_officer)
    # Silver Guardian: devices in a few demo elders' homes (the demo's simulator makes them report).
    from yiyang.guardian.demo import demo_guardian

    demo_guardian(worker=city_officer, elders=elders)
    # The plan cockpit's computed indicators, so its pages have this month's numbers at once.
    from yiyang.plan.operations import snapshot_due

    snapshot_due()
    return accounts


def var_dir() -> Path:
    return Path(settings.VAR_DIR)
