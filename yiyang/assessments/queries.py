"""Reads on assessments that other apps use.

current_care_level(elder, *, on: date | None = None) -> CareLevel | None
    The elder's care level from the latest submitted assessment still valid on `on`
    (default today); None when never assessed or expired. Not scoped: the caller
    already holds an elder it may see.
current_grade_subquery(*, on: date | None = None, elder_ref: str = "pk") -> Subquery
    For .annotate()/.filter() on an Elder queryset (or any queryset whose `elder_ref`
    is an elder id): the current valid grade (0 intact .. 4 complete), NULL if none.
    Subsidy and visit rules use it as "care level as a fact".
elder_ids_with_grade_q(*, min_grade: int, on: date | None = None) -> Q
    Filter for Elder querysets: current valid grade >= min_grade.
assessments_visible_to(user) -> QuerySet[Assessment]
    Assessments of elders the user may see (people.queries.elders_visible_to).
reassessments_due(user, *, on: date | None = None, within_days: int | None = None) -> QuerySet[Assessment]
    Current (submitted) assessments of visible elders that expire within `within_days`
    (config due_warning_days) or have expired, oldest first.
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from yiyang.assessments.models import Assessment, AssessmentStatus
from yiyang.assessments.scale import get_config


@dataclass(frozen=True)
class CareLevel:
    grade: int
    key: str
    name: str
    total: int
    assessed_on: date
    valid_until: date
    assessment_id: int
    scale_version: str


def _valid_on(on: date | None) -> Q:
    day = on or timezone.localdate()
    return Q(status=AssessmentStatus.SUBMITTED, valid_until__gte=day, assessed_on__lte=day)


def current_assessment(elder, *, on: date | None = None) -> Assessment | None:
    return Assessment.objects.filter(_valid_on(on), elder_id=elder.pk).order_by("-assessed_on", "-pk").first()


def current_care_level(elder, *, on: date | None = None) -> CareLevel | None:
    a = current_assessment(elder, on=on)
    if a is None:
        return None
    return CareLevel(
        grade=a.grade,
        key=a.level_key,
        name=a.level_name,
        total=a.total,
        assessed_on=a.assessed_on,
        valid_until=a.valid_until,
        assessment_id=a.pk,
        scale_version=a.scale_version,
    )


def current_grade_subquery(*, on: date | None = None, elder_ref: str = "pk") -> Subquery:
    latest = Assessment.objects.filter(_valid_on(on), elder_id=OuterRef(elder_ref)).order_by("-assessed_on", "-pk").values("grade")[:1]
    return Subquery(latest)


def elder_ids_with_grade_q(*, min_grade: int, on: date | None = None) -> Q:
    ids = Assessment.objects.filter(_valid_on(on), grade__gte=min_grade).values("elder_id")
    return Q(pk__in=ids)


def assessments_visible_to(user) -> QuerySet[Assessment]:
    from yiyang.people.queries import elders_visible_to

    return Assessment.objects.filter(elder__in=elders_visible_to(user).values("pk"))


def reassessments_due(user, *, on: date | None = None, within_days: int | None = None) -> QuerySet[Assessment]:
    day = on or timezone.localdate()
    days = get_config().due_warning_days if within_days is None else within_days
    return (
        assessments_visible_to(user)
        .filter(status=AssessmentStatus.SUBMITTED, valid_until__lte=day + timedelta(days=days), elder__status="active")
        .select_related("elder", "elder__residence_region")
        .order_by("valid_until", "pk")
    )


def assessment_for(user, assessment_id: int) -> Assessment | None:
    return assessments_visible_to(user).select_related("elder", "elder__residence_region", "assessor").filter(pk=assessment_id).first()


def may_edit(user, assessment: Assessment) -> bool:
    """A draft is edited by the assessor who started it (or an administrator)."""
    from yiyang.accounts.roles import Role, can

    return (
        assessment.is_editable
        and can(user, "assessment.record")
        and (assessment.assessor_id == user.pk or user.is_superuser or user.role == Role.ADMIN)
    )
