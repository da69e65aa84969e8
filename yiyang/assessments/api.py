from datetime import date, datetime

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from yiyang.assessments.models import Assessment, AssessmentReason, AssessmentStatus
from yiyang.assessments.operations import assessment_discard, assessment_start, assessment_submit, assessment_update
from yiyang.assessments.queries import (
    assessment_for,
    assessments_visible_to,
    current_care_level,
    may_edit,
    reassessments_due,
)
from yiyang.assessments.scale import get_config, get_scale
from yiyang.core.api_auth import require
from yiyang.core.errors import StateConflict
from yiyang.core.pagination import Pages
from yiyang.people.queries import elder_for

router = Router(tags=["assessments"])


class OptionOut(Schema):
    score: int
    text: str


class ItemOut(Schema):
    code: str
    name: str
    definition: str
    max_score: int
    options: list[OptionOut]
    note: str


class DimensionOut(Schema):
    code: str
    key: str
    name: str
    max_score: int
    items: list[ItemOut]


class LevelOut(Schema):
    grade: int
    key: str
    name: str
    min_total: int
    max_total: int


class ScaleOut(Schema):
    version: str
    code: str
    title: str
    total_max: int
    dimensions: list[DimensionOut]
    levels: list[LevelOut]
    config: dict


class AssessmentOut(Schema):
    id: int
    elder_id: int
    elder_name: str
    assessor: str
    status: AssessmentStatus
    reason: AssessmentReason
    scale_version: str
    assessed_on: date
    answers: dict[str, int]
    coma: bool
    dementia: bool
    mental_disorder: bool
    care_risk_events_30d: int
    notes: str
    dimension_scores: dict[str, int]
    total: int | None
    preliminary_grade: int | None
    grade: int | None
    level_name: str
    reasons: list[str]
    submitted_at: datetime | None
    valid_until: date | None
    superseded_by_id: int | None

    @staticmethod
    def resolve_elder_name(a: Assessment) -> str:
        return a.elder.name

    @staticmethod
    def resolve_assessor(a: Assessment) -> str:
        return str(a.assessor)


class StartIn(Schema):
    elder_id: int
    reason: AssessmentReason = AssessmentReason.INITIAL
    assessed_on: date | None = None


class UpdateIn(Schema):
    answers: dict[str, int | None] | None = Field(None, description="item code (B.1.1 …) -> option score; null clears")
    coma: bool | None = None
    dementia: bool | None = None
    mental_disorder: bool | None = None
    care_risk_events_30d: int | None = Field(None, ge=0, le=99)
    assessed_on: date | None = None
    notes: str | None = Field(None, max_length=2000)


class CareLevelOut(Schema):
    elder_id: int
    grade: int | None
    key: str | None
    name: str | None
    total: int | None
    assessed_on: date | None
    valid_until: date | None
    assessment_id: int | None
    scale_version: str | None


class DiscardIn(Schema):
    reason: str = Field("", max_length=255)


def _get(request: HttpRequest, assessment_id: int) -> Assessment:
    assessment = assessment_for(request.auth, assessment_id)
    if assessment is None:
        raise Http404
    return assessment


def _editable(request: HttpRequest, assessment_id: int) -> Assessment:
    require(request, "assessment.record")
    assessment = _get(request, assessment_id)
    if not may_edit(request.auth, assessment):
        if assessment.is_editable:
            raise Http404  # another assessor's draft is not ours to see changing
        raise StateConflict(_("A submitted assessment cannot be changed; start a re-assessment instead."), field="status")
    return assessment


@router.get("/scale", response=ScaleOut, summary="The GB/T 42195 scale in use: items, options, bands, version")
def scale_get(request: HttpRequest):
    require(request, "assessment.view")
    scale = get_scale()
    return {
        "version": scale.version,
        "code": scale.code,
        "title": scale.title,
        "total_max": scale.total_max,
        "dimensions": [
            {
                "code": d.code,
                "key": d.key,
                "name": d.name,
                "max_score": d.max_score,
                "items": [
                    {
                        "code": i.code,
                        "name": i.name,
                        "definition": i.definition,
                        "max_score": i.max_score,
                        "note": i.note,
                        "options": [{"score": o.score, "text": o.text} for o in i.options],
                    }
                    for i in d.items
                ],
            }
            for d in scale.dimensions
        ],
        "levels": [lv.__dict__ for lv in scale.levels],
        "config": get_config().__dict__,
    }


@router.get("", response=list[AssessmentOut], summary="Assessments of elders in my scope")
@paginate(Pages, page_size=50)
def assessments_list(request: HttpRequest, elder_id: int | None = None, status: AssessmentStatus | None = None):
    require(request, "assessment.view")
    rows = assessments_visible_to(request.auth).select_related("elder", "assessor")
    if elder_id is not None:
        rows = rows.filter(elder_id=elder_id)
    if status:
        rows = rows.filter(status=status)
    return rows


@router.get("/due", response=list[AssessmentOut], summary="Current assessments expiring soon or expired: re-assessments due")
@paginate(Pages, page_size=50)
def assessments_due(request: HttpRequest, within_days: int | None = None):
    require(request, "assessment.view")
    return reassessments_due(request.auth, within_days=within_days).select_related("assessor")


@router.get("/care-level/{elder_id}", response=CareLevelOut, summary="An elder's current care level (latest valid assessment)")
def care_level_get(request: HttpRequest, elder_id: int):
    require(request, "assessment.view")
    elder = elder_for(request.auth, elder_id)
    if elder is None:
        raise Http404
    level = current_care_level(elder)
    if level is None:
        return {"elder_id": elder.pk, **dict.fromkeys(CareLevelOut.model_fields.keys() - {"elder_id"})}
    return {"elder_id": elder.pk, **level.__dict__}


@router.post("", response={201: AssessmentOut}, summary="Start a draft assessment of an elder")
def assessments_start(request: HttpRequest, payload: StartIn):
    require(request, "assessment.record")
    elder = elder_for(request.auth, payload.elder_id)
    if elder is None:
        raise Http404
    assessment = assessment_start(elder=elder, actor=request.auth, reason=payload.reason, assessed_on=payload.assessed_on)
    return Status(201, assessment_for(request.auth, assessment.pk))


@router.get("/{int:assessment_id}", response=AssessmentOut, summary="One assessment")
def assessments_get(request: HttpRequest, assessment_id: int):
    require(request, "assessment.view")
    return _get(request, assessment_id)


@router.patch("/{int:assessment_id}", response=AssessmentOut, summary="Save answers to a draft")
def assessments_update(request: HttpRequest, assessment_id: int, payload: UpdateIn):
    assessment = _editable(request, assessment_id)
    assessment_update(assessment=assessment, actor=request.auth, **payload.dict(exclude_unset=True))
    return _get(request, assessment_id)


@router.post("/{int:assessment_id}/submit", response=AssessmentOut, summary="Score and submit (then immutable; supersedes the previous)")
def assessments_submit(request: HttpRequest, assessment_id: int):
    assessment = _editable(request, assessment_id)
    assessment_submit(assessment=assessment, actor=request.auth)
    return _get(request, assessment_id)


@router.post("/{int:assessment_id}/discard", response=AssessmentOut, summary="Discard a draft")
def assessments_discard(request: HttpRequest, assessment_id: int, payload: DiscardIn | None = None):
    assessment = _editable(request, assessment_id)
    assessment_discard(assessment=assessment, actor=request.auth, reason=payload.reason if payload else "")
    return _get(request, assessment_id)
