from datetime import date

import pytest

from tests.factories import ElderFactory, region
from yiyang.people.idnumber import make_id_number
from yiyang.people.models import ElderContact
from yiyang.people.queries import elder_search

pytestmark = pytest.mark.django_db


def _elder(name: str, number: str = "", phone: str = "", township: str = "331102001"):
    elder = ElderFactory.build(name=name, residence_region=region(township), hukou_region=region(township))
    if number:
        elder.set_id_number(number)
    if phone:
        elder.set_phone(phone)
    elder.save()
    return elder


def test_search_by_partial_name_is_scoped(personas):
    here = _elder("王阿婆")
    _elder("王老伯", township="331121001")
    assert list(elder_search(personas["worker"], "阿婆")) == [here]
    assert list(elder_search(personas["worker"], "王")) == [here]
    assert list(elder_search(personas["other_county_officer"], "阿婆")) == []
    assert elder_search(personas["city_officer"], "王").count() == 2


def test_search_by_exact_id_number_normalises_lower_case_x(personas):
    number = make_id_number("332501", date(1944, 2, 3), 12)
    while not number.endswith("X"):
        number = make_id_number("332501", date(1944, 2, 3), int(number[14:17]) + 2)
    elder = _elder("李大妈", number=number)
    assert list(elder_search(personas["worker"], number.lower())) == [elder]
    assert list(elder_search(personas["worker"], f" {number[:6]} {number[6:]} ")) == [elder]
    assert list(elder_search(personas["worker"], number[:-2] + "1X")) == []
    assert list(elder_search(personas["other_county_officer"], number)) == []


def test_search_by_phone_matches_elder_and_contacts(personas):
    elder = _elder("张阿公", phone="13905781234")
    other = _elder("赵阿婆")
    contact = ElderContact(elder=other, name="赵小红", relation=ElderContact.Relation.CHILD)
    contact.set_phone("05782123456")
    contact.save()
    assert list(elder_search(personas["worker"], "+86 139-0578-1234")) == [elder]
    assert list(elder_search(personas["worker"], "0578-2123456")) == [other]
    assert list(elder_search(personas["worker"], "2123456")) == [other]
    assert list(elder_search(personas["worker"], "13905781235")) == []
    assert list(elder_search(personas["other_county_officer"], "13905781234")) == []


def test_empty_search_finds_nobody(personas):
    _elder("钱奶奶")
    assert list(elder_search(personas["worker"], "  ")) == []


def test_old_15_digit_number_finds_the_elder(personas):
    number = make_id_number("332501", date(1941, 7, 9), 27)
    elder = _elder("老身份证", number=number)
    old = number[:6] + number[8:17]
    assert list(elder_search(personas["worker"], old)) == [elder]
