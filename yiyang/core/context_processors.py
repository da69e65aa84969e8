from django.http import HttpRequest

from yiyang.core.navigation import nav_for


def frame(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    return {
        "nav": nav_for(user) if user is not None and user.is_authenticated else [],
        "elder_mode": getattr(request, "elder_mode", False),
    }
