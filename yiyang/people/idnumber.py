"""Resident ID numbers (GB 11643-1999) and phone numbers: parsing, checking, normalising.

Everything here is pure (no database), so the rules can be property-tested and reused by
registration, import, the API and the hotline search alike.
"""

import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from yiyang.core.errors import DomainError

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

# Province-level codes (GB/T 2260), plus 71 Taiwan, 81/82/83 Hong Kong, Macao and Taiwan residence permits.
# The area code is where the number was first issued and never changes, so older codes of
# abolished prefectures (e.g. 3325xx of the former 丽水地区) are valid: only the province is checked.
PROVINCE_CODES = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82", "83",
    }
)  # fmt: skip

FIELD = "id_number"


@dataclass(frozen=True)
class IdInfo:
    number: str
    area_code: str
    birth_date: date
    gender: str  # "male" / "female", the values of people.models.Gender


def check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def parse_id_number(raw: str, *, field: str = FIELD, today: date | None = None) -> IdInfo:
    """Normalise and check an ID number; raise DomainError naming `field` when it is not valid.

    Error messages never repeat the number itself: they may end up in logs and error reports.
    """
    number = re.sub(r"\s+", "", raw or "").upper()
    if not number:
        raise DomainError(_("Enter the ID number."), field=field, code="required")
    if len(number) != 18:
        raise DomainError(_("An ID number has 18 characters; this one has %(n)d.") % {"n": len(number)}, field=field, code="id_length")
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise DomainError(_("An ID number is 17 digits followed by a digit or X."), field=field, code="id_characters")
    if number[:2] not in PROVINCE_CODES:
        raise DomainError(_("The ID number does not start with a province code."), field=field, code="id_province")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DomainError(_("The ID number does not contain a real birth date."), field=field, code="id_birth_date")
    today = today or date.today()
    if born.year < 1880 or born > today:
        raise DomainError(_("The ID number does not contain a real birth date."), field=field, code="id_birth_date")
    if check_char(number[:17]) != number[17]:
        raise DomainError(_("The ID number's check character is wrong; please check it for a typing error."), field=field, code="id_check")
    gender = "male" if int(number[16]) % 2 == 1 else "female"
    return IdInfo(number=number, area_code=number[:6], birth_date=born, gender=gender)


def looks_like_id_number(text: str) -> bool:
    return bool(re.fullmatch(r"\d{17}[\dXx]", re.sub(r"\s+", "", text or "")))


def upgrade_15(text: str) -> str | None:
    """An old 15-digit number (issued before 1999, born 19yy) as its 18-character form, or None."""
    digits = re.sub(r"\s+", "", text or "")
    if not re.fullmatch(r"\d{15}", digits):
        return None
    first17 = digits[:6] + "19" + digits[6:]
    return first17 + check_char(first17)


def make_id_number(area_code: str, born: date, sequence: int) -> str:
    """A valid number for an area, birth date and 3-digit sequence (odd sequence = male). For synthetic data and tests."""
    first17 = f"{area_code}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)


# Phones ------------------------------------------------------------------

PHONE_FIELD = "phone"
DEFAULT_AREA_CODE = "0578"  # Lishui


def normalise_phone(raw: str, *, field: str = PHONE_FIELD, area_code: str = DEFAULT_AREA_CODE) -> str:
    """Digits only, without the country code: mobiles as 11 digits, landlines with their area code.

    Accepts +86 / 0086 / 86 prefixes, spaces, dashes, dots and brackets. A 7- or 8-digit local
    number gets the default area code (Lishui's 0578), as people dictate them on the hotline.
    """
    text = (raw or "").strip()
    if not text:
        raise DomainError(_("Enter a phone number."), field=field, code="required")
    if re.search(r"[^\d\s+\-().]", text):
        raise DomainError(
            _("A phone number may contain only digits, spaces, dashes, brackets and a leading +."), field=field, code="phone_characters"
        )
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") and not digits.startswith("86"):
        raise DomainError(_("Only Chinese (+86) phone numbers are accepted."), field=field, code="phone_country")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) in (13, 12, 11) and (text.startswith("+") or len(digits) == 13):
        digits = digits[2:]
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return digits
    if not digits.startswith("0") and re.fullmatch(r"[2-9]\d{6,7}", digits):
        digits = area_code + digits
    if re.fullmatch(r"0[1-9]\d{1,2}[2-9]\d{6,7}", digits) and 10 <= len(digits) <= 12:
        return digits
    raise DomainError(_("Enter a mobile number (11 digits) or a landline with its area code."), field=field, code="phone_invalid")


def looks_like_phone(text: str) -> bool:
    digits = re.sub(r"\D", "", text or "")
    return bool(digits) and len(digits) >= 7 and not re.search(r"[^\d\s+\-().]", text.strip())
