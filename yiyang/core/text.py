"""Checks on free text that users type: notes, reasons, comments."""

import re

from django.utils.translation import gettext as _

from yiyang.core.errors import DomainError

# PostgreSQL refuses NUL in text, and no person types the other C0 controls; line breaks and tabs in a
# note are fine.
_CONTROLS_EXCEPT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def free_text(value: str | None, *, field: str, max_length: int) -> str:
    """The text stripped, or a DomainError naming `field` when it holds control characters or is too long."""
    value = (value or "").strip()
    if _CONTROLS_EXCEPT_LINE_BREAKS.search(value):
        raise DomainError(_("Remove the control characters from this text."), field=field, code="control_characters")
    if len(value) > max_length:
        raise DomainError(_("Too long (at most %(n)s characters).") % {"n": max_length}, field=field, code="too_long")
    return value
