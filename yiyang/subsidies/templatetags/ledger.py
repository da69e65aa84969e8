from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def yuan(fen) -> str:
    """Integer fen shown as yuan with two decimals (no float arithmetic)."""
    if fen in (None, ""):
        return ""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"


@register.filter
def hours(minutes) -> str:
    if minutes in (None, ""):
        return ""
    minutes = int(minutes)
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    return sign + _("%(h)s h %(m)02d min") % {"h": minutes // 60, "m": minutes % 60}
