"""What a user may see. Every list, detail, count and export goes through here.

A scope has three parts: the regions (subtrees of the division tree), the provider a
dispatcher or caregiver works for, and relationships to elders (family, self).
Out of scope is answered as 404 by the callers, so existence never leaks.
"""

from dataclasses import dataclass

from yiyang.accounts.roles import Role
from yiyang.core.prepared import PreparedQuery
from yiyang.regions.models import Region


@dataclass(frozen=True)
class Scope:
    everything: bool = False
    region_paths: tuple[str, ...] = ()
    provider_id: int | None = None
    user_id: int | None = None
    # Region-wide roles see the elders of their regions; others only related elders.
    sees_region_elders: bool = False


NOTHING = Scope()
# Read on every request that checks scope: compiled once (core.prepared).
USER_REGIONS = PreparedQuery(lambda *, user_id: Region.objects.filter(users=user_id).only("path").order_by(), name="user_regions")
REGION_ELDER_ROLES = {Role.CITY_OFFICER, Role.COUNTY_OFFICER, Role.WORKER, Role.OPERATOR, Role.ASSESSOR}


def scope_of(user) -> Scope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NOTHING
    cached = getattr(user, "_yiyang_scope", None)
    if cached is not None:
        return cached
    if user.is_superuser or user.role == Role.ADMIN:
        scope = Scope(everything=True, user_id=user.pk, sees_region_elders=True)
    else:
        # An API request's token read brings them along (accounts.operations.token_authenticate).
        paths = getattr(user, "region_paths_read", None)
        if paths is None:
            paths = tuple(sorted(region.path for region in USER_REGIONS.fetch(user_id=user.pk)))
        scope = Scope(
            region_paths=paths,
            provider_id=user.provider_id if user.role in (Role.DISPATCHER, Role.CAREGIVER) else None,
            user_id=user.pk,
            sees_region_elders=user.role in REGION_ELDER_ROLES,
        )
    user._yiyang_scope = scope
    return scope


def region_codes_visible(user) -> list[str] | None:
    """Codes of the top regions a user sees; None means all."""
    scope = scope_of(user)
    if scope.everything:
        return None
    return [p.strip("/").split("/")[-1] for p in scope.region_paths]


# A scope as a prepared query (core.prepared) takes it: what shapes the SQL, and the values bound into it.
UNSCOPED = (
    {"may_view": True, "everything": True, "role": "", "sees_region_elders": False},
    {"region_paths": (), "provider_id": None, "user_id": None},
)


def scope_for_prepared(user, capability: str) -> tuple[dict, dict]:
    from yiyang.accounts.roles import can

    scope = scope_of(user)
    fixed = {
        "may_view": can(user, capability),
        "everything": scope.everything,
        "role": getattr(user, "role", ""),
        "sees_region_elders": scope.sees_region_elders,
    }
    return fixed, {"region_paths": scope.region_paths, "provider_id": scope.provider_id, "user_id": scope.user_id}


def scope_from_prepared(*, region_paths, provider_id, user_id, sees_region_elders) -> Scope:
    return Scope(region_paths=region_paths, provider_id=provider_id, user_id=user_id, sees_region_elders=sees_region_elders)
