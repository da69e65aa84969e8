from django.http import HttpRequest

ELDER_MODE_COOKIE = "yiyang_elder_mode"
ELDER_MODE_ROLES = {"elder", "family"}


class ElderModeMiddleware:
    """Elder mode is remembered in a cookie; elder and family accounts start in it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        cookie = request.COOKIES.get(ELDER_MODE_COOKIE)
        if cookie in {"1", "0"}:
            request.elder_mode = cookie == "1"
        else:
            user = getattr(request, "user", None)
            request.elder_mode = bool(user and user.is_authenticated and user.role in ELDER_MODE_ROLES)
        return self.get_response(request)


class ChineseFirstMiddleware:
    """Pages are in Chinese unless the user chose another language with the switch.

    Many phones and shared office PCs in Lishui report an English browser language that their
    users never chose; the language cookie (set by the switch) still wins. The API keeps
    honouring Accept-Language, which programs set on purpose.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
