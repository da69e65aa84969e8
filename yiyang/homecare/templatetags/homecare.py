from django import template

register = template.Library()


@register.filter
def yuan(fen) -> str:
    """Fen (int) shown as ¥ with two decimals, without floats."""
    if fen is None or fen == "":
        return "—"
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100}.{fen % 100:02d}"


@register.filter
def km(metres) -> str:
    if metres is None or metres == "":
        return "—"
    metres = int(metres)
    return f"{metres} m" if metres < 1000 else f"{metres / 1000:.1f} km"
