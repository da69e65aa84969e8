"""JSON API of the subsidies: programmes, preview, grants, balances, statements, settlements, flags."""

from __future__ import annotations

from datetime import date, datetime

from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from yiyang.core.api_auth import require
from yiyang.core.errors import DomainError
from yiyang.subsidies import operations as ops
from yiyang.subsidies import queries
from yiyang.subsidies.export import settlement_xlsx
from yiyang.subsidies.models import Grant, GrantRun, Programme, Settlement

router = Router(tags=["subsidies"])


class Condition(Schema):
    fact: str
    op: str
    value: int | list[str] | str


class Tier(Schema):
    key: str = ""
    label: str = ""
    all: list[Condition] = []
    amount_fen: int


class ProgrammeIn(Schema):
    name: str = Field(..., max_length=128)
    funding_source: str = Field(..., max_length=128)
    region: str = Field(..., description="Region code the programme belongs to (its elders are eligible)")
    starts_on: str = Field(..., description="First month, YYYY-MM")
    ends_on: str | None = Field(None, description="Last month, YYYY-MM")
    rule: list[Condition] = []
    tiers: list[Tier]
    categories: list[str]
    carry_over: bool = False


class ProgrammeOut(Schema):
    id: int
    name: str
    funding_source: str
    region: str
    starts_on: date
    ends_on: date | None
    rule: list[dict]
    tiers: list[dict]
    categories: list[str]
    carry_over: bool
    status: str
    version: int

    @staticmethod
    def resolve_region(obj) -> str:
        return obj.region.code


class StatusIn(Schema):
    status: str


class PreviewIn(Schema):
    region: str
    rule: list[Condition] = []
    tiers: list[Tier]
    period: str | None = None


class TierCount(Schema):
    key: str
    label: str
    amount_fen: int
    count: int
    total_fen: int


class PreviewOut(Schema):
    period: str
    count: int
    total_fen: int
    tiers: list[TierCount]


class GrantRunIn(Schema):
    period: str = Field(..., description="YYYY-MM")


class GrantRunOut(Schema):
    id: int
    programme_id: int
    period: date
    granted: int
    total_fen: int
    expired_fen: int
    created: bool = False


class GrantOut(Schema):
    id: int
    programme_id: int
    programme_name: str
    elder_id: int
    period: date
    tier: str
    amount_fen: int
    facts: dict
    rule: dict
    explanation_holds: bool
    conditions: list[str]
    tier_conditions: list[str]


class LotOut(Schema):
    programme_id: int
    name: str
    balance_fen: int
    expires_at_month_end: bool
    categories: list[str]


class BalanceOut(Schema):
    elder_id: int
    total_fen: int
    programmes: list[LotOut]


class StatementLine(Schema):
    at: datetime
    source: str
    programme: str
    amount_fen: int = Field(..., description="Positive into the elder's vouchers, negative out of them")
    order_ref: str
    reason: str


class SettlementIn(Schema):
    provider_id: int
    period: str = Field(..., description="YYYY-MM")


class SettlementOut(Schema):
    id: int
    provider_id: int
    provider_name: str
    period: date
    closed_at: datetime
    total_fen: int
    totals: dict

    @staticmethod
    def resolve_provider_name(obj) -> str:
        return obj.provider.name


class SettlementLine(Schema):
    order_ref: str
    elder: str
    category: str
    programmes: str
    service_date: date | None
    audit: str
    spent_fen: int
    refunded_fen: int
    net_fen: int


class SettlementPreviewOut(Schema):
    provider_id: int
    period: date
    closed: bool
    net_fen: int
    lines: list[SettlementLine]


class FlagOut(Schema):
    id: int
    kind: str
    order_ref: str
    elder_id: int
    detail: dict
    created_at: datetime
    reviewed_at: datetime | None
    review_note: str


class ReviewIn(Schema):
    note: str


def _dump(items) -> list[dict]:
    return [i.dict() if hasattr(i, "dict") else i for i in items]


def _programme_fields(data: ProgrammeIn) -> dict:
    return {
        "name": data.name,
        "funding_source": data.funding_source,
        "region_code": data.region,
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
        "rule": _dump(data.rule),
        "tiers": [{**t.dict(), "all": _dump(t.all)} for t in data.tiers],
        "categories": data.categories,
        "carry_over": data.carry_over,
    }


