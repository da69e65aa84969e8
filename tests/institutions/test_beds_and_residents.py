"""Beds, admission and discharge (never two beds, never over capacity), home-care beds, staff, indicators."""

from datetime import date, timedelta

import pytest
from django.db import IntegrityError
from django.utils import timezone

from tests.assessments.test_scoring import answers
from tests.factories import ElderFactory, region
from tests.institutions.conftest import make_institution
from yiyang.assessments.operations import assessment_start, assessment_submit, assessment_update
from yiyang.core.errors import DomainError, StateConflict
from yiyang.institutions.models import Alliance, Bed, BedStatus, Residency, StaffRole
from yiyang.institutions.operations import (
    bed_add,
    bed_set_status,
    certificate_add,
    home_bed_convert_to_institution,
    home_bed_register,
    institution_rate,
    residency_convert_to_home_bed,
    resident_admit,
    resident_discharge,
    staff_add,
    staff_leave,
)
from yiyang.institutions.queries import (
    alliance_counts,
    bed_counts,
    certified_care_workers,
    institution_indicators,
    smart_care_homes,
    tekun_disabled_in_institutions,
)
from yiyang.people.models import Category, ElderCategory, LivingArrangement

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def assess(elder, actor, **changes):
    a = assessment_start(elder=elder, actor=actor)
    assessment_update(assessment=a, actor=actor, answers=answers(**changes))
    return assessment_submit(assessment=a, actor=actor)


def test_admission_sets_living_arrangement_and_discharge_restores_it(personas, home):
    officer = personas["county_officer"]
    bed = bed_add(institution=home, code="101-1", bed_type="nursing", actor=officer)
    elder = ElderFactory(living_arrangement=LivingArrangement.ALONE)
    residency = resident_admit(elder=elder, bed=bed, admitted_on=TODAY(), actor=officer)
    elder.refresh_from_db()
    bed.refresh_from_db()
    assert elder.living_arrangement == LivingArrangement.INSTITUTION and bed.status == BedStatus.OCCUPIED
    resident_discharge(residency=residency, discharged_on=TODAY(), reason="回家", actor=officer)
    elder.refresh_from_db()
    bed.refresh_from_db()
    assert elder.living_arrangement == LivingArrangement.ALONE and bed.status == BedStatus.AVAILABLE
    with pytest.raises(StateConflict):
        resident_discharge(residency=residency, discharged_on=TODAY(), reason="again", actor=officer)


def test_an_elder_is_never_in_two_beds_and_a_bed_never_holds_two(personas, home):
    officer = personas["county_officer"]
    other_home = make_institution(name="青田敬老院", code="331121001", kind="township_home")
    a = bed_add(institution=home, code="A", bed_type="general", actor=officer)
    b = bed_add(institution=other_home, code="B", bed_type="general", actor=officer)
    elder, second = ElderFactory(), ElderFactory()
    resident_admit(elder=elder, bed=a, admitted_on=TODAY(), actor=officer)
    with pytest.raises(StateConflict) as err:
        resident_admit(elder=elder, bed=b, admitted_on=TODAY(), actor=officer)
    assert err.value.code == "already_resident"
    with pytest.raises(StateConflict):
        resident_admit(elder=second, bed=a, admitted_on=TODAY(), actor=officer)
    assert Residency.objects.filter(discharged_on__isnull=True).count() == 1
    b.refresh_from_db()
    assert b.status == BedStatus.AVAILABLE
    # the database refuses it too, whatever the code path
    with pytest.raises(IntegrityError):
        Residency.objects.create(elder=elder, bed=b, institution=other_home, admitted_on=TODAY())


