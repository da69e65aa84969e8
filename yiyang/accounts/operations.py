from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, StringAgg, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.accounts.models import ApiToken, User, hash_token, new_raw_token
from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError
from yiyang.core.prepared import PreparedQuery
from yiyang.regions.models import Region

MAX_ACTIVE_TOKENS = 20


# What an API request reads of its user (roles, scope, audit rows, names in answers); the rest stays deferred.
REQUEST_USER_FIELDS = ("username", "display_name", "role", "unit", "provider", "is_active", "is_superuser", "is_staff", "is_demo")


def _token_with_user(*, key_hash):
    # The user's regions come along (one string, paths joined by newlines): scope_of needs them on
    # nearly every request, and a query of their own cost as much as the token's.
    paths = (
        Region.objects.filter(users=OuterRef("user_id"))
        .order_by()
        .values("users")
        .annotate(paths=StringAgg("path", Value("\n")))
        .values("paths")
    )
    # key_hash is unique, so no ORDER BY. Only the columns a request uses: every datetime read costs a
    # conversion, and the password hash has no business in a request's memory.
    return (
        ApiToken.objects.select_related("user")
        .only("user", "expires_at", "revoked_at", "last_used_at", *(f"user__{name}" for name in REQUEST_USER_FIELDS))
        .annotate(user_region_paths=Subquery(paths))
        .filter(key_hash=key_hash)
        .order_by()
    )


# Every API request reads its token: compiled once (core.prepared).
TOKEN_WITH_USER = PreparedQuery(_token_with_user, name="token_with_user")
# last_used_at is written at most this often per token (it is shown to the user, not used for security).
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)


@transaction.atomic
def token_create(*, user: User, name: str, days: int | None = None) -> tuple[ApiToken, str]:
    """Create a bearer token; returns the row and the raw token, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the token a name."), field="name")
    if len(name) > 64:
        raise DomainError(_("The name is too long (64 characters at most)."), field="name")
    days = settings.YIYANG_API_TOKEN_TTL_DAYS if days is None else days
    if not 1 <= days <= 366:
        raise DomainError(_("A token lives between 1 and 366 days."), field="days")
    User.objects.select_for_update().filter(pk=user.pk).first()
    now = timezone.now()
    active = ApiToken.objects.filter(user=user, revoked_at__isnull=True, expires_at__gt=now).count()
    if active >= MAX_ACTIVE_TOKENS:
        raise DomainError(_("Too many active tokens; revoke one first."), field="name", status=409, code="too_many_tokens")
    raw = new_raw_token()
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), prefix=raw[:10], expires_at=now + timedelta(days=days))
    audit_record(actor=user, action="token.create", obj=token, detail={"name": name})
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, actor: User) -> ApiToken:
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at", "updated_at"])
        audit_record(actor=actor, action="token.revoke", obj=token)
    return token


def token_authenticate(raw: str) -> User | None:
    """The user behind an active bearer token, or None."""
    if not raw or not raw.startswith("yy_"):
        return None
    token = TOKEN_WITH_USER.first(key_hash=hash_token(raw))
    if token is None:
        return None
    if not token.is_active or not token.user.is_active:
        return None
    token.user.region_paths_read = tuple(sorted(p for p in (token.user_region_paths or "").split("\n") if p))
    now = timezone.now()
    # Touch at most once every TOKEN_TOUCH_INTERVAL: a busy client must not write on every request.
    if token.last_used_at is None or now - token.last_used_at > TOKEN_TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
