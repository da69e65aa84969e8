from datetime import date

import pytest

from tests.factories import region
from tests.people.helpers import new_id, register
from yiyang.audit.models import AuditEvent
from yiyang.core.errors import DomainError
from yiyang.people.models import Elder
from yiyang.people.operations import DuplicateElder

pytestmark = pytest.mark.django_db


def test_worker_registers_an_elder_with_derived_gender_and_birth_date(personas):
    number = new_id(date(1944, 6, 1), male=True)
    elder = register(personas["worker"], name="周阿公", id_number=number.lower(), phone="+86 139-0578-0001", categories=["dibao"])
    elder.refresh_from_db()
    assert (elder.gender, elder.birth_date) == ("male", date(1944, 6, 1))
    assert elder.reveal_id_number() == number
    assert number not in elder.id_number_enc and "13905780001" not in elder.phone_enc
    assert elder.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    assert elder.phone_masked == "139****0001"
    assert {c.category for c in elder.categories.all()} == {"dibao"}
    event = AuditEvent.objects.get(action="elder.register", object_id=str(elder.pk))
    assert number not in str(event.detail)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"gender": "female"}, "gender"),
        ({"birth_date": date(1944, 6, 2)}, "birth_date"),
        ({"name": " "}, "name"),
        ({"phone": "12345"}, "phone"),
        ({"township": "331102"}, "residence_region"),
        ({"township": "331121001"}, "residence_region"),
        ({"living_arrangement": "castle"}, "living_arrangement"),
        ({"categories": ["rich"]}, "categories"),
        ({"lng": 119.9}, "lat"),
        ({"lng": 119.9, "lat": 95.0}, "lat"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(personas, kwargs, field):
    before = Elder.objects.count()
    with pytest.raises(DomainError) as err:
        register(personas["worker"], id_number=new_id(date(1944, 6, 1), male=True), **kwargs)
    assert err.value.field == field
    assert Elder.objects.count() == before


def test_under_60_needs_an_officer_and_a_reason(personas):
    young = date(1980, 1, 1)
    with pytest.raises(DomainError) as err:
        register(personas["worker"], born=young, age_exception_reason="特困供养")
    assert err.value.code == "under_age"
    with pytest.raises(DomainError) as err:
        register(personas["county_officer"], born=young)
    assert err.value.field == "age_exception_reason"
    elder = register(personas["county_officer"], born=young, age_exception_reason="特困人员，入住乡镇敬老院")
    assert elder.age_exception_by == personas["county_officer"]


def test_duplicate_seen_by_an_allowed_user_gets_a_link(personas):
    number = new_id()
    first = register(personas["worker"], id_number=number)
    with pytest.raises(DuplicateElder) as err:
        register(personas["county_officer"], id_number=number.lower(), township="331102002")
    assert err.value.status == 409
    assert err.value.extra["existing_id"] == first.pk
    assert err.value.extra["existing_url"].endswith(f"/{first.pk}/")


def test_duplicate_seen_by_a_disallowed_user_learns_only_whom_to_ask(personas):
    number = new_id()
    first = register(personas["worker"], id_number=number, name="秘密长辈")
    with pytest.raises(DuplicateElder) as err:
        register(personas["other_county_officer"], id_number=number, township="331121001")
    body = err.value.as_dict()
    assert body["code"] == "duplicate_elsewhere"
    assert "莲都区" in body["ask"]
    assert "existing_id" not in body and str(first.pk) not in str(body) and "秘密长辈" not in str(body)
    assert Elder.objects.count() == 1


def test_old_prefecture_area_code_registers(personas):
    elder = register(personas["worker"], id_number=new_id(area="332501"))
    assert elder.reveal_id_number().startswith("332501")


def test_hukou_defaults_to_residence(personas):
    elder = register(personas["worker"])
    assert elder.hukou_region == region("331102001")
