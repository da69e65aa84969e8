"""JSON API of the time bank: registration, balance and statement, claims, transfers, redemptions, officer totals."""

from __future__ import annotations

from datetime import date, datetime

from django.http import Http404, HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from yiyang.core.api_auth import require
from yiyang.people.queries import elder_for
from yiyang.timebank import operations as ops
from yiyang.timebank import queries
from yiyang.timebank.models import Claim, HourAccount, HourEntry, Volunteer

router = Router(tags=["time bank"])


class VolunteerIn(Schema):
    name: str = Field(..., max_length=64)
    birth_date: date
    region: str = Field(..., description="Region code where the volunteer serves")
    skills: str = Field("", max_length=255)


class VolunteerOut(Schema):
    id: int
    name: str
    birth_date: date
    region: str
    is_elder_volunteer: bool

    @staticmethod
    def resolve_region(obj) -> str:
        return obj.region.code


class BalanceOut(Schema):
    account_id: int
    balance_minutes: int
    registered: bool


class StatementLine(Schema):
    id: int
    at: datetime
    source: str
    minutes: int = Field(..., description="Positive into this account, negative out of it")
    reason: str
    elder_id: int | None


class ClaimIn(Schema):
    elder_id: int
    served_on: date
    minutes: int = Field(..., gt=0, le=600)
    description: str = Field(..., min_length=1, max_length=255)


class ClaimOut(Schema):
    id: int
    volunteer_id: int
    elder_id: int
    served_on: date
    minutes: int
    description: str
    status: str


class DecisionIn(Schema):
    reason: str = ""


class TransferIn(Schema):
    elder_id: int = Field(..., description="A family member linked to your account")
    minutes: int = Field(..., gt=0)
    note: str = ""


class RedeemIn(Schema):
    minutes: int = Field(..., gt=0)
    service: str = Field(..., min_length=1, max_length=255)
    elder_id: int | None = Field(None, description="Redeem from this linked elder's hours instead of your own")


class EntryOut(Schema):
    id: int
    at: datetime
    source: str
    minutes: int
    reason: str

    @staticmethod
    def resolve_minutes(obj) -> int:
        return obj.amount


class CorrectionIn(Schema):
    reason: str = Field(..., min_length=1, max_length=255)


class TotalOut(Schema):
    month: date
    region: str
    region_name: str
    credited: int
    redeemed: int
    corrected: int
    entries: int


@router.post("/volunteers", response={201: VolunteerOut}, summary="Register myself as a volunteer")
def volunteers_register(request: HttpRequest, data: VolunteerIn):
    require(request, "timebank.use")
    volunteer = ops.volunteer_register(
        user=request.auth, name=data.name, birth_date=data.birth_date, region_code=data.region, skills=data.skills, actor=request.auth
    )
    return Status(201, volunteer)


@router.get("/me", response=BalanceOut, summary="My hour balance")
def me_balance(request: HttpRequest):
    require(request, "timebank.use")
    account = ops.account_for_user(request.auth)
    return {
        "account_id": account.pk,
        "balance_minutes": account.balance,
        "registered": Volunteer.objects.filter(user=request.auth).exists(),
    }


def _lines(account: HourAccount):
    return [
        {"id": e.pk, "at": e.at, "source": e.source, "minutes": queries.signed(e, account), "reason": e.reason, "elder_id": e.elder_id}
        for e in queries.statement(account)
    ]


@router.get("/me/statement", response=list[StatementLine], summary="My hour statement")
@paginate(PageNumberPagination, page_size=50)
def me_statement(request: HttpRequest):
    require(request, "timebank.use")
    return _lines(ops.account_for_user(request.auth))


@router.get("/elders/{elder_id}", response=BalanceOut, summary="A linked family member's hours")
def elder_balance(request: HttpRequest, elder_id: int):
    require(request, "timebank.use")
    elder = elder_for(request.auth, elder_id)
    if elder is None:
        raise Http404
    account = ops.account_for_elder(elder)
    return {"account_id": account.pk, "balance_minutes": account.balance, "registered": False}


