"""双随机、一公开: a reproducible draw that cannot be redrawn silently, findings, re-checks, the public page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ElderFactory, region
from tests.institutions.conftest import make_institution
from yiyang.core.errors import DomainError, StateConflict
from yiyang.institutions.models import DrawStatus, InspectionDraw, InspectionStatus
from yiyang.institutions.operations import (
    bed_add,
    draw_compute,
    finding_add,
    finding_recheck,
    inspection_draw,
    inspection_draw_verify,
    inspection_draw_void,
    inspection_publish,
    inspection_record,
    resident_admit,
    staff_add,
)

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


@pytest.fixture
def homes(db):
    return [make_institution(name=f"院{i}", code="331102001" if i % 2 else "331102002") for i in range(6)]


def test_draw_compute_is_a_pure_function_of_its_inputs():
    args = {"institution_ids": [3, 5, 8, 13, 21, 34], "inspector_ids": [101, 102, 103, 104], "sample_size": 3}
    first = draw_compute(seed="20260301", **args)
    assert first == draw_compute(seed="20260301", **args)
    assert len(first) == 3 and all(a != b for _, a, b in first)
    assert {i for i, _, _ in first} <= set(args["institution_ids"])
    # a different seed gives a different draw (for these inputs; fixed, not random)
    assert draw_compute(seed="20260302", **args) != first
    # the order the candidates are listed in does not matter
    assert draw_compute(seed="20260301", **{**args, "institution_ids": args["institution_ids"][::-1]}) == first


def test_draw_is_recorded_reproducible_and_not_silently_redrawable(personas, homes, inspectors):
    officer = personas["county_officer"]
    liandu = region("331102")
    draw = inspection_draw(region=liandu, period="2026-Q1", sample_size=2, seed="lottery-0301", actor=officer)
    assert draw.seed == "lottery-0301" and draw.institution_candidates == sorted(h.pk for h in homes)
    assert draw.inspector_candidates == sorted(u.pk for u in inspectors)
    assert draw.inspections.count() == 2
    assert inspection_draw_verify(draw)
    # someone editing the recorded result is detected
    tampered = InspectionDraw.objects.get(pk=draw.pk)
    tampered.result = [[draw.result[0][0], draw.result[0][2], draw.result[0][1]], draw.result[1]]
    assert not inspection_draw_verify(tampered)
    with pytest.raises(StateConflict) as err:
        inspection_draw(region=liandu, period="2026-Q1", sample_size=2, actor=officer)
    assert err.value.code == "draw_exists"
    with pytest.raises(DomainError):
        inspection_draw_void(draw=draw, reason=" ", actor=officer)
    inspection_draw_void(draw=draw, reason="候选名单漏了一家机构", actor=officer)
    draw.refresh_from_db()
    assert draw.status == DrawStatus.VOIDED
    assert set(draw.inspections.values_list("status", flat=True)) == {InspectionStatus.CANCELLED}
    again = inspection_draw(region=liandu, period="2026-Q1", sample_size=2, actor=officer)
    assert again.pk != draw.pk and InspectionDraw.objects.filter(period="2026-Q1").count() == 2  # both stay on record
    assert len(again.seed) > 5  # a seed was generated and recorded


def test_draw_bad_input(personas, homes, inspectors):
    officer = personas["county_officer"]
    with pytest.raises(DomainError) as err:
        inspection_draw(region=region("331102"), period="2026-Q2", sample_size=99, actor=officer)
    assert err.value.field == "sample_size"
    with pytest.raises(DomainError) as err:
        inspection_draw(region=region("331121"), period="2026-Q2", sample_size=1, actor=officer)
    assert err.value.field == "region"
    assert not InspectionDraw.objects.exists()


def test_a_draw_with_work_done_cannot_be_voided(personas, homes, inspectors):
    draw = inspection_draw(region=region("331102"), period="2026-Q1", sample_size=1, actor=personas["county_officer"])
    inspection = draw.inspections.get()
    inspector = inspection.inspector_a
    inspection_record(inspection=inspection, inspected_on=TODAY(), result="rectify", summary="消防通道堆放杂物", actor=inspector)
    with pytest.raises(StateConflict):
        inspection_draw_void(draw=draw, reason="x", actor=personas["county_officer"])


def test_findings_deadlines_rechecks_and_who_may_record(personas, homes, inspectors):
    draw = inspection_draw(region=region("331102"), period="2026-Q1", sample_size=1, actor=personas["county_officer"])
    inspection = draw.inspections.get()
    outsider = next(u for u in inspectors if u.pk not in (inspection.inspector_a_id, inspection.inspector_b_id))
    with pytest.raises(DomainError) as err:
        inspection_record(inspection=inspection, inspected_on=TODAY(), result="passed", summary="", actor=outsider)
    assert err.value.status == 403
    b = inspection.inspector_b
    with pytest.raises(StateConflict):
        finding_add(inspection=inspection, description="x", deadline=TODAY(), actor=b)
    with pytest.raises(DomainError) as err:
        inspection_record(inspection=inspection, inspected_on=TODAY(), result="so-so", summary="", actor=b)
    assert err.value.field == "result"
    inspection_record(inspection=inspection, inspected_on=TODAY() - timedelta(days=10), result="rectify", summary="", actor=b)
    with pytest.raises(DomainError) as err:
        finding_add(inspection=inspection, description="灭火器过期", deadline=TODAY() - timedelta(days=20), actor=b)
    assert err.value.field == "deadline"
    finding = finding_add(inspection=inspection, description="灭火器过期", deadline=TODAY() + timedelta(days=20), actor=b)
    finding_recheck(finding=finding, fixed=True, rechecked_on=TODAY(), note="已更换", actor=inspection.inspector_a)
    finding.refresh_from_db()
    assert finding.status == "resolved"
    with pytest.raises(StateConflict):
        finding_recheck(finding=finding, fixed=False, rechecked_on=TODAY(), note="", actor=b)


def test_public_page_shows_published_results_without_personal_data(client, personas, homes, inspectors):
    officer = personas["county_officer"]
    resident = ElderFactory(name="入住长辈王某")
    bed = bed_add(institution=homes[0], code="1", bed_type="general", actor=officer)
    resident_admit(elder=resident, bed=bed, admitted_on=TODAY(), actor=officer)
    staff_add(institution=homes[0], name="护理员李某", role="care_worker", actor=officer)
    draw = inspection_draw(region=region("331102"), period="2026-Q1", sample_size=6, seed="lottery-20260301-77", actor=officer)
    published, unpublished = list(draw.inspections.all()[:2])
    inspection_record(inspection=published, inspected_on=TODAY(), result="rectify", summary="总体良好", actor=published.inspector_a)
    finding_add(inspection=published, description="消防通道堆放杂物", deadline=TODAY() + timedelta(days=15), actor=published.inspector_a)
    inspection_record(inspection=unpublished, inspected_on=TODAY(), result="failed", summary="未公开的结果", actor=unpublished.inspector_a)
    with pytest.raises(StateConflict):
        inspection_publish(inspection=draw.inspections.filter(status="planned").first(), actor=officer)
    inspection_publish(inspection=published, actor=officer)
    response = client.get("/public/inspections/")  # no login
    html = response.content.decode()
    assert response.status_code == 200
    assert published.institution.name in html and "消防通道堆放杂物" in html and "总体良好" in html
    assert "未公开的结果" not in html
    assert "lottery-20260301-77" in html  # the draw's seed is public, so anyone can redo it
    for person in (resident.name, "护理员李某", *[u.username for u in inspectors], *[u.display_name for u in inspectors]):
        assert person not in html
