from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from yiyang.core.errors import DomainError
from yiyang.people.idnumber import CHECK_CHARS, PROVINCE_CODES, check_char, make_id_number, normalise_phone, parse_id_number

TODAY = date(2026, 11, 28)
areas = st.builds(lambda p, rest: p + rest, st.sampled_from(sorted(PROVINCE_CODES)), st.integers(0, 9999).map(lambda n: f"{n:04d}"))
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(0, 999)


@given(areas, births, sequences)
def test_generated_numbers_parse_back(area, born, seq):
    number = make_id_number(area, born, seq)
    info = parse_id_number(number, today=TODAY)
    assert info.number == number
    assert info.birth_date == born
    assert info.area_code == area
    assert info.gender == ("male" if seq % 2 else "female")


@given(areas, births, sequences, st.sampled_from(CHECK_CHARS))
def test_any_other_check_character_is_refused(area, born, seq, wrong):
    number = make_id_number(area, born, seq)
    assume(wrong != number[-1])
    with pytest.raises(DomainError) as err:
        parse_id_number(number[:-1] + wrong, today=TODAY)
    assert err.value.code == "id_check" and err.value.field == "id_number"


@given(areas, births, sequences, st.integers(0, 16), st.integers(1, 9))
def test_a_single_mistyped_digit_is_caught(area, born, seq, position, delta):
    number = make_id_number(area, born, seq)
    digit = (int(number[position]) + delta) % 10
    typo = number[:position] + str(digit) + number[position + 1 :]
    # The check character catches every single-digit error (weights are never 0 mod 11).
    with pytest.raises(DomainError):
        parse_id_number(typo, today=TODAY)


@given(areas, births, sequences)
def test_lower_case_x_and_spaces_are_normalised(area, born, seq):
    number = make_id_number(area, born, seq)
    raw = f" {number[:6]} {number[6:14]} {number[14:].lower()} "
    assert parse_id_number(raw, today=TODAY).number == number


def test_check_character_of_the_standard_example():
    # GB 11643-1999 example: 11010519491231002X.
    assert check_char("11010519491231002") == "X"
    assert parse_id_number("11010519491231002x", today=TODAY).number == "11010519491231002X"


def test_old_lishui_prefecture_code_is_valid():
    number = make_id_number("332502", date(1940, 7, 1), 35)
    assert parse_id_number(number, today=TODAY).area_code == "332502"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "required"),
        ("33110219450517123", "id_length"),
        ("3311021945051712345", "id_length"),
        ("33110219450517A234", "id_characters"),
        (make_id_number("991102", date(1945, 5, 17), 123), "id_province"),
        (make_id_number("001102", date(1945, 5, 17), 123), "id_province"),
        ("331102194502301234", "id_birth_date"),
        ("331102194513011234", "id_birth_date"),
        (make_id_number("331102", TODAY + timedelta(days=1), 1), "id_birth_date"),
        (make_id_number("331102", date(1870, 1, 1), 1), "id_birth_date"),
    ],
)
def test_invalid_numbers_name_the_field_and_reason(raw, code):
    with pytest.raises(DomainError) as err:
        parse_id_number(raw, today=TODAY)
    assert err.value.field == "id_number"
    assert err.value.code == code
    # The number itself never appears in the message (messages reach logs and error reports).
    if raw:
        assert raw not in err.value.message


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("13905781234", "13905781234"),
        ("+86 139 0578 1234", "13905781234"),
        ("+86-139-0578-1234", "13905781234"),
        ("0086 13905781234", "13905781234"),
        ("8613905781234", "13905781234"),
        ("0578-2123456", "05782123456"),
        ("(0578) 212 3456", "05782123456"),
        ("2123456", "05782123456"),
        ("010-62345678", "01062345678"),
    ],
)
def test_phone_normalisation(raw, normal):
    assert normalise_phone(raw) == normal


@pytest.mark.parametrize("raw", ["", "12345", "1390578123", "139057812345", "+1 415 555 0100", "abc", "23905781234"])
def test_bad_phones_name_the_field(raw):
    with pytest.raises(DomainError) as err:
        normalise_phone(raw)
    assert err.value.field == "phone"


@given(
    st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), st.sampled_from(["", "+86", "+86 ", "0086", "86"]), st.sampled_from(["", " ", "-"])
)
def test_mobiles_normalise_whatever_the_formatting(mobile, prefix, sep):
    raw = prefix + sep.join([mobile[:3], mobile[3:7], mobile[7:]])
    assert normalise_phone(raw) == mobile


@given(areas, st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)), sequences)
def test_15_digit_numbers_upgrade_to_the_18_character_form(area, born, seq):
    from yiyang.people.idnumber import upgrade_15

    number = make_id_number(area, born, seq)
    assert upgrade_15(number[:6] + number[8:17]) == number