def test_occupancy_never_exceeds_capacity(personas, home):
    officer = personas["county_officer"]
    beds = [bed_add(institution=home, code=str(i), bed_type="general", actor=officer) for i in range(3)]
    bed_set_status(bed=beds[2], status="maintenance", actor=officer)
    elders = [ElderFactory() for _ in range(4)]
    admitted = 0
    for elder in elders:
        for bed in beds:
            try:
                resident_admit(elder=elder, bed=bed, admitted_on=TODAY(), actor=officer)
                admitted += 1
                break
            except (StateConflict, DomainError):
                continue
    counts = bed_counts(region_path=region("331102").path)
    assert admitted == 2 and counts.occupied == 2 and counts.total == 3
    assert counts.occupied <= counts.total
    with pytest.raises(StateConflict):
        bed_set_status(bed=beds[0], status="closed", actor=officer)
    with pytest.raises(DomainError):
        bed_set_status(bed=beds[2], status="occupied", actor=officer)


def test_bad_admission_input(personas, home):
    officer = personas["county_officer"]
    bed = bed_add(institution=home, code="1", bed_type="general", actor=officer)
    with pytest.raises(DomainError) as err:
        resident_admit(elder=ElderFactory(), bed=bed, admitted_on=TODAY() + timedelta(days=1), actor=officer)
    assert err.value.field == "admitted_on"
    with pytest.raises(DomainError) as err:
        resident_admit(elder=ElderFactory(status="deceased"), bed=bed, admitted_on=TODAY(), actor=officer)
    assert err.value.field == "elder_id"
    with pytest.raises(DomainError) as err:
        bed_add(institution=home, code="1", bed_type="general", actor=officer)
    assert (err.value.field, err.value.code) == ("code", "duplicate")
    with pytest.raises(DomainError) as err:
        bed_add(institution=home, code="2", bed_type="vip", actor=officer)
    assert err.value.field == "bed_type"
    bed.refresh_from_db()
    assert bed.status == BedStatus.AVAILABLE and not Residency.objects.exists()


def test_home_care_bed_needs_an_assessment_and_converts_both_ways(personas, home):
    officer, assessor = personas["county_officer"], personas["assessor"]
    elder = ElderFactory(living_arrangement=LivingArrangement.EMPTY_NEST)
    with pytest.raises(DomainError) as err:
        home_bed_register(elder=elder, bed_type="nursing", actor=officer)
    assert err.value.code == "assessment_required"
    assessment = assess(elder, assessor, b1_1=1, b1_2=1)
    home_bed = home_bed_register(elder=elder, bed_type="nursing", actor=officer)
    assert home_bed.is_home_bed and home_bed.assessment == assessment
    with pytest.raises(StateConflict):
        home_bed_register(elder=elder, bed_type="general", actor=officer)
    assert bed_counts(region_path=region("331102").path).home_care == 1
    bed = bed_add(institution=home, code="N1", bed_type="nursing", actor=officer)
    residency = home_bed_convert_to_institution(home_bed=home_bed, bed=bed, admitted_on=TODAY(), actor=officer)
    home_bed.refresh_from_db()
    assert home_bed.status == BedStatus.CLOSED and residency.assessment == assessment
    assert bed_counts(region_path=region("331102").path).home_care == 0
    back = residency_convert_to_home_bed(residency=residency, bed_type="general", on=TODAY(), actor=officer)
    residency.refresh_from_db()
    elder.refresh_from_db()
    assert residency.discharged_on == TODAY() and back.home_elder == elder and back.status == BedStatus.OCCUPIED
    assert elder.living_arrangement == LivingArrangement.EMPTY_NEST