def _volunteer(request) -> Volunteer:
    volunteer = Volunteer.objects.filter(user=request.auth).first()
    if volunteer is None:
        raise Http404
    return volunteer


@router.post("/claims", response={201: ClaimOut}, summary="Claim help given outside the order flow")
def claims_submit(request: HttpRequest, data: ClaimIn):
    require(request, "timebank.use")
    volunteer = _volunteer(request)
    from yiyang.people.models import Elder

    # Any registered elder may be claimed for (neighbours help across the city); confirmation decides.
    elder = Elder.objects.filter(pk=data.elder_id).first()
    if elder is None:
        raise Http404
    claim = ops.claim_submit(
        volunteer=volunteer, elder=elder, served_on=data.served_on, minutes=data.minutes, description=data.description, actor=request.auth
    )
    return Status(201, claim)


@router.get("/claims/mine", response=list[ClaimOut], summary="My claims")
def claims_mine(request: HttpRequest):
    require(request, "timebank.use")
    return list(Claim.objects.filter(volunteer__user=request.auth)[:200])


@router.get("/claims/pending", response=list[ClaimOut], summary="Claims waiting for my confirmation")
def claims_pending(request: HttpRequest):
    require(request, "timebank.confirm")
    return list(queries.claims_to_confirm(request.auth)[:200])


def _claim(request, claim_id: int) -> Claim:
    require(request, "timebank.confirm")
    claim = queries.claims_to_confirm(request.auth).filter(pk=claim_id).first()
    if claim is None:
        raise Http404
    return claim


@router.post("/claims/{claim_id}/confirm", response=ClaimOut, summary="Confirm a claim: the hours are credited")
def claims_confirm(request: HttpRequest, claim_id: int):
    return ops.claim_decide(claim=_claim(request, claim_id), confirm=True, actor=request.auth)


@router.post("/claims/{claim_id}/reject", response=ClaimOut, summary="Reject a claim, with the reason")
def claims_reject(request: HttpRequest, claim_id: int, data: DecisionIn):
    return ops.claim_decide(claim=_claim(request, claim_id), confirm=False, actor=request.auth, reason=data.reason)


@router.post("/transfers", response={201: EntryOut}, summary="Give hours to a family member")
def transfers_create(request: HttpRequest, data: TransferIn):
    require(request, "timebank.use")
    elder = elder_for(request.auth, data.elder_id)
    if elder is None:
        raise Http404
    return Status(201, ops.hours_transfer(from_user=request.auth, to_elder=elder, minutes=data.minutes, actor=request.auth, note=data.note))


@router.post("/redemptions", response={201: EntryOut}, summary="Spend stored hours on a service")
def redemptions_create(request: HttpRequest, data: RedeemIn):
    require(request, "timebank.use")
    if data.elder_id is None:
        account = ops.account_for_user(request.auth)
        elder = None
    else:
        elder = elder_for(request.auth, data.elder_id)
        if elder is None or not elder.user_links.filter(user=request.auth).exists():
            raise Http404
        account = ops.account_for_elder(elder)
    return Status(201, ops.hours_redeem(account=account, minutes=data.minutes, service=data.service, actor=request.auth, elder=elder))


@router.get("/totals", response=list[TotalOut], summary="Hours by month and county in my scope")
def totals(request: HttpRequest):
    require(request, "timebank.manage")
    return queries.totals_by_region_month(request.auth)


@router.post("/entries/{entry_id}/correct", response={201: EntryOut}, summary="Post a reversing correction")
def entries_correct(request: HttpRequest, entry_id: int, data: CorrectionIn):
    require(request, "timebank.manage")
    entry = queries.entries_visible_to(request.auth).filter(pk=entry_id).first()
    if entry is None:
        raise Http404
    return Status(201, ops.hours_correct(entry=entry, reason=data.reason, actor=request.auth))


__all__ = ["router", "HourEntry"]
