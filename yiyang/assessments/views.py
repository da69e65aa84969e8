from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from yiyang.accounts.roles import can
from yiyang.assessments.models import AssessmentReason, AssessmentStatus
from yiyang.assessments.operations import assessment_discard, assessment_start, assessment_submit, assessment_update
from yiyang.assessments.queries import (
    assessment_for,
    assessments_visible_to,
    current_care_level,
    may_edit,
    reassessments_due,
)
from yiyang.assessments.scale import get_config, get_scale
from yiyang.core.errors import DomainError
from yiyang.people.queries import elder_for


def _require(request: HttpRequest, capability: str) -> None:
    if not can(request.user, capability):
        raise Http404


@login_required
def assessment_home(request: HttpRequest) -> HttpResponse:
    _require(request, "assessment.view")
    visible = assessments_visible_to(request.user).select_related("elder", "elder__residence_region")
    drafts = (
        visible.filter(status=AssessmentStatus.DRAFT, assessor=request.user) if can(request.user, "assessment.record") else visible.none()
    )
    recent = Paginator(visible.filter(status=AssessmentStatus.SUBMITTED).order_by("-submitted_at", "-pk"), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "assessments/home.html",
        {"due": reassessments_due(request.user)[:100], "drafts": drafts, "page": recent, "config": get_config()},
    )


@login_required
def elder_assessments(request: HttpRequest, elder_id: int) -> HttpResponse:
    _require(request, "assessment.view")
    elder = elder_for(request.user, elder_id)
    if elder is None:
        raise Http404
    error = None
    if request.method == "POST":
        _require(request, "assessment.record")
        try:
            assessment = assessment_start(elder=elder, actor=request.user, reason=request.POST.get("reason", AssessmentReason.INITIAL))
        except DomainError as exc:
            error = exc
        else:
            return redirect("assessments:detail", assessment_id=assessment.pk)
    history = assessments_visible_to(request.user).filter(elder=elder).select_related("assessor")
    return render(
        request,
        "assessments/elder.html",
        {
            "elder": elder,
            "level": current_care_level(elder),
            "history": history,
            "reasons": AssessmentReason.choices,
            "can_record": can(request.user, "assessment.record"),
            "error": error,
        },
        status=400 if error else 200,
    )


def _parse_form(post) -> tuple[dict, dict, dict]:
    """Form fields -> (answers, other fields, parse errors by field)."""
    scale = get_scale()
    answers = {item.code: post.get(item.field_name, "") for item in scale.items if item.field_name in post}
    fields: dict = {
        "coma": post.get("coma") == "on",
        "dementia": post.get("dementia") == "on",
        "mental_disorder": post.get("mental_disorder") == "on",
        "notes": post.get("notes", "")[:2000],
    }
    errors: dict = {}
    raw_events = post.get("care_risk_events_30d", "0").strip() or "0"
    try:
        fields["care_risk_events_30d"] = int(raw_events)
    except ValueError:
        errors["care_risk_events_30d"] = _("Enter a whole number.")
    raw_date = post.get("assessed_on", "").strip()
    if raw_date:
        try:
            fields["assessed_on"] = date.fromisoformat(raw_date)
        except ValueError:
            errors["assessed_on"] = _("Enter a date as YYYY-MM-DD.")
    return answers, fields, errors


@login_required
def assessment_detail(request: HttpRequest, assessment_id: int) -> HttpResponse:
    _require(request, "assessment.view")
    assessment = assessment_for(request.user, assessment_id)
    if assessment is None:
        raise Http404
    editable = may_edit(request.user, assessment)
    errors: dict = {}
    posted_answers: dict | None = None
    if request.method == "POST":
        if not editable:
            raise Http404
        action = request.POST.get("action", "save")
        answers, fields, errors = _parse_form(request.POST)
        posted_answers = answers
        if not errors:
            try:
                if action == "discard":
                    assessment_discard(assessment=assessment, actor=request.user)
                    messages.success(request, _("Draft discarded."))
                    return redirect("assessments:elder", elder_id=assessment.elder_id)
                assessment_update(assessment=assessment, actor=request.user, answers=answers, **fields)
                if action == "submit":
                    assessment_submit(assessment=assessment, actor=request.user)
                    messages.success(request, _("Assessment submitted."))
                else:
                    messages.success(request, _("Draft saved."))
                return redirect("assessments:detail", assessment_id=assessment.pk)
            except DomainError as exc:
                errors[exc.field or "form"] = exc.message
        assessment.refresh_from_db()
    scale = get_scale()
    current = {**assessment.answers, **({k: v for k, v in (posted_answers or {}).items()})}
    dimensions = [
        {
            "dimension": d,
            "score": assessment.dimension_scores.get(d.key),
            "items": [
                {
                    "item": i,
                    "value": str(current.get(i.code, "")),
                    "error": errors.get(f"answers.{i.code}"),
                }
                for i in d.items
            ],
        }
        for d in scale.dimensions
    ]
    return render(
        request,
        "assessments/form.html" if editable else "assessments/detail.html",
        {
            "a": assessment,
            "dimensions": dimensions,
            "scale": scale,
            "errors": errors,
            "answered": sum(1 for i in scale.items if str(current.get(i.code, "")) != ""),
        },
        status=400 if errors else 200,
    )