def test_rating_licence_and_certificates(personas, home):
    officer = personas["county_officer"]
    with pytest.raises(DomainError) as err:
        institution_rate(institution=home, star_rating=6, rated_on=TODAY(), actor=officer)
    assert err.value.field == "star_rating"
    institution_rate(institution=home, star_rating=3, rated_on=date(2025, 6, 1), actor=officer)
    with pytest.raises(StateConflict):
        institution_rate(institution=home, star_rating=4, rated_on=date(2025, 1, 1), actor=officer)
    home.refresh_from_db()
    assert (home.star_rating, home.star_rated_on) == (3, date(2025, 6, 1))
    a = staff_add(institution=home, name="护理员甲", role=StaffRole.CARE_WORKER, actor=officer)
    b = staff_add(institution=home, name="护理员乙", role=StaffRole.CARE_WORKER, actor=officer)
    c = staff_add(institution=home, name="护理员丙", role=StaffRole.CARE_WORKER, actor=officer)
    nurse = staff_add(institution=home, name="护士丁", role=StaffRole.NURSE, actor=officer)
    certificate_add(staff=a, kind="care_worker", number="C-1", issued_on=date(2024, 1, 1), level=4, actor=officer)
    certificate_add(staff=a, kind="care_worker", number="C-1b", issued_on=date(2025, 1, 1), level=3, actor=officer)
    certificate_add(staff=b, kind="care_worker", number="C-2", issued_on=date(2020, 1, 1), expires_on=date(2025, 1, 1), actor=officer)
    certificate_add(staff=c, kind="care_worker", number="C-3", issued_on=date(2024, 1, 1), actor=officer)
    certificate_add(staff=nurse, kind="care_worker", number="C-4", issued_on=date(2024, 1, 1), actor=officer)
    staff_leave(staff=c, left_on=TODAY(), actor=officer)
    with pytest.raises(DomainError) as err:
        certificate_add(staff=b, kind="care_worker", number="C-2", issued_on=date(2024, 1, 1), actor=officer)
    assert err.value.field == "number"
    with pytest.raises(DomainError) as err:
        certificate_add(staff=b, kind="care_worker", number="C-9", issued_on=date(2024, 1, 1), level=7, actor=officer)
    assert err.value.field == "level"
    path = region("331102").path
    assert certified_care_workers(region_path=path) == 1  # a: valid, counted once; b expired; c left; the nurse is no care worker
    assert certified_care_workers(region_path=path, on=date(2024, 6, 1)) == 3
    assert certified_care_workers(region_path=region("331121").path) == 0


def test_cockpit_indicators_are_counts_by_region(personas, home):
    officer, assessor = personas["county_officer"], personas["admin"]
    alliance = Alliance.objects.create(name="莲都康养联合体", region=region("331102"))
    home.alliance, home.smart_care_home = alliance, True
    home.save()
    make_institution(name="青田智慧养老院", code="331121001", smart_care_home=True)
    make_institution(name="关闭的院", code="331102002", smart_care_home=True, is_active=False)
    for i, kind in enumerate(["nursing", "nursing", "general", "cognitive"]):
        bed_add(institution=home, code=f"b{i}", bed_type=kind, actor=officer)
    tekun_in = ElderFactory(name="特困失能入住")
    tekun_home = ElderFactory(name="特困失能居家")
    tekun_fit = ElderFactory(name="特困健康")
    for e in (tekun_in, tekun_home, tekun_fit):
        ElderCategory.objects.create(elder=e, category=Category.TEKUN)
    ElderCategory.objects.create(elder=tekun_in, category=Category.DISABLED)
    assess(tekun_home, assessor, b1_1=0, b1_2=0, b1_3=0, b1_4=0, b1_5=0, b1_6=0, b1_7=0, b1_8=0)  # 58: moderate
    resident_admit(elder=tekun_in, bed=Bed.objects.get(code="b0"), admitted_on=TODAY(), actor=officer)
    liandu, city = region("331102").path, region("331100").path
    beds = bed_counts(region_path=liandu)
    assert (beds.total, beds.nursing, beds.cognitive, beds.occupied) == (4, 2, 1, 1)
    assert beds.nursing_share == 0.5
    assert alliance_counts(region_path=city) == {"alliances": 1, "member_institutions": 1}
    assert smart_care_homes(region_path=city) == 2 and smart_care_homes(region_path=liandu) == 1
    assert tekun_disabled_in_institutions(region_path=liandu) == {"in_institutions": 1, "total": 2}
    assert tekun_disabled_in_institutions(region_path=region("331121").path) == {"in_institutions": 0, "total": 0}
    everything = institution_indicators(region_path=city)
    assert everything["nursing_beds"] == 2 and everything["smart_care_homes"] == 2