def _programme(request, programme_id: int, *, manage: bool = False) -> Programme:
    programme = queries.programme_for(request.auth, programme_id)
    if programme is None:
        raise Http404
    if manage and not queries.may_manage(request.auth, programme):
        raise Http404
    return programme


# Programmes -------------------------------------------------------------------


@router.get("/programmes", response=list[ProgrammeOut], summary="Programmes in my scope")
def programmes_list(request: HttpRequest):
    require(request, "subsidy.programme.view")
    return list(queries.programmes_visible_to(request.auth))


@router.post("/programmes", response={201: ProgrammeOut}, summary="Define a programme (a draft until activated)")
def programmes_create(request: HttpRequest, data: ProgrammeIn):
    require(request, "subsidy.programme.manage")
    return Status(201, ops.programme_create(actor=request.auth, **_programme_fields(data)))


@router.get("/programmes/{programme_id}", response=ProgrammeOut, summary="One programme")
def programmes_get(request: HttpRequest, programme_id: int):
    require(request, "subsidy.programme.view")
    return _programme(request, programme_id)


@router.put("/programmes/{programme_id}", response=ProgrammeOut, summary="Edit a programme (new version; past grants keep theirs)")
def programmes_update(request: HttpRequest, programme_id: int, data: ProgrammeIn):
    require(request, "subsidy.programme.manage")
    return ops.programme_update(programme=_programme(request, programme_id, manage=True), actor=request.auth, **_programme_fields(data))


@router.post("/programmes/{programme_id}/status", response=ProgrammeOut, summary="Activate or end a programme")
def programmes_status(request: HttpRequest, programme_id: int, data: StatusIn):
    require(request, "subsidy.programme.manage")
    return ops.programme_set_status(programme=_programme(request, programme_id, manage=True), status=data.status, actor=request.auth)


@router.get("/programmes/{programme_id}/preview", response=PreviewOut, summary="Who the next grant will grant to")
def programmes_preview(request: HttpRequest, programme_id: int, period: str | None = None):
    require(request, "subsidy.programme.view")
    programme = _programme(request, programme_id)
    month = ops.parse_period(period) if period else ops.programme_next_period(programme)
    return ops.programme_preview(region_path=programme.region.path, rule=programme.rule, tiers=programme.tiers, period=month)


@router.post("/preview", response=PreviewOut, summary="Preview an unsaved rule")
def rule_preview(request: HttpRequest, data: PreviewIn):
    require(request, "subsidy.programme.manage")
    from yiyang.regions.models import Region
    from yiyang.subsidies import rules

    region = Region.objects.filter(code=data.region).first()
    if region is None:
        raise DomainError(_("Unknown region code."), field="region")
    rule = rules.validate_conditions(_dump(data.rule), field="rule")
    tiers = ops.tiers_clean([{**t.dict(), "all": _dump(t.all)} for t in data.tiers])
    month = ops.parse_period(data.period) if data.period else ops.current_period()
    return ops.programme_preview(region_path=region.path, rule=rule, tiers=tiers, period=month)


@router.post("/programmes/{programme_id}/grants", response={200: GrantRunOut, 201: GrantRunOut}, summary="Grant a month now (idempotent)")
def programmes_grant(request: HttpRequest, programme_id: int, data: GrantRunIn):
    require(request, "subsidy.grant.run")
    run, created = ops.grants_run_month(programme=_programme(request, programme_id, manage=True), period=data.period, actor=request.auth)
    run.created = created
    return Status(201 if created else 200, run)


@router.get("/programmes/{programme_id}/runs", response=list[GrantRunOut], summary="Monthly grants of a programme")
def programmes_runs(request: HttpRequest, programme_id: int):
    require(request, "subsidy.programme.view")
    return list(GrantRun.objects.filter(programme=_programme(request, programme_id)))


# An elder's vouchers --------------------------------------------------------------


def _elder(request, elder_id: int):
    require(request, "subsidy.balance.view")
    elder = queries.elder_for_vouchers(request.auth, elder_id)
    if elder is None:
        raise Http404
    return elder


