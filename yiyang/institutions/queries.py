"""Reads on institutions, for pages, the API and the plan cockpit (indicators 5, 6, 7, 9, 10).

Every count is one database aggregation over a region subtree, given by its path
("330000/331100/331102/"); institutions count where they are registered (Institution.region),
elders where they live (Elder.residence_region). `on` defaults to today.

    bed_counts(*, region_path: str) -> BedCounts
        Beds of active institutions that are not closed: total, general, nursing-type,
        cognitive-care, occupied; plus open home-care beds (家庭养老床位).
        BedCounts.nursing_share = nursing / total (indicator: 护理型床位占比).
    certified_care_workers(*, region_path: str, on: date | None = None) -> int
        Care workers still employed, holding a care-worker certificate valid on `on` (持证养老护理员).
    care_workers(*, region_path: str, on: date | None = None) -> int
        All care workers still employed (the denominator for a certified share).
    alliance_counts(*, region_path: str) -> dict  {"alliances": n, "member_institutions": m}
        Alliances (康养联合体) registered in the subtree, and active institutions that belong to one.
    smart_care_homes(*, region_path: str) -> int
        Active institutions flagged 智慧养老院.
    star_rated_institutions(*, region_path: str, min_stars: int = 1) -> int
    tekun_disabled_in_institutions(*, region_path: str, on: date | None = None) -> dict
        {"in_institutions": n, "total": m}: tekun elders who are disabled (category 失能/半失能, or a
        valid assessment of moderate or worse) living in the subtree, and how many of them have an
        open residency (特困失能人员集中供养).
    institution_indicators(*, region_path: str, on: date | None = None) -> dict
        All of the above in one dict, for the cockpit.
    institutions_visible_to(user) -> QuerySet[Institution]
        Scoped by region (under_paths_q on Institution.region); inspectors and officers.
    residencies_visible_to(user) -> QuerySet[Residency]
        Residents whose elder the user may see (people.queries.elders_visible_to).
    draws_visible_to(user) -> QuerySet[InspectionDraw]
    public_inspections() -> QuerySet[Inspection]
        Published inspections, for the public page (no personal data is read from it).
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from yiyang.institutions.models import (
    Alliance,
    Bed,
    BedStatus,
    BedType,
    CertificateKind,
    Inspection,
    Institution,
    Residency,
    Staff,
    StaffRole,
)


@dataclass(frozen=True)
class BedCounts:
    total: int
    general: int
    nursing: int
    cognitive: int
    occupied: int
    home_care: int

    @property
    def nursing_share(self) -> float | None:
        return self.nursing / self.total if self.total else None

    @property
    def occupancy(self) -> float | None:
        return self.occupied / self.total if self.total else None


def _institutions_under(region_path: str) -> QuerySet[Institution]:
    return Institution.objects.filter(is_active=True, region__path__startswith=region_path)


def bed_counts(*, region_path: str) -> BedCounts:
    row = (
        Bed.objects.filter(institution__is_active=True, institution__region__path__startswith=region_path)
        .exclude(status=BedStatus.CLOSED)
        .aggregate(
            total=Count("pk"),
            general=Count("pk", filter=Q(bed_type=BedType.GENERAL)),
            nursing=Count("pk", filter=Q(bed_type=BedType.NURSING)),
            cognitive=Count("pk", filter=Q(bed_type=BedType.COGNITIVE)),
            occupied=Count("pk", filter=Q(status=BedStatus.OCCUPIED)),
        )
    )
    home = (
        Bed.objects.filter(home_elder__isnull=False, home_elder__residence_region__path__startswith=region_path)
        .exclude(status=BedStatus.CLOSED)
        .count()
    )
    return BedCounts(home_care=home, **row)


def _employed(on: date) -> Q:
    return Q(left_on__isnull=True) | Q(left_on__gt=on)


def care_workers(*, region_path: str, on: date | None = None) -> int:
    day = on or timezone.localdate()
    return Staff.objects.filter(
        _employed(day), role=StaffRole.CARE_WORKER, institution__is_active=True, institution__region__path__startswith=region_path
    ).count()


def certified_care_workers(*, region_path: str, on: date | None = None) -> int:
    day = on or timezone.localdate()
    valid = Q(certificates__kind=CertificateKind.CARE_WORKER, certificates__issued_on__lte=day) & (
        Q(certificates__expires_on__isnull=True) | Q(certificates__expires_on__gt=day)
    )
    return (
        Staff.objects.filter(
            _employed(day), role=StaffRole.CARE_WORKER, institution__is_active=True, institution__region__path__startswith=region_path
        )
        .filter(valid)
        .values("pk")
        .distinct()
        .count()
    )


def alliance_counts(*, region_path: str) -> dict:
    return {
        "alliances": Alliance.objects.filter(region__path__startswith=region_path).count(),
        "member_institutions": _institutions_under(region_path).filter(alliance__isnull=False).count(),
    }


def smart_care_homes(*, region_path: str) -> int:
    return _institutions_under(region_path).filter(smart_care_home=True).count()


def star_rated_institutions(*, region_path: str, min_stars: int = 1) -> int:
    return _institutions_under(region_path).filter(star_rating__gte=min_stars).count()


def tekun_disabled_in_institutions(*, region_path: str, on: date | None = None) -> dict:
    from yiyang.assessments.queries import elder_ids_with_grade_q
    from yiyang.people.models import Category, Elder, ElderStatus
    from yiyang.visits.rules import holds_category_q

    day = on or timezone.localdate()
    tekun_disabled = (
        Elder.objects.filter(status=ElderStatus.ACTIVE, residence_region__path__startswith=region_path)
        .filter(holds_category_q([Category.TEKUN], day))
        .filter(holds_category_q([Category.DISABLED, Category.PARTIALLY_DISABLED], day) | elder_ids_with_grade_q(min_grade=2, on=day))
    )
    open_residents = Residency.objects.filter(admitted_on__lte=day).filter(Q(discharged_on__isnull=True) | Q(discharged_on__gt=day))
    row = tekun_disabled.aggregate(
        total=Count("pk", distinct=True),
        in_institutions=Count("pk", distinct=True, filter=Q(pk__in=open_residents.values("elder_id"))),
    )
    return {"in_institutions": row["in_institutions"], "total": row["total"]}


def institution_indicators(*, region_path: str, on: date | None = None) -> dict:
    beds = bed_counts(region_path=region_path)
    return {
        "beds": beds.total,
        "nursing_beds": beds.nursing,
        "cognitive_beds": beds.cognitive,
        "nursing_bed_share": beds.nursing_share,
        "home_care_beds": beds.home_care,
        "care_workers": care_workers(region_path=region_path, on=on),
        "certified_care_workers": certified_care_workers(region_path=region_path, on=on),
        **alliance_counts(region_path=region_path),
        "smart_care_homes": smart_care_homes(region_path=region_path),
        "star_rated_institutions": star_rated_institutions(region_path=region_path),
        "tekun_disabled": tekun_disabled_in_institutions(region_path=region_path, on=on),
    }


def institutions_visible_to(user) -> QuerySet[Institution]:
    from yiyang.accounts.roles import can
    from yiyang.accounts.scope import scope_of
    from yiyang.regions.queries import under_paths_q

    if not can(user, "institution.view"):
        return Institution.objects.none()
    scope = scope_of(user)
    if scope.everything:
        return Institution.objects.all()
    return Institution.objects.filter(under_paths_q("region", list(scope.region_paths)))


def institution_for(user, institution_id: int) -> Institution | None:
    return institutions_visible_to(user).select_related("region", "alliance").filter(pk=institution_id).first()


def residencies_visible_to(user) -> QuerySet[Residency]:
    from yiyang.people.queries import elders_visible_to

    return Residency.objects.filter(elder__in=elders_visible_to(user).values("pk"))


def inspections_visible_to(user) -> QuerySet[Inspection]:
    from yiyang.accounts.roles import Role, can

    if not can(user, "inspection.view"):
        return Inspection.objects.none()
    rows = Inspection.objects.filter(institution__in=institutions_visible_to(user).values("pk"))
    if user.role == Role.INSPECTOR and not user.is_superuser:
        rows = rows.filter(Q(inspector_a=user) | Q(inspector_b=user))
    return rows


def public_inspections() -> QuerySet[Inspection]:
    return (
        Inspection.objects.filter(published_at__isnull=False)
        .select_related("institution", "institution__region", "draw")
        .prefetch_related("findings")
        .order_by("-published_at", "pk")
    )


def region_in_scope(user, code: str | None):
    from yiyang.accounts.scope import scope_of
    from yiyang.regions.models import Region

    if not code:
        return None
    found = Region.objects.filter(code=code).first()
    if found is None:
        return None
    scope = scope_of(user)
    if scope.everything or any(found.path.startswith(p) for p in scope.region_paths):
        return found
    return None


def draws_visible_to(user) -> QuerySet:
    """Draws of regions the user's area covers, lies within, or equals."""
    from yiyang.accounts.roles import can
    from yiyang.accounts.scope import scope_of
    from yiyang.institutions.models import InspectionDraw
    from yiyang.regions.queries import under_paths_q

    if not can(user, "inspection.view"):
        return InspectionDraw.objects.none()
    scope = scope_of(user)
    if scope.everything:
        return InspectionDraw.objects.all()
    q = under_paths_q("region", list(scope.region_paths))
    for path in scope.region_paths:
        codes = path.strip("/").split("/")
        q |= Q(region__path__in=["/".join(codes[: i + 1]) + "/" for i in range(len(codes))])
    return InspectionDraw.objects.filter(q)
