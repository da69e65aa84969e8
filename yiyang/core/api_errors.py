"""Every API error is JSON naming the field and the reason, in the user's language."""

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from yiyang.core.errors import DomainError

LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file", "payload"}


def _message(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    messages = {
        "missing": _("This field is required."),
        "string_too_short": _("Too short (at least %(n)s characters).") % {"n": ctx.get("min_length", "?")},
        "string_too_long": _("Too long (at most %(n)s characters).") % {"n": ctx.get("max_length", "?")},
        "int_parsing": _("Enter a whole number."),
        "int_type": _("Enter a whole number."),
        "float_parsing": _("Enter a number."),
        "bool_parsing": _("Enter true or false."),
        "date_from_datetime_parsing": _("Enter a date as YYYY-MM-DD."),
        "date_parsing": _("Enter a date as YYYY-MM-DD."),
        "datetime_parsing": _("Enter a date and time in ISO 8601."),
        "datetime_from_date_parsing": _("Enter a date and time in ISO 8601."),
        "greater_than_equal": _("Must be at least %(n)s.") % {"n": ctx.get("ge", "?")},
        "less_than_equal": _("Must be at most %(n)s.") % {"n": ctx.get("le", "?")},
        "greater_than": _("Must be more than %(n)s.") % {"n": ctx.get("gt", "?")},
        "less_than": _("Must be less than %(n)s.") % {"n": ctx.get("lt", "?")},
        "enum": _("Choose one of: %(choices)s.") % {"choices": ctx.get("expected", "")},
        "literal_error": _("Choose one of: %(choices)s.") % {"choices": ctx.get("expected", "")},
        "string_type": _("Enter text."),
        "json_invalid": _("The request body is not valid JSON."),
        "model_attributes_type": _("The request body must be a JSON object."),
        "dict_type": _("The request body must be a JSON object."),
        "list_type": _("Enter a list."),
        "extra_forbidden": _("This field is not allowed."),
    }
    if kind == "value_error":
        # Our own validators raise ValueError with a message already translated.
        return str(ctx.get("error") or error.get("msg", "")).removeprefix("Value error, ")
    return messages.get(kind, error.get("msg", _("Invalid value.")))


def _field(loc) -> str:
    parts = [str(p) for p in loc if str(p) not in LOCATIONS]
    # ninja wraps a body schema under the parameter name; drop it when it is the only wrapper.
    if len(parts) > 1 and parts[0] in {"data", "payload", "body"}:
        parts = parts[1:]
    return ".".join(parts)


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError):
        errors = [{"field": _field(e.get("loc", ())), "message": _message(e), "type": e.get("type", "")} for e in exc.errors]
        first = errors[0] if errors else {"field": "", "message": _("Invalid input.")}
        body = {
            "code": "validation_error",
            "message": f"{first['field']}: {first['message']}" if first["field"] else first["message"],
            "field": first["field"],
            "errors": errors,
        }
        return api.create_response(request, body, status=422)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError):
        return api.create_response(request, exc.as_dict(), status=exc.status)

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404):
        return api.create_response(request, {"code": "not_found", "message": _("Not found.")}, status=404)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError):
        return api.create_response(request, {"code": "unauthenticated", "message": _("Log in or send a valid bearer token.")}, status=401)

    @api.exception_handler(AuthorizationError)
    def forbidden(request: HttpRequest, exc: AuthorizationError):
        return api.create_response(request, {"code": "forbidden", "message": _("Your role may not do this.")}, status=403)

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError):
        return api.create_response(request, {"code": "error", "message": str(exc)}, status=exc.status_code)
