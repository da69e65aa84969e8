"""Checks on text that users type: names, codes, notes, reasons, comments."""

import re

from django.utils.translation import gettext as _

from yiyang.core.errors import DomainError

# PostgreSQL refuses NUL in text, and no person types the other C0 controls. Line breaks and tabs are
# fine in a note, never in a name, a code or a licence number.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")
_CONTROLS_EXCEPT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_characters(value: str | None, *, single_line: bool = True) -> bool:
    return bool((_CONTROLS if single_line else _CONTROLS_EXCEPT_LINE_BREAKS).search(value or ""))


def free_text(value: str | None, *, field: str, max_length: int, single_line: bool = False) -> str:
    """The text stripped, or a DomainError naming `field` when it holds control characters or is too long."""
    value = (value or "").strip()
    if has_control_characters(value, single_line=single_line):
        raise DomainError(_("Remove the control characters from this text."), field=field, code="control_characters")
    if len(value) > max_length:
        raise DomainError(_("Too long (at most %(n)s characters).") % {"n": max_length}, field=field, code="too_long")
    return value