def _grant_out(grant: Grant) -> dict:
    why = ops.explain(grant)
    return {
        "id": grant.pk,
        "programme_id": grant.programme_id,
        "programme_name": grant.programme.name,
        "elder_id": grant.elder_id,
        "period": grant.period,
        "tier": grant.tier,
        "amount_fen": grant.amount_fen,
        "facts": grant.facts,
        "rule": grant.run.rule,
        "explanation_holds": why["holds"],
        "conditions": why["conditions"],
        "tier_conditions": why["tier_conditions"],
    }


@router.get("/elders/{elder_id}/balance", response=BalanceOut, summary="An elder's voucher balance")
def elder_balance(request: HttpRequest, elder_id: int):
    return queries.elder_balance(_elder(request, elder_id))


@router.get("/elders/{elder_id}/statement", response=list[StatementLine], summary="Every movement of an elder's vouchers")
@paginate(PageNumberPagination, page_size=50)
def elder_statement(request: HttpRequest, elder_id: int):
    entries = queries.elder_statement(_elder(request, elder_id))
    return [
        {
            "at": e.at,
            "source": e.source,
            "programme": (e.debit if e.debit.kind == "voucher" else e.credit).programme.name,
            "amount_fen": queries.signed_for_elder(e),
            "order_ref": e.order_ref,
            "reason": e.reason,
        }
        for e in entries
    ]


@router.get("/elders/{elder_id}/grants", response=list[GrantOut], summary="An elder's grants, each with why it was granted")
def elder_grants(request: HttpRequest, elder_id: int):
    return [GrantOut.model_validate(_grant_out(g)) for g in queries.elder_grants(_elder(request, elder_id))[:60]]


# Settlements -----------------------------------------------------------------------


@router.get("/settlements", response=list[SettlementOut], summary="Closed months")
def settlements_list(request: HttpRequest, provider_id: int | None = None):
    require(request, "subsidy.settle")
    rows = queries.settlements_visible_to(request.auth)
    if provider_id:
        rows = rows.filter(provider_id=provider_id)
    return list(rows[:200])


@router.get("/settlements/preview", response=SettlementPreviewOut, summary="A provider's month, before or after closing")
def settlements_preview(request: HttpRequest, provider_id: int, period: str):
    require(request, "subsidy.settle")
    provider = queries.provider_for_settlement(request.auth, provider_id)
    if provider is None:
        raise Http404
    preview = ops.settlement_preview(provider=provider, period=period)
    closed = Settlement.objects.filter(provider=provider, period=preview["period"]).exists()
    return {"provider_id": provider.pk, "closed": closed, **preview}


@router.post("/settlements", response={201: SettlementOut}, summary="Close a provider's month")
def settlements_close(request: HttpRequest, data: SettlementIn):
    require(request, "subsidy.settle")
    provider = queries.provider_for_settlement(request.auth, data.provider_id)
    if provider is None:
        raise Http404
    return Status(201, ops.settlement_close(provider=provider, period=data.period, actor=request.auth))


@router.get("/settlements/{settlement_id}.xlsx", summary="A closed month as a spreadsheet", response={200: None})
def settlements_xlsx(request: HttpRequest, settlement_id: int):
    require(request, "subsidy.settle")
    settlement = queries.settlements_visible_to(request.auth).filter(pk=settlement_id).first()
    if settlement is None:
        raise Http404
    response = HttpResponse(settlement_xlsx(settlement), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="settlement-{settlement.provider_id}-{settlement.period:%Y-%m}.xlsx"'
    return response


# Flags -------------------------------------------------------------------------------


@router.get("/flags", response=list[FlagOut], summary="Voucher spends flagged for review")
def flags_list(request: HttpRequest, open_only: bool = True):
    require(request, "subsidy.flag.review")
    flags = queries.flags_visible_to(request.auth)
    if open_only:
        flags = flags.filter(reviewed_at__isnull=True)
    return list(flags[:500])


@router.post("/flags/{flag_id}/review", response=FlagOut, summary="Record the review of a flag")
def flags_review(request: HttpRequest, flag_id: int, data: ReviewIn):
    require(request, "subsidy.flag.review")
    flag = queries.flags_visible_to(request.auth).filter(pk=flag_id).first()
    if flag is None:
        raise Http404
    return ops.flag_review(flag=flag, note=data.note, actor=request.auth)
