"""Writes on assessments: start a draft, save answers, submit (immutable, supersedes the previous one), discard."""

import calendar
from datetime import date

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.assessments.models import TRANSITIONS, Assessment, AssessmentReason, AssessmentStatus, AssessmentTransition
from yiyang.assessments.scale import get_config, get_scale
from yiyang.assessments.scoring import Facts, score, validate_answers
from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.models import Elder, ElderStatus


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _transition(assessment: Assessment, to_status: str, *, actor, reason: str = "") -> None:
    old = assessment.status
    if to_status not in TRANSITIONS[old]:
        raise StateConflict(
            _("An assessment that is %(old)s cannot become %(new)s.")
            % {"old": AssessmentStatus(old).label, "new": AssessmentStatus(to_status).label},
            field="status",
        )
    assessment.status = to_status
    AssessmentTransition.objects.create(assessment=assessment, from_status=old, to_status=to_status, actor=actor, reason=reason)


def _check_date(assessed_on: date) -> None:
    if assessed_on > timezone.localdate():
        raise DomainError(_("The assessment date cannot be in the future."), field="assessed_on")


def assessment_start(*, elder: Elder, actor, reason: str = AssessmentReason.INITIAL, assessed_on: date | None = None) -> Assessment:
    if reason not in AssessmentReason.values:
        raise DomainError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(AssessmentReason.values)}, field="reason")
    assessed_on = assessed_on or timezone.localdate()
    _check_date(assessed_on)
    with transaction.atomic():
        elder = Elder.objects.select_for_update().get(pk=elder.pk)
        if elder.status != ElderStatus.ACTIVE:
            raise DomainError(_("Only an active elder can be assessed."), field="elder_id", code="elder_inactive")
        assessment = Assessment.objects.create(
            elder=elder, assessor=actor, reason=reason, assessed_on=assessed_on, scale_version=get_scale().version
        )
        AssessmentTransition.objects.create(assessment=assessment, from_status="", to_status=AssessmentStatus.DRAFT, actor=actor)
        audit_record(actor=actor, action="assessment.start", obj=assessment, region=elder.residence_region)
    return assessment


def assessment_update(
    *,
    assessment: Assessment,
    actor,
    answers: dict | None = None,
    coma: bool | None = None,
    dementia: bool | None = None,
    mental_disorder: bool | None = None,
    care_risk_events_30d: int | None = None,
    assessed_on: date | None = None,
    notes: str | None = None,
) -> Assessment:
    """Save a draft. Given answers are merged into the saved ones (an empty value clears an item)."""
    clean = validate_answers(answers or {})
    cleared = {code for code, value in (answers or {}).items() if value is None or value == ""}
    if care_risk_events_30d is not None and care_risk_events_30d < 0:
        raise DomainError(_("Must be at least 0."), field="care_risk_events_30d")
    if assessed_on is not None:
        _check_date(assessed_on)
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if not assessment.is_editable:
            raise StateConflict(_("A submitted assessment cannot be changed; start a re-assessment instead."), field="status")
        if assessment.scale_version != get_scale().version:
            # The scale file changed since this draft began: keep answers traceable to one version.
            assessment.scale_version = get_scale().version
        merged = {k: v for k, v in assessment.answers.items() if k not in cleared}
        merged.update(clean)
        assessment.answers = merged
        fields = ["answers", "scale_version", "updated_at"]
        for name, value in (
            ("coma", coma),
            ("dementia", dementia),
            ("mental_disorder", mental_disorder),
            ("care_risk_events_30d", care_risk_events_30d),
            ("assessed_on", assessed_on),
            ("notes", notes),
        ):
            if value is not None:
                setattr(assessment, name, value)
                fields.append(name)
        assessment.save(update_fields=fields)
        audit_record(actor=actor, action="assessment.update", obj=assessment, detail={"items": sorted(clean), "cleared": sorted(cleared)})
    return assessment


