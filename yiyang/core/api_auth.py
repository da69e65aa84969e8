from django.http import HttpRequest
from ninja.errors import AuthorizationError

from yiyang.accounts.roles import can


def require(request: HttpRequest, capability: str) -> None:
    """Refuse an endpoint to roles that lack the capability (403: the role, not the object)."""
    if not can(request.auth, capability):
        raise AuthorizationError()
