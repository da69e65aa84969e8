from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from yiyang.core.errors import DomainError, StateConflict
from yiyang.plan.models import KeyProject, MajorTask, ProgressUpdate, WorkStatus
from yiyang.plan.operations import lead_unit_confirm, progress_add

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }


def test_progress_with_evidence_and_investment(personas):
    project = KeyProject.objects.get(seq=1)  # 2.3 亿元 planned
    officer = personas["city_officer"]
    progress_add(item=project, as_of=date(2022, 6, 30), status=WorkStatus.IN_PROGRESS, text="主体结构封顶", investment_fen=80_000_000_00, actor=officer,
                 evidence=SimpleUploadedFile("验收.pdf", b"%PDF-1.4 evidence", content_type="application/pdf"))  # fmt: skip
    progress_add(
        item=project, as_of=date(2023, 3, 1), status=WorkStatus.IN_PROGRESS, text="内装", investment_fen=50_000_000_00, actor=officer
    )
    project.refresh_from_db()
    assert project.invested_fen == 130_000_000_00 and project.status == WorkStatus.IN_PROGRESS
    update = ProgressUpdate.objects.filter(project=project).order_by("as_of").first()
    assert update.evidence.read() == b"%PDF-1.4 evidence" and update.by == officer


def test_status_follows_the_latest_dated_update(personas):
    task = MajorTask.objects.get(no=1)
    officer = personas["city_officer"]
    progress_add(item=task, as_of=date(2022, 12, 1), status=WorkStatus.COMPLETED, text="条例已出台", actor=officer)
    progress_add(item=task, as_of=date(2022, 5, 1), status=WorkStatus.IN_PROGRESS, text="草案征求意见（补记）", actor=officer)
    task.refresh_from_db()
    assert task.status == WorkStatus.COMPLETED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"text": "  "}, "text"),
        ({"status": "done"}, "status"),
        ({"as_of": "future"}, "as_of"),
        ({"investment_fen": -1}, "investment"),
        ({"evidence": "exe"}, "evidence"),
    ],
)
def test_bad_progress_names_the_field_and_changes_nothing(personas, changes, field):
    project = KeyProject.objects.get(seq=3)
    args = {"as_of": date(2022, 1, 1), "status": WorkStatus.IN_PROGRESS, "text": "进展", "investment_fen": 0, "evidence": None} | changes
    if args["as_of"] == "future":
        args["as_of"] = timezone.localdate() + timedelta(days=1)
    if args["evidence"] == "exe":
        args["evidence"] = SimpleUploadedFile("x.exe", b"MZ")
    with pytest.raises(DomainError) as out:
        progress_add(item=project, actor=personas["city_officer"], **args)
    assert out.value.field == field
    project.refresh_from_db()
    assert project.invested_fen == 0 and project.status == WorkStatus.NOT_STARTED and not ProgressUpdate.objects.exists()


def test_tasks_carry_no_investment_and_only_officers_record(personas):
    task = MajorTask.objects.get(no=2)
    with pytest.raises(DomainError) as out:
        progress_add(item=task, as_of=date(2022, 1, 1), status="in_progress", text="x", investment_fen=100, actor=personas["city_officer"])
    assert out.value.field == "investment"
    with pytest.raises(DomainError) as out:
        progress_add(item=task, as_of=date(2022, 1, 1), status="in_progress", text="x", actor=personas["reporter"])
    assert out.value.status == 403


def test_an_inferred_lead_unit_stays_inferred_until_confirmed(personas, client):
    project = KeyProject.objects.get(seq=2)
    assert project.lead_unit_unconfirmed
    client.force_login(personas["city_officer"])
    listing = client.get("/plan/work/projects/?show=inferred")
    assert project.title in listing.content.decode()
    with pytest.raises(DomainError) as out:
        lead_unit_confirm(item=project, lead_unit="", actor=personas["city_officer"])
    assert out.value.field == "lead_unit"
    response = client.post(f"/plan/work/projects/{project.pk}/", {"action": "confirm_lead", "lead_unit": "市卫生健康委"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert not project.lead_unit_unconfirmed and project.lead_unit_confirmed_by == personas["city_officer"]
    with pytest.raises(StateConflict):
        lead_unit_confirm(item=project, lead_unit="市民政局", actor=personas["city_officer"])
    assert project.title not in client.get("/plan/work/projects/?show=inferred").content.decode()


def test_overdue_items_stand_out(personas, client):
    # Every task is due by 2025 and none is completed: all are overdue by now (the clock is past 2025).
    client.force_login(personas["county_officer"])
    page = client.get("/plan/work/tasks/?show=overdue")
    html = page.content.decode()
    overdue = [t for t in MajorTask.objects.all() if t.is_overdue(timezone.localdate())]
    assert len(page.context["items"]) == len(overdue) > 0
    assert html.count('class="plan-overdue"') == len(overdue) and "⚠" in html
    done = overdue[0]
    progress_add(item=done, as_of=date(2022, 1, 1), status=WorkStatus.COMPLETED, text="完成", actor=personas["city_officer"])
    assert len(client.get("/plan/work/tasks/?show=overdue").context["items"]) == len(overdue) - 1


def test_progress_form_with_upload_and_field_errors(personas, client):
    project = KeyProject.objects.get(seq=5)
    client.force_login(personas["county_officer"])
    bad = client.post(f"/plan/work/projects/{project.pk}/", {"as_of": "2022-13-01", "status": "in_progress", "text": "x"})
    assert bad.status_code == 400 and 'aria-describedby="id_as_of-error"' in bad.content.decode()
    ok = client.post(
        f"/plan/work/projects/{project.pk}/",
        {"as_of": "2022-06-01", "status": "in_progress", "text": "开工", "investment": "1500.5",
         "evidence": SimpleUploadedFile("photo.jpg", b"\xff\xd8jpeg", content_type="image/jpeg")},
    )  # fmt: skip
    assert ok.status_code == 302
    project.refresh_from_db()
    assert project.invested_fen == 1_500_500_000  # 1500.5 万元 = 15,005,000 yuan
    update = ProgressUpdate.objects.get(project=project)
    download = client.get(f"/plan/evidence/{update.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"\xff\xd8jpeg"
    client.force_login(personas["worker"])
    assert client.get(f"/plan/evidence/{update.pk}/").status_code == 404
    assert client.get("/plan/work/nothing/").status_code == 404
