"""Who must be visited, and how often: a rule over the registry, evaluated in the database.

Each group is a filter on Elder (as of a day) and a frequency. The groups and their
frequencies are configuration: settings.YIYANG_VISIT_GROUPS maps a group key to
"monthly", "weekly" or None (off), overriding DEFAULT_FREQUENCY. A group that is not in
GROUPS is added with `register_visit_group` (the extension hook), e.g. by another app.

Only active elders who do not live in an institution are in the plan: residents are cared
for by the institution's staff.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yiyang.people.models import Category, ElderCategory, ElderStatus, LivingArrangement

# Visits required in a month for each frequency.
FREQUENCIES: dict[str, int] = {"monthly": 1, "weekly": 4}


@dataclass(frozen=True)
class VisitGroup:
    key: str
    label: Promise
    q: Callable[[date], Q]
    default_frequency: str | None


def born_on_or_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


def holds_category_q(categories: list[str], on: date) -> Q:
    held = ElderCategory.objects.filter(category__in=categories).filter(
        Q(since__isnull=True) | Q(since__lte=on), Q(ended__isnull=True) | Q(ended__gt=on)
    )
    return Q(pk__in=held.values("elder_id"))


def _care_grade_q(min_grade: int, on: date) -> Q:
    from yiyang.assessments.queries import elder_ids_with_grade_q

    return elder_ids_with_grade_q(min_grade=min_grade, on=on)


def _alone_or_empty_nest() -> Q:
    return Q(living_arrangement__in=[LivingArrangement.ALONE, LivingArrangement.EMPTY_NEST])


GROUPS: dict[str, VisitGroup] = {}


def register_visit_group(key: str, label: Promise, q: Callable[[date], Q], default_frequency: str | None = "monthly") -> None:
    """The hook to extend the rule: a new group of elders who must be visited."""
    if default_frequency is not None and default_frequency not in FREQUENCIES:
        raise ValueError(f"unknown frequency {default_frequency!r}")
    GROUPS[key] = VisitGroup(key, label, q, default_frequency)


register_visit_group("tekun", _("Extreme-poverty person (特困)"), lambda on: holds_category_q([Category.TEKUN], on))
register_visit_group("dibao", _("Minimum living allowance (低保)"), lambda on: holds_category_q([Category.DIBAO], on))
register_visit_group("dibian", _("Marginal allowance (低边)"), lambda on: holds_category_q([Category.DIBIAN], on))
register_visit_group(
    "oldest_old_alone",
    _("80 or older, living alone or empty nest"),
    lambda on: _alone_or_empty_nest() & Q(birth_date__lte=born_on_or_before(on, 80)),
)
register_visit_group(
    "disabled",
    _("Disabled or partially disabled (失能), by category or by a valid assessment of moderate or worse"),
    lambda on: holds_category_q([Category.DISABLED, Category.PARTIALLY_DISABLED], on) | _care_grade_q(2, on),
)
register_visit_group("dementia", _("Cognitively impaired (失智)"), lambda on: holds_category_q([Category.DEMENTIA], on))
register_visit_group("family_planning", _("Family-planning special family"), lambda on: holds_category_q([Category.FAMILY_PLANNING], on))
register_visit_group(
    "alone_high_risk",
    _("Living alone and severely disabled or cognitively impaired (highest risk)"),
    lambda on: Q(living_arrangement=LivingArrangement.ALONE) & (holds_category_q([Category.DEMENTIA], on) | _care_grade_q(3, on)),
    default_frequency="weekly",
)


def frequencies() -> dict[str, str]:
    """Group key -> frequency, after configuration; groups switched off are left out."""
    overrides = getattr(settings, "YIYANG_VISIT_GROUPS", {}) or {}
    result = {}
    for key, group in GROUPS.items():
        frequency = overrides.get(key, group.default_frequency)
        if frequency is None:
            continue
        if frequency not in FREQUENCIES:
            raise ValueError(f"YIYANG_VISIT_GROUPS[{key!r}] must be one of {sorted(FREQUENCIES)} or None")
        result[key] = frequency
    return result


def base_q() -> Q:
    return Q(status=ElderStatus.ACTIVE) & ~Q(living_arrangement=LivingArrangement.INSTITUTION)


def must_visit_q(on: date) -> Q:
    """Filter for Elder: in at least one active group on `on`."""
    groups = frequencies()
    q = Q(pk__in=[])
    for key in groups:
        q |= GROUPS[key].q(on)
    return base_q() & q


def groups_by_elder(elders, on: date) -> dict[int, list[str]]:
    """Elder id -> the active groups it is in on `on`; one query per group, in the database."""
    result: dict[int, list[str]] = {}
    base = elders.filter(base_q())
    for key in frequencies():
        for pk in base.filter(GROUPS[key].q(on)).values_list("pk", flat=True):
            result.setdefault(pk, []).append(key)
    return result


def required_visits(groups: list[str]) -> int:
    active = frequencies()
    return max((FREQUENCIES[active[g]] for g in groups if g in active), default=1)