def assessment_submit(*, assessment: Assessment, actor) -> Assessment:
    """Score and submit; the elder's previous submitted assessment becomes superseded."""
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
        if not assessment.is_editable:
            raise StateConflict(_("This assessment was already %(status)s.") % {"status": assessment.get_status_display()}, field="status")
        facts = Facts(
            coma=assessment.coma,
            dementia=assessment.dementia,
            mental_disorder=assessment.mental_disorder,
            care_risk_events_30d=assessment.care_risk_events_30d,
        )
        result = score(assessment.answers, facts)
        config = get_config()
        # Lock the elder's current assessment before replacing it, so two submissions
        # cannot both become current (the partial unique constraint is the backstop).
        previous = (
            Assessment.objects.select_for_update()
            .filter(elder_id=assessment.elder_id, status=AssessmentStatus.SUBMITTED)
            .exclude(pk=assessment.pk)
            .first()
        )
        if previous is not None:
            if previous.assessed_on > assessment.assessed_on:
                raise StateConflict(
                    _("A later assessment (%(day)s) is already current; this one cannot replace it.") % {"day": previous.assessed_on},
                    field="assessed_on",
                )
            _transition(previous, AssessmentStatus.SUPERSEDED, actor=actor, reason=_("Re-assessed"))
            previous.save(update_fields=["status", "updated_at"])
        _transition(assessment, AssessmentStatus.SUBMITTED, actor=actor)
        assessment.dimension_scores = result.dimension_scores
        assessment.total = result.total
        assessment.preliminary_grade = result.preliminary_grade
        assessment.grade = result.grade
        assessment.level_key = result.level_key
        assessment.level_name = result.level_name
        assessment.reasons = result.reasons
        assessment.submitted_at = timezone.now()
        assessment.valid_until = add_months(assessment.assessed_on, config.validity_months)
        assessment.save(
            update_fields=[
                "status",
                "dimension_scores",
                "total",
                "preliminary_grade",
                "grade",
                "level_key",
                "level_name",
                "reasons",
                "submitted_at",
                "valid_until",
                "updated_at",
            ]
        )
        if previous is not None:
            previous.superseded_by = assessment
            previous.save(update_fields=["superseded_by", "updated_at"])
        categories = _sync_disability_category(assessment, config.disability_category_by_grade)
        audit_record(
            actor=actor,
            action="assessment.submit",
            obj=assessment,
            region=assessment.elder.residence_region,
            detail={"total": result.total, "grade": result.grade, "scale_version": assessment.scale_version, "categories": categories},
        )
    return assessment


def _sync_disability_category(assessment: Assessment, mapping: dict[int, str]) -> dict:
    """The care level feeds the registry's 失能 categories.

    Only rows this link opened (source "assessment:…") are ended; a category a worker set by hand
    stays until a worker changes it. Runs inside the submission's transaction.
    """
    if not mapping:
        return {}
    from yiyang.people.models import Category, ElderCategory

    disability = [Category.DISABLED, Category.PARTIALLY_DISABLED]
    target = mapping.get(assessment.grade)
    today = timezone.localdate()
    rows = list(ElderCategory.objects.select_for_update().filter(elder_id=assessment.elder_id, category__in=disability, ended__isnull=True))
    ended = []
    for row in rows:
        if row.category != target and row.source.startswith("assessment"):
            row.ended = today
            row.save(update_fields=["ended", "updated_at"])
            ended.append(row.category)
    opened = []
    if target and not any(r.category == target and r.ended is None for r in rows):
        ElderCategory.objects.create(
            elder_id=assessment.elder_id, category=target, since=assessment.assessed_on, source=f"assessment:{assessment.pk}"
        )
        opened.append(target)
    return {"opened": opened, "ended": ended}


def assessment_discard(*, assessment: Assessment, actor, reason: str = "") -> Assessment:
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().get(pk=assessment.pk)
        _transition(assessment, AssessmentStatus.DISCARDED, actor=actor, reason=reason)
        assessment.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="assessment.discard", obj=assessment, detail={"reason": reason})
    return assessment
