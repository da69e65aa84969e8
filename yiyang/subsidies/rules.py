"""Eligibility rules as data over the registry's facts.

A rule is a list of conditions, all of which must hold: `{"fact": "age", "op": "gte", "value": 80}`.
Every fact has two implementations that must agree:

- `q(op, value, ref)`: a database filter over `people.Elder` as of the reference date, used by the
  preview count and the set-based monthly grant (so the preview counts exactly what the grant grants);
- `test(op, value, facts)`: an evaluation over the facts stored with a grant, so the explanation
  re-evaluates to the same answer ("why do I have this subsidy").

`facts_of(row, ref)` turns a row of `FACT_COLUMNS` (plus the categories held on `ref`) into
the stored facts. tests/subsidies/test_rules.py checks with random elders and rules that the
database filter and the stored-facts evaluation give the same answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yiyang.core.errors import DomainError
from yiyang.people.models import Category, ElderCategory, ElderStatus, Gender, LivingArrangement, age_on
from yiyang.regions.models import Region

MAX_CONDITIONS = 20


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier; 29 February becomes the 28th in a common year."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _path_has(path: str | None, code: str) -> bool:
    return bool(path) and code in path.strip("/").split("/")


def _region_paths(codes: list[str]) -> list[str]:
    return list(Region.objects.filter(code__in=codes).values_list("path", flat=True))


def _categories_held_q(codes: list[str], ref: date) -> Q:
    # An uncorrelated IN (...) rather than EXISTS: PostgreSQL hashes the subquery once instead of
    # probing it per elder, which matters inside the tier CASE evaluated for every elder of the city.
    held = ElderCategory.objects.filter(category__in=codes)
    held = held.filter(Q(since__isnull=True) | Q(since__lte=ref)).filter(Q(ended__isnull=True) | Q(ended__gt=ref))
    return Q(pk__in=held.values("elder_id"))


@dataclass(frozen=True)
class Fact:
    name: str
    label: object
    ops: tuple[str, ...]
    kind: str  # "int", "grade", "choice", "region"
    choices: tuple[tuple[str, object], ...] = ()
    q: Callable[[str, object, date], Q] | None = None
    test: Callable[[str, object, dict], bool] | None = None


def _age_q(op: str, value: int, ref: date) -> Q:
    if op == "gte":  # age >= n  <=>  born on or before the day n years before ref
        return Q(birth_date__lte=years_before(ref, value))
    return Q(birth_date__gt=years_before(ref, value + 1))  # lte: age <= n  <=>  age < n + 1


def _age_test(op: str, value: int, facts: dict) -> bool:
    return facts["age"] >= value if op == "gte" else facts["age"] <= value


def _choice_q(column: str):
    def build(op: str, value: list[str], ref: date) -> Q:
        q = Q(**{f"{column}__in": value})
        return q if op == "in" else ~q

    return build


def _choice_test(key: str):
    def test(op: str, value: list[str], facts: dict) -> bool:
        return (facts[key] in value) == (op == "in")

    return test


def _region_q(column: str):
    def build(op: str, value: list[str], ref: date) -> Q:
        q = Q(pk__in=[])
        for path in _region_paths(value):
            q |= Q(**{f"{column}__path__startswith": path})
        return q if op == "in" else ~q & Q(**{f"{column}__isnull": False})

    return build


def _region_test(key: str):
    def test(op: str, value: list[str], facts: dict) -> bool:
        path = facts.get(key)
        inside = any(_path_has(path, code) for code in value)
        return inside if op == "in" else (path is not None and not inside)

    return test


def _care_q(op: str, value: int, ref: date) -> Q:
    # At most one submitted assessment per elder (assessments' constraint), so "a valid one with
    # grade >= n" is "the current care level >= n". Never assessed or expired: no care level, no match.
    from yiyang.assessments.models import Assessment, AssessmentStatus

    valid = Assessment.objects.filter(status=AssessmentStatus.SUBMITTED, valid_until__gte=ref, assessed_on__lte=ref)
    valid = valid.filter(grade__gte=value) if op == "gte" else valid.filter(grade__lte=value)
    return Q(pk__in=valid.values("elder_id"))


def _care_test(op: str, value: int, facts: dict) -> bool:
    grade = facts.get("care_level")
    if grade is None:
        return False
    return grade >= value if op == "gte" else grade <= value


def _category_q(op: str, value: list[str], ref: date) -> Q:
    held = _categories_held_q(value, ref)
    return held if op == "any" else ~held


def _category_test(op: str, value: list[str], facts: dict) -> bool:
    held = bool(set(facts["categories"]) & set(value))
    return held if op == "any" else not held


OPS_LABELS = {
    "gte": gettext_lazy("at least"),
    "lte": gettext_lazy("at most"),
    "in": gettext_lazy("is one of"),
    "not_in": gettext_lazy("is none of"),
    "any": gettext_lazy("holds any of"),
    "none": gettext_lazy("holds none of"),
}

FACTS: dict[str, Fact] = {
    f.name: f
    for f in [
        Fact("age", gettext_lazy("Age"), ("gte", "lte"), "int", q=_age_q, test=_age_test),
        Fact("care_level", gettext_lazy("Care level (assessment grade 0-4)"), ("gte", "lte"), "grade", q=_care_q, test=_care_test),
        Fact(
            "living_arrangement",
            gettext_lazy("Living arrangement"),
            ("in", "not_in"),
            "choice",
            tuple(LivingArrangement.choices),
            _choice_q("living_arrangement"),
            _choice_test("living_arrangement"),
        ),
        Fact(
            "gender", gettext_lazy("Gender"), ("in", "not_in"), "choice", tuple(Gender.choices), _choice_q("gender"), _choice_test("gender")
        ),
        Fact(
            "category",
            gettext_lazy("Special-difficulty category"),
            ("any", "none"),
            "choice",
            tuple(Category.choices),
            _category_q,
            _category_test,
        ),
        Fact(
            "region",
            gettext_lazy("Residence region"),
            ("in", "not_in"),
            "region",
            (),
            _region_q("residence_region"),
            _region_test("region_path"),
        ),
        Fact(
            "hukou_region",
            gettext_lazy("Hukou region"),
            ("in", "not_in"),
            "region",
            (),
            _region_q("hukou_region"),
            _region_test("hukou_region_path"),
        ),
    ]
}

# What the grant reads per elder to store the facts (plus the categories, read in one more query).
FACT_COLUMNS = ("pk", "birth_date", "gender", "living_arrangement", "residence_region__path", "hukou_region__path", "status")


def fact_rows(queryset, ref: date, *extra: str):
    """`values()` of an Elder queryset with every column the stored facts need, care level included."""
    from yiyang.assessments.queries import current_grade_subquery

    return queryset.annotate(care_grade=current_grade_subquery(on=ref)).values(*FACT_COLUMNS, "care_grade", *extra)


def facts_of(row: dict, categories: list[str], ref: date) -> dict:
    return {
        "age": age_on(row["birth_date"], ref),
        "care_level": row.get("care_grade"),
        "birth_date": row["birth_date"].isoformat(),
        "gender": row["gender"],
        "living_arrangement": row["living_arrangement"],
        "region_path": row["residence_region__path"],
        "hukou_region_path": row["hukou_region__path"],
        "categories": sorted(categories),
        "status": row["status"],
        "as_of": ref.isoformat(),
    }


def categories_held(elder_ids, ref: date) -> dict[int, list[str]]:
    held: dict[int, list[str]] = {}
    rows = ElderCategory.objects.filter(elder_id__in=elder_ids).filter(Q(since__isnull=True) | Q(since__lte=ref))
    for elder_id, code in rows.filter(Q(ended__isnull=True) | Q(ended__gt=ref)).values_list("elder_id", "category"):
        held.setdefault(elder_id, []).append(code)
    return held


# Validation ---------------------------------------------------------------


def validate_conditions(conditions, *, field: str) -> list[dict]:
    """Check a list of conditions; returns it normalised. Errors name the field, e.g. `rule.2.value`."""
    if conditions is None:
        return []
    if not isinstance(conditions, list):
        raise DomainError(_("A rule is a list of conditions."), field=field)
    if len(conditions) > MAX_CONDITIONS:
        raise DomainError(_("At most %(n)s conditions.") % {"n": MAX_CONDITIONS}, field=field)
    clean = []
    for i, cond in enumerate(conditions):
        where = f"{field}.{i}"
        if not isinstance(cond, dict):
            raise DomainError(_("Each condition has a fact, an operator and a value."), field=where)
        fact = FACTS.get(cond.get("fact"))
        if fact is None:
            raise DomainError(_("Unknown fact; choose one of: %(facts)s.") % {"facts": ", ".join(FACTS)}, field=f"{where}.fact")
        op = cond.get("op")
        if op not in fact.ops:
            raise DomainError(_("Choose an operator: %(ops)s.") % {"ops": ", ".join(fact.ops)}, field=f"{where}.op")
        value = cond.get("value")
        if fact.kind in ("int", "grade"):
            top = 130 if fact.kind == "int" else 4
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= top:
                raise DomainError(_("Enter a whole number from 0 to %(top)s.") % {"top": top}, field=f"{where}.value")
        else:
            if isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
                raise DomainError(_("Choose at least one value."), field=f"{where}.value")
            value = sorted(set(value))
            if fact.kind == "choice":
                allowed = {c for c, _label in fact.choices}
                wrong = [v for v in value if v not in allowed]
                if wrong:
                    raise DomainError(_("Not a valid choice: %(v)s.") % {"v": ", ".join(wrong)}, field=f"{where}.value")
            else:
                known = set(Region.objects.filter(code__in=value).values_list("code", flat=True))
                wrong = [v for v in value if v not in known]
                if wrong:
                    raise DomainError(_("Unknown region code: %(v)s.") % {"v": ", ".join(wrong)}, field=f"{where}.value")
        clean.append({"fact": fact.name, "op": op, "value": value})
    return clean


# Evaluation -----------------------------------------------------------------


def conditions_q(conditions: list[dict], ref: date) -> Q:
    q = Q()
    for cond in conditions:
        q &= FACTS[cond["fact"]].q(cond["op"], cond["value"], ref)
    return q


def conditions_hold(conditions: list[dict], facts: dict) -> bool:
    return all(FACTS[c["fact"]].test(c["op"], c["value"], facts) for c in conditions)


def base_q(*, region_path: str) -> Q:
    """What every programme implies: the elder is active and lives in the programme's region."""
    return Q(status=ElderStatus.ACTIVE, residence_region__path__startswith=region_path)


def base_holds(*, region_path: str, facts: dict) -> bool:
    return facts["status"] == ElderStatus.ACTIVE and (facts["region_path"] or "").startswith(region_path)


def tier_for(*, region_path: str, rule: list[dict], tiers: list[dict], facts: dict) -> dict | None:
    """The first tier whose conditions hold on stored facts, or None: the same answer as the grant's filter."""
    if not base_holds(region_path=region_path, facts=facts) or not conditions_hold(rule, facts):
        return None
    for tier in tiers:
        if conditions_hold(tier["all"], facts):
            return tier
    return None


def describe(conditions: list[dict]) -> list[str]:
    """Human-readable lines for an explanation page."""
    lines = []
    for c in conditions:
        fact = FACTS[c["fact"]]
        labels = dict(fact.choices)
        value = c["value"]
        if isinstance(value, list):
            if fact.kind == "region":
                names = dict(Region.objects.filter(code__in=value).values_list("code", "name"))
                value = "、".join(str(names.get(v, v)) for v in value)
            else:
                value = "、".join(str(labels.get(v, v)) for v in value)
        lines.append(f"{fact.label} {OPS_LABELS[c['op']]} {value}")
    return lines
