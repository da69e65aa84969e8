import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook

from tests.people.helpers import new_id, register
from yiyang.audit.models import AuditEvent
from yiyang.people.imports import import_start
from yiyang.people.models import Elder, ImportStatus

pytestmark = pytest.mark.django_db

HEADER = ["姓名", "身份证号", "联系电话", "居住乡镇", "居住地址", "居住状况", "类别"]


def _csv(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows, header=HEADER) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def rows():
    good1, good2 = new_id(date(1950, 1, 2)), new_id(date(1941, 3, 4), male=True)
    return [
        ["王秀英", good1, "139 0578 1000", "331102001", "紫金街道 1号", "独居", "低保、失能"],
        ["李土根", good2.lower(), "", "紫金街道", "", "空巢", ""],
        ["坏号码", good1[:-1] + ("0" if good1[-1] != "0" else "1"), "", "331102001", "", "", ""],
        ["", new_id(), "", "331102001", "", "", ""],
        ["远方人", new_id(), "", "331121001", "", "", ""],
        ["怪类别", new_id(), "", "331102001", "", "", "富豪"],
        ["年轻人", new_id(date(1990, 1, 1)), "", "331102001", "", "", ""],
        ["", "", "", "", "", "", ""],
    ]


def test_csv_import_reports_bad_rows_and_reimport_changes_nothing(personas, rows):
    officer = personas["county_officer"]
    job = import_start(actor=officer, kind="elders", name="民政名单.csv", content=_csv(rows))
    assert job.status == ImportStatus.DONE
    assert (job.created_count, job.error_count) == (2, 5)
    assert not job.file  # the clear-text upload is removed once imported
    errors = {(e["row"], e["column"]) for e in job.errors}
    assert errors == {(4, "身份证号"), (5, "姓名"), (6, "居住乡镇"), (7, "类别"), (8, "未满60周岁原因")}
    assert all(rows[2][1] not in e["reason"] for e in job.errors)
    wang = Elder.objects.get(name="王秀英")
    assert wang.living_arrangement == "alone" and wang.reveal_phone() == "13905781000"
    assert {c.category for c in wang.categories.all()} == {"dibao", "disabled"}
    assert Elder.objects.get(name="李土根").residence_region.code == "331102001"

    again = import_start(actor=officer, kind="elders", name="民政名单.csv", content=_csv(rows))
    assert (again.created_count, again.unchanged_count, again.error_count) == (0, 2, 5)
    assert Elder.objects.count() == 2
    assert AuditEvent.objects.filter(action="elder.import").count() == 2


def test_xlsx_import_and_id_numbers_stored_as_numbers(personas):
    number = new_id(date(1948, 8, 8))
    content = _xlsx(
        [
            ["周阿婆", number, "", "331102001", "", "与家人同住", "特困"],
            ["数字号", int(new_id(date(1949, 1, 1))[:17] + "1"), "", "331102001", "", "", ""],
        ]
    )
    job = import_start(actor=personas["county_officer"], kind="elders", name="名单.xlsx", content=content)
    assert job.created_count == 1 and job.error_count == 1
    assert (job.errors[0]["row"], job.errors[0]["column"]) == (3, "身份证号")


def test_gb18030_csv_is_read(personas):
    job = import_start(
        actor=personas["county_officer"],
        kind="elders",
        name="gbk.csv",
        content=_csv([["陈桂花", new_id(), "", "331102001", "", "", ""]], encoding="gb18030"),
    )
    assert job.created_count == 1


def test_a_file_without_the_required_columns_is_refused_whole(personas):
    from yiyang.core.errors import DomainError

    with pytest.raises(DomainError) as err:
        import_start(actor=personas["county_officer"], kind="elders", name="x.csv", content=_csv([["a"]], header=["姓名"]))
    assert err.value.field == "file" and "身份证号" in err.value.message
    with pytest.raises(DomainError):
        import_start(actor=personas["county_officer"], kind="elders", name="x.pdf", content=b"%PDF")
    with pytest.raises(DomainError):
        import_start(actor=personas["county_officer"], kind="elders", name="x.xlsx", content=b"not a zip")


def test_background_import_with_the_immediate_backend(settings, personas, django_capture_on_commit_callbacks):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
    rows = [[f"长辈{i}", new_id(date(1950, 1, 1) if i % 2 else date(1951, 2, 2)), "", "331102001", "", "", ""] for i in range(60)]
    with django_capture_on_commit_callbacks(execute=True):
        job = import_start(actor=personas["county_officer"], kind="elders", name="big.csv", content=_csv(rows), background=True)
        assert job.status == ImportStatus.QUEUED
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE and job.processed_rows == 60 and job.created_count == 60 and job.percent == 100


def test_import_pages_and_error_file(client, personas, rows):
    client.force_login(personas["worker"])
    assert client.get("/elders/imports/").status_code == 404
    client.force_login(personas["county_officer"])
    upload = io.BytesIO(_csv(rows))
    upload.name = "名单.csv"
    response = client.post("/elders/imports/", {"kind": "elders", "file": upload})
    assert response.status_code == 302
    detail = client.get(response["Location"])
    assert detail.status_code == 200 and "5" in detail.content.decode()
    job_id = response["Location"].rstrip("/").split("/")[-1]
    errors = client.get(f"/elders/imports/{job_id}/errors.csv").content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(errors)))
    assert len(lines) == 6 and lines[1][0] == "4" and lines[1][1] == "身份证号"
    # Another officer cannot open this job.
    client.force_login(personas["other_county_officer"])
    assert client.get(f"/elders/imports/{job_id}/").status_code == 404


def test_reimport_matches_existing_registrations(personas):
    number = new_id()
    register(personas["worker"], id_number=number, name="已登记")
    job = import_start(
        actor=personas["county_officer"], kind="elders", name="a.csv", content=_csv([["已登记", number, "", "331102001", "", "", ""]])
    )
    assert (job.created_count, job.unchanged_count) == (0, 1)
    far = import_start(
        actor=personas["other_county_officer"], kind="elders", name="b.csv", content=_csv([["已登记", number, "", "331121001", "", "", ""]])
    )
    assert far.error_count == 1 and "莲都区" in far.errors[0]["reason"] and "已登记" not in far.errors[0]["reason"]
