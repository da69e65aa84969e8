from datetime import datetime

from django.contrib.auth import authenticate, user_logged_in
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from yiyang.accounts.models import ApiToken
from yiyang.accounts.operations import token_create, token_revoke
from yiyang.accounts.roles import CAPABILITIES, can
from yiyang.accounts.scope import region_codes_visible
from yiyang.core.api_auth import require
from yiyang.core.errors import DomainError

router = Router(tags=["auth"])


class LoginIn(Schema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field("api", max_length=64, description="A label for the token")


class NewTokenOut(Schema):
    token: str
    id: int
    name: str
    expires_at: datetime


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=64)
    days: int | None = Field(None, ge=1, le=366)


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    regions: list[str] | None = Field(description="codes of the regions in scope; null means all")
    provider_id: int | None
    capabilities: list[str]


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


@router.post(
    "/token",
    auth=None,
    response={200: NewTokenOut, 401: ErrorOut, 429: ErrorOut},
    summary="Exchange username and password for a bearer token",
)
def auth_token(request: HttpRequest, payload: LoginIn):
    # authenticate(request=...) is what lets django-axes count failures and lock out.
    user = authenticate(request=request, username=payload.username, password=payload.password)
    if user is None:
        return Status(401, {"code": "invalid_credentials", "message": _("Wrong username or password."), "field": "password"})
    # A token login is a login: last_login is updated and axes clears the failure count.
    user_logged_in.send(sender=user.__class__, request=request, user=user)
    token, raw = token_create(user=user, name=payload.name or "api")
    return Status(200, {"token": raw, "id": token.pk, "name": token.name, "expires_at": token.expires_at})


@router.get("/me", response=MeOut, summary="Who the token or session belongs to, and what they may do")
def me(request: HttpRequest):
    user = request.auth
    return {
        "id": user.pk,
        "username": user.username,
        "display_name": str(user),
        "role": user.role,
        "regions": region_codes_visible(user),
        "provider_id": user.provider_id,
        "capabilities": sorted(c for c in CAPABILITIES if can(user, c)),
    }


@router.get("/tokens", response=list[TokenOut], summary="List my API tokens")
def tokens_list(request: HttpRequest):
    require(request, "token.manage")
    return ApiToken.objects.filter(user=request.auth)


@router.post("/tokens", response={201: NewTokenOut}, summary="Create an API token (shown once)")
def tokens_create(request: HttpRequest, payload: TokenIn):
    require(request, "token.manage")
    token, raw = token_create(user=request.auth, name=payload.name, days=payload.days)
    return Status(201, {"token": raw, "id": token.pk, "name": token.name, "expires_at": token.expires_at})


@router.post("/tokens/{token_id}/revoke", response=TokenOut, summary="Revoke one of my API tokens")
def tokens_revoke(request: HttpRequest, token_id: int):
    require(request, "token.manage")
    token = get_object_or_404(ApiToken, pk=token_id, user=request.auth)
    if token.revoked_at is not None:
        raise DomainError(_("This token is already revoked."), status=409, code="already_revoked")
    return token_revoke(token=token, actor=request.auth)
